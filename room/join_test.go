package room

import (
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/internal/testwait"
	"github.com/bayan-dev/bayan/sfu"
)

// viewSink records the leave requests sent to one session, and the room
// as a client sees it that keys participants by identity, as
// livekit-client does: an update of a participant that has left removes
// whoever the client knows under that identity.
type viewSink struct {
	mu     sync.Mutex
	leaves []livekit.DisconnectReason
	view   map[string]string // sid by identity
}

func (s *viewSink) Send(msg *livekit.SignalResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := msg.GetLeave(); l != nil {
		s.leaves = append(s.leaves, l.GetReason())
	}
	for _, info := range msg.GetUpdate().GetParticipants() {
		if info.GetState() == livekit.ParticipantInfo_DISCONNECTED {
			delete(s.view, info.GetIdentity())
		} else {
			s.view[info.GetIdentity()] = info.GetSid()
		}
	}
}

func newViewSink() *viewSink { return &viewSink{view: map[string]string{}} }

// Many joins with one identity at once, as a client retrying in a loop
// sends: one participant stays, every session it replaced is told so and
// its peer connections are closed, the others are told of it last, and
// once the room closes the node is back to the goroutines it had before.
func TestConcurrentJoinsWithOneIdentityLeaveOne(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	engine, err := sfu.NewEngine(sfu.EngineConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true,
		LoggerFactory: sfu.NewPionLoggerFactory(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	m := NewManager(engine, nil, nil, Config{}, quiet)
	r := m.GetOrCreate("class")
	watcher := newViewSink()
	if _, err := r.Join(JoinParams{Identity: "walid"}, watcher); err != nil {
		t.Fatal(err)
	}
	baseline := runtime.NumGoroutine()

	const joins, atOnce = 40, 8
	type session struct {
		p    *Participant
		sink *viewSink
	}
	var (
		mu       sync.Mutex
		sessions []session
		wg       sync.WaitGroup
		turn     = make(chan struct{}, atOnce)
	)
	for range joins {
		wg.Add(1)
		turn <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-turn }()
			sink := newViewSink()
			p, err := r.Join(JoinParams{Identity: "ana", AutoSubscribe: true}, sink)
			if err != nil {
				t.Errorf("join: %v", err)
				return
			}
			mu.Lock()
			sessions = append(sessions, session{p, sink})
			mu.Unlock()
		}()
	}
	wg.Wait()

	if n := len(r.Participants()); n != 2 {
		t.Fatalf("%d participants after %d joins with one identity and one other, want 2", n, joins)
	}
	cur := r.Participant("ana")
	watcher.mu.Lock()
	if sid := watcher.view["ana"]; sid != cur.SID() {
		t.Errorf("the other participant sees ana as %q, want the session in the room, %s", sid, cur.SID())
	}
	watcher.mu.Unlock()
	open, untold := 0, 0
	for _, s := range sessions {
		if s.p == cur {
			continue
		}
		for _, tr := range []*sfu.Transport{s.p.pub, s.p.sub} {
			if st := tr.PeerConnection().ConnectionState(); st != webrtc.PeerConnectionStateClosed {
				open++
			}
		}
		s.sink.mu.Lock()
		if !slices.Equal(s.sink.leaves, []livekit.DisconnectReason{livekit.DisconnectReason_DUPLICATE_IDENTITY}) {
			untold++
		}
		s.sink.mu.Unlock()
	}
	if untold > 0 {
		t.Errorf("%d of %d replaced sessions not told once that they were (DUPLICATE_IDENTITY)", untold, len(sessions)-1)
	}
	if open > 0 {
		t.Errorf("%d peer connections of %d replaced sessions still open", open, len(sessions)-1)
	}

	m.Close(livekit.DisconnectReason_ROOM_DELETED)
	// pion's goroutines end shortly after Close returns; a leak keeps a
	// few dozen per orphaned connection for good.
	testwait.Goroutines(t, baseline, 4, 20*time.Second)
}
