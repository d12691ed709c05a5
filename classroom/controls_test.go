package classroom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/bayan-dev/bayan/classroom"
	"github.com/bayan-dev/bayan/internal/classtest"
	"github.com/bayan-dev/bayan/internal/testlog"
	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
	"github.com/bayan-dev/bayan/server"
	"github.com/bayan-dev/bayan/store"
)

// ctlNode is a node with a SQLite store and one live class: teacher
// ms-lee, assistant tom, and the students of roster.
type ctlNode struct {
	t       *testing.T
	srv     *server.Server
	classID string
	backend string         // the school's back-end token
	logs    *testlog.Lines // the node's INFO lines and above
}

func startCtlNode(t *testing.T, roster ...string) *ctlNode {
	t.Helper()
	testnet.Require(t)
	logs := testlog.New(slog.LevelInfo)
	srv := testserver.Start(t, func(c *server.Config) {
		c.StoreDSN = filepath.Join(t.TempDir(), "bayan.db")
		c.Log = logs.Tee(c.Log)
	})
	backend, err := auth.NewAccessToken(testserver.Key, testserver.Secret).
		SetVideoGrant(&auth.VideoGrant{RoomCreate: true}).SetValidFor(time.Hour).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	n := &ctlNode{t: t, srv: srv, backend: backend, logs: logs}
	start := time.Now().UTC().Truncate(time.Second)
	var c struct{ ID string }
	n.api("/api/classes", map[string]any{"title": "Algebra 1", "teachers": []string{"ms-lee"}, "assistants": []string{"tom"},
		"roster": roster, "starts_at": start, "ends_at": start.Add(time.Hour)}, &c)
	n.classID = c.ID
	n.api("/api/classes/"+c.ID+"/start", nil, nil)
	return n
}

// api POSTs body to the classes' API and decodes the 2xx answer into out.
func (n *ctlNode) api(path string, body, out any) {
	n.t.Helper()
	postAPI(n.t, n.srv, n.backend, path, body, out)
}

// postAPI POSTs body to srv's classes' API with token and decodes the
// answer into out (when not nil); an answer other than 2xx fails the test.
func postAPI(t *testing.T, srv *server.Server, token, path string, body, out any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", srv.HTTPURL()+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
	}
}

// ctlState is a state event as a client decodes it.
type ctlState struct {
	Event      string   `json:"event"`
	Class      string   `json:"class"`
	ChatLocked bool     `json:"chatLocked"`
	Spotlight  string   `json:"spotlight"`
	Stage      []string `json:"stage"`
	Invited    []string `json:"invited"`
	Students   int      `json:"students"`
	Hands      []struct {
		Identity string `json:"identity"`
		Name     string `json:"name"`
		At       int64  `json:"at"`
	} `json:"hands"`
	Hand *bool `json:"hand"`
	// HasHands says the copy carried the queue at all.
	HasHands bool `json:"-"`
}

func (s ctlState) handIDs() []string {
	out := []string{}
	for _, h := range s.Hands {
		out = append(out, h.Identity)
	}
	return out
}

// public is what everyone's copy shares, for comparing copies.
func (s ctlState) public() string {
	return fmt.Sprintf("class=%s locked=%v spot=%q stage=%v invited=%v students=%d",
		s.Class, s.ChatLocked, s.Spotlight, s.Stage, s.Invited, s.Students)
}

// ctlClient is a class member whose state events the test reads.
type ctlClient struct {
	*classtest.Member
	t     *testing.T
	token string
}

// join connects identity to the class with the token the API gives it
// (role "observer" asks for an observer's), and waits for its first state.
func (n *ctlNode) join(identity, name, role string, cb *lksdk.RoomCallback) *ctlClient {
	n.t.Helper()
	var tok struct{ Token, Role string }
	n.api("/api/classes/"+n.classID+"/join", map[string]string{"identity": identity, "name": name, "role": role}, &tok)
	m := classtest.Join(n.t, classtest.Config{URL: n.srv.URL(), Token: tok.Token, Identity: identity, Callback: cb,
		Options: []lksdk.ConnectOption{lksdk.WithAutoSubscribe(true)}})
	cl := &ctlClient{Member: m, t: n.t, token: tok.Token}
	cl.waitState("the first state", func(ctlState) bool { return true })
	return cl
}

// event decodes a payload the member recorded (always a JSON object).
func event(payload []byte) map[string]json.RawMessage {
	var ev map[string]json.RawMessage
	_ = json.Unmarshal(payload, &ev)
	return ev
}

// decodeState returns the state event payload is, if it is one; a state
// the test cannot decode fails it.
func (cl *ctlClient) decodeState(payload []byte) (ctlState, bool) {
	cl.t.Helper()
	ev := event(payload)
	if string(ev["event"]) != `"state"` {
		return ctlState{}, false
	}
	var s ctlState
	if err := json.Unmarshal(payload, &s); err != nil {
		cl.t.Fatalf("%s: state %s: %v", cl.Identity, payload, err)
	}
	_, s.HasHands = ev["hands"]
	return s, true
}

// do sends an action and returns the server's reply: "ok" or the error.
func (cl *ctlClient) do(action string, fields map[string]any) string {
	cl.t.Helper()
	return replyText(event(cl.Do(action, fields)))
}

func replyText(ev map[string]json.RawMessage) string {
	var kind, text string
	_ = json.Unmarshal(ev["event"], &kind)
	if kind == "ok" {
		return "ok"
	}
	_ = json.Unmarshal(ev["error"], &text)
	return kind + ": " + text
}

// replies returns the ok and error events received.
func (cl *ctlClient) replies() []string {
	var out []string
	for _, p := range cl.Events() {
		ev := event(p)
		if e := string(ev["event"]); e == `"ok"` || e == `"error"` {
			out = append(out, replyText(ev))
		}
	}
	return out
}

// statesSeen returns the state events received so far.
func (cl *ctlClient) statesSeen() []ctlState {
	cl.t.Helper()
	var out []ctlState
	for _, p := range cl.Events() {
		if s, ok := cl.decodeState(p); ok {
			out = append(out, s)
		}
	}
	return out
}

// memberChangeWait is how long the server gathers arrivals and departures
// before it broadcasts the state (memberChangeDelay).
const memberChangeWait = 250 * time.Millisecond

// latestState returns the latest state received, if any.
func (cl *ctlClient) latestState() (ctlState, bool) {
	cl.t.Helper()
	events := cl.Events()
	for i := len(events) - 1; i >= 0; i-- {
		if s, ok := cl.decodeState(events[i]); ok {
			return s, true
		}
	}
	return ctlState{}, false
}

// state returns the latest state received.
func (cl *ctlClient) state() ctlState {
	cl.t.Helper()
	s, _ := cl.latestState()
	return s
}

// waitState waits until the latest state satisfies cond.
func (cl *ctlClient) waitState(what string, cond func(ctlState) bool) ctlState {
	cl.t.Helper()
	var s ctlState
	if testwait.Until(10*time.Second, func() bool {
		var ok bool
		s, ok = cl.latestState()
		return ok && cond(s)
	}) {
		return s
	}
	cl.t.Fatalf("%s: timed out waiting for %s; latest state %+v", cl.Identity, what, cl.state())
	return ctlState{}
}

// waitFor polls cond until it holds, for at most 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, what, 10*time.Second, cond)
}

// snapshot is what the server holds about everyone in the class's room:
// attributes, publish permissions and tracks with their mute state.
func (n *ctlNode) snapshot() string {
	r := n.srv.Rooms().Room(n.classID)
	if r == nil {
		return "no room"
	}
	var lines []string
	for _, p := range r.Participants() {
		info := p.Info()
		attrs := info.GetAttributes()
		keys := make([]string, 0, len(attrs))
		for k := range attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		line := info.GetIdentity() + ":"
		for _, k := range keys {
			line += fmt.Sprintf(" %s=%s", k, attrs[k])
		}
		line += fmt.Sprintf(" publish=%v %v", info.GetPermission().GetCanPublish(), info.GetPermission().GetCanPublishSources())
		for _, tr := range info.GetTracks() {
			line += fmt.Sprintf(" track(%s muted=%v)", tr.GetSource(), tr.GetMuted())
		}
		lines = append(lines, line)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// publishMic publishes an Opus microphone track whose samples carry magic
// until ctx ends.
func publishMic(ctx context.Context, r *lksdk.Room, magic []byte) (*lksdk.LocalTrackPublication, error) {
	track, err := lksdk.NewLocalSampleTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2})
	if err != nil {
		return nil, err
	}
	pub, err := r.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{Name: "mic", Source: livekit.TrackSource_MICROPHONE})
	if err != nil {
		return nil, err
	}
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		frame := append(append([]byte(nil), magic...), bytes.Repeat([]byte{0xAB}, 60)...)
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_ = track.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond}, nil)
		}
	}()
	return pub, nil
}

// remoteTrack returns the publication of identity's track of src as cl
// sees it, or nil.
func (cl *ctlClient) remoteTrack(identity string, src livekit.TrackSource) *lksdk.RemoteTrackPublication {
	rp := cl.Room.GetParticipantByIdentity(identity)
	if rp == nil {
		return nil
	}
	for _, pub := range rp.TrackPublications() {
		if rpub, ok := pub.(*lksdk.RemoteTrackPublication); ok && pub.Source() == src {
			return rpub
		}
	}
	return nil
}

// packetCounter counts the RTP packets carrying magic on the tracks it reads.
type packetCounter struct {
	mu sync.Mutex
	n  map[string]int // by publisher identity
}

func (c *packetCounter) read(track *webrtc.TrackRemote, from string, magic []byte) {
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		if bytes.Contains(pkt.Payload, magic) {
			c.mu.Lock()
			c.n[from]++
			c.mu.Unlock()
		}
	}
}

func (c *packetCounter) count(from string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[from]
}

// The lesson as a teacher runs it: two students raise their hands, the
// teacher sees them in order, invites the first, who accepts and is heard
// by the other; mute all silences students and not the teacher; the
// teacher takes the student off the stage (their microphone is gone, and
// publishing is refused), locks the chat, spotlights, and ends the class:
// everyone is out and the store says ended.
func TestClassFlow(t *testing.T) {
	n := startCtlNode(t, "ana", "ben", "cy")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	magic := []byte("ANA-ON-STAGE")
	counter := &packetCounter{n: map[string]int{}}
	var mu sync.Mutex
	subscribed := map[string]int{} // tracks ben subscribed to, by publisher
	benCB := lksdk.NewRoomCallback()
	benCB.OnTrackSubscribed = func(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		mu.Lock()
		subscribed[rp.Identity()]++
		mu.Unlock()
		go counter.read(track, rp.Identity(), magic)
	}

	teacher := n.join("ms-lee", "Ms Lee", "", nil)
	ana := n.join("ana", "Ana", "", nil)
	ben := n.join("ben", "Ben", "", benCB)
	teacher.waitState("two students present", func(s ctlState) bool { return s.Students == 2 })
	if _, err := publishMic(ctx, teacher.Room, []byte("TEACHER")); err != nil {
		t.Fatalf("the teacher publishes: %v", err)
	}

	// Hands, in the order they went up; each student sees only their own,
	// and is sent nothing for another's (a class of hundreds would
	// otherwise get a state event per raised hand).
	ben.waitState("ana's arrival counted", func(s ctlState) bool { return s.Students == 2 })
	time.Sleep(2 * memberChangeWait) // the last gathered broadcast is out
	benStates := len(ben.statesSeen())
	if r := ana.do("hand", map[string]any{"raised": true}); r != "ok" {
		t.Fatalf("ana raises her hand: %s", r)
	}
	teacher.waitState("ana's hand", func(s ctlState) bool { return len(s.Hands) == 1 })
	if got := len(ben.statesSeen()); got != benStates {
		t.Fatalf("ben was sent %d state events for ana's hand", got-benStates)
	}
	if r := ben.do("hand", map[string]any{"raised": true}); r != "ok" {
		t.Fatalf("ben raises his hand: %s", r)
	}
	s := teacher.waitState("two hands", func(s ctlState) bool { return len(s.Hands) == 2 })
	if !slices.Equal(s.handIDs(), []string{"ana", "ben"}) || s.Hands[0].Name != "Ana" || s.Hands[1].Name != "Ben" ||
		s.Hands[0].At == 0 || s.Hands[0].At > s.Hands[1].At || s.Hand != nil {
		t.Fatalf("the teacher's queue: %+v", s)
	}
	for _, st := range []*ctlClient{ana, ben} {
		got := st.waitState("own hand up", func(s ctlState) bool { return s.Hand != nil && *s.Hand })
		if got.HasHands {
			t.Fatalf("%s's copy carries the hand queue: %+v", st.Identity, got)
		}
	}
	// A student who leaves takes their hand and invitation along.
	cy := n.join("cy", "Cy", "", nil)
	if r := cy.do("hand", map[string]any{"raised": true}); r != "ok" {
		t.Fatalf("cy raises his hand: %s", r)
	}
	if r := teacher.do("stage.invite", map[string]any{"identity": "cy"}); r != "ok" {
		t.Fatalf("invite cy: %s", r)
	}
	teacher.waitState("cy's hand and invitation", func(s ctlState) bool {
		return slices.Equal(s.handIDs(), []string{"ana", "ben", "cy"}) && slices.Equal(s.Invited, []string{"cy"}) && s.Students == 3
	})
	cy.Room.Disconnect()
	teacher.waitState("cy gone", func(s ctlState) bool {
		return slices.Equal(s.handIDs(), []string{"ana", "ben"}) && len(s.Invited) == 0 && s.Students == 2
	})
	waitFor(t, "ana's hand attribute seen by ben", func() bool {
		rp := ben.Room.GetParticipantByIdentity("ana")
		return rp != nil && rp.Attributes()[classroom.HandAttribute] == fmt.Sprint(s.Hands[0].At)
	})

	// Stage: invite, accept; ana's hand comes down, she may publish.
	if r := teacher.do("stage.invite", map[string]any{"identity": "ana"}); r != "ok" {
		t.Fatalf("invite: %s", r)
	}
	ana.waitState("ana invited", func(s ctlState) bool { return slices.Equal(s.Invited, []string{"ana"}) })
	if r := ana.do("stage.accept", nil); r != "ok" {
		t.Fatalf("accept: %s", r)
	}
	s = teacher.waitState("ana on stage", func(s ctlState) bool { return slices.Equal(s.Stage, []string{"ana"}) })
	if len(s.Invited) != 0 || !slices.Equal(s.handIDs(), []string{"ben"}) {
		t.Fatalf("after accepting: %+v", s)
	}
	waitFor(t, "ana's stage attribute and permission", func() bool {
		rp := ben.Room.GetParticipantByIdentity("ana")
		return rp != nil && rp.Attributes()[classroom.StageAttribute] == "on" && rp.Attributes()[classroom.HandAttribute] == "" &&
			ana.Room.LocalParticipant.Permissions().GetCanPublish()
	})
	if _, err := publishMic(ctx, ana.Room, magic); err != nil {
		t.Fatalf("ana publishes on stage: %v", err)
	}
	waitFor(t, "ben to receive ana's microphone", func() bool { return counter.count("ana") >= 25 })

	// Mute all: students' microphones, not the teacher's.
	waitFor(t, "ben to see the teacher's microphone", func() bool { return ben.remoteTrack("ms-lee", livekit.TrackSource_MICROPHONE) != nil })
	if r := teacher.do("mute", map[string]any{"all": true}); r != "ok" {
		t.Fatalf("mute all: %s", r)
	}
	waitFor(t, "ana's microphone muted, as ben sees it", func() bool {
		p := ben.remoteTrack("ana", livekit.TrackSource_MICROPHONE)
		return p != nil && p.IsMuted()
	})
	// The server mutes before it replies: the teacher's track is as it
	// will stay.
	for _, tr := range n.srv.Rooms().Room(n.classID).Participant("ms-lee").PublishedTracks() {
		if tr.Muted() {
			t.Fatal("mute all muted the teacher")
		}
	}

	// Off the stage: the microphone is unpublished, publishing refused.
	if r := teacher.do("stage.remove", map[string]any{"identity": "ana"}); r != "ok" {
		t.Fatalf("remove: %s", r)
	}
	waitFor(t, "ana's microphone gone for ben", func() bool { return ben.remoteTrack("ana", livekit.TrackSource_MICROPHONE) == nil })
	ben.waitState("stage empty", func(s ctlState) bool { return len(s.Stage) == 0 })
	rAna := n.srv.Rooms().Room(n.classID).Participant("ana")
	if tr := rAna.PublishedTracks(); len(tr) != 0 || rAna.Permission().GetCanPublish() {
		t.Fatalf("ana off the stage: %d tracks, publish %v", len(tr), rAna.Permission().GetCanPublish())
	}
	if err := rAna.AddTrack(&livekit.AddTrackRequest{Cid: "again", Type: livekit.TrackType_AUDIO, Source: livekit.TrackSource_MICROPHONE}); err == nil {
		t.Fatal("the server accepts a track from ana off the stage")
	}
	if _, err := publishMic(ctx, ana.Room, magic); err == nil {
		t.Fatal("ana published again off the stage")
	}
	if tr := rAna.PublishedTracks(); len(tr) != 0 {
		t.Fatalf("ana has %d tracks after a refused publish", len(tr))
	}
	mu.Lock()
	if subscribed["ana"] != 1 {
		t.Fatalf("ben subscribed to %d tracks of ana, want 1", subscribed["ana"])
	}
	mu.Unlock()

	// Chat lock and spotlight reach everyone.
	if r := teacher.do("chat.lock", map[string]any{"locked": true}); r != "ok" {
		t.Fatalf("chat.lock: %s", r)
	}
	if r := teacher.do("spotlight", map[string]any{"identity": "ben"}); r != "ok" {
		t.Fatalf("spotlight: %s", r)
	}
	for _, c := range []*ctlClient{teacher, ana, ben} {
		c.waitState("chat locked and ben spotlit", func(s ctlState) bool { return s.ChatLocked && s.Spotlight == "ben" })
	}

	// End: everyone out, the room gone, the class ended in the store.
	// The room closes right after the reply: the disconnection is the
	// answer that counts, the ok may be cut off.
	teacher.Send([]byte(`{"action":"end","id":"end"}`))
	for _, c := range []*ctlClient{teacher, ana, ben} {
		waitFor(t, c.Identity+" disconnected", func() bool {
			return c.Room.ConnectionState() == lksdk.ConnectionStateDisconnected
		})
		if reason := c.Room.DisconnectReason(); reason != livekit.DisconnectReason_ROOM_DELETED {
			t.Errorf("%s left with %v, want ROOM_DELETED", c.Identity, reason)
		}
	}
	if r := n.srv.Rooms().Room(n.classID); r != nil {
		t.Fatalf("the room is still there with %d participants", len(r.Participants()))
	}
	cl, err := n.srv.Store().GetClass(context.Background(), n.classID)
	if err != nil || cl.State != store.ClassEnded || cl.EndedAt.IsZero() {
		t.Fatalf("the store says %s (ended at %v, %v)", cl.State, cl.EndedAt, err)
	}
	if got := n.logs.Matching(`msg="class ended"`); len(got) != 1 || !strings.HasSuffix(got[0], "by=ms-lee") {
		t.Errorf("the end logged %q, want one line by=ms-lee", got)
	}

	// Ana's token is still valid, but the class stays ended: she is sent
	// away as soon as she is in.
	again, err := lksdk.ConnectToRoomWithToken(n.srv.URL(), ana.token, lksdk.NewRoomCallback())
	if err == nil {
		defer again.Disconnect()
		waitFor(t, "ana sent away from the ended class", func() bool {
			return again.ConnectionState() == lksdk.ConnectionStateDisconnected
		})
		if reason := again.DisconnectReason(); reason != livekit.DisconnectReason_ROOM_DELETED {
			t.Errorf("ana was sent away with %v, want ROOM_DELETED", reason)
		}
	}
	if r := n.srv.Rooms().Room(n.classID); r != nil && r.Participant("ana") != nil {
		t.Fatal("ana is back in the ended class")
	}
}

// ctlCase is one action sent by one member of the class.
type ctlCase struct {
	who    *ctlClient
	action string
	fields map[string]any
}

func (c ctlCase) String() string { return fmt.Sprintf("%s: %s %v", c.who.Identity, c.action, c.fields) }

// settled returns what the server holds and what the teacher last saw once
// every state sent before has reached the teacher: the reply to the
// teacher's no-op (muting a student without a microphone) comes after them.
func (n *ctlNode) settled(teacher *ctlClient) (string, string) {
	n.t.Helper()
	if r := teacher.do("mute", map[string]any{"identity": "ana"}); r != "ok" {
		n.t.Fatalf("the teacher's no-op: %s", r)
	}
	return n.snapshot(), fmt.Sprintf("%+v", teacher.state())
}

// Every action by every role: what a role may not do is answered
// "forbidden" and changes nothing (server state and the teacher's view);
// observers cannot send anything at all; what a role may do works.
func TestControlsByRole(t *testing.T) {
	n := startCtlNode(t, "ana", "ben")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	teacher := n.join("ms-lee", "Ms Lee", "", nil)
	tom := n.join("tom", "Tom", "", nil)
	ana := n.join("ana", "Ana", "", nil)
	ben := n.join("ben", "Ben", "", nil)
	obs := n.join("inspector", "Inspector", "observer", nil)
	teacher.waitState("two students", func(s ctlState) bool { return s.Students == 2 })

	// Ben on the stage with a microphone and his hand up: what students
	// must not be able to touch.
	for _, c := range []ctlCase{{teacher, "stage.invite", map[string]any{"identity": "ben"}}, {ben, "stage.accept", nil},
		{ben, "hand", map[string]any{"raised": true}}} {
		if r := c.who.do(c.action, c.fields); r != "ok" {
			t.Fatalf("%v: %s", c, r)
		}
	}
	benMic, err := publishMic(ctx, ben.Room, []byte("BEN"))
	if err != nil {
		t.Fatalf("ben publishes: %v", err)
	}
	waitFor(t, "ana to see ben's microphone", func() bool { return ana.remoteTrack("ben", livekit.TrackSource_MICROPHONE) != nil })
	teacher.waitState("ben on stage, hand up", func(s ctlState) bool {
		return slices.Equal(s.Stage, []string{"ben"}) && slices.Equal(s.handIDs(), []string{"ben"})
	})

	for _, c := range []ctlCase{
		{teacher, "hand", map[string]any{"raised": true}},
		{teacher, "hand", map[string]any{"raised": true, "identity": "ana"}},
		{teacher, "stage.accept", nil},
		{teacher, "stage.decline", nil},
		{tom, "hand", map[string]any{"raised": true}},
		{tom, "stage.accept", nil},
		{tom, "stage.decline", nil},
		{tom, "end", nil},
		{ana, "hand", map[string]any{"raised": true, "identity": "ben"}},
		{ana, "hand", map[string]any{"raised": false, "identity": "ben"}},
		{ana, "stage.invite", map[string]any{"identity": "ana"}},
		{ana, "stage.remove", map[string]any{"identity": "ben"}},
		{ana, "mute", map[string]any{"identity": "ben"}},
		{ana, "mute", map[string]any{"all": true}},
		{ana, "chat.lock", map[string]any{"locked": true}},
		{ana, "spotlight", map[string]any{"identity": "ana"}},
		{ana, "end", nil},
	} {
		snap, view := n.settled(teacher)
		if r := c.who.do(c.action, c.fields); !strings.HasPrefix(r, "error: forbidden: ") {
			t.Errorf("%v: %s, want forbidden", c, r)
		}
		if snap2, view2 := n.settled(teacher); snap2 != snap || view2 != view {
			t.Errorf("%v changed the class:\n%s\n%s\nbecame\n%s\n%s", c, snap, view, snap2, view2)
		}
	}

	// Observers send nothing the server takes: no reply, no change.
	snap, view := n.settled(teacher)
	for _, c := range []ctlCase{
		{obs, "hand", map[string]any{"raised": true}},
		{obs, "stage.invite", map[string]any{"identity": "ana"}},
		{obs, "stage.remove", map[string]any{"identity": "ben"}},
		{obs, "mute", map[string]any{"all": true}},
		{obs, "chat.lock", map[string]any{"locked": true}},
		{obs, "spotlight", map[string]any{"identity": "ben"}},
		{obs, "end", nil},
	} {
		b, _ := json.Marshal(map[string]any{"action": c.action, "id": "obs-" + c.action})
		obs.Send(b)
	}
	time.Sleep(500 * time.Millisecond) // what the server would take, it takes in far less
	if snap2, view2 := n.settled(teacher); snap2 != snap || view2 != view {
		t.Errorf("an observer changed the class:\n%s\n%s\nbecame\n%s\n%s", snap, view, snap2, view2)
	}
	if r := obs.replies(); len(r) != 0 {
		t.Errorf("the observer got replies %v", r)
	}
	if s := obs.state(); s.HasHands || s.Hand != nil || s.Students != 2 {
		t.Errorf("the observer's state %+v: want the public part only", s)
	}

	// What each role may do.
	micMuted := func(c *ctlClient, muted bool) func() bool {
		return func() bool {
			p := c.remoteTrack("ben", livekit.TrackSource_MICROPHONE)
			return p != nil && p.IsMuted() == muted
		}
	}
	for _, step := range []struct {
		ctlCase
		check func() bool
	}{
		{ctlCase{ana, "hand", map[string]any{"raised": true}}, func() bool {
			return slices.Equal(tom.state().handIDs(), []string{"ben", "ana"}) && *ana.state().Hand && !ben.state().HasHands
		}},
		{ctlCase{ana, "hand", map[string]any{"raised": false}}, func() bool { return slices.Equal(tom.state().handIDs(), []string{"ben"}) }},
		{ctlCase{ana, "hand", map[string]any{"raised": true}}, func() bool { return len(teacher.state().Hands) == 2 }},
		{ctlCase{teacher, "hand", map[string]any{"identity": "ana", "raised": false}}, func() bool { return !*ana.state().Hand }},
		{ctlCase{ana, "hand", map[string]any{"raised": true}}, func() bool { return *ana.state().Hand }},
		{ctlCase{tom, "hand", map[string]any{"identity": "ana", "raised": false}}, func() bool { return !*ana.state().Hand }},
		{ctlCase{teacher, "stage.invite", map[string]any{"identity": "ana"}}, func() bool { return slices.Equal(ana.state().Invited, []string{"ana"}) }},
		{ctlCase{ana, "stage.decline", nil}, func() bool { return len(teacher.state().Invited) == 0 }},
		{ctlCase{teacher, "stage.invite", map[string]any{"identity": "ana"}}, func() bool { return len(ana.state().Invited) == 1 }},
		{ctlCase{teacher, "stage.remove", map[string]any{"identity": "ana"}}, func() bool { return len(ana.state().Invited) == 0 }},
		{ctlCase{tom, "stage.invite", map[string]any{"identity": "ana"}}, func() bool { return len(ana.state().Invited) == 1 }},
		{ctlCase{ana, "stage.accept", nil}, func() bool {
			return slices.Equal(ben.state().Stage, []string{"ben", "ana"}) && ana.Room.LocalParticipant.Permissions().GetCanPublish()
		}},
		{ctlCase{ana, "stage.remove", nil}, func() bool {
			return slices.Equal(ben.state().Stage, []string{"ben"}) && !ana.Room.LocalParticipant.Permissions().GetCanPublish()
		}},
		{ctlCase{tom, "mute", map[string]any{"identity": "ben"}}, micMuted(ana, true)},
		{ctlCase{teacher, "mute", map[string]any{"all": true}}, micMuted(ana, true)},
		{ctlCase{teacher, "chat.lock", map[string]any{"locked": true}}, func() bool { return ana.state().ChatLocked && obs.state().ChatLocked }},
		{ctlCase{tom, "chat.lock", map[string]any{"locked": false}}, func() bool { return !ana.state().ChatLocked && !obs.state().ChatLocked }},
		{ctlCase{tom, "spotlight", map[string]any{"identity": "ana"}}, func() bool { return ben.state().Spotlight == "ana" && obs.state().Spotlight == "ana" }},
		{ctlCase{teacher, "spotlight", map[string]any{"identity": ""}}, func() bool { return ben.state().Spotlight == "" }},
		{ctlCase{tom, "stage.remove", map[string]any{"identity": "ben"}}, func() bool {
			return len(ana.state().Stage) == 0 && ana.remoteTrack("ben", livekit.TrackSource_MICROPHONE) == nil
		}},
		{ctlCase{teacher, "end", nil}, func() bool { return obs.Room.ConnectionState() == lksdk.ConnectionStateDisconnected }},
	} {
		if step.action == "end" {
			// The room closes right after the reply, which may be cut off.
			step.who.Send([]byte(`{"action":"end"}`))
		} else if r := step.who.do(step.action, step.fields); r != "ok" {
			t.Fatalf("%v: %s", step.ctlCase, r)
		}
		waitFor(t, step.String(), step.check)
		if step.action == "mute" && step.fields["all"] == nil {
			// Ben unmutes himself, for mute all to mute him again.
			benMic.SetMuted(false)
			waitFor(t, "ben unmuted", micMuted(ana, false))
		}
	}
}

// Malformed actions and impossible requests get a clear error and change
// nothing.
func TestControlsRefuseMalformed(t *testing.T) {
	n := startCtlNode(t, "ana", "ben")
	teacher := n.join("ms-lee", "Ms Lee", "", nil)
	n.join("tom", "Tom", "", nil)
	ana := n.join("ana", "Ana", "", nil)
	teacher.waitState("ana present", func(s ctlState) bool { return s.Students == 1 })
	snap, view := n.settled(teacher)

	// Messages the server cannot read as an action.
	for _, tc := range []struct {
		name    string
		payload []byte
		want    string
	}{
		{"not JSON", []byte("{raise my hand"), "want JSON"},
		{"no action", []byte(`{"id":"x","raised":true}`), `want JSON with an "action" field`},
		{"oversized", []byte(`{"action":"hand","raised":true,"pad":"` + strings.Repeat("a", 20<<10) + `"}`), "too large"},
		{"unknown action", []byte(`{"action":"dance","id":"d"}`), "unknown action"},
	} {
		before := len(ana.replies())
		ana.Send(tc.payload)
		waitFor(t, tc.name+" reply", func() bool { return len(ana.replies()) > before })
		if r := ana.replies()[before]; !strings.HasPrefix(r, "error: ") || !strings.Contains(r, tc.want) {
			t.Errorf("%s: %q, want an error saying %q", tc.name, r, tc.want)
		}
	}

	long := strings.Repeat("z", 5000)
	for _, tc := range []struct {
		ctlCase
		want string
	}{
		{ctlCase{teacher, "stage.invite", map[string]any{"identity": "zed"}}, `no one called "zed" is in the class`},
		{ctlCase{teacher, "stage.invite", map[string]any{"identity": long}}, `no one called "zzz`},
		{ctlCase{teacher, "stage.invite", map[string]any{"identity": "tom"}}, `"tom" is not a student`},
		{ctlCase{teacher, "stage.invite", nil}, `"identity" is required`},
		{ctlCase{teacher, "stage.invite", map[string]any{"identity": 7}}, "bad stage.invite"},
		{ctlCase{teacher, "stage.remove", map[string]any{"identity": "ana"}}, "neither on the stage nor invited"},
		{ctlCase{teacher, "hand", map[string]any{"identity": "zed", "raised": false}}, `no one called "zed"`},
		{ctlCase{teacher, "hand", map[string]any{"raised": false}}, `"identity" is required`},
		{ctlCase{ana, "hand", nil}, `"raised" (true or false) is required`},
		{ctlCase{ana, "hand", map[string]any{"raised": "yes"}}, "bad hand"},
		{ctlCase{ana, "stage.accept", nil}, "not invited"},
		{ctlCase{ana, "stage.decline", nil}, "not invited"},
		{ctlCase{ana, "stage.remove", nil}, "neither on the stage nor invited"},
		{ctlCase{teacher, "mute", nil}, `"identity" or "all": true is required`},
		{ctlCase{teacher, "mute", map[string]any{"identity": "ana", "all": true}}, "not both"},
		{ctlCase{teacher, "mute", map[string]any{"identity": "zed"}}, `no one called "zed"`},
		{ctlCase{teacher, "chat.lock", nil}, `"locked" (true or false) is required`},
		{ctlCase{teacher, "spotlight", nil}, `"identity" is required`},
		{ctlCase{teacher, "spotlight", map[string]any{"identity": "zed"}}, `no one called "zed"`},
	} {
		r := tc.who.do(tc.action, tc.fields)
		if !strings.HasPrefix(r, "error: ") || strings.Contains(r, "forbidden") || !strings.Contains(r, tc.want) {
			t.Errorf("%v: %q, want an error saying %q", tc.ctlCase, r, tc.want)
		}
		if len(r) > 300 {
			t.Errorf("%v: a %d-byte error echoes the request", tc.ctlCase, len(r))
		}
	}
	if snap2, view2 := n.settled(teacher); snap2 != snap || view2 != view {
		t.Errorf("refused actions changed the class:\n%s\n%s\nbecame\n%s\n%s", snap, view, snap2, view2)
	}
}
