package seqmap

import (
	"testing"
	"time"
)

const ms = int64(time.Millisecond)

// rewriteOK rewrites one packet, fails the test if it is dropped, and checks
// that IncomingSeq and Map invert the mapping just made.
func rewriteOK(t *testing.T, r *Rewriter, seq uint16, ts uint32, now int64) (uint16, uint32) {
	t.Helper()
	outSeq, outTS, ok := r.Rewrite(seq, ts, now)
	if !ok {
		t.Fatalf("Rewrite(seq=%d, ts=%d) dropped the packet", seq, ts)
	}
	checkInverse(t, r, seq, ts, outSeq, outTS)
	return outSeq, outTS
}

func checkInverse(t *testing.T, r *Rewriter, seq uint16, ts uint32, outSeq uint16, outTS uint32) {
	t.Helper()
	if in, ok := r.IncomingSeq(outSeq); !ok || in != seq {
		t.Fatalf("IncomingSeq(%d) = %d, %v; want %d, true", outSeq, in, ok, seq)
	}
	if s, ts2, ok := r.Map(seq, ts); !ok || s != outSeq || ts2 != outTS {
		t.Fatalf("Map(%d, %d) = %d, %d, %v; want %d, %d, true", seq, ts, s, ts2, ok, outSeq, outTS)
	}
}

func TestRewriterFirstEpochIsIdentity(t *testing.T) {
	r := NewRewriter(90000)
	if _, _, ok := r.Map(1, 1); ok {
		t.Fatal("Map before any packet reported ok")
	}
	if _, ok := r.IncomingSeq(1); ok {
		t.Fatal("IncomingSeq before any packet reported ok")
	}
	for i := 0; i < 10; i++ {
		seq, ts := uint16(1000+i), uint32(123456+3000*i)
		s, tsOut := rewriteOK(t, r, seq, ts, int64(i)*33*ms)
		if s != seq || tsOut != ts {
			t.Fatalf("packet %d: got seq %d ts %d, want unchanged %d %d", i, s, tsOut, seq, ts)
		}
	}
	if NewRewriter(0).clockRate != 90000 {
		t.Fatal("clock rate 0 does not default to 90000")
	}
}

func TestRewriterSwitchContinuity(t *testing.T) {
	for _, tc := range []struct {
		name      string
		clockRate uint32
		gap       time.Duration // wall time between last old and first new packet
		wantStep  uint32
	}{
		{"video 100ms", 90000, 100 * time.Millisecond, 9000},
		{"video 2s", 90000, 2 * time.Second, 180000},
		{"audio 20ms", 48000, 20 * time.Millisecond, 960},
		{"audio 1.5s", 48000, 1500 * time.Millisecond, 72000},
		{"no time elapsed", 90000, 0, 1},
		{"clock went backwards", 90000, -time.Second, 1},
		{"under one tick", 90000, 5 * time.Microsecond, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRewriter(tc.clockRate)
			now := int64(0)
			var lastSeq uint16
			var lastTS uint32
			for i := 0; i < 5; i++ {
				now = int64(i) * 20 * ms
				lastSeq, lastTS = rewriteOK(t, r, uint16(500+i), uint32(10000+960*i), now)
			}
			r.Switch()
			// The new source has unrelated numbering.
			now += int64(tc.gap)
			newTS := uint32(0xfffffff0)
			s, ts := rewriteOK(t, r, 40000, newTS, now)
			if s != lastSeq+1 {
				t.Fatalf("first seq after Switch = %d, want %d", s, lastSeq+1)
			}
			if ts != lastTS+tc.wantStep {
				t.Fatalf("first ts after Switch = %d, want %d (+%d)", ts, lastTS+tc.wantStep, tc.wantStep)
			}
			// The rest of the epoch follows the new source with the new offsets,
			// including its timestamp wrap.
			s2, ts2 := rewriteOK(t, r, 40001, newTS+960, now+20*ms)
			if s2 != s+1 || ts2 != ts+960 {
				t.Fatalf("second packet after Switch = %d/%d, want %d/%d", s2, ts2, s+1, ts+960)
			}
		})
	}
}

func TestRewriterRepeatedSwitches(t *testing.T) {
	r := NewRewriter(90000)
	now := int64(0)
	wantSeq := uint16(0)
	for epoch := 0; epoch < 20; epoch++ {
		if epoch > 0 {
			r.Switch()
			r.Switch() // idempotent
		}
		base := uint16(epoch * 7919) // arbitrary, possibly lower than before
		for i := 0; i < 3; i++ {
			now += 33 * ms
			s, _ := rewriteOK(t, r, base+uint16(i), uint32(epoch*1000+i*3000), now)
			if epoch == 0 && i == 0 {
				wantSeq = s
			}
			if s != wantSeq {
				t.Fatalf("epoch %d packet %d: seq %d, want %d", epoch, i, s, wantSeq)
			}
			wantSeq++
		}
	}
}

func TestRewriterOutOfOrderWithinEpoch(t *testing.T) {
	r := NewRewriter(90000)
	rewriteOK(t, r, 100, 9000, 0)
	r.Switch()
	// New epoch starting at 7000; 7002 overtakes 7001.
	first, firstTS := rewriteOK(t, r, 7000, 50000, 100*ms)
	for _, p := range []struct {
		seq uint16
		ts  uint32
	}{{7002, 53000}, {7001, 53000}, {7003, 56000}, {7001, 53000}} { // last one is a duplicate
		s, ts := rewriteOK(t, r, p.seq, p.ts, 110*ms)
		if s != first+(p.seq-7000) || ts != firstTS+(p.ts-50000) {
			t.Fatalf("seq %d mapped to %d/%d, want %d/%d", p.seq, s, ts, first+(p.seq-7000), firstTS+(p.ts-50000))
		}
	}
	// A late packet must not move the continuation point backwards: the next
	// epoch continues after 7003, the newest packet sent.
	r.Switch()
	s, _ := rewriteOK(t, r, 9, 1, 200*ms)
	if want := first + 4; s != want {
		t.Fatalf("seq after Switch = %d, want %d (after the newest, not the latest-arrived)", s, want)
	}
}

func TestRewriterDropsPacketsFromBeforeSwitch(t *testing.T) {
	r := NewRewriter(90000)
	var oldOut []uint16
	for i := uint16(0); i < 5; i++ {
		s, _ := rewriteOK(t, r, 300+i, 1000+uint32(i)*3000, int64(i)*33*ms)
		oldOut = append(oldOut, s)
	}
	// The same stream resumes (as after a pause): packets 305..309 were not
	// forwarded, 310 starts the new epoch.
	r.Switch()
	rewriteOK(t, r, 310, 77777, 200*ms)
	// Late packets of the old epoch, and anything older than the new
	// epoch's first packet, are dropped. (The Rewriter only sees sequence
	// numbers: a late packet of a different source whose number happens to
	// lie after the new epoch's start cannot be told apart.)
	for _, seq := range []uint16{304, 303, 309, 305, 300, 65000} {
		if s, ts, ok := r.Rewrite(seq, 1, 210*ms); ok {
			t.Fatalf("Rewrite(%d) after Switch = %d/%d, ok; want dropped", seq, s, ts)
		}
	}
	// Retransmission lookups for the old epoch fail too.
	for _, out := range oldOut {
		if in, ok := r.IncomingSeq(out); ok {
			t.Fatalf("IncomingSeq(%d) of the previous epoch = %d, ok; want !ok", out, in)
		}
	}
	if _, _, ok := r.Map(304, 1); ok {
		t.Fatal("Map of a previous-epoch packet reported ok")
	}
	// The epoch carries on.
	if s, _ := rewriteOK(t, r, 311, 80777, 233*ms); s != oldOut[4]+2 {
		t.Fatalf("seq = %d, want %d", s, oldOut[4]+2)
	}
}

func TestRewriterMapDoesNotLookAhead(t *testing.T) {
	r := NewRewriter(90000)
	rewriteOK(t, r, 10, 0, 0)
	rewriteOK(t, r, 11, 3000, 0)
	if _, _, ok := r.Map(12, 6000); ok {
		t.Fatal("Map of a packet not yet seen reported ok")
	}
	if _, ok := r.IncomingSeq(12); ok {
		t.Fatal("IncomingSeq of a seq not yet sent reported ok")
	}
	// Map must not change state: the next Rewrite still maps 12 -> 12.
	if s, _ := rewriteOK(t, r, 12, 6000, 33*ms); s != 12 {
		t.Fatalf("seq = %d, want 12", s)
	}
}

func TestRewriterSequenceWrap(t *testing.T) {
	t.Run("incoming wraps", func(t *testing.T) {
		r := NewRewriter(90000)
		seq := uint16(65530)
		want := uint16(65530)
		for i := 0; i < 12; i++ {
			s, _ := rewriteOK(t, r, seq, uint32(i)*3000, int64(i)*ms)
			if s != want {
				t.Fatalf("in %d -> %d, want %d", seq, s, want)
			}
			seq++
			want++
		}
		// 65535 is still of this epoch after the wrap.
		if s, _, ok := r.Map(65535, 0); !ok || s != 65535 {
			t.Fatalf("Map(65535) after wrap = %d, %v", s, ok)
		}
	})
	t.Run("outgoing wraps at switch", func(t *testing.T) {
		r := NewRewriter(90000)
		rewriteOK(t, r, 65534, 0, 0)
		rewriteOK(t, r, 65535, 3000, 33*ms)
		r.Switch()
		if s, _ := rewriteOK(t, r, 4000, 0, 66*ms); s != 0 {
			t.Fatalf("seq after 65535 = %d, want 0", s)
		}
		if s, _ := rewriteOK(t, r, 4001, 3000, 99*ms); s != 1 {
			t.Fatalf("seq = %d, want 1", s)
		}
	})
	t.Run("new epoch starts just before incoming wrap", func(t *testing.T) {
		r := NewRewriter(90000)
		rewriteOK(t, r, 100, 0, 0)
		r.Switch()
		rewriteOK(t, r, 65534, 0, 33*ms)
		for i, seq := range []uint16{65535, 0, 1, 2} {
			if s, _ := rewriteOK(t, r, seq, 0, 66*ms); s != uint16(102+i) {
				t.Fatalf("in %d -> %d, want %d", seq, s, 102+i)
			}
		}
		if _, _, ok := r.Rewrite(65533, 0, 99*ms); ok {
			t.Fatal("packet from before the epoch start, across the wrap, was not dropped")
		}
	})
}

func TestRewriterInverseOverManyPackets(t *testing.T) {
	r := NewRewriter(48000)
	type sent struct {
		in, out uint16
		ts, tsO uint32
	}
	var epoch []sent
	now := int64(0)
	seq := uint16(60000)
	for i := 0; i < 3000; i++ {
		if i%500 == 499 {
			r.Switch()
			epoch = epoch[:0]
			seq += 12345
		}
		now += 20 * ms
		ts := uint32(i) * 960
		s, tsO := rewriteOK(t, r, seq, ts, now)
		epoch = append(epoch, sent{seq, s, ts, tsO})
		seq++
	}
	for _, p := range epoch {
		checkInverse(t, r, p.in, p.ts, p.out, p.tsO)
	}
}

// TestRewriterDuplicateOfFirstPacket: a duplicate of the epoch's first packet
// (a publisher retransmission arriving after the original) is mapped like
// the original, and must not move the continuation point backwards.
func TestRewriterDuplicateOfFirstPacket(t *testing.T) {
	r := NewRewriter(90000)
	rewriteOK(t, r, 7, 0, 0)
	r.Switch()
	first, _ := rewriteOK(t, r, 500, 0, 10*ms) // out 8
	rewriteOK(t, r, 501, 3000, 43*ms)
	last, _ := rewriteOK(t, r, 502, 6000, 76*ms) // out 10
	if s, _ := rewriteOK(t, r, 500, 0, 80*ms); s != first {
		t.Fatalf("duplicate of first packet mapped to %d, want %d", s, first)
	}
	r.Switch()
	s, _, _ := r.Rewrite(9000, 0, 200*ms)
	if s != last+1 {
		t.Fatalf("seq after Switch = %d, want %d: a duplicate of the first packet rewound the rewriter", s, last+1)
	}
}

// TestRewriterLongEpoch: an epoch may last longer than half the sequence
// space (32768 packets, about 2.5 minutes of 720p video) without dropping
// in-order packets.
func TestRewriterLongEpoch(t *testing.T) {
	r := NewRewriter(90000)
	for i := 0; i < 70000; i++ {
		if _, _, ok := r.Rewrite(uint16(i), uint32(i)*3000, int64(i)*ms); !ok {
			t.Fatalf("in-order packet %d of one epoch was dropped", i)
		}
	}
}

// Packets dropped on purpose inside an epoch leave no gap in the outgoing
// sequence; retransmissions still find the packets that were sent, a late
// packet keeps its reserved place, and a switch continues after the last.
func TestRewriterDropKeepsSequenceContinuous(t *testing.T) {
	r := NewRewriter(90000)
	var outs []uint16
	want := uint16(1000)
	for i := 0; i < 40; i++ {
		seq := uint16(1000 + i)
		if i%4 == 1 || i%4 == 2 {
			r.Drop(seq)
			if _, _, ok := r.Map(seq, 0); ok {
				t.Fatalf("Map(%d) ok for a dropped packet", seq)
			}
			continue
		}
		if i == 12 {
			continue // lost for now, arrives late below
		}
		s, _ := rewriteOK(t, r, seq, uint32(i*3000), int64(i)*33*ms)
		if i == 15 {
			want++ // 12's place is reserved
		}
		if s != want {
			t.Fatalf("packet %d: out seq %d, want %d", i, s, want)
		}
		outs = append(outs, s)
		want++
	}
	if s, _ := rewriteOK(t, r, 1012, 12*3000, 41*33*ms); s != 1000+6 {
		t.Fatalf("late packet 12 went out as %d, want its reserved 1006", s)
	}
	for i, s := range outs {
		if in, ok := r.IncomingSeq(s); !ok || (in-1000)%4 == 1 || (in-1000)%4 == 2 {
			t.Fatalf("IncomingSeq(%d) = %d, %v (sent #%d)", s, in, ok, i)
		}
	}
	r.Switch()
	if s, _ := rewriteOK(t, r, 7, 0, 50*33*ms); s != outs[len(outs)-1]+1 {
		t.Fatalf("after the switch: seq %d, want %d", s, outs[len(outs)-1]+1)
	}
}

func BenchmarkRewriter(b *testing.B) {
	r := NewRewriter(90000)
	b.ReportAllocs()
	now := int64(0)
	for i := 0; i < b.N; i++ {
		if i%1000 == 999 {
			r.Switch()
		}
		now += int64(time.Millisecond)
		r.Rewrite(uint16(i), uint32(i)*3000, now)
	}
}
