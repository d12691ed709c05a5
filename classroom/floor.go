package classroom

import (
	"sync"
	"time"
)

// memberChangeDelay gathers the state broadcasts that arrivals and
// departures cause: a class of hundreds filling up in a minute sends each
// member a few copies of the state, not one per arrival.
const memberChangeDelay = 250 * time.Millisecond

// floor is who has the floor in one live class: the raised hands, the
// stage and the spotlight. Its lock also orders the state events, so that
// each member receives them in the order the changes happened.
type floor struct {
	mu        sync.Mutex
	hands     HandQueue
	stage     Stage
	spotlight string      // identity, or "" for none
	pending   *time.Timer // a gathered broadcast, waiting
	closed    bool        // the class emptied: no more broadcasts
}

// broadcastLocked sends every member present their copy of the state now;
// a gathered broadcast still waiting has nothing left to say.
func (fl *floor) broadcastLocked(c *liveClass) {
	if fl.pending != nil {
		fl.pending.Stop()
		fl.pending = nil
	}
	if fl.closed {
		return
	}
	present := c.present()
	pub := fl.publicStateLocked(c, present)
	for _, m := range present {
		send(m.p, fl.stateForLocked(pub, m))
	}
}

// broadcastSoonLocked broadcasts the state after memberChangeDelay, with
// whatever else changes meanwhile.
func (fl *floor) broadcastSoonLocked(c *liveClass) {
	if fl.pending != nil || fl.closed {
		return
	}
	fl.pending = time.AfterFunc(memberChangeDelay, func() {
		fl.mu.Lock()
		defer fl.mu.Unlock()
		fl.broadcastLocked(c)
	})
}

// sendLocked sends m its copy of the state.
func (fl *floor) sendLocked(c *liveClass, m member) {
	if fl.closed {
		return
	}
	send(m.p, fl.stateForLocked(fl.publicStateLocked(c, c.present()), m))
}

// closeLocked stops broadcasts for good: the class has emptied.
func (fl *floor) closeLocked() {
	fl.closed = true
	if fl.pending != nil {
		fl.pending.Stop()
		fl.pending = nil
	}
}
