package bwe

import (
	"testing"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
)

// link simulates a bottleneck: capacity in bits per second and a tail-drop
// queue of queueUs microseconds, like testnet.Relay.
type link struct {
	capacity int64
	queueUs  int64
	free     int64 // when the link can take the next packet, µs
}

// send returns the arrival time of a packet of size bytes sent at, or false
// when the queue is full.
func (l *link) send(at int64, size int) (int64, bool) {
	start := max(at, l.free)
	if start-at > l.queueUs {
		return 0, false
	}
	l.free = start + int64(size)*8*1e6/l.capacity
	return l.free + 10_000, true // 10 ms of propagation
}

// sim drives an Estimator: a sender at rate(now) bits/s in 1200-byte
// packets through l, TWCC feedback every 100 ms built by pion's recorder.
type sim struct {
	t    *testing.T
	e    *Estimator
	l    *link
	rec  *twcc.Recorder
	now  int64
	seq  uint16
	next int64
	fb   int64 // next feedback
}

func newSim(t *testing.T, capacity int64) *sim {
	return &sim{t: t, e: New(Config{Initial: 2_000_000}), l: &link{capacity: capacity, queueUs: 100_000},
		rec: twcc.NewRecorder(1), now: 1_000_000}
}

// run advances d µs, sending at rate(now) bits/s, and returns the
// estimate at the end.
func (s *sim) run(d int64, rate func() int64) int64 {
	end := s.now + d
	if s.fb == 0 {
		s.fb = s.now + 100_000
	}
	for s.now < end {
		r := rate()
		if s.now >= s.next {
			s.e.OnSent(s.seq, 1200, s.now)
			if arr, ok := s.l.send(s.now, 1200); ok {
				s.rec.Record(1, s.seq, arr)
			} else {
				// lost: recorded by its absence, as a receiver does
			}
			s.seq++
			s.next = s.now + 1200*8*1e6/r
		}
		if s.now >= s.fb {
			s.fb += 100_000
			for _, p := range s.rec.BuildFeedbackPacket() {
				if fb, ok := p.(*rtcp.TransportLayerCC); ok {
					s.e.OnFeedback(fb, s.now)
				}
			}
		}
		s.now += 500
	}
	return s.e.Target()
}

func TestEstimatorHoldsOnAFreeLink(t *testing.T) {
	s := newSim(t, 20_000_000)
	got := s.run(5_000_000, func() int64 { return 1_500_000 })
	if got < 2_000_000 {
		t.Fatalf("estimate %d bps on a free link carrying 1.5 Mbps, want at least the initial 2 Mbps", got)
	}
}

func TestEstimatorFallsToACap(t *testing.T) {
	s := newSim(t, 300_000)
	got := s.run(1_000_000, func() int64 { return 1_700_000 })
	if got > 350_000 {
		loss, acked := s.e.Stats()
		t.Fatalf("estimate %d bps after 1 s of 1.7 Mbps into a 300 kbps link (loss %.2f, acked %.0f)", got, loss, acked)
	}
	if got < 100_000 {
		t.Fatalf("estimate %d bps: fell far below the 300 kbps the link carries", got)
	}
}

// A sender that follows the estimate (never sending more than it) finds
// the link again after the cap is lifted: from about 300 kbps to 2 Mbps
// within 5 s.
func TestEstimatorRecoversWhenTheCapLifts(t *testing.T) {
	s := newSim(t, 300_000)
	follow := func() int64 { return max(100_000, min(s.e.Target(), 2_500_000)) }
	capped := s.run(4_000_000, follow)
	if capped > 450_000 {
		t.Fatalf("estimate %d bps while capped at 300 kbps", capped)
	}
	s.l.capacity = 20_000_000
	var at int64
	for range 100 {
		if s.run(100_000, follow) >= 2_000_000 {
			at = s.now
			break
		}
	}
	if at == 0 {
		t.Fatalf("estimate %d bps 10 s after the cap was lifted, want 2 Mbps", s.e.Target())
	}
	t.Logf("2 Mbps reached %.1f s after the cap was lifted", float64(at-5_000_000)/1e6)
	if at-5_000_000 > 5_000_000 {
		t.Errorf("took %.1f s to reach 2 Mbps, want at most 5 s", float64(at-5_000_000)/1e6)
	}
}

func TestEstimatorIgnoresForeignFeedback(t *testing.T) {
	e := New(Config{Initial: 1_000_000})
	fb := &rtcp.TransportLayerCC{BaseSequenceNumber: 100, PacketStatusCount: 3,
		PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 3}}}
	e.OnFeedback(fb, 1)
	if e.Target() != 1_000_000 {
		t.Fatalf("feedback about packets never sent moved the estimate to %d", e.Target())
	}
}

func TestExpandFeedbackTruncated(t *testing.T) {
	// More statuses announced than chunks and deltas hold: no panic, and
	// only what is there is reported.
	fb := &rtcp.TransportLayerCC{BaseSequenceNumber: 7, PacketStatusCount: 50,
		PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 5}},
		RecvDeltas:   []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250}}}
	acks := expandFeedback(fb, nil)
	if len(acks) != 2 || acks[0].seq != 7 || acks[1].seq != 8 || acks[1].arrival-acks[0].arrival != 250 {
		t.Fatalf("acks %+v", acks)
	}
}

func TestOnSentDoesNotAllocate(t *testing.T) {
	e := New(Config{})
	seq := uint16(0)
	if n := testing.AllocsPerRun(1000, func() { e.OnSent(seq, 1200, int64(seq)); seq++ }); n != 0 {
		t.Fatalf("OnSent allocates %.1f times", n)
	}
}

// feedback builds a TWCC feedback message about the packets from base on:
// received[i] says whether base+i arrived; arrivals are 1 ms apart.
func feedback(base uint16, received []bool) *rtcp.TransportLayerCC {
	fb := &rtcp.TransportLayerCC{BaseSequenceNumber: base, PacketStatusCount: uint16(len(received))}
	for _, r := range received {
		symbol := uint16(rtcp.TypeTCCPacketNotReceived)
		if r {
			symbol = rtcp.TypeTCCPacketReceivedSmallDelta
			fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000})
		}
		fb.PacketChunks = append(fb.PacketChunks, &rtcp.RunLengthChunk{PacketStatusSymbol: symbol, RunLength: 1})
	}
	return fb
}

func allReceived(n int) []bool {
	r := make([]bool, n)
	for i := range r {
		r[i] = true
	}
	return r
}

// A packet that reaches the receiver after the next one is reported
// missing, then received when the receiver repeats that stretch of its
// window (as Chrome does): no loss, and every packet counts once. A packet
// that never comes counts as lost once, however often it is reported
// missing.
func TestEstimatorCountsEachPacketOnce(t *testing.T) {
	e := New(Config{Initial: 1_000_000})
	now := int64(1_000_000)
	for seq := range uint16(40) {
		e.OnSent(seq, 1200, now+int64(seq)*1000)
	}
	// Packet 5 comes late: missing in the first feedback, received in the
	// second, which repeats 5..19.
	first := allReceived(20)
	first[5] = false
	e.OnFeedback(feedback(0, first), now+50_000)
	e.OnFeedback(feedback(5, allReceived(15)), now+100_000)
	e.OnFeedback(feedback(20, allReceived(10)), now+500_000)
	if loss, _ := e.Stats(); loss != 0 {
		t.Fatalf("loss %.3f after a packet came late and was reported received, want 0", loss)
	}

	// Packet 32 never comes: reported missing twice, lost once, when its
	// settling time has passed.
	third := allReceived(10)
	third[2] = false
	e.OnFeedback(feedback(30, third), now+600_000)
	if loss, _ := e.Stats(); loss != 0 {
		t.Fatalf("loss %.3f while packet 32 may still come, want 0", loss)
	}
	e.OnFeedback(feedback(32, third[2:]), now+650_000)
	e.OnFeedback(feedback(32, []bool{false}), now+950_000)
	loss, _ := e.Stats()
	if loss <= 0 {
		t.Fatal("packet 32, missing for good, was not counted as lost")
	}
	// One lost among the packets counted, decaying: one missing for good
	// must not look like several.
	if e.lostW > 1.0001 {
		t.Fatalf("packet 32 counted as lost %.2f times", e.lostW)
	}
}
