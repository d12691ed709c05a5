package loglimit

import (
	"testing"
	"time"
)

// A flood of one key writes burst lines per interval; the first line of the
// next interval carries the count held back; other keys keep their budget.
func TestLimiterBoundsEachKeyAndCountsTheRest(t *testing.T) {
	l := New[string](3, time.Minute, 10)
	t0 := time.Unix(1000, 0)
	written := 0
	for i := range 1000 {
		ok, suppressed := l.Allow("flood", t0.Add(time.Duration(i)*time.Millisecond))
		if ok {
			written++
		}
		if suppressed != 0 {
			t.Fatalf("line %d reports %d suppressed within the first interval", i, suppressed)
		}
	}
	if written != 3 {
		t.Fatalf("%d of 1000 lines written in one interval, want 3", written)
	}
	if ok, _ := l.Allow("other", t0.Add(time.Second)); !ok {
		t.Fatal("another key was held back by the flood")
	}
	ok, suppressed := l.Allow("flood", t0.Add(time.Minute))
	if !ok || suppressed != 997 {
		t.Fatalf("next interval: ok %v, suppressed %d, want true and 997", ok, suppressed)
	}
	if ok, suppressed := l.Allow("flood", t0.Add(time.Minute+time.Second)); !ok || suppressed != 0 {
		t.Fatalf("after the report: ok %v, suppressed %d, want true and 0", ok, suppressed)
	}
}

// Keys beyond the bound share one budget: a message whose key varies
// without end is bounded too, and so is the limiter's memory.
func TestLimiterSharesOneBudgetBeyondMaxKeys(t *testing.T) {
	l := New[int](2, time.Minute, 4)
	t0 := time.Unix(1000, 0)
	written := 0
	for k := 1; k <= 1000; k++ {
		if ok, _ := l.Allow(k, t0); ok {
			written++
		}
	}
	if written != 4+2 {
		t.Fatalf("%d lines of 1000 distinct keys written, want 6 (one each of the first 4, 2 of the shared budget)", written)
	}
	if n := len(l.keys); n > 5 {
		t.Fatalf("%d keys held, want at most 5", n)
	}
}
