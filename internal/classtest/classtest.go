// Package classtest is a classroom member for tests: a LiveKit Go SDK client
// that sends classroom actions and records the events the server sends it.
package classtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/bayan-dev/bayan/classroom"
)

// DefaultWait is how long a Member waits for an event when its Config does
// not say.
const DefaultWait = 10 * time.Second

// pollEvery is how often a waiting Member looks at what it has received.
const pollEvery = 10 * time.Millisecond

// Config says how a Member connects and how long it waits.
type Config struct {
	// URL is the node's WebSocket URL, Token the member's join token.
	URL, Token string
	// Identity is the token's identity: it names the member in failure
	// messages and begins the ids of its actions.
	Identity string
	// Callback, if not nil, is the room callback to connect with, for the
	// test's own handlers (OnTrackSubscribed and the like). Join replaces
	// its OnDataPacket with one that records the classroom events and then
	// hands every packet on to the one it replaced.
	Callback *lksdk.RoomCallback
	// Options are passed on to lksdk.ConnectToRoomWithToken.
	Options []lksdk.ConnectOption
	// Wait is how long Wait and Do wait before they fail the test;
	// 0 means DefaultWait.
	Wait time.Duration
}

// Member is an SDK client in a class that keeps every event the server
// sends it on classroom.Topic (a JSON object) as the bytes it came in. Its
// methods are for the test's goroutine.
type Member struct {
	// Identity and Room are the member's; Join sets them and nothing
	// changes them.
	Identity string
	Room     *lksdk.Room

	t    testing.TB
	wait time.Duration

	mu     sync.Mutex
	events [][]byte // payloads, oldest first
	seq    int      // the number in the last action id
}

// Join connects a member with c and returns it once the SDK has joined the
// room; the server may not be able to send it data yet (its reliable
// channel may still be opening). The connection ends with the test. Join
// fails the test if the member cannot connect.
func Join(t testing.TB, c Config) *Member {
	t.Helper()
	m := &Member{Identity: c.Identity, t: t, wait: c.Wait}
	if m.wait == 0 {
		m.wait = DefaultWait
	}
	cb := c.Callback
	if cb == nil {
		cb = lksdk.NewRoomCallback()
	}
	next := cb.OnDataPacket
	cb.OnDataPacket = func(d lksdk.DataPacket, p lksdk.DataReceiveParams) {
		// The server never relays a member's packets on the topic: what
		// comes on it comes from the server (no sender).
		if u, ok := d.(*lksdk.UserDataPacket); ok && u.Topic == classroom.Topic && p.SenderIdentity == "" {
			m.record(u.Payload)
		}
		if next != nil {
			next(d, p)
		}
	}
	r, err := lksdk.ConnectToRoomWithToken(c.URL, c.Token, cb, c.Options...)
	if err != nil {
		t.Fatalf("%s joins: %v", c.Identity, err)
	}
	m.Room = r
	t.Cleanup(r.Disconnect)
	return m
}

// record keeps a payload the server sent, which must be a JSON object.
func (m *Member) record(payload []byte) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(payload, &obj); err != nil {
		m.t.Errorf("%s: the server sent undecodable JSON %q", m.Identity, payload)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, slices.Clone(payload))
}

// Events returns the payloads of the events received so far, oldest first.
// The caller must not modify them.
func (m *Member) Events() [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.events)
}

// Send publishes payload on classroom.Topic, reliably, as is: any JSON, or
// none. It fails the test if the SDK refuses it.
func (m *Member) Send(payload []byte) {
	m.t.Helper()
	if err := m.Room.LocalParticipant.PublishDataPacket(lksdk.UserData(payload),
		lksdk.WithDataPublishTopic(classroom.Topic), lksdk.WithDataPublishReliable(true)); err != nil {
		m.t.Fatalf("%s sends: %v", m.Identity, err)
	}
}

// Do sends action with fields and an id of its own (an "action" or "id"
// among fields is overridden), and returns the server's reply to it: the payload of
// the "ok" or "error" event with that id. It fails the test if the reply
// does not come within the member's wait.
func (m *Member) Do(action string, fields map[string]any) []byte {
	m.t.Helper()
	m.mu.Lock()
	m.seq++
	id := fmt.Sprintf("%s-%d", m.Identity, m.seq)
	m.mu.Unlock()
	msg := maps.Clone(fields)
	if msg == nil {
		msg = map[string]any{}
	}
	msg["action"], msg["id"] = action, id
	b, err := json.Marshal(msg)
	if err != nil {
		m.t.Fatal(err)
	}
	m.Send(b)
	return m.Wait("the reply to "+action+" "+id, func(payload []byte) bool {
		var r struct {
			Event string `json:"event"`
			ID    string `json:"id"`
		}
		return json.Unmarshal(payload, &r) == nil && r.ID == id && (r.Event == "ok" || r.Event == "error")
	})
}

// Wait returns the payload of the latest event received that match
// accepts, waiting for one (polling) up to the member's wait; it fails the
// test, saying it was waiting for what, if none comes.
func (m *Member) Wait(what string, match func(payload []byte) bool) []byte {
	m.t.Helper()
	deadline := time.Now().Add(m.wait)
	for {
		events := m.Events()
		for i := len(events) - 1; i >= 0; i-- {
			if match(events[i]) {
				return events[i]
			}
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("%s: timed out after %v waiting for %s", m.Identity, m.wait, what)
		}
		time.Sleep(pollEvery)
	}
}
