package sfu

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
)

// twccFeedbackInterval is how often a publisher is sent TWCC feedback, as
// pion and Chrome do.
const twccFeedbackInterval = 100 * time.Millisecond

// twccFeedbackFactory makes, per peer connection, the interceptor that
// sends a publisher TWCC feedback. It is pion's, but for where arrival
// times come from: the arrivalClock's stamp at the socket, and the time
// of the read only for packets it has none for (ICE over TCP).
type twccFeedbackFactory struct {
	clock *arrivalClock
	log   logging.LeveledLogger
}

// NewInterceptor implements interceptor.Factory.
func (f *twccFeedbackFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &twccFeedback{clock: f.clock, log: f.log, done: make(chan struct{}), streams: map[uint32][]uint32{}}, nil
}

// twccFeedback records the arrival of every packet that carries a
// transport-wide sequence number and sends the feedback every
// twccFeedbackInterval.
type twccFeedback struct {
	interceptor.NoOp
	clock *arrivalClock
	log   logging.LeveledLogger

	mu       sync.Mutex
	recorder *twcc.Recorder
	streams  map[uint32][]uint32 // by media SSRC, the SSRCs registered with the clock
	closed   bool
	done     chan struct{}
	wg       sync.WaitGroup
}

// BindRTCPWriter starts sending feedback on writer.
func (t *twccFeedback) BindRTCPWriter(writer interceptor.RTCPWriter) interceptor.RTCPWriter {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.recorder != nil {
		return writer
	}
	t.recorder = twcc.NewRecorder(rand.Uint32()) // #nosec: an SSRC, not a secret
	t.wg.Add(1)
	go t.loop(writer)
	return writer
}

func (t *twccFeedback) loop(writer interceptor.RTCPWriter) {
	defer t.wg.Done()
	tick := time.NewTicker(twccFeedbackInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.done:
			return
		case <-tick.C:
		}
		t.mu.Lock()
		pkts := t.recorder.BuildFeedbackPacket()
		t.mu.Unlock()
		if len(pkts) == 0 {
			continue
		}
		if _, err := writer.Write(pkts, nil); err != nil {
			t.log.Debugf("twcc feedback: %v", err)
		}
	}
}

// BindRemoteStream records the arrival of the stream's packets.
func (t *twccFeedback) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	var extID uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			extID = uint8(e.ID) //nolint:gosec // header extension IDs are 1-255
			break
		}
	}
	if extID == 0 {
		return reader
	}
	var ssrcs []uint32
	for _, s := range []uint32{info.SSRC, info.SSRCRetransmission, info.SSRCForwardErrorCorrection} {
		if s != 0 {
			t.clock.register(s)
			ssrcs = append(ssrcs, s)
		}
	}
	t.mu.Lock()
	t.streams[info.SSRC] = ssrcs
	t.mu.Unlock()
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err != nil {
			return n, a, err
		}
		if a == nil {
			a = interceptor.Attributes{}
		}
		hdr, err := a.GetRTPHeader(b[:n])
		if err != nil {
			return n, a, err
		}
		ext := hdr.GetExtension(extID)
		if len(ext) < 2 {
			return n, a, nil
		}
		at, ok := t.clock.arrival(hdr.SSRC, hdr.SequenceNumber)
		if !ok {
			at = t.clock.now()
		}
		t.mu.Lock()
		if t.recorder != nil {
			t.recorder.Record(hdr.SSRC, binary.BigEndian.Uint16(ext), at)
		}
		t.mu.Unlock()
		return n, a, nil
	})
}

// UnbindRemoteStream stops stamping the stream's packets.
func (t *twccFeedback) UnbindRemoteStream(info *interceptor.StreamInfo) {
	t.mu.Lock()
	ssrcs := t.streams[info.SSRC]
	delete(t.streams, info.SSRC)
	t.mu.Unlock()
	for _, s := range ssrcs {
		t.clock.unregister(s)
	}
}

// Close stops the feedback and the stamping of the connection's streams.
func (t *twccFeedback) Close() error {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		close(t.done)
	}
	streams := t.streams
	t.streams = map[uint32][]uint32{}
	t.mu.Unlock()
	t.wg.Wait()
	for _, ssrcs := range streams {
		for _, s := range ssrcs {
			t.clock.unregister(s)
		}
	}
	return nil
}
