package test

import (
	"context"
	"io"
	"maps"
	"net/http"
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

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
	"github.com/bayan-dev/bayan/server"
)

// Audience mode (room/audience.go), seen by raw signaling clients: the
// teacher may publish, students may not. A raw client never answers the
// subscriber offer, which changes nothing about the participant updates
// it is sent.

func audienceServer(t *testing.T, threshold int) *server.Server {
	return testserver.Start(t, func(c *server.Config) { c.Room.AudienceThreshold = threshold })
}

// joinStudent joins identity with subscribe-only grants: an audience member.
func joinStudent(t *testing.T, srv *server.Server, roomName, identity string) *wsClient {
	t.Helper()
	c := wsJoin(t, srv, identity, testserver.Token(t, roomName, identity, func(g *auth.VideoGrant) {
		g.SetCanPublish(false)
		g.SetCanSubscribe(true)
	}), "auto_subscribe=1")
	c.keepAlive(2 * time.Second)
	return c
}

func joinTeacher(t *testing.T, srv *server.Server, roomName, identity string) *wsClient {
	t.Helper()
	c := wsJoin(t, srv, identity, testserver.Token(t, roomName, identity, nil), "auto_subscribe=1")
	c.keepAlive(2 * time.Second)
	return c
}

// view is who c sees now: its JoinResponse's participants, then every
// ParticipantUpdate in order (DISCONNECTED removes); itself left out.
func (c *wsClient) view() map[string]*livekit.ParticipantInfo {
	v := map[string]*livekit.ParticipantInfo{}
	apply := func(infos []*livekit.ParticipantInfo) {
		for _, info := range infos {
			if info.GetIdentity() == c.name {
				continue
			}
			if info.GetState() == livekit.ParticipantInfo_DISCONNECTED {
				delete(v, info.GetIdentity())
			} else {
				v[info.GetIdentity()] = info
			}
		}
	}
	apply(c.join.GetOtherParticipants())
	for _, f := range c.all() {
		if u := f.msg.GetUpdate(); u != nil {
			apply(u.GetParticipants())
		}
	}
	return v
}

func (c *wsClient) viewNames() []string {
	names := slices.Collect(maps.Keys(c.view()))
	sort.Strings(names)
	return names
}

// waitView waits until c sees exactly want (sorted).
func waitView(t *testing.T, c *wsClient, want ...string) {
	t.Helper()
	sort.Strings(want)
	if !testwait.Until(10*time.Second, func() bool { return slices.Equal(c.viewNames(), want) }) {
		t.Fatalf("%s sees %v, want %v", c.name, c.viewNames(), want)
	}
}

// mentions counts the participant infos about identity that c received
// in frames from index from on (JoinResponse excluded).
func (c *wsClient) mentions(identity string, from int) int {
	n := 0
	frames := c.all()
	for _, f := range frames[min(from, len(frames)):] {
		for _, info := range f.msg.GetUpdate().GetParticipants() {
			if info.GetIdentity() == identity {
				n++
			}
		}
	}
	return n
}

// lastCount is the last running count c received, or -1.
func (c *wsClient) lastCount() int {
	n := -1
	for _, f := range c.all() {
		if ru := f.msg.GetRoomUpdate(); ru != nil {
			n = int(ru.GetRoom().GetNumParticipants())
		}
	}
	return n
}

func (c *wsClient) leave() {
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{
		Reason: livekit.DisconnectReason_CLIENT_INITIATED, Action: livekit.LeaveRequest_DISCONNECT,
	}}})
	if err := c.waitClosed(10 * time.Second); err == nil {
		c.t.Fatalf("%s: connection ended without an error", c.name)
	}
}

func TestLargeRoomAudienceSeesOnlyPublishers(t *testing.T) {
	srv := audienceServer(t, 3)
	const rn = "large"
	teacher := joinTeacher(t, srv, rn, "teacher")
	s1 := joinStudent(t, srv, rn, "s1")
	s2 := joinStudent(t, srv, rn, "s2")
	// Three participants: everyone sees everyone.
	waitView(t, s1, "s2", "teacher")
	waitView(t, s2, "s1", "teacher")
	if c := s1.lastCount(); c != -1 {
		t.Fatalf("s1 got a running count (%d) below the threshold", c)
	}

	// The fourth crosses the threshold: students forget each other.
	s3 := joinStudent(t, srv, rn, "s3")
	for _, s := range []*wsClient{s1, s2, s3} {
		waitView(t, s, "teacher")
	}
	if others := s3.join.GetOtherParticipants(); len(others) != 1 || others[0].GetIdentity() != "teacher" {
		t.Fatalf("s3's JoinResponse lists %d participants, want only the teacher", len(others))
	}
	marks := map[*wsClient]int{s1: len(s1.all()), s2: len(s2.all()), s3: len(s3.all())}
	s4 := joinStudent(t, srv, rn, "s4")
	s5 := joinStudent(t, srv, rn, "s5")
	waitView(t, teacher, "s1", "s2", "s3", "s4", "s5")

	// A student's own change reaches the teacher, not the other students.
	rm := srv.Rooms().Room(rn)
	rm.Participant("s1").UpdateInfo(nil, nil, map[string]string{"bayan.hand": "1700000000000"}, nil)
	testwait.For(t, "the teacher to see s1's hand", 5*time.Second, func() bool {
		return teacher.view()["s1"].GetAttributes()["bayan.hand"] != ""
	})

	// The running count reaches every student, and nothing else about
	// the others.
	for _, s := range []*wsClient{s1, s2, s3, s4, s5} {
		testwait.For(t, s.name+" to be told there are 6", 5*time.Second, func() bool { return s.lastCount() == 6 })
		s.ping() // whatever was queued for it has arrived
		waitView(t, s, "teacher")
	}
	for s, mark := range marks {
		for _, other := range []string{"s1", "s2", "s3", "s4", "s5"} {
			if other == s.name {
				continue
			}
			if n := s.mentions(other, mark); n > 0 {
				t.Errorf("%s was told %d times about %s in audience mode", s.name, n, other)
			}
		}
	}
	for _, s := range []*wsClient{s4, s5} {
		if n := len(s.join.GetOtherParticipants()); n != 1 {
			t.Errorf("%s's JoinResponse lists %d participants, want the teacher only", s.name, n)
		}
	}
	// The teacher is not counted out of anything: it sees everyone.
	if got := len(teacher.view()); got != 5 {
		t.Errorf("teacher sees %d participants, want 5", got)
	}
}

func TestSmallRoomEveryoneSeesEveryone(t *testing.T) {
	srv := audienceServer(t, 10)
	const rn = "small"
	teacher := joinTeacher(t, srv, rn, "teacher")
	students := []*wsClient{}
	names := []string{"s1", "s2", "s3", "s4"}
	for _, n := range names {
		students = append(students, joinStudent(t, srv, rn, n))
	}
	waitView(t, teacher, names...)
	for _, s := range students {
		want := []string{"teacher"}
		for _, n := range names {
			if n != s.name {
				want = append(want, n)
			}
		}
		waitView(t, s, want...)
		s.ping()
		if c := s.lastCount(); c != -1 {
			t.Errorf("%s got a running count (%d) below the threshold", s.name, c)
		}
	}
}

func TestLargeRoomFallingBelowThresholdRevealsAudience(t *testing.T) {
	srv := audienceServer(t, 4) // on above 4, off again at 3 or fewer
	const rn = "shrink"
	teacher := joinTeacher(t, srv, rn, "teacher")
	var students []*wsClient
	for _, n := range []string{"s1", "s2", "s3", "s4", "s5"} {
		students = append(students, joinStudent(t, srv, rn, n))
	}
	waitView(t, teacher, "s1", "s2", "s3", "s4", "s5")
	s1, s2 := students[0], students[1]
	waitView(t, s1, "teacher")
	waitView(t, s2, "teacher")
	testwait.For(t, "s1 to be told there are 6", 5*time.Second, func() bool { return s1.lastCount() == 6 })

	// Down to four: still in audience mode (hysteresis).
	students[4].leave()
	students[3].leave()
	waitView(t, teacher, "s1", "s2", "s3")
	s1.ping()
	waitView(t, s1, "teacher")

	// Down to three: the students see each other again, and the count
	// they were given last is the room's.
	students[2].leave()
	waitView(t, s1, "s2", "teacher")
	waitView(t, s2, "s1", "teacher")
	testwait.For(t, "s1's last count to be 3", 5*time.Second, func() bool { return s1.lastCount() == 3 })
	// And keep seeing each other's changes.
	srv.Rooms().Room(rn).Participant("s2").UpdateInfo(nil, nil, map[string]string{"k": "v"}, nil)
	testwait.For(t, "s1 to see s2's attribute", 5*time.Second, func() bool { return s1.view()["s2"].GetAttributes()["k"] == "v" })
}

// A student given publish permission live becomes visible to everyone with
// its track (and heard by an SDK audience member); when the permission is
// withdrawn its track is unpublished and it disappears for the audience.
func TestLargeRoomStageStudentVisibleWhilePublishing(t *testing.T) {
	testnet.Require(t)
	srv := audienceServer(t, 3)
	const rn = "stage"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	studentGrant := func(g *auth.VideoGrant) { g.SetCanPublish(false); g.SetCanSubscribe(true) }

	teacher := joinTeacher(t, srv, rn, "teacher")
	// s1 goes on stage; s4 is an SDK audience member that must hear s1.
	var mu sync.Mutex
	heard := 0
	s4cb := lksdk.NewRoomCallback()
	s4cb.OnTrackSubscribed = func(tr *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		if rp.Identity() != "s1" {
			return
		}
		go func() {
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
				mu.Lock()
				heard++
				mu.Unlock()
			}
		}()
	}
	s1 := testserver.Join(t, srv, testserver.Token(t, rn, "s1", studentGrant), nil)
	s2 := joinStudent(t, srv, rn, "s2")
	s3 := joinStudent(t, srv, rn, "s3")
	s4 := testserver.Join(t, srv, testserver.Token(t, rn, "s4", studentGrant), s4cb)
	waitView(t, teacher, "s1", "s2", "s3", "s4")
	waitView(t, s2, "teacher")
	remoteNames := func(r *lksdk.Room) []string {
		var out []string
		for _, rp := range r.GetRemoteParticipants() {
			out = append(out, rp.Identity())
		}
		sort.Strings(out)
		return out
	}
	testwait.For(t, "s4 to see the teacher alone", 10*time.Second, func() bool {
		return slices.Equal(remoteNames(s4), []string{"teacher"})
	})

	// On stage: publish permission, then a microphone.
	p1 := srv.Rooms().Room(rn).Participant("s1")
	p1.UpdateInfo(nil, nil, nil, &livekit.ParticipantPermission{CanPublish: true, CanSubscribe: true, CanPublishData: true})
	waitView(t, s2, "s1", "teacher")
	waitView(t, s3, "s1", "teacher")
	// s1 now sees the whole room.
	testwait.For(t, "s1 to see everyone", 10*time.Second, func() bool {
		return slices.Equal(remoteNames(s1), []string{"s2", "s3", "s4", "teacher"})
	})
	testwait.For(t, "s1 to learn of its permission", 10*time.Second, func() bool {
		return s1.LocalParticipant.Permissions().GetCanPublish()
	})
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	publishCounted(ctx, t, s1, opus, "mic", audioMagic, 20*time.Millisecond)
	testwait.For(t, "s2 to see s1's microphone", 10*time.Second, func() bool { return len(s2.view()["s1"].GetTracks()) == 1 })
	testwait.For(t, "s4 to hear s1", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return heard >= 20
	})

	// Off stage: the permission goes, the track is unpublished, s1
	// disappears for the audience and forgets it.
	p1.UpdateInfo(nil, nil, nil, &livekit.ParticipantPermission{CanSubscribe: true, CanPublishData: true})
	waitView(t, s2, "teacher")
	waitView(t, s3, "teacher")
	testwait.For(t, "s4 to see s1 gone", 10*time.Second, func() bool {
		return slices.Equal(remoteNames(s4), []string{"teacher"})
	})
	testwait.For(t, "s1 to forget the audience", 10*time.Second, func() bool {
		return slices.Equal(remoteNames(s1), []string{"teacher"})
	})
	if info := teacher.view()["s1"]; info == nil || len(info.GetTracks()) != 0 {
		t.Fatalf("teacher's view of s1 after the stage: %v", info)
	}
}

// A join whose turn does not come within the wait gets HTTP 503 saying
// the server is busy, and changes nothing; once the join in progress has
// left, the next one gets in.
func TestJoinRefusedWhenItsTurnDoesNotCome(t *testing.T) {
	srv := testserver.Start(t, func(c *server.Config) {
		c.MaxJoining = 1
		c.JoinWait = 300 * time.Millisecond
	})
	const rn = "busy"
	// A raw client never connects its media: its join stays in progress.
	first := joinTeacher(t, srv, rn, "first")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	conn, resp, err := wsDial(ctx, srv, testserver.Token(t, rn, "second", nil), "")
	if err == nil {
		conn.CloseNow()
		t.Fatal("second join accepted while the first was in progress")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second join: %v (response %v), want 503", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "server busy") {
		t.Fatalf("503 body %q does not say the server is busy", body)
	}
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Fatalf("refused after %v, before the wait ran out", took)
	}
	if n := len(srv.Rooms().Room(rn).Participants()); n != 1 {
		t.Fatalf("%d participants after the refusal, want 1", n)
	}
	if v := metricValue(t, srv, "bayan_signal_joins_refused_busy_total"); v != 1 {
		t.Fatalf("bayan_signal_joins_refused_busy_total %v, want 1", v)
	}

	first.leave()
	joinTeacher(t, srv, rn, "second")
}
