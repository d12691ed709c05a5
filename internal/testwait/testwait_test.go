package testwait

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	var n atomic.Int32
	if !Until(time.Second, func() bool { return n.Add(1) >= 3 }) {
		t.Fatal("a condition that holds on the third poll was not seen")
	}
	start := time.Now()
	if Until(100*time.Millisecond, func() bool { return false }) {
		t.Fatal("a condition that never holds was reported as held")
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Fatalf("gave up after %v, want about 100ms", d)
	}
}

func TestGoroutines(t *testing.T) {
	base := 0 // any count is above it, so the wait must time out
	stop := make(chan struct{})
	go func() { <-stop }()
	defer close(stop)
	sub := &recorder{TB: t}
	Goroutines(sub, base, 0, 50*time.Millisecond)
	if !sub.failed {
		t.Fatal("goroutines above the baseline were not reported")
	}
}

// recorder notes failures instead of failing the real test.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
