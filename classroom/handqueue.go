package classroom

import (
	"slices"
	"time"
)

// Hand is one raised hand: who, under which name, raised when (Unix ms).
type Hand struct {
	Identity string `json:"identity"`
	Name     string `json:"name"`
	At       int64  `json:"at"`
}

// HandQueue is the raised hands of a class in the order they went up, one
// per identity, so the teacher takes questions first come, first served.
// It is not safe for concurrent use: its class's lock guards it.
type HandQueue struct {
	hands []Hand
}

// Raise puts identity's hand up at the back of the queue and reports
// whether it went up; a hand already up keeps its place.
func (q *HandQueue) Raise(identity, name string, at time.Time) bool {
	if q.index(identity) >= 0 {
		return false
	}
	q.hands = append(q.hands, Hand{Identity: identity, Name: name, At: at.UnixMilli()})
	return true
}

// Lower takes identity's hand out of the queue (lowered, or its owner left)
// and reports whether it was up.
func (q *HandQueue) Lower(identity string) bool {
	i := q.index(identity)
	if i < 0 {
		return false
	}
	q.hands = slices.Delete(q.hands, i, i+1)
	return true
}

// Raised returns identity's hand and whether it is up.
func (q *HandQueue) Raised(identity string) (Hand, bool) {
	i := q.index(identity)
	if i < 0 {
		return Hand{}, false
	}
	return q.hands[i], true
}

// List returns the hands up, first raised first; never nil, so that it
// reads as [] in JSON.
func (q *HandQueue) List() []Hand {
	return append(make([]Hand, 0, len(q.hands)), q.hands...)
}

// Len returns how many hands are up.
func (q *HandQueue) Len() int { return len(q.hands) }

func (q *HandQueue) index(identity string) int {
	return slices.IndexFunc(q.hands, func(h Hand) bool { return h.Identity == identity })
}
