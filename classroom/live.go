package classroom

import (
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"

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

	mu      sync.Mutex
	classes map[string]*liveClass // by room name, which is the class id
	parts   []feature
}

// feature is one mechanism of a live class (hands and stage, chat, polls,
// attendance). Its calls run on the participant's goroutine, like
// room.Hooks.
type feature interface {
	joined(c *liveClass, m member)
	ready(c *liveClass, m member)
	left(c *liveClass, m member)
	// data handles a packet on one of the feature's topics and reports
	// whether it did; a handled packet never reaches the room.
	data(c *liveClass, m member, pkt *livekit.DataPacket) bool
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
	l := &Live{store: st, log: log, classes: map[string]*liveClass{}}
	return l
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
	for _, f := range l.parts {
		if f.data(c, m, pkt) {
			return false
		}
	}
	return true
}

// send sends a classroom event (JSON on Topic) from the server to one
// member; it reports false when the member's channel is not open.
func send(p *room.Participant, event any) bool {
	b, err := json.Marshal(event)
	if err != nil {
		return false
	}
	topic := Topic
	return p.SendData(&livekit.DataPacket{Value: &livekit.DataPacket_User{User: &livekit.UserPacket{
		Payload: b, Topic: &topic,
	}}}, livekit.DataPacket_RELIABLE)
}
