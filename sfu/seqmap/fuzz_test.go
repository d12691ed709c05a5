package seqmap

import (
	"bytes"
	"testing"
)

// Fuzz targets. Their seeds run in every `go test`; explore further with e.g.
//
//	go test -run XXX -fuzz FuzzRewriter -fuzztime 60s ./sfu/seqmap/

// rewriterOp is one 4-byte step of FuzzRewriter's input:
//
//	byte 0: flags  0x01 Switch before this packet
//	               0x02 big jump: seq moves by int16(byte1<<8|byte2)
//	                    (otherwise by int8(byte2): loss and reordering)
//	               0x04 the clock steps back 5 ms instead of forward
//	               0x08 timestamp jumps by an unrelated amount
//	byte 1, 2: sequence number step
//	byte 3: milliseconds since the previous packet
const rewriterOpSize = 4

// rewriterModel is what FuzzRewriter knows of the current epoch.
type rewriterModel struct {
	started        bool
	seqOff         uint16 // in - out
	tsOff          uint32
	first, highest uint16
	span           int    // highest - first, saturating at 32767
	lastOutSeq     uint16 // out seq/ts of the packet with the highest seq
	lastOutTS      uint32
	headEarliest   int64 // arrival times at which the highest packet was seen
	headLatest     int64
}

func step(elapsed int64, clockRate uint32) uint32 {
	if elapsed < 0 {
		elapsed = 0
	}
	s := uint32(uint64(elapsed) * uint64(clockRate) / 1e9)
	return max(s, 1)
}

func FuzzRewriter(f *testing.F) {
	op := func(flags, a, b, dt byte) []byte { return []byte{flags, a, b, dt} }
	cat := func(ops ...[]byte) []byte { return bytes.Join(ops, nil) }
	steady := bytes.Repeat(op(0, 0, 1, 33), 20)
	f.Add(uint16(0), uint32(0), false, steady)
	f.Add(uint16(65530), uint32(0xfffff000), false, steady) // both wrap
	f.Add(uint16(100), uint32(1), true, cat(op(0, 0, 1, 20), op(0, 0, 2, 20), op(0, 0, 0xff, 20), op(0, 0, 2, 20)))
	f.Add(uint16(1000), uint32(5), false, cat(steady[:20], op(1, 0x40, 0x00, 250), steady[:20], op(1|2, 0x90, 0x00, 0), op(4, 0, 1, 0)))
	f.Add(uint16(7), uint32(7), false, cat(op(0, 0, 1, 1), op(0, 0, 0xfb, 1), op(1, 0, 0xfe, 1), op(0, 0, 0xfe, 1)))
	f.Add(uint16(1), uint32(2), true, cat(op(1, 0, 1, 0), op(1, 0, 1, 0), op(1|8, 0x12, 0x34, 0xff), op(2, 0x7f, 0xff, 1), op(2, 0x7f, 0xff, 1), op(2, 0x80, 0x00, 1)))
	// A duplicate of the first packet, then a switch.
	f.Add(uint16(50), uint32(0), false, cat(op(1, 0, 1, 10), op(0, 0, 1, 10), op(0, 0, 0xff, 10), op(1, 0, 5, 10)))

	f.Fuzz(func(t *testing.T, seq uint16, ts uint32, audio bool, ops []byte) {
		clock := uint32(90000)
		if audio {
			clock = 48000
		}
		r := NewRewriter(clock)
		var m rewriterModel
		pendingSwitch := false
		now := int64(1e12)
		for i := 0; i+rewriterOpSize <= len(ops); i += rewriterOpSize {
			flags, a, b, dt := ops[i], ops[i+1], ops[i+2], ops[i+3]
			if flags&0x01 != 0 {
				r.Switch()
				pendingSwitch = true
			}
			var d int16
			if flags&0x02 != 0 {
				d = int16(uint16(a)<<8 | uint16(b))
			} else {
				d = int16(int8(b))
			}
			seq += uint16(d)
			ts += uint32(int32(d) * int32(clock/30))
			if flags&0x08 != 0 {
				ts += uint32(a)<<24 | uint32(b)<<8
			}
			if flags&0x04 != 0 {
				now -= 5 * ms
			} else {
				now += int64(dt) * ms
			}

			outSeq, outTS, ok := r.Rewrite(seq, ts, now)

			switch {
			case !m.started || pendingSwitch:
				if !ok {
					t.Fatalf("op %d: first packet of an epoch (seq %d) dropped", i/rewriterOpSize, seq)
				}
				if m.started {
					if outSeq != m.lastOutSeq+1 {
						t.Fatalf("op %d: seq after Switch = %d, want %d", i/rewriterOpSize, outSeq, m.lastOutSeq+1)
					}
					// The clock may step back, so either arrival may be the later.
					lo, hi := step(now-m.headLatest, clock), step(now-m.headEarliest, clock)
					lo, hi = min(lo, hi), max(lo, hi)
					if got := outTS - m.lastOutTS; got < lo || got > hi {
						t.Fatalf("op %d: ts advanced by %d across Switch, want %d..%d", i/rewriterOpSize, got, lo, hi)
					}
				}
				m = rewriterModel{started: true, seqOff: seq - outSeq, tsOff: ts - outTS,
					first: seq, highest: seq, lastOutSeq: outSeq, lastOutTS: outTS,
					headEarliest: now, headLatest: now}
				pendingSwitch = false
			default:
				d := int16(seq - m.highest)
				newer := d > 0
				behind := int(m.highest - seq) // how far seq lies behind the newest packet
				switch {
				case newer:
					if !ok {
						t.Fatalf("op %d: packet %d, newer than %d, dropped", i/rewriterOpSize, seq, m.highest)
					}
				case !newer && behind <= m.span:
					if !ok {
						t.Fatalf("op %d: packet %d within the epoch [%d, %d] dropped", i/rewriterOpSize, seq, m.first, m.highest)
					}
				case !newer && behind <= 1<<15:
					if ok {
						t.Fatalf("op %d: packet %d older than the epoch's first %d forwarded as %d", i/rewriterOpSize, seq, m.first, outSeq)
					}
				}
				if !ok {
					continue
				}
				if seq-outSeq != m.seqOff || ts-outTS != m.tsOff {
					t.Fatalf("op %d: in %d/%d -> out %d/%d: offsets %d/%d, want the epoch's %d/%d",
						i/rewriterOpSize, seq, ts, outSeq, outTS, seq-outSeq, ts-outTS, m.seqOff, m.tsOff)
				}
				switch {
				case newer:
					m.span = min(m.span+int(d), 1<<15-1)
					m.highest, m.lastOutSeq, m.lastOutTS = seq, outSeq, outTS
					m.headEarliest, m.headLatest = now, now
				case seq == m.highest:
					m.headLatest = now
				}
			}
			if ok {
				if in, ok2 := r.IncomingSeq(outSeq); !ok2 || in != seq {
					t.Fatalf("op %d: IncomingSeq(%d) = %d, %v; want %d", i/rewriterOpSize, outSeq, in, ok2, seq)
				}
				if s, ts2, ok2 := r.Map(seq, ts); !ok2 || s != outSeq || ts2 != outTS {
					t.Fatalf("op %d: Map(%d) = %d/%d, %v; want %d/%d", i/rewriterOpSize, seq, s, ts2, ok2, outSeq, outTS)
				}
			}
		}
	})
}
