package test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
	"github.com/bayan-dev/bayan/server"
)

// arrivalLog records when each subscribed audio track delivered a packet,
// keyed by the publisher's identity.
type arrivalLog struct {
	mu sync.Mutex
	at map[string][]time.Time
}

func (l *arrivalLog) onTrack(track *webrtc.TrackRemote, rp *lksdk.RemoteParticipant) {
	who := rp.Identity()
	go func() {
		for {
			if _, _, err := track.ReadRTP(); err != nil {
				return
			}
			l.record(who, time.Now())
		}
	}()
}

// record logs a packet of who's at at.
func (l *arrivalLog) record(who string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.at == nil {
		l.at = map[string][]time.Time{}
	}
	l.at[who] = append(l.at[who], at)
}

// between returns, per publisher, the arrivals in [from, to).
func (l *arrivalLog) between(from, to time.Time) map[string][]time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]time.Time{}
	for who, ts := range l.at {
		for _, t := range ts {
			if !t.Before(from) && t.Before(to) {
				out[who] = append(out[who], t)
			}
		}
	}
	return out
}

// keptHearing reports whether, from a to b, the listener received at
// least five packets of tracks other than who's. A stall of the test
// process (62 SDK clients and the node on two cores) holds back every
// track alike and then delivers them together at b: only a gap in which
// the others kept arriving is the node leaving who out.
func keptHearing(arrivals map[string][]time.Time, who string, a, b time.Time) bool {
	n := 0
	for track, ts := range arrivals {
		if track == who {
			continue
		}
		for _, t := range ts {
			if t.After(a) && t.Before(b.Add(-20*time.Millisecond)) {
				n++
			}
		}
	}
	return n >= 5
}

// maxConcurrent returns how many tracks at most flowed at the same time:
// a track flows from its first packet to its last, until a gap longer than
// gap; overlaps shorter than slack (the client's read goroutines are
// scheduled in any order) do not count.
func maxConcurrent(arrivals map[string][]time.Time, gap, slack time.Duration) (int, time.Time) {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, ts := range arrivals {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		start := ts[0]
		for i := 1; i <= len(ts); i++ {
			if i < len(ts) && ts[i].Sub(ts[i-1]) <= gap {
				continue
			}
			if end := ts[i-1]; end.Sub(start) > slack {
				edges = append(edges, edge{start.Add(slack), 1}, edge{end, -1})
			}
			if i < len(ts) {
				start = ts[i]
			}
		}
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta // an end before a start at the same instant
	})
	most, cur := 0, 0
	var when time.Time
	for _, e := range edges {
		cur += e.delta
		if cur > most {
			most, when = cur, e.at
		}
	}
	return most, when
}

// 60 audio publishers with top-3 forwarding: each subscriber receives audio
// from at most 3 tracks at once, and the loudest speaker is always among
// them, also after the loudest changes.
func TestTopKAudio(t *testing.T) {
	testnet.Require(t)
	if testing.Short() {
		t.Skip("62 participants")
	}
	const publishers, k = 60, 3
	srv := testserver.Start(t, func(c *server.Config) {
		c.Room.AudioTopK = k
		c.Room.AudioTopKThreshold = 50
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Two listeners subscribe to everything.
	logs := make([]*arrivalLog, 2)
	for i := range logs {
		logs[i] = &arrivalLog{}
		cb := lksdk.NewRoomCallback()
		l := logs[i]
		cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
			l.onTrack(track, rp)
		}
		testserver.Join(t, srv, testserver.Token(t, "big", fmt.Sprintf("listener-%d", i), nil), cb)
	}

	// Publishers subscribe to nothing (their own cost is not under test).
	// Every eighth one talks quietly in the background; the rest is silent
	// until made the loudest.
	levels := make([]atomic.Uint32, publishers)
	name := func(i int) string { return fmt.Sprintf("pub-%02d", i) }
	// What the loudest speakers sent, and when: a publisher of this test
	// process stalls now and then (62 SDK clients and the node share two
	// cores), and the listeners can only hear what it sent.
	const loud = 5 // -5 dBov
	sent := &arrivalLog{}
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	slots := make(chan struct{}, 6) // connect a few at a time
	for i := range publishers {
		if i%8 == 4 {
			levels[i].Store(30) // -30 dBov
		} else {
			levels[i].Store(127)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			r, err := lksdk.ConnectToRoomWithToken(srv.URL(), testserver.Token(t, "big", name(i), nil),
				lksdk.NewRoomCallback(), lksdk.WithAutoSubscribe(false))
			if err != nil {
				errs <- fmt.Errorf("%s: %w", name(i), err)
				return
			}
			t.Cleanup(r.Disconnect)
			publishLevel(ctx, t, r, &levels[i], func(l uint8) {
				if l <= loud {
					sent.record(name(i), time.Now())
				}
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d publishers connected", publishers)
	// pion reports a remote track on its first packet, and the silent
	// ones send none in a room this big: count subscriptions on the server.
	room := srv.Rooms().Room("big")
	for i := range logs {
		p := room.Participant(fmt.Sprintf("listener-%d", i))
		testwait.For(t, fmt.Sprintf("listener %d to subscribe to %d tracks", i, publishers), 60*time.Second,
			func() bool { return p.SubscriptionCount() == publishers })
	}

	// The loudest moves from publisher to publisher; each phase is
	// measured from settle after its start to its end.
	const phase, settle = 3 * time.Second, 500 * time.Millisecond
	loudest := []int{0, 31, 47}
	type window struct {
		who             string
		began, from, to time.Time
	}
	var windows []window
	time.Sleep(time.Second) // the background talkers settle in
	start := time.Now()
	for i, p := range loudest {
		if i > 0 {
			levels[loudest[i-1]].Store(127)
		}
		levels[p].Store(loud)
		from := time.Now()
		time.Sleep(phase)
		windows = append(windows, window{name(p), from, from.Add(settle), time.Now()})
	}
	end := time.Now()

	for i, l := range logs {
		all := l.between(start, end)
		if most, when := maxConcurrent(all, 100*time.Millisecond, 40*time.Millisecond); most > k {
			t.Errorf("listener %d received %d tracks at once at +%v", i, most, when.Sub(start).Round(time.Millisecond))
		}
		for who := range all {
			var n int
			if _, err := fmt.Sscanf(who, "pub-%d", &n); err == nil && levels[n].Load() == 127 && !slices.Contains(loudest, n) {
				t.Errorf("listener %d received %s, which never spoke", i, who)
			}
		}
		heard := 0
		for who := range all {
			if who != name(loudest[0]) && who != name(loudest[1]) && who != name(loudest[2]) {
				heard++
			}
		}
		if heard == 0 {
			t.Errorf("listener %d heard none of the background talkers", i)
		}
		const within = 250 * time.Millisecond
		for _, w := range windows {
			spoke := sent.between(w.began, w.to)[w.who]
			if len(spoke) == 0 {
				t.Fatalf("%s sent nothing in its turn as the loudest", w.who)
			}
			// The new loudest is let through within a few ticks of its
			// first loud packet.
			got := l.between(w.began, w.to.Add(within))[w.who]
			switch {
			case len(got) == 0:
				t.Errorf("listener %d: %s, the loudest, was never heard", i, w.who)
			case got[0].Sub(spoke[0]) > within && keptHearing(all, w.who, spoke[0], got[0]):
				t.Errorf("listener %d: %s, the loudest, was heard %v after starting to speak, while the others went on",
					i, w.who, got[0].Sub(spoke[0]).Round(time.Millisecond))
			default:
				t.Logf("listener %d: %s heard %v after starting to speak", i, w.who, got[0].Sub(spoke[0]).Round(time.Millisecond))
			}
			// From then on it is never left out: no stretch longer than
			// 250 ms without it while the listener kept hearing others.
			edges := append(append([]time.Time{w.from}, l.between(w.from, w.to)[w.who]...), w.to)
			for j := 1; j < len(edges); j++ {
				if a, b := edges[j-1], edges[j]; b.Sub(a) > within && keptHearing(all, w.who, a, b) {
					t.Errorf("listener %d: nothing from the loudest, %s, from +%v to +%v, while the others went on",
						i, w.who, a.Sub(start).Round(time.Millisecond), b.Sub(start).Round(time.Millisecond))
					break
				}
			}
		}
		t.Logf("listener %d: %d tracks received in %v", i, len(all), end.Sub(start).Round(time.Millisecond))
	}
	if n := srv.Rooms().Stats().PrerollPackets.Load(); n == 0 {
		t.Error("no pre-roll was sent at any hand-over")
	}
	if len(room.Participants()) != publishers+2 {
		t.Fatal("the room does not hold every participant")
	}
}
