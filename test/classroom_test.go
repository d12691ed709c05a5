package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/classroom"
	"github.com/bayan-dev/bayan/internal/classtest"
	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
	"github.com/bayan-dev/bayan/server"
	"github.com/bayan-dev/bayan/store"
)

// classAPI calls the node's classes' API with token and decodes the JSON
// answer into out (when not nil); it returns the status.
func classAPI(t *testing.T, srv *server.Server, method, path, token string, body, out any) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, srv.HTTPURL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: undecodable answer: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// backEndToken is a school back end's token for the test node.
func backEndToken(t *testing.T) string {
	t.Helper()
	tok, err := auth.NewAccessToken(testserver.Key, testserver.Secret).
		SetVideoGrant(&auth.VideoGrant{RoomCreate: true}).SetValidFor(time.Hour).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// liveClassFixture creates a class on srv (teacher ms-lee, roster s1 to
// s3), starts it and returns its id and everyone's join tokens.
func liveClassFixture(t *testing.T, srv *server.Server) (string, map[string]string) {
	t.Helper()
	be := backEndToken(t)
	start := time.Now().Add(-time.Minute).UTC()
	var c struct{ ID string }
	if st := classAPI(t, srv, "POST", "/api/classes", be, map[string]any{"title": "Polls and presence",
		"teachers": []string{"ms-lee"}, "roster": []string{"s1", "s2", "s3"},
		"starts_at": start, "ends_at": start.Add(time.Hour)}, &c); st != http.StatusCreated {
		t.Fatalf("create class: %d", st)
	}
	if st := classAPI(t, srv, "POST", "/api/classes/"+c.ID+"/start", be, nil, nil); st != http.StatusOK {
		t.Fatalf("start class: %d", st)
	}
	tokens := map[string]string{}
	for _, id := range []string{"ms-lee", "s1", "s2", "s3"} {
		var j struct{ Token string }
		if st := classAPI(t, srv, "POST", "/api/classes/"+c.ID+"/join", be, map[string]string{"identity": id}, &j); st != http.StatusOK {
			t.Fatalf("join token for %s: %d", id, st)
		}
		tokens[id] = j.Token
	}
	return c.ID, tokens
}

// classEvent is a server event on the classroom topic.
type classEvent struct {
	Event  string
	ID     string
	Action string
	Error  string
	Poll   *struct {
		ID       string
		Question string
		Options  []string
		Multiple bool
		Closed   bool
		Tally    []int
		Answered bool
	}
}

// classMember is a member of a class that reads the events it receives as
// classEvents.
type classMember struct {
	*classtest.Member
	t *testing.T
}

// joinClass connects identity to the class's room and waits until the
// server can send it data (its reliable channel is open): replies to
// actions sent before then would be lost.
func joinClass(t *testing.T, srv *server.Server, classID, identity, token string) *classMember {
	t.Helper()
	m := &classMember{Member: classtest.Join(t, classtest.Config{URL: srv.URL(), Token: token, Identity: identity,
		Wait: 15 * time.Second}), t: t}
	topic := "test.ping" // not the classroom's: the client ignores it
	testwait.For(t, identity+"'s data channel from the server", 10*time.Second, func() bool {
		rm := srv.Rooms().Room(classID)
		if rm == nil {
			return false
		}
		p := rm.Participant(identity)
		return p != nil && p.SendData(&livekit.DataPacket{Value: &livekit.DataPacket_User{User: &livekit.UserPacket{
			Topic: &topic, Payload: []byte("ping")}}}, livekit.DataPacket_RELIABLE)
	})
	return m
}

// event decodes an event m received; one it cannot decode fails the test.
func (m *classMember) event(payload []byte) classEvent {
	m.t.Helper()
	var ev classEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		m.t.Fatalf("%s: undecodable event %q: %v", m.Identity, payload, err)
	}
	return ev
}

// act sends an action and waits for its reply, which it returns.
func (m *classMember) act(action string, fields map[string]any) classEvent {
	m.t.Helper()
	return m.event(m.Do(action, fields))
}

// wait returns the latest event that matches, waiting up to 15 s for one.
func (m *classMember) wait(what string, match func(classEvent) bool) classEvent {
	m.t.Helper()
	return m.event(m.Wait(what, func(payload []byte) bool { return match(m.event(payload)) }))
}

// pollEvents returns the poll events received for poll id.
func (m *classMember) pollEvents(id string) []classEvent {
	m.t.Helper()
	var out []classEvent
	for _, p := range m.Events() {
		if ev := m.event(p); ev.Event == "poll" && ev.Poll != nil && ev.Poll.ID == id {
			out = append(out, ev)
		}
	}
	return out
}

// attendanceReport fetches the class's report with token.
func attendanceReport(t *testing.T, srv *server.Server, classID, token string) classroom.AttendanceReport {
	t.Helper()
	var rep classroom.AttendanceReport
	if st := classAPI(t, srv, "GET", "/api/classes/"+classID+"/attendance", token, nil, &rep); st != http.StatusOK {
		t.Fatalf("attendance: %d", st)
	}
	return rep
}

func attendee(t *testing.T, rep classroom.AttendanceReport, identity string) classroom.Attendee {
	t.Helper()
	for _, a := range slices.Concat(rep.Students, rep.Staff) {
		if a.Identity == identity {
			return a
		}
	}
	t.Fatalf("%s is not in the report", identity)
	return classroom.Attendee{}
}

// A class with real clients: three students join (one leaves and comes
// back), a poll goes round, and the attendance report tells who was there.
func TestClassPollAndAttendance(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, func(c *server.Config) { c.StoreDSN = filepath.Join(t.TempDir(), "bayan.db") })
	classID, tokens := liveClassFixture(t, srv)
	began := time.Now()

	teacher := joinClass(t, srv, classID, "ms-lee", tokens["ms-lee"])
	students := map[string]*classMember{}
	joined := map[string]time.Time{} // by when the test saw each in class
	for _, id := range []string{"s1", "s2", "s3"} {
		students[id] = joinClass(t, srv, classID, id, tokens[id])
		joined[id] = time.Now()
	}

	// Permissions by role, and bad polls, change nothing.
	for _, c := range []struct {
		who    *classMember
		action string
		fields map[string]any
		want   string
	}{
		{students["s1"], "poll.create", map[string]any{"question": "Mine?", "options": []string{"a", "b"}}, "forbidden"},
		{teacher, "poll.answer", map[string]any{"poll": "PL_x", "choices": []int{0}}, "forbidden"},
		{students["s1"], "poll.close", map[string]any{"poll": "PL_x"}, "forbidden"},
		{teacher, "poll.create", map[string]any{"question": "One?", "options": []string{"only"}}, "bad poll"},
		{teacher, "poll.create", map[string]any{"question": "Eleven?", "options": strings.Split("abcdefghijk", "")}, "bad poll"},
		{teacher, "poll.create", map[string]any{"question": strings.Repeat("q", 301), "options": []string{"a", "b"}}, "bad poll"},
		{teacher, "poll.create", map[string]any{"question": "Same?", "options": []string{"a", " a "}}, "repeated"},
		{teacher, "poll.create", map[string]any{"question": "Typed?", "options": "a,b"}, "bad poll.create"},
		{students["s2"], "poll.answer", map[string]any{"poll": "PL_missing", "choices": []int{0}}, "no poll"},
	} {
		if r := c.who.act(c.action, c.fields); r.Event != "error" || !strings.Contains(r.Error, c.want) {
			t.Errorf("%s %s %v: %+v, want an error with %q", c.who.Identity, c.action, c.fields, r, c.want)
		}
	}

	if r := teacher.act("poll.create", map[string]any{"question": "Best fruit?", "options": []string{"apple", "pear", "fig"}}); r.Event != "ok" {
		t.Fatalf("poll.create: %+v", r)
	}
	created := teacher.wait("the teacher's poll event", func(ev classEvent) bool {
		return ev.Event == "poll" && ev.Poll != nil && ev.Poll.Question == "Best fruit?"
	})
	pollID := created.Poll.ID
	if !slices.Equal(created.Poll.Tally, []int{0, 0, 0}) || created.Poll.Closed || created.Poll.Multiple ||
		!slices.Equal(created.Poll.Options, []string{"apple", "pear", "fig"}) {
		t.Fatalf("teacher's new poll: %+v", *created.Poll)
	}
	for id, s := range students {
		ev := s.wait(id+" sees the poll", func(ev classEvent) bool { return ev.Event == "poll" && ev.Poll != nil && ev.Poll.ID == pollID })
		if ev.Poll.Tally != nil || ev.Poll.Answered || ev.Poll.Closed || ev.Poll.Question != "Best fruit?" {
			t.Errorf("%s's copy of the new poll: %+v (a student sees no tally)", id, *ev.Poll)
		}
	}

	// Answers: the teacher's tally grows with each.
	tallyIs := func(want ...int) {
		t.Helper()
		teacher.wait(fmt.Sprintf("the teacher's tally %v", want), func(ev classEvent) bool {
			return ev.Event == "poll" && ev.Poll != nil && ev.Poll.ID == pollID && slices.Equal(ev.Poll.Tally, want)
		})
	}
	for _, a := range []struct {
		who    string
		choice int
		tally  []int
	}{{"s1", 0, []int{1, 0, 0}}, {"s2", 2, []int{1, 0, 1}}, {"s3", 0, []int{2, 0, 1}}} {
		if r := students[a.who].act("poll.answer", map[string]any{"poll": pollID, "choices": []int{a.choice}}); r.Event != "ok" {
			t.Fatalf("%s's answer: %+v", a.who, r)
		}
		tallyIs(a.tally...)
		mine := students[a.who].wait(a.who+" sees their answer taken", func(ev classEvent) bool {
			return ev.Event == "poll" && ev.Poll != nil && ev.Poll.ID == pollID && ev.Poll.Answered
		})
		if mine.Poll.Tally != nil {
			t.Errorf("%s sees the tally of an open poll: %+v", a.who, *mine.Poll)
		}
	}
	// A second answer, or a bad one, is refused and leaves the tally be.
	if r := students["s1"].act("poll.answer", map[string]any{"poll": pollID, "choices": []int{1}}); r.Event != "error" || !strings.Contains(r.Error, "already answered") {
		t.Errorf("s1's second answer: %+v", r)
	}
	for _, choices := range [][]int{{0, 1}, {3}, {-1}, {}} {
		if r := students["s1"].act("poll.answer", map[string]any{"poll": pollID, "choices": choices}); r.Event != "error" || !strings.Contains(r.Error, "bad answer") {
			t.Errorf("answer %v: %+v", choices, r)
		}
	}
	var polls struct {
		Polls []struct {
			ID     string
			Tally  []int
			Voters int
		}
	}
	if st := classAPI(t, srv, "GET", "/api/classes/"+classID+"/polls", tokens["ms-lee"], nil, &polls); st != http.StatusOK ||
		len(polls.Polls) != 1 || !slices.Equal(polls.Polls[0].Tally, []int{2, 0, 1}) || polls.Polls[0].Voters != 3 {
		t.Fatalf("polls after the refused answers: %d %+v", st, polls)
	}

	// s2 leaves; the poll closes; everyone there gets the results; s2 comes
	// back and gets them on joining.
	students["s2"].Room.Disconnect()
	// Gone from the room and its leave recorded: a session that comes back
	// before its leave is seen overlaps it, and counts as the same presence.
	testwait.For(t, "s2 to be gone", 10*time.Second, func() bool {
		r := srv.Rooms().Room(classID)
		return r != nil && r.Participant("s2") == nil && !attendee(t, attendanceReport(t, srv, classID, tokens["ms-lee"]), "s2").Present
	})
	if r := teacher.act("poll.close", map[string]any{"poll": pollID}); r.Event != "ok" {
		t.Fatalf("poll.close: %+v", r)
	}
	for _, id := range []string{"s1", "s3"} {
		ev := students[id].wait(id+" sees the results", func(ev classEvent) bool {
			return ev.Event == "poll" && ev.Poll != nil && ev.Poll.ID == pollID && ev.Poll.Closed
		})
		if !slices.Equal(ev.Poll.Tally, []int{2, 0, 1}) || !ev.Poll.Answered {
			t.Errorf("%s's results: %+v", id, *ev.Poll)
		}
	}
	if r := students["s3"].act("poll.answer", map[string]any{"poll": pollID, "choices": []int{1}}); r.Event != "error" {
		t.Errorf("an answer to a closed poll: %+v", r)
	}
	s2 := joinClass(t, srv, classID, "s2", tokens["s2"])
	ev := s2.wait("s2, back, gets the closed poll", func(ev classEvent) bool {
		return ev.Event == "poll" && ev.Poll != nil && ev.Poll.ID == pollID
	})
	if !ev.Poll.Closed || !ev.Poll.Answered || !slices.Equal(ev.Poll.Tally, []int{2, 0, 1}) {
		t.Errorf("s2's poll on joining again: %+v", *ev.Poll)
	}
	if n := len(students["s1"].pollEvents(pollID)); n < 3 {
		t.Errorf("s1 got %d poll events (new, answered, closed)", n)
	}

	// Attendance while the class goes on: everyone there, s2 twice (the
	// events reach the store through a queue: wait for them).
	var rep classroom.AttendanceReport
	testwait.For(t, "s2's second join in the report", 15*time.Second, func() bool {
		rep = attendanceReport(t, srv, classID, tokens["ms-lee"])
		return attendee(t, rep, "s2").Joins == 2
	})
	elapsed := time.Since(began).Seconds() + 1
	if len(rep.Students) != 3 {
		t.Fatalf("students in the report: %+v", rep.Students)
	}
	for _, id := range []string{"s1", "s2", "s3"} {
		a := attendee(t, rep, id)
		wantJoins := 1
		if id == "s2" {
			wantJoins = 2
		}
		if a.Joins != wantJoins || a.Absent || !a.Present || a.Late || !a.OnRoster || a.FirstJoin == nil ||
			a.SecondsPresent < 0 || float64(a.SecondsPresent) > elapsed {
			t.Errorf("%s while in class: %+v (%.0f s since the test began)", id, a, elapsed)
		}
	}

	// Everyone leaves; the leaves reach the store and the report.
	leaving := time.Now()
	for _, m := range []*classMember{teacher, students["s1"], s2, students["s3"]} {
		m.Room.Disconnect()
	}
	testwait.For(t, "every leave in the report", 15*time.Second, func() bool {
		rep = attendanceReport(t, srv, classID, tokens["ms-lee"])
		for _, a := range rep.Students {
			if a.Present || a.LastLeave == nil {
				return false
			}
		}
		return !attendee(t, rep, "ms-lee").Present
	})
	s1, s2a := attendee(t, rep, "s1"), attendee(t, rep, "s2")
	elapsed = time.Since(began).Seconds() + 1
	// How long each stayed depends on how fast this machine runs the test
	// (the whole of it can take under a second): each attendee is held to
	// its own stored timeline below, not to a minimum.
	for _, a := range []classroom.Attendee{s1, s2a, attendee(t, rep, "s3"), attendee(t, rep, "ms-lee")} {
		if a.SecondsPresent < 0 || float64(a.SecondsPresent) > elapsed || a.LastLeave.Before(*a.FirstJoin) {
			t.Errorf("%s after leaving: %+v (%.0f s since the test began)", a.Identity, a, elapsed)
		}
	}
	events, err := srv.Store().AttendanceEvents(context.Background(), classID)
	if err != nil {
		t.Fatal(err)
	}
	var s2events []store.AttendanceEvent
	var s2kinds []store.AttendanceKind
	for _, e := range events {
		if e.Identity == "s2" {
			s2events, s2kinds = append(s2events, e), append(s2kinds, e.Kind)
		}
	}
	if want := []store.AttendanceKind{store.Join, store.Leave, store.Join, store.Leave}; !slices.Equal(s2kinds, want) {
		t.Fatalf("s2's timeline %v, want %v", s2kinds, want)
	}
	// s1 was there throughout: from its join to its leave. s2's time away
	// (from its first leave to its second join) is not counted. Both to
	// the second the report rounds to (times are stored to the millisecond).
	about := func(who string, got int64, want time.Duration) {
		t.Helper()
		const slack = time.Second/2 + 2*time.Millisecond
		if d := time.Duration(got)*time.Second - want; d < -slack || d > slack {
			t.Errorf("%s present %d s, want %.1f s (timeline %+v)", who, got, want.Seconds(), events)
		}
	}
	// The report's times are the node's, stored to the millisecond.
	if s1.FirstJoin.After(joined["s1"]) || s1.LastLeave.Before(leaving.Add(-time.Millisecond)) {
		t.Errorf("s1 from %v to %v; the test saw s1 in class at %v and it left after %v", s1.FirstJoin, s1.LastLeave, joined["s1"], leaving)
	}
	about("s1", s1.SecondsPresent, s1.LastLeave.Sub(*s1.FirstJoin))
	for _, id := range []string{"s3", "ms-lee"} {
		a := attendee(t, rep, id)
		about(id, a.SecondsPresent, a.LastLeave.Sub(*a.FirstJoin))
	}
	away := s2events[2].At.Sub(s2events[1].At)
	if away <= 0 {
		t.Errorf("s2 away for %v", away)
	}
	about("s2", s2a.SecondsPresent, s2a.LastLeave.Sub(*s2a.FirstJoin)-away)
}

// Closing the node with students in class writes every leave before the
// store closes.
func TestClassAttendanceOnShutdown(t *testing.T) {
	testnet.Require(t)
	dsn := filepath.Join(t.TempDir(), "bayan.db")
	srv := testserver.Start(t, func(c *server.Config) { c.StoreDSN = dsn })
	classID, tokens := liveClassFixture(t, srv)
	for _, id := range []string{"ms-lee", "s1", "s2", "s3"} {
		joinClass(t, srv, classID, id, tokens[id])
	}
	testwait.For(t, "everyone in the room", 10*time.Second, func() bool {
		r := srv.Rooms().Room(classID)
		return r != nil && len(r.Participants()) == 4
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}

	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events, err := st.AttendanceEvents(ctx, classID)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string][]store.AttendanceKind{}
	for _, e := range events {
		kinds[e.Identity] = append(kinds[e.Identity], e.Kind)
	}
	for _, id := range []string{"ms-lee", "s1", "s2", "s3"} {
		if !slices.Equal(kinds[id], []store.AttendanceKind{store.Join, store.Leave}) {
			t.Errorf("%s: %v, want a join and a leave", id, kinds[id])
		}
	}
}
