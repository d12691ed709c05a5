package room

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/room/allocation"
	"github.com/bayan-dev/bayan/sfu"
)

// A new subscription starts on the lowest layer that arrives (passing over
// a dead one), whatever its subscriber will ask for, and its budget holds
// an ask for more there until the allocator has placed it.
func TestNewSubscriptionStartsOnTheLowestLayer(t *testing.T) {
	const low, med, high = livekit.VideoQuality_LOW, livekit.VideoQuality_MEDIUM, livekit.VideoQuality_HIGH
	for _, c := range []struct {
		arrived []livekit.VideoQuality
		dead    [3]bool
		want    livekit.VideoQuality
	}{
		{[]livekit.VideoQuality{high, med, low}, [3]bool{}, low},
		{[]livekit.VideoQuality{high, med}, [3]bool{}, med},
		{[]livekit.VideoQuality{high}, [3]bool{}, high},
		{[]livekit.VideoQuality{low, med, high}, [3]bool{true, false, false}, med},
	} {
		pt := simulcastTrack(c.arrived...)
		pt.dead = c.dead
		s := newSubscription(pt, "alice|TR_cam", nil)
		if got := s.down.Receiver(); got != pt.layers[c.want] {
			t.Errorf("arrived %v, dead %v: starts on layer %d, want %v", c.arrived, c.dead, layerIndex(pt, got), c.want)
		}
		if q := s.quality(&livekit.UpdateTrackSettings{Quality: high}); q != low {
			t.Errorf("arrived %v: asking for HIGH before any allocation gives %v, want LOW", c.arrived, q)
		}
	}
}

// A subscriber that has said nothing awaits its settings until it has had
// the track for settingsWait; one that said anything awaits nothing.
func TestAwaitsSettings(t *testing.T) {
	first := time.Now()
	for _, c := range []struct {
		settings   *livekit.UpdateTrackSettings
		since, now time.Time
		want       bool
	}{
		{nil, time.Time{}, first.Add(time.Hour), true}, // nothing forwarded yet
		{nil, first, first.Add(settingsWait - time.Millisecond), true},
		{nil, first, first.Add(settingsWait), false},
		{&livekit.UpdateTrackSettings{}, first, first, false},
		{&livekit.UpdateTrackSettings{}, time.Time{}, first, false},
	} {
		if got := awaitsSettings(c.settings, c.since, c.now); got != c.want {
			t.Errorf("settings %v, forwarding since %v, %v later: awaits %v, want %v",
				c.settings, c.since.IsZero(), c.now.Sub(c.since), got, c.want)
		}
	}
}

// countPLIs gives pt's layers receivers that count, by layer, the PLIs
// sent to the publisher.
func countPLIs(pt *PublishedTrack) *[3]atomic.Int32 {
	var n [3]atomic.Int32
	for q := range pt.layers {
		if pt.layers[q] == nil {
			continue
		}
		pt.layers[q] = sfu.NewReceiverFromSource(nil, sfu.ReceiverParams{Kind: webrtc.RTPCodecTypeVideo,
			WriteRTCP: func([]rtcp.Packet) error { n[q].Add(1); return nil }})
		if q == 0 {
			pt.receiver = pt.layers[q]
		}
	}
	return &n
}

// The allocator keeps a subscriber that has said nothing on the lowest
// layer while it may still ask; the first placement after that is a start,
// not a trial, and moves it up at once, asking the publisher for the new
// layer's keyframe as it does. An ask within the budget switches at once
// too.
func TestAllocatorRaisesANewSubscriptionOnlyWhenItMayAsk(t *testing.T) {
	const low, med, high = livekit.VideoQuality_LOW, livekit.VideoQuality_MEDIUM, livekit.VideoQuality_HIGH
	r, pt, _ := dynacastFixture(t, []livekit.VideoQuality{low, med, high}, low)
	pt.layers[med] = sfu.NewReceiverFromSource(nil, sfu.ReceiverParams{Kind: webrtc.RTPCodecTypeVideo})
	pt.layers[high] = sfu.NewReceiverFromSource(nil, sfu.ReceiverParams{Kind: webrtc.RTPCodecTypeVideo})
	plis := countPLIs(pt)
	bob := r.participants["bob"]
	s := newSubscription(pt, "alice|TR_cam", nil)
	bob.subs["TR_cam"] = s

	a := &bandwidthAllocator{room: r, state: map[*subscription]*allocation.State{}}
	st := newAllocState(s)
	place := func(held bool, wantQ int) {
		v := &videoSub{s: s, rates: cameraRates, exists: [3]bool{true, true, true}, temporal: [3]bool{true, true, true},
			held: held, wantQ: wantQ, wantT: allocation.AllTemporal}
		v.ladder = allocation.Ladder(v.rates, v.exists, v.temporal, v.wantQ, v.wantT, -1, false)
		j := allocation.Fit([][]allocation.Rung{v.ladder}, []*allocation.State{st}, 10_000_000, time.Now(), false)[0]
		a.apply(bob, v, st, j, time.Now(), 10_000_000)
	}

	// Held: all the room in the world does not raise it.
	place(true, int(low))
	if s.budgetCap.Load() != int32(low) || s.down.Target() != pt.layers[low] {
		t.Fatalf("held: budget %d, target layer %d; want LOW, LOW", s.budgetCap.Load(), layerIndex(pt, s.down.Target()))
	}
	// It said nothing in time: it wants the highest, and gets it.
	place(false, int(high))
	if s.down.Target() != pt.layers[high] {
		t.Fatalf("placed: target layer %d, want HIGH", layerIndex(pt, s.down.Target()))
	}
	if st.Trial() >= 0 {
		t.Errorf("the first placement is a trial (rung %d)", st.Trial())
	}
	if n := plis[high].Load(); n != 1 {
		t.Errorf("the switch to HIGH sent %d PLIs for it, want 1 at once", n)
	}

	// It asks for LOW, then for MEDIUM: each switch asks at once.
	bob.UpdateTrackSettings(&livekit.UpdateTrackSettings{TrackSids: []string{"TR_cam"}, Quality: low})
	bob.UpdateTrackSettings(&livekit.UpdateTrackSettings{TrackSids: []string{"TR_cam"}, Quality: med})
	if s.down.Target() != pt.layers[med] || plis[med].Load() != 1 {
		t.Fatalf("asked for MEDIUM: target layer %d, %d PLIs for it; want MEDIUM, 1", layerIndex(pt, s.down.Target()), plis[med].Load())
	}
}
