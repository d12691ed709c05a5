package signaling

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// ErrBusy is a join refused because the node had no room for it in time.
var ErrBusy = errors.New("server busy")

// joinGate admits joins a bounded number at a time. A join is in progress
// from its admission until its media connection is up (or it fails, or
// Config.JoinHold passes): peer connections, offers, ICE and DTLS handshakes are
// where a join costs CPU, and hundreds at once on a few cores make every
// handshake late, retransmitted and timed out. The others wait their turn
// in arrival order (a channel's blocked senders are served first come,
// first served), for at most Wait, and are then refused with a clear
// error rather than left to time out.
type joinGate struct {
	slots     chan struct{} // nil: no limit
	wait      time.Duration
	maxQueued int64

	waiting  atomic.Int64
	refused  atomic.Uint64
	admitted atomic.Uint64
	waitedNs atomic.Uint64 // total time admitted joins waited
}

func newJoinGate(inProgress, maxQueued int, wait time.Duration) *joinGate {
	g := &joinGate{wait: wait, maxQueued: int64(maxQueued)}
	if inProgress > 0 {
		g.slots = make(chan struct{}, inProgress)
	}
	return g
}

// enter waits for a slot, until ctx ends or the wait runs out; release
// frees it and may be called more than once.
func (g *joinGate) enter(ctx context.Context) (release func(), err error) {
	if g.slots == nil {
		g.admitted.Add(1)
		return func() {}, nil
	}
	start := time.Now()
	select {
	case g.slots <- struct{}{}:
	default:
		if n := g.waiting.Add(1); n > g.maxQueued {
			g.waiting.Add(-1)
			g.refused.Add(1)
			return nil, fmt.Errorf("%w: %d joins already waiting, try again later", ErrBusy, n-1)
		}
		t := time.NewTimer(g.wait)
		select {
		case g.slots <- struct{}{}:
			t.Stop()
			g.waiting.Add(-1)
		case <-t.C:
			g.waiting.Add(-1)
			g.refused.Add(1)
			return nil, fmt.Errorf("%w: no join slot within %v (%d joins in progress), try again later", ErrBusy, g.wait, cap(g.slots))
		case <-ctx.Done():
			t.Stop()
			g.waiting.Add(-1)
			return nil, ctx.Err()
		}
	}
	g.admitted.Add(1)
	g.waitedNs.Add(uint64(time.Since(start)))
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			<-g.slots
		}
	}, nil
}

// inProgress is the number of joins admitted and not yet connected.
func (g *joinGate) inProgress() int {
	if g.slots == nil {
		return 0
	}
	return len(g.slots)
}
