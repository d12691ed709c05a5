package room

import (
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
)

func TestStreamScoreLevels(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name   string
		loss   float64
		jitter time.Duration
		rtt    time.Duration
		want   livekit.ConnectionQuality
	}{
		{"loopback", 0, 0, 0, livekit.ConnectionQuality_EXCELLENT},
		{"ordinary internet", 0.01, 5 * ms, 80 * ms, livekit.ConnectionQuality_EXCELLENT},
		{"5% loss", 0.05, 0, 0, livekit.ConnectionQuality_GOOD},
		{"10% loss", 0.10, 10 * ms, 50 * ms, livekit.ConnectionQuality_GOOD},
		{"long round trip", 0, 10 * ms, 600 * ms, livekit.ConnectionQuality_GOOD},
		{"heavy jitter", 0, 150 * ms, 100 * ms, livekit.ConnectionQuality_GOOD},
		{"20% loss", 0.20, 0, 0, livekit.ConnectionQuality_POOR},
		{"loss and delay", 0.10, 80 * ms, 400 * ms, livekit.ConnectionQuality_POOR},
		{"everything lost", 1, 0, 0, livekit.ConnectionQuality_POOR},
	} {
		s := streamScore(c.loss, c.jitter, c.rtt)
		if got := qualityOf(s); got != c.want {
			t.Errorf("%s: score %.1f is %v, want %v", c.name, s, got, c.want)
		}
		if s < 0 || s > scoreMax {
			t.Errorf("%s: score %.1f out of range", c.name, s)
		}
	}
}

func TestSmoothScoreDropsFastRecoversSlowly(t *testing.T) {
	s := scoreMax
	s = smoothScore(s, streamScore(0.25, 0, 0)) // a bad interval
	if q := qualityOf(s); q == livekit.ConnectionQuality_EXCELLENT {
		t.Fatalf("one bad interval leaves %.1f (%v)", s, q)
	}
	s = smoothScore(s, streamScore(0.25, 0, 0))
	if q := qualityOf(s); q != livekit.ConnectionQuality_POOR {
		t.Fatalf("two bad intervals leave %.1f (%v), want POOR", s, q)
	}
	if s < scoreFloor {
		t.Fatalf("score %.1f below the floor", s)
	}
	// Good again: not EXCELLENT at once, but within a few intervals.
	s = smoothScore(s, scoreMax)
	if qualityOf(s) == livekit.ConnectionQuality_EXCELLENT {
		t.Fatalf("one good interval after POOR is already EXCELLENT (%.1f)", s)
	}
	for range 4 {
		s = smoothScore(s, scoreMax)
	}
	if q := qualityOf(s); q != livekit.ConnectionQuality_EXCELLENT {
		t.Fatalf("five good intervals leave %.1f (%v)", s, q)
	}
}

func TestMOS(t *testing.T) {
	if m := mosOf(scoreMax); m != 4.5 {
		t.Fatalf("MOS of a perfect score %v", m)
	}
	if m := mosOf(0); m != 1 {
		t.Fatalf("MOS of 0 is %v", m)
	}
	prev := mosOf(0)
	for s := 5.0; s <= scoreMax; s += 5 {
		m := mosOf(s)
		if m < prev {
			t.Fatalf("MOS falls from %v to %v at score %v", prev, m, s)
		}
		prev = m
	}
}
