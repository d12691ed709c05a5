package seqmap

import "testing"

// The drop log maps kept values onto a gap-free counter and back, across
// the 16-bit wrap, and forgets the oldest runs once it holds too many.
func TestDropLogMapsAroundDrops(t *testing.T) {
	var l DropLog
	l.Reset(100)
	start := uint16(65530)
	var out uint16 = start - 100
	for i := 0; i < 200; i++ {
		v := start + uint16(i)
		if i%3 == 1 { // drop every third value
			l.Drop(v)
			l.Drop(v) // idempotent
			if _, ok := l.Offset(v); ok {
				t.Fatalf("offset(%d) ok for a dropped value", v)
			}
			continue
		}
		l.Advance(v)
		off, ok := l.Offset(v)
		if !ok || v-off != out {
			t.Fatalf("value %d: out %d ok=%v, want %d", v, v-off, ok, out)
		}
		if back, ok := l.Unmap(out); !ok || back != v {
			t.Fatalf("unmap(%d) = %d, %v; want %d", out, back, ok, v)
		}
		out++
	}
	// 66 runs were dropped; only the newest dropLogRuns are kept, the values
	// before them can no longer be mapped, the newer ones still can.
	if _, ok := l.Offset(start); ok {
		t.Fatal("a value older than every kept run still maps")
	}
	if _, ok := l.Offset(start + 198); !ok {
		t.Fatal("a recent value no longer maps")
	}
}

// Runs far behind the newest value are folded, so that a long epoch's
// counter can wrap without old runs being compared the wrong way round.
func TestDropLogFoldsOldRuns(t *testing.T) {
	var l DropLog
	l.Reset(0)
	l.Drop(10)
	for v := uint16(11); v != 9; v++ {
		l.Advance(v)
	}
	if l.n != 0 {
		t.Fatalf("%d runs kept after a full wrap", l.n)
	}
	if off, ok := l.Offset(5); !ok || off != 1 {
		t.Fatalf("offset after the wrap = %d, %v; want 1, true", off, ok)
	}
}
