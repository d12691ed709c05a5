package classroom

import (
	"sync"
	"time"
)

// rateLimit is a token bucket per key: burst tokens at most, refilled at
// burst per period. A key that takes a token when none is left is refused.
type rateLimit struct {
	burst  float64
	period time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
}

// bucket is one key's tokens as of last.
type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds the keys a rateLimit remembers; beyond it, buckets
// that have refilled completely (they would allow the full burst anyway)
// are forgotten.
const maxBuckets = 4096

func newRateLimit(burst int, period time.Duration) *rateLimit {
	return &rateLimit{burst: float64(burst), period: period, buckets: map[string]*bucket{}}
}

// allow takes one of key's tokens at now and reports whether there was one.
func (r *rateLimit) allow(key string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.buckets[key]
	if b == nil {
		if len(r.buckets) >= maxBuckets {
			r.forgetFull(now)
		}
		b = &bucket{tokens: r.burst, last: now}
		r.buckets[key] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(r.burst, b.tokens+r.burst*elapsed.Seconds()/r.period.Seconds())
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// forgetFull drops the buckets that are full again at now.
func (r *rateLimit) forgetFull(now time.Time) {
	for k, b := range r.buckets {
		if b.tokens+r.burst*now.Sub(b.last).Seconds()/r.period.Seconds() >= r.burst {
			delete(r.buckets, k)
		}
	}
}
