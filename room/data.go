package room

import (
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"
)

// onDataChannel receives the client's data packets on the channels it opens
// (_reliable, _lossy) and hands them to the room for delivery.
func (p *Participant) onDataChannel(dc *webrtc.DataChannel) {
	kind := livekit.DataPacket_RELIABLE
	if dc.Label() == "_lossy" {
		kind = livekit.DataPacket_LOSSY
	} else if dc.Label() != "_reliable" {
		return
	}
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		p.handleData(msg.Data, kind)
	})
}

// maxDataPacket bounds a data message; larger ones are dropped.
const maxDataPacket = 64 << 10

func (p *Participant) handleData(b []byte, kind livekit.DataPacket_Kind) {
	if len(b) > maxDataPacket || !p.Permission().GetCanPublishData() {
		return
	}
	var pkt livekit.DataPacket
	if err := proto.Unmarshal(b, &pkt); err != nil {
		return // garbage from a client changes nothing
	}
	p.room.SendData(p, &pkt, kind)
}

// sendData writes an encoded DataPacket on the subscriber data channel.
func (p *Participant) sendData(b []byte, kind livekit.DataPacket_Kind) {
	p.mu.Lock()
	dc := p.dcReliable
	if kind == livekit.DataPacket_LOSSY {
		dc = p.dcLossy
	}
	p.mu.Unlock()
	if dc != nil && dc.ReadyState() == webrtc.DataChannelStateOpen {
		_ = dc.Send(b)
	}
}
