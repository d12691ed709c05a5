package classroom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/room"
	"github.com/bayan-dev/bayan/store"
)

// Topic is the data-channel topic of classroom messages, both ways: actions
// from clients ({"action": "hand", ...}) and events from the server
// ({"event": "state", ...}). Chat keeps LiveKit's own topics so that the
// SDKs' chat components work unchanged.
const Topic = "bayan.class"

// Live is the classroom in session. It follows the rooms of classes as
// their room.Hooks: who is there in which role, and the classroom's data
// messages (actions, chat, polls). Rooms whose participants carry no class
// role (plain LiveKit rooms) pass through untouched.
type Live struct {
	store *store.Store
	log   *slog.Logger
	now   func() time.Time

	// ctx bounds the store work of jobs and the attendance writer; it is
	// cancelled when Close gives up waiting for them.
	ctx    context.Context
	cancel context.CancelFunc
	att    *attendance

	mu      sync.Mutex
	classes map[string]*liveClass // by room name, which is the class id
	parts   []feature
	closed  bool                      // no new jobs (under mu)
	running int                       // jobs in flight (under mu)
	byWhom  map[*room.Participant]int // jobs in flight per participant (under mu)
	jobs    sync.WaitGroup            // jobs and the attendance writer
	chat    *chat
}

// Bounds of the store work in flight for hooks (poll actions, the polls
// sent on joining): a whole class answering a poll at once fits within
// maxJobs; maxJobsEach keeps one client sending actions in a loop from
// taking them all. Beyond either, an action is refused as busy.
const (
	maxJobs     = 1024
	maxJobsEach = 4
)

// feature is one mechanism of a live class (hands and stage, chat, polls,
// attendance). Its calls run on the participant's goroutine, like
// room.Hooks.
type feature interface {
	joined(c *liveClass, m member)
	ready(c *liveClass, m member)
	left(c *liveClass, m member)
	// act carries out a classroom action (JSON on Topic) if it is one of
	// the feature's, and reports whether it was; the feature replies to the
	// sender itself (replyTo).
	act(c *liveClass, m member, a action) bool
	// data handles a packet on one of the feature's own topics (chat) and
	// reports whether it did; a handled packet never reaches the room.
	data(c *liveClass, m member, pkt *livekit.DataPacket) bool
}

// action is a classroom action as a client sends it on Topic.
type action struct {
	Name string `json:"action"`
	ID   string `json:"id,omitempty"` // the client's, echoed in the reply
	// Raw is the whole message, for the feature to decode its fields.
	Raw json.RawMessage `json:"-"`
}

// maxAction bounds an action message: none needs more.
const maxAction = 16 << 10

// replyTo answers an action to its sender: {"event":"ok"} or, when err is
// set, {"event":"error","error":...}.
func replyTo(m member, a action, err error) {
	if err != nil {
		send(m.p, map[string]string{"event": "error", "id": a.ID, "action": a.Name, "error": err.Error()})
		return
	}
	send(m.p, map[string]string{"event": "ok", "id": a.ID, "action": a.Name})
}

// liveClass is the in-memory state of one class in session.
type liveClass struct {
	id   string
	room *room.Room

	// chatLocked keeps students' chat messages out while set (teachers
	// lock and unlock it; chat honours it).
	chatLocked atomic.Bool

	mu      sync.Mutex
	members map[string]member // by identity, present now
}

// present returns the members present now.
func (c *liveClass) present() []member {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]member, 0, len(c.members))
	for _, m := range c.members {
		out = append(out, m)
	}
	return out
}

// member is a participant of a class, with the role its token gave it.
type member struct {
	p    *room.Participant
	role store.Role
}

// identity is the member's identity in the room.
func (m member) identity() string { return m.p.Identity() }

// staff reports whether the member runs the class (teacher or assistant).
func (m member) staff() bool {
	return m.role == store.RoleTeacher || m.role == store.RoleAssistant
}

// NewLive returns the live classroom over st.
func NewLive(st *store.Store, log *slog.Logger) *Live {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Live{store: st, log: log, now: time.Now, ctx: ctx, cancel: cancel, classes: map[string]*liveClass{},
		byWhom: map[*room.Participant]int{}}
	l.att = newAttendance(l)
	l.chat = newChat(st, log)
	l.parts = append(l.parts, l.att, newPolls(l), newControls(l), l.chat)
	return l
}

// Close waits for the store work of the live classes to finish (the
// attendance events still queued are written, chat's writes done) until
// ctx ends, then stops it. Call it once the rooms are closed (their leaves recorded) and before
// the store closes.
func (l *Live) Close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.att.close()
	l.chat.close()
	done := make(chan struct{})
	go func() {
		l.jobs.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("classroom: close: store work unfinished: %w", ctx.Err())
		l.cancel()
		<-done // every job's store call now fails fast
	}
	l.cancel()
	return err
}

// spawn runs job, done for p, on a goroutine of its own, so that a hook
// never waits on the store; it reports false, running nothing, when Live
// is closing or too many jobs are in flight.
func (l *Live) spawn(p *room.Participant, job func(ctx context.Context)) bool {
	l.mu.Lock()
	if l.closed || l.running >= maxJobs || l.byWhom[p] >= maxJobsEach {
		l.mu.Unlock()
		return false
	}
	l.running++
	l.byWhom[p]++
	l.jobs.Add(1)
	l.mu.Unlock()
	go func() {
		defer func() {
			l.mu.Lock()
			l.running--
			if l.byWhom[p]--; l.byWhom[p] == 0 {
				delete(l.byWhom, p)
			}
			l.mu.Unlock()
			l.jobs.Done()
		}()
		job(l.ctx)
	}()
	return true
}

// roleOf returns the class role p's token gave it, or "" for a participant
// who did not join through a class.
func roleOf(p *room.Participant) store.Role {
	r := store.Role(p.Info().GetAttributes()[RoleAttribute])
	if r.Valid() || r == RoleObserver {
		return r
	}
	return ""
}

// class returns the live state of r's class, creating it on first use.
func (l *Live) class(r *room.Room) *liveClass {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.classes[r.Name()]
	if c == nil || c.room != r {
		c = &liveClass{id: r.Name(), room: r, members: map[string]member{}}
		l.classes[r.Name()] = c
	}
	return c
}

// lookup returns the class state and member for p, or false when p is not
// in a class.
func (l *Live) lookup(r *room.Room, p *room.Participant) (*liveClass, member, bool) {
	role := roleOf(p)
	if role == "" {
		return nil, member{}, false
	}
	return l.class(r), member{p: p, role: role}, true
}

// Joined implements room.Hooks.
func (l *Live) Joined(r *room.Room, p *room.Participant) {
	c, m, ok := l.lookup(r, p)
	if !ok {
		return
	}
	c.mu.Lock()
	c.members[m.identity()] = m
	c.mu.Unlock()
	for _, f := range l.parts {
		f.joined(c, m)
	}
}

// Ready implements room.Hooks.
func (l *Live) Ready(r *room.Room, p *room.Participant) {
	c, m, ok := l.lookup(r, p)
	if !ok {
		return
	}
	for _, f := range l.parts {
		f.ready(c, m)
	}
}

// Left implements room.Hooks.
func (l *Live) Left(r *room.Room, p *room.Participant, _ livekit.DisconnectReason) {
	c, m, ok := l.lookup(r, p)
	if !ok {
		return
	}
	c.mu.Lock()
	if c.members[m.identity()].p == p {
		delete(c.members, m.identity())
	}
	empty := len(c.members) == 0
	c.mu.Unlock()
	for _, f := range l.parts {
		f.left(c, m)
	}
	if empty {
		l.mu.Lock()
		if l.classes[c.id] == c {
			delete(l.classes, c.id)
		}
		l.mu.Unlock()
	}
}

// Data implements room.Hooks.
func (l *Live) Data(r *room.Room, p *room.Participant, pkt *livekit.DataPacket) bool {
	c, m, ok := l.lookup(r, p)
	if !ok {
		return true
	}
	if u := pkt.GetUser(); u != nil && u.GetTopic() == Topic {
		l.dispatch(c, m, u.GetPayload())
		return false // actions are for the server, never relayed
	}
	for _, f := range l.parts {
		if f.data(c, m, pkt) {
			return false
		}
	}
	return true
}

// dispatch decodes an action and hands it to the feature it belongs to.
func (l *Live) dispatch(c *liveClass, m member, payload []byte) {
	var a action
	if len(payload) > maxAction {
		replyTo(m, a, errors.New("bad action: too large"))
		return
	}
	if err := json.Unmarshal(payload, &a); err != nil || a.Name == "" {
		replyTo(m, a, errors.New("bad action: want JSON with an \"action\" field"))
		return
	}
	a.Raw = payload
	for _, f := range l.parts {
		if f.act(c, m, a) {
			return
		}
	}
	replyTo(m, a, fmt.Errorf("bad action: unknown action %q", a.Name))
}

// send sends a classroom event (JSON on Topic) from the server to one
// member; it reports false when the member's channel is not open.
func send(p *room.Participant, event any) bool {
	b, err := json.Marshal(event)
	if err != nil {
		return false
	}
	return sendJSON(p, b)
}

// sendJSON sends an encoded classroom event to one member.
func sendJSON(p *room.Participant, b []byte) bool {
	topic := Topic
	return p.SendData(&livekit.DataPacket{Value: &livekit.DataPacket_User{User: &livekit.UserPacket{
		Payload: b, Topic: &topic,
	}}}, livekit.DataPacket_RELIABLE)
}
