// Package loglimit bounds how many log lines one kind of message may write.
package loglimit

import (
	"sync"
	"time"
)

// Limiter lets at most burst lines of each key through per interval and
// counts the rest, so that a message someone outside can trigger with
// every packet writes a few lines, not one per packet. It holds at most
// maxKeys keys and the zero key: later keys share the zero key's budget,
// so its memory is bounded whatever the keys are.
type Limiter[K comparable] struct {
	burst    int
	interval time.Duration
	maxKeys  int

	mu   sync.Mutex
	keys map[K]*window
}

// window is one key's current interval.
type window struct {
	start      time.Time
	written    int // lines let through since start
	suppressed int // lines held back since the last one let through
}

// New returns a limiter of burst lines per key per interval, over at most
// maxKeys keys.
func New[K comparable](burst int, interval time.Duration, maxKeys int) *Limiter[K] {
	return &Limiter[K]{burst: burst, interval: interval, maxKeys: maxKeys, keys: map[K]*window{}}
}

// Allow reports whether a line of key may be written at now. When it may,
// suppressed is how many lines of key were held back since the last one
// let through, for the caller to report before it.
func (l *Limiter[K]) Allow(key K, now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.keys[key]
	if w == nil {
		if len(l.keys) >= l.maxKeys {
			var overflow K
			key = overflow
			w = l.keys[key]
		}
		if w == nil {
			w = &window{start: now}
			l.keys[key] = w
		}
	}
	if now.Sub(w.start) >= l.interval {
		w.start, w.written = now, 0
	}
	if w.written >= l.burst {
		w.suppressed++
		return false, 0
	}
	w.written++
	suppressed, w.suppressed = w.suppressed, 0
	return true, suppressed
}
