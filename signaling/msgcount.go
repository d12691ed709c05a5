package signaling

import (
	"sync/atomic"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxMessageFields bounds the fields of SignalRequest and SignalResponse
// whose messages are counted; fields beyond it count as "other".
const maxMessageFields = 64

// messageCounts counts signaling messages by the case of their oneof (the
// field name: "update", "offer", "room_update", ...).
type messageCounts struct {
	byField [maxMessageFields]atomic.Uint64
	other   atomic.Uint64
	bytes   atomic.Uint64
}

func (c *messageCounts) add(msg proto.Message, size int) {
	c.bytes.Add(uint64(size))
	m := msg.ProtoReflect()
	od := m.Descriptor().Oneofs().ByName("message")
	if od == nil {
		c.other.Add(1)
		return
	}
	fd := m.WhichOneof(od)
	if fd == nil || fd.Index() >= maxMessageFields {
		c.other.Add(1)
		return
	}
	c.byField[fd.Index()].Add(1)
}

// snapshot returns the counts by message type; types never seen are
// included with 0, so that the series are stable.
func (c *messageCounts) snapshot(md protoreflect.MessageDescriptor) map[string]uint64 {
	out := map[string]uint64{"other": c.other.Load()}
	od := md.Oneofs().ByName("message")
	if od == nil {
		return out
	}
	fields := od.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Index() < maxMessageFields {
			out[string(fd.Name())] = c.byField[fd.Index()].Load()
		}
	}
	return out
}

// MessagesSent returns the signaling responses written to clients, by type
// (the SignalResponse field: "join", "update", "room_update", ...).
func (c *Counters) MessagesSent() map[string]uint64 {
	return c.sent.snapshot((&livekit.SignalResponse{}).ProtoReflect().Descriptor())
}

// BytesSent returns the bytes of the signaling responses written.
func (c *Counters) BytesSent() uint64 { return c.sent.bytes.Load() }

// MessagesReceived returns the signaling requests decoded, by type (the
// SignalRequest field: "offer", "trickle", "ping_req", ...).
func (c *Counters) MessagesReceived() map[string]uint64 {
	return c.received.snapshot((&livekit.SignalRequest{}).ProtoReflect().Descriptor())
}
