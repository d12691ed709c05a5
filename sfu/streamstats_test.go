package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// feedOpus feeds seqs as 20 ms Opus packets, each arriving on time at its
// index times 20 ms plus at.
func feedOpus(t *testing.T, f *packetFeeder, seqs []uint16, at time.Duration) {
	t.Helper()
	for _, s := range seqs {
		f.feed(t, s, uint32(s)*960, []byte{1, 2, 3}, at+time.Duration(s)*20*time.Millisecond)
	}
}

func TestReceptionStatsCountsGapsAsLoss(t *testing.T) {
	r := newTestReceiver(opusCodec, nil)
	f := newFeeder(r)
	var seqs []uint16
	for s := uint16(0); s < 100; s++ {
		if s%5 != 4 { // every fifth packet lost on the way
			seqs = append(seqs, s)
		}
	}
	feedOpus(t, f, seqs, 0)
	got := r.TakeReceptionStats()
	// 0..98 expected (99 was lost and nothing after it says so).
	if got.Expected != 99 || got.Received != 80 || got.Lost != 19 {
		t.Fatalf("stats %+v, want expected 99, received 80, lost 19", got)
	}
	if got.Jitter > time.Millisecond {
		t.Fatalf("jitter %v for perfectly paced packets", got.Jitter)
	}
	if lf := got.LossFraction(); lf < 0.19 || lf > 0.2 {
		t.Fatalf("loss fraction %v", lf)
	}
	// Nothing new: an empty interval.
	if got := r.TakeReceptionStats(); got.Expected != 0 || got.Lost != 0 || got.Received != 0 {
		t.Fatalf("idle interval %+v", got)
	}
	// A late retransmission is received but expected nothing new; the
	// next packets continue without loss.
	feedOpus(t, f, []uint16{4, 99, 100, 101}, 0)
	if got := r.TakeReceptionStats(); got.Expected != 3 || got.Received != 4 || got.Lost != 0 {
		t.Fatalf("after retransmission %+v, want expected 3, received 4, lost 0", got)
	}
}

func TestReceptionStatsWrapAndRestart(t *testing.T) {
	r := newTestReceiver(opusCodec, nil)
	f := newFeeder(r)
	var seqs []uint16
	for s := uint16(65530); s != 11; s++ {
		if s != 2 {
			seqs = append(seqs, s)
		}
	}
	for i, s := range seqs {
		f.feed(t, s, uint32(i)*960, []byte{1}, time.Duration(i)*20*time.Millisecond)
	}
	if got := r.TakeReceptionStats(); got.Expected != 17 || got.Lost != 1 {
		t.Fatalf("across the wrap %+v, want expected 17, lost 1", got)
	}
	// The publisher restarts its sequence far away: not loss.
	for i := range 10 {
		f.feed(t, uint16(40000+i), uint32(i)*960, []byte{1}, time.Second+time.Duration(i)*20*time.Millisecond)
	}
	if got := r.TakeReceptionStats(); got.Lost != 0 || got.Received != 10 {
		t.Fatalf("after a restart %+v, want no loss", got)
	}
}

func TestReceptionStatsCountsPaddingProbes(t *testing.T) {
	r := newTestReceiver(vp8Codec, nil)
	f := newFeeder(r)
	f.feed(t, 10, 0, vp8Key(50), 0)
	// A padding-only probe takes sequence number 11: it is not forwarded,
	// but it arrived.
	f.feedPacket(t, &rtp.Packet{
		Header:      rtp.Header{Version: 2, Padding: true, PayloadType: 96, SequenceNumber: 11, SSRC: testPubSSRC},
		Payload:     make([]byte, 20),
		PaddingSize: 20,
	}, time.Millisecond)
	f.feed(t, 12, 3000, vp8Delta(50), 33*time.Millisecond)
	if got := r.TakeReceptionStats(); got.Expected != 3 || got.Lost != 0 {
		t.Fatalf("stats %+v, want expected 3, lost 0", got)
	}
}

func TestReceptionStatsJitter(t *testing.T) {
	r := newTestReceiver(opusCodec, nil)
	f := newFeeder(r)
	// Packets sent every 20 ms arrive alternately on time and 10 ms late:
	// every transit difference is 10 ms, so the jitter tends to 10 ms.
	for i := range 300 {
		at := time.Duration(i)*20*time.Millisecond + time.Duration(i%2)*10*time.Millisecond
		f.feed(t, uint16(i), uint32(i)*960, []byte{1}, at)
	}
	got := r.TakeReceptionStats()
	if got.Jitter < 9*time.Millisecond || got.Jitter > 11*time.Millisecond {
		t.Fatalf("jitter %v, want about 10ms", got.Jitter)
	}
	if got.Lost != 0 {
		t.Fatalf("lost %d", got.Lost)
	}
}
