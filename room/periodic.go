package room

import "time"

// periodic calls a function every interval on a goroutine of its own, until
// closed: the room's speaker detector, connection quality, layer liveness
// and bandwidth allocation each run on one.
type periodic struct {
	stop chan struct{}
	done chan struct{}
}

// startPeriodic calls f with the tick's time every interval.
func startPeriodic(interval time.Duration, f func(now time.Time)) *periodic {
	p := &periodic{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case now := <-t.C:
				f(now)
			}
		}
	}()
	return p
}

// close stops the calls and waits for one under way to return.
func (p *periodic) close() {
	close(p.stop)
	<-p.done
}
