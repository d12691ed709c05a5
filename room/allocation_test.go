package room

import (
	"fmt"
	"testing"
	"time"
)

// cameraRates are a three-layer VP8 camera with three temporal layers:
// each layer at 7.5, 15 and 30 fps.
var cameraRates = [3][3]float64{
	{60_000, 90_000, 150_000},
	{200_000, 300_000, 500_000},
	{680_000, 1_020_000, 1_700_000},
}

func cameraVideo(applied int, screen bool) (*videoSub, *allocState) {
	v := &videoSub{rates: cameraRates, exists: [3]bool{true, true, true}, temporal: [3]bool{true, true, true},
		wantQ: 2, wantT: allTemporal, screen: screen}
	st := &allocState{applied: applied, trial: -1}
	holdQ := -1
	if applied >= 0 {
		holdQ = min(rungOf(applied).q, v.wantQ)
	}
	v.ladder = ladder(v.rates, v.exists, v.temporal, v.wantQ, v.wantT, holdQ, v.screen)
	return v, st
}

func TestLadder(t *testing.T) {
	for _, c := range []struct {
		name   string
		holdQ  int
		screen bool
		wantT  int
		want   string
	}{
		{"camera on the high layer", 2, false, allTemporal, "[{0 2 150000} {1 2 500000} {2 1 1.02e+06} {2 2 1.7e+06}]"},
		{"camera on the medium layer", 1, false, allTemporal, "[{0 2 150000} {1 1 300000} {1 2 500000} {2 2 1.7e+06}]"},
		{"camera on the low layer", 0, false, allTemporal, "[{0 2 150000} {1 2 500000} {2 2 1.7e+06}]"},
		{"screen share", 1, true, allTemporal, "[{0 0 60000} {0 1 90000} {0 2 150000} {1 0 200000} {1 1 300000} {1 2 500000} {2 0 680000} {2 1 1.02e+06} {2 2 1.7e+06}]"},
		{"camera asking for 15 fps", 2, false, 1, "[{0 2 150000} {1 2 500000} {2 1 1.02e+06}]"},
	} {
		got := fmt.Sprint(ladder(cameraRates, [3]bool{true, true, true}, [3]bool{true, true, true}, 2, c.wantT, c.holdQ, c.screen))
		if c.name == "camera asking for 15 fps" {
			// Layers below hold have no 15 fps rung; their whole rate is
			// what the subscriber gets there.
			got = fmt.Sprint(ladder(cameraRates, [3]bool{true, true, true}, [3]bool{false, false, true}, 2, c.wantT, c.holdQ, c.screen))
		}
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
	// Without temporal layers each layer is one rung; without layers, none.
	if got := fmt.Sprint(ladder(cameraRates, [3]bool{true, false, true}, [3]bool{}, 2, allTemporal, 2, false)); got != "[{0 2 150000} {2 2 1.7e+06}]" {
		t.Errorf("no temporal layers: %s", got)
	}
	if got := ladder(cameraRates, [3]bool{}, [3]bool{}, 2, allTemporal, 2, false); got != nil {
		t.Errorf("no layers: %v", got)
	}
	// A rung that costs more than one giving as much is left out.
	odd := cameraRates
	odd[1][2] = 1_800_000 // medium costs more than high
	if got := fmt.Sprint(ladder(odd, [3]bool{true, true, true}, [3]bool{}, 2, allTemporal, 2, false)); got != "[{0 2 150000} {2 2 1.7e+06}]" {
		t.Errorf("dominated rung kept: %s", got)
	}
}

// TestFitThinsFrameRateBeforeResolution: a camera on the high layer whose
// budget no longer carries it keeps the high layer at 15 fps when that
// fits, drops to the medium layer when not even that does, and from there
// goes back up only to the whole high layer.
func TestFitThinsFrameRateBeforeResolution(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name    string
		applied int
		screen  bool
		budget  float64
		want    rung
	}{
		{"room for everything", uncapped, false, 2_000_000, rung{q: 2, t: 2}},
		// A layer in use is kept down to keepFactor of its rate.
		{"the whole high layer kept a while", uncapped, false, 1_300_000, rung{q: 2, t: 2}},
		{"high at 15 fps fits", uncapped, false, 900_000, rung{q: 2, t: 1}},
		{"holding high at 15 fps", rung{q: 2, t: 1}.id(), false, 900_000, rung{q: 2, t: 1}},
		{"not even that", rung{q: 2, t: 1}.id(), false, 520_000, rung{q: 1, t: 2}},
		{"medium: no 15 fps high going up", rung{q: 1, t: 2}.id(), false, 1_300_000, rung{q: 1, t: 2}},
		{"medium: whole high going up", rung{q: 1, t: 2}.id(), false, 1_800_000, rung{q: 2, t: 2}},
		{"300 kbit/s: the low layer, whole", uncapped, false, 260_000, rung{q: 0, t: 2}},
		{"screen share: high at 7.5 fps", rung{q: 1, t: 2}.id(), true, 700_000, rung{q: 2, t: 0}},
	} {
		v, st := cameraVideo(c.applied, c.screen)
		j := fit([]*videoSub{v}, []*allocState{st}, c.budget, now, true)[0]
		if j < 0 {
			t.Errorf("%s: paused", c.name)
			continue
		}
		if got := v.ladder[j]; got.q != c.want.q || got.t != c.want.t {
			t.Errorf("%s: budget %.0f gives layer %d temporal %d, want %d %d (ladder %v)", c.name, c.budget, got.q, got.t, c.want.q, c.want.t, v.ladder)
		}
	}
}

// TestFitOrder: one budget across tracks, in the order given (the
// allocator sorts by priority first), pausing what cannot fit.
func TestFitOrder(t *testing.T) {
	now := time.Now()
	a, sa := cameraVideo(uncapped, false)
	b, sb := cameraVideo(uncapped, false)
	c, sc := cameraVideo(-1, false) // paused: resumes only with room
	got := fit([]*videoSub{a, b, c}, []*allocState{sa, sb, sc}, 2_000_000, now, true)
	// The first keeps all of the high layer, the others get their lowest.
	if a.ladder[got[0]] != (rung{2, 2, 1_700_000}) || got[1] != 0 || got[2] != 0 {
		t.Errorf("2 Mbit/s for three: got %v (%v %v %v)", got, a.ladder, b.ladder, c.ladder)
	}
	got = fit([]*videoSub{a, b, c}, []*allocState{sa, sb, sc}, 100_000, now, true)
	if got[2] != -1 {
		t.Errorf("100 kbit/s: the paused video resumed: %v", got)
	}
}

// TestFitPausesOnlyLossyShortage: a budget below every lowest layer keeps
// the videos on screen while the link loses nothing (a busy client, not a
// slow link); with loss, a shortage that has lasted pauseGrace pauses, and
// loss that comes and goes (bursts) still counts.
func TestFitPausesOnlyLossyShortage(t *testing.T) {
	now := time.Now()
	tick := func(i int) time.Time { return now.Add(time.Duration(i) * allocInterval) }
	v, st := cameraVideo(uncapped, false)
	for i := range 20 { // 5 s, without loss
		if j := fit([]*videoSub{v}, []*allocState{st}, 50_000, tick(i), false)[0]; j != 0 {
			t.Fatalf("tick %d without loss: rung %d, want the lowest (0)", i, j)
		}
	}
	// The shortage has lasted: the first loss pauses.
	if j := fit([]*videoSub{v}, []*allocState{st}, 50_000, tick(20), true)[0]; j != -1 {
		t.Fatalf("a lasting shortage with loss: rung %d, want paused", j)
	}
	// Paused, it is not resumed as soon as the estimate recovers (with
	// the video gone, the link carries what is left), but after the
	// resume back-off, as after a failed try.
	st.applied = -1
	for i := 21; i < 20+int(2*backoffFirst/allocInterval); i++ {
		if j := fit([]*videoSub{v}, []*allocState{st}, 5_000_000, tick(i), false)[0]; j != -1 {
			t.Fatalf("resumed %v after the pause", tick(i).Sub(tick(20)))
		}
	}
	if j := fit([]*videoSub{v}, []*allocState{st}, 5_000_000, tick(20).Add(2*backoffFirst), false)[0]; j < 0 {
		t.Fatalf("not resumed %v after the pause, with room", 2*backoffFirst)
	}

	// A new shortage with loss every other tick: paused once it has lasted
	// pauseGrace, not before.
	v, st = cameraVideo(uncapped, false)
	for i := 0; ; i++ {
		at := tick(i)
		j := fit([]*videoSub{v}, []*allocState{st}, 50_000, at, i%2 == 0)[0]
		if j < 0 {
			if d := at.Sub(now); d < pauseGrace {
				t.Fatalf("paused after %v of lossy shortage, before pauseGrace", d)
			}
			return
		}
		if i > 20 {
			t.Fatal("never paused in 5 s of bursty lossy shortage")
		}
	}
}

// TestAllocStateStartsFromTheBudgetInForce: a subscription comes back to
// the allocator (its track unmuted, or enabled again) held to the budget
// it had when it left. The allocator starts from that budget, so that a
// link with room lifts it; starting from "uncapped" would see nothing to
// change and leave the video paused or low for good.
func TestAllocStateStartsFromTheBudgetInForce(t *testing.T) {
	fresh := func() *subscription {
		s := &subscription{}
		s.budgetCap.Store(int32(2))
		s.budgetTemporal.Store(allTemporal)
		return s
	}
	s := fresh()
	if st := newAllocState(s); st.applied != uncapped || st.announced {
		t.Errorf("an uncapped subscription: applied %d, announced %v; want uncapped, not announced", st.applied, st.announced)
	}
	s = fresh()
	s.budgetCap.Store(1)
	s.budgetTemporal.Store(1)
	if st := newAllocState(s); st.applied != (rung{q: 1, t: 1}).id() {
		t.Errorf("held to the medium layer at 15 fps: applied %d, want %d", st.applied, rung{q: 1, t: 1}.id())
	}

	// Paused for lack of room before the mute: with room now, the
	// allocation is a change (a resume), and the pause was announced, so
	// the resume will be too.
	s = fresh()
	s.budgetPaused.Store(true)
	st := newAllocState(s)
	if st.applied != -1 || !st.announced {
		t.Fatalf("a paused subscription: applied %d, announced %v; want -1, announced", st.applied, st.announced)
	}
	v, _ := cameraVideo(-1, false)
	j := fit([]*videoSub{v}, []*allocState{st}, 5_000_000, time.Now(), false)[0]
	if j != len(v.ladder)-1 {
		t.Fatalf("5 Mbit/s after the unmute: rung %d of %v, want the top", j, v.ladder)
	}
}

// TestLinkLossNeedsReceiverReports: TWCC feedback that reports packets
// missing (a starved browser reports as missing packets that reach it
// late: 10-50 % in a class on a busy machine) does not make a link lossy
// while the subscriber's receiver reports say it lost next to nothing; a
// reported loss of pauseLoss or more over a second, with the TWCC loss,
// does, and stops counting pauseGrace after the last such report.
func TestLinkLossNeedsReceiverReports(t *testing.T) {
	now := time.Now()
	tick := func(i int) time.Time { return now.Add(time.Duration(i) * allocInterval) }
	l := &linkLoss{baseAt: now}
	// 20 s of 40 % TWCC loss; the reports count 1 lost of 200 a second.
	var c lossCount
	for i := 1; i <= 80; i++ {
		c.expected += 50
		if i%4 == 0 {
			c.lost++
		}
		if l.observe(0.4, c, tick(i)) {
			t.Fatalf("tick %d: lossy with %d of %d reported lost", i, c.lost, c.expected)
		}
	}
	// Now the reports count 5 % lost as well.
	lossyAt := -1
	for i := 81; i <= 90; i++ {
		c.expected += 50
		c.lost += 3
		if l.observe(0.4, c, tick(i)) && lossyAt < 0 {
			lossyAt = i
		}
	}
	if lossyAt < 0 || tick(lossyAt).Sub(tick(80)) > 2*reportWindow {
		t.Fatalf("5 %% reported loss with TWCC loss: lossy at tick %d, want within %v", lossyAt, 2*reportWindow)
	}
	// Reported loss alone (TWCC sees none) is not enough either.
	for i := 91; i <= 91+int(pauseGrace/allocInterval); i++ {
		c.expected += 50
		c.lost += 3
		if i == 91+int(pauseGrace/allocInterval) && l.observe(0, c, tick(i)) {
			t.Fatal("lossy without TWCC loss for pauseGrace")
		}
		l.observe(0, c, tick(i))
	}
	// A window holding one track's report: 2 lost of 30 is not yet loss.
	l = &linkLoss{base: lossCount{lost: 0, expected: 1000}, baseAt: now}
	if l.observe(0.4, lossCount{lost: 2, expected: 1030}, tick(4)) {
		t.Fatal("lossy on 2 packets reported lost")
	}
	// A subscription that ends takes its counts with it: no loss from that.
	l = &linkLoss{base: lossCount{lost: 10, expected: 1000}, baseAt: now}
	if l.observe(0.4, lossCount{lost: 2, expected: 300}, tick(8)) {
		t.Fatal("lossy after a track's counts left the sum")
	}
	// Packets missing at one report and repaired by the next (NACKs on a
	// busy client) are not loss over the window.
	l = &linkLoss{base: lossCount{lost: 0, expected: 1000}, baseAt: now}
	l.observe(0.4, lossCount{lost: 6, expected: 1050}, tick(2))
	if l.observe(0.4, lossCount{lost: 0, expected: 1100}, tick(4)) {
		t.Fatal("lossy after the missing packets were repaired")
	}
}
