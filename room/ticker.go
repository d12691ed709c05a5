package room

import (
	"context"
	"time"

	"github.com/bayan-dev/bayan/sfu"
)

// tickInterval is the period of the room's ticker: layer liveness is
// sampled (sfu.LayerCheckInterval), bandwidth allocated and keyframes
// nudged once per tick.
const tickInterval = sfu.LayerCheckInterval

// countTicks is how many ticks apart the running count is sent
// (countInterval).
const countTicks = int(countInterval / tickInterval)

// roomTicker runs the room's control loops on one goroutine, until the
// room's context ends: one goroutine per room rather than one per loop,
// and loops that never run at once, so none needs a lock against another.
type roomTicker struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startTicker runs r's loops for as long as ctx lasts. Speaker detection
// and connection quality keep their own periods (speakerInterval, the
// configured quality interval), which are not multiples of a tick, on the
// same goroutine.
func (r *Room) startTicker(ctx context.Context, qualityInterval time.Duration) *roomTicker {
	ctx, cancel := context.WithCancel(ctx)
	t := &roomTicker{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		tick := time.NewTicker(tickInterval)
		defer tick.Stop()
		speakers := time.NewTicker(speakerInterval)
		defer speakers.Stop()
		quality := time.NewTicker(qualityInterval)
		defer quality.Stop()
		for n := 1; ; {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				r.tick(now, n%countTicks == 0)
				n++
			case <-speakers.C:
				r.speakers.announce()
			case <-quality.C:
				r.quality.tick()
			}
		}
	}()
	return t
}

// tick runs the loops of one tick in a fixed order: liveness first, so
// that subscribers of a layer that just stopped are moved off it before
// the allocator fits them; then the allocation; then the keyframe nudges,
// which see the layer switches this tick made. count sends the running
// count too.
func (r *Room) tick(now time.Time, count bool) {
	r.checkLayerLiveness(now)
	r.alloc.tick(now)
	r.nudgeKeyframes(now)
	if count {
		r.sendCount()
	}
}

// stop ends the loops and waits for a tick under way to return.
func (t *roomTicker) stop() {
	t.cancel()
	<-t.done
}
