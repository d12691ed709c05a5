package classroom

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"

	"github.com/bayan-dev/bayan/room"
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
	// sent is the copy of the state each member was sent last: a change
	// goes only to those whose copy it changes (a student's raised hand to
	// the staff and that student, not to a class of hundreds).
	sent map[*room.Participant][]byte
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
	sent := make(map[*room.Participant][]byte, len(present))
	for _, m := range present {
		b, err := json.Marshal(fl.stateForLocked(pub, m))
		if err != nil {
			continue
		}
		if last, ok := fl.sent[m.p]; ok && bytes.Equal(last, b) {
			sent[m.p] = last
			continue
		}
		if sendJSON(m.p, b) {
			sent[m.p] = b
		}
	}
	fl.sent = sent // members who left are forgotten
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
	b, err := json.Marshal(fl.stateForLocked(fl.publicStateLocked(c, c.present()), m))
	if err != nil {
		return
	}
	if sendJSON(m.p, b) {
		if fl.sent == nil {
			fl.sent = map[*room.Participant][]byte{}
		}
		fl.sent[m.p] = b
	}
}

// closeLocked stops broadcasts for good: the class has emptied.
func (fl *floor) closeLocked() {
	fl.closed = true
	if fl.pending != nil {
		fl.pending.Stop()
		fl.pending = nil
	}
}
