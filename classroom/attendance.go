package classroom

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/store"
)

// attendanceQueue bounds the attendance events waiting for the store. An
// event takes about 2 ms to write to SQLite, so a full queue means the
// store has been failing or stalled for many seconds.
const attendanceQueue = 8192

// attendance records members' comings and goings as attendance events,
// from the participants' goroutines through a queue that a writer
// goroutine drains into the store. A person connected twice at once (a
// new session replacing an old one) is one presence: only the first join
// and the last leave are recorded, so that the stored timeline alternates.
// Observers are not members of the class and are not recorded.
type attendance struct {
	live  *Live
	queue chan store.AttendanceEvent

	mu      sync.Mutex
	open    map[presence]int // connections per class and identity
	closed  bool             // the queue is closed
	dropped int              // events refused by a full queue
}

// presence is one identity in one class.
type presence struct{ class, identity string }

func newAttendance(l *Live) *attendance {
	a := &attendance{live: l, queue: make(chan store.AttendanceEvent, attendanceQueue), open: map[presence]int{}}
	l.jobs.Add(1)
	go func() {
		defer l.jobs.Done()
		a.write()
	}()
	return a
}

func (a *attendance) joined(c *liveClass, m member) { a.record(c.id, m.identity(), m.role, store.Join) }
func (a *attendance) left(c *liveClass, m member)   { a.record(c.id, m.identity(), m.role, store.Leave) }

func (a *attendance) ready(*liveClass, member)                          {}
func (a *attendance) act(*liveClass, member, action) bool               { return false }
func (a *attendance) data(*liveClass, member, *livekit.DataPacket) bool { return false }

// record queues the event when it changes whether identity is present in
// the class. The time is taken, and the event queued, under the lock, so
// that a join and a leave of one identity reach the store in the order
// they happened.
func (a *attendance) record(classID, identity string, role store.Role, kind store.AttendanceKind) {
	if !role.Valid() {
		return // an observer
	}
	key := presence{classID, identity}
	a.mu.Lock()
	defer a.mu.Unlock()
	n := a.open[key]
	switch {
	case kind == store.Join:
		a.open[key] = n + 1
		if n > 0 {
			return // already present
		}
	case n == 0:
		return // a leave without a join seen by this node
	case n > 1:
		a.open[key] = n - 1
		return // still connected in another session
	default:
		delete(a.open, key)
	}
	e := store.AttendanceEvent{ClassID: classID, Identity: identity, Role: role, Kind: kind, At: a.live.now()}
	if a.closed {
		a.live.log.Error("classroom: attendance event after close, not recorded", "class", classID, "identity", identity, "kind", kind)
		return
	}
	select {
	case a.queue <- e:
	default:
		// Waiting here would stall every join and leave of the node behind
		// a store that does not answer.
		a.dropped++
		a.live.log.Error("classroom: attendance queue full, event lost", "class", classID, "identity", identity,
			"kind", kind, "lost", a.dropped)
	}
}

// close stops the queue; the writer drains what is in it and returns.
func (a *attendance) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed {
		a.closed = true
		close(a.queue)
	}
}

// write stores the queued events in order until the queue is closed and
// empty.
func (a *attendance) write() {
	lost := 0
	for e := range a.queue {
		if a.live.ctx.Err() != nil {
			lost++ // Close gave up waiting: the rest are counted, not tried
			continue
		}
		if err := a.store(e); err != nil {
			lost++
			a.live.log.Error("classroom: attendance event not recorded", "class", e.ClassID, "identity", e.Identity,
				"kind", e.Kind, "err", err)
		}
	}
	if lost > 0 {
		a.live.log.Error("classroom: attendance events lost", "count", lost)
	}
}

// store writes one event, retrying a failure that may pass (not a
// missing class or a bad argument) a few times.
func (a *attendance) store(e store.AttendanceEvent) error {
	backoff := 100 * time.Millisecond
	var err error
	for range 4 {
		ctx, cancel := context.WithTimeout(a.live.ctx, 10*time.Second)
		_, err = a.live.store.RecordAttendance(ctx, e.ClassID, e.Identity, e.Role, e.Kind, e.At)
		cancel()
		if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) ||
			a.live.ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(backoff):
		case <-a.live.ctx.Done():
			return err
		}
		backoff *= 2
	}
	return err
}
