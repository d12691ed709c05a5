package allocation

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

// tickInterval is the room's allocation period, which the tests step by.
const tickInterval = 250 * time.Millisecond

// testVideo is a video as the tests fit it: its ladder.
type testVideo struct{ ladder []Rung }

// cameraVideo returns a camera video asking for everything, on rung id
// applied, and its state.
func cameraVideo(applied int, screen bool) (*testVideo, *State) {
	st := &State{applied: applied, trial: -1}
	return &testVideo{ladder: Ladder(cameraRates, [3]bool{true, true, true}, [3]bool{true, true, true}, 2, AllTemporal, st.Hold(2), screen)}, st
}

// ladders returns the ladders of videos, as Fit takes them.
func ladders(videos ...*testVideo) [][]Rung {
	out := make([][]Rung, len(videos))
	for i, v := range videos {
		out[i] = v.ladder
	}
	return out
}

func TestLadder(t *testing.T) {
	for _, c := range []struct {
		name   string
		holdQ  int
		screen bool
		wantT  int
		want   string
	}{
		{"camera on the high layer", 2, false, AllTemporal, "[{0 2 150000} {1 2 500000} {2 1 1.02e+06} {2 2 1.7e+06}]"},
		{"camera on the medium layer", 1, false, AllTemporal, "[{0 2 150000} {1 1 300000} {1 2 500000} {2 2 1.7e+06}]"},
		{"camera on the low layer", 0, false, AllTemporal, "[{0 2 150000} {1 2 500000} {2 2 1.7e+06}]"},
		{"screen share", 1, true, AllTemporal, "[{0 0 60000} {0 1 90000} {0 2 150000} {1 0 200000} {1 1 300000} {1 2 500000} {2 0 680000} {2 1 1.02e+06} {2 2 1.7e+06}]"},
		{"camera asking for 15 fps", 2, false, 1, "[{0 2 150000} {1 2 500000} {2 1 1.02e+06}]"},
	} {
		got := fmt.Sprint(Ladder(cameraRates, [3]bool{true, true, true}, [3]bool{true, true, true}, 2, c.wantT, c.holdQ, c.screen))
		if c.name == "camera asking for 15 fps" {
			// Layers below hold have no 15 fps Rung; their whole rate is
			// what the subscriber gets there.
			got = fmt.Sprint(Ladder(cameraRates, [3]bool{true, true, true}, [3]bool{false, false, true}, 2, c.wantT, c.holdQ, c.screen))
		}
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
	// Without temporal layers each layer is one Rung; without layers, none.
	if got := fmt.Sprint(Ladder(cameraRates, [3]bool{true, false, true}, [3]bool{}, 2, AllTemporal, 2, false)); got != "[{0 2 150000} {2 2 1.7e+06}]" {
		t.Errorf("no temporal layers: %s", got)
	}
	if got := Ladder(cameraRates, [3]bool{}, [3]bool{}, 2, AllTemporal, 2, false); got != nil {
		t.Errorf("no layers: %v", got)
	}
	// A Rung that costs more than one giving as much is left out.
	odd := cameraRates
	odd[1][2] = 1_800_000 // medium costs more than high
	if got := fmt.Sprint(Ladder(odd, [3]bool{true, true, true}, [3]bool{}, 2, AllTemporal, 2, false)); got != "[{0 2 150000} {2 2 1.7e+06}]" {
		t.Errorf("dominated Rung kept: %s", got)
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
		want    Rung
	}{
		{"room for everything", Uncapped, false, 2_000_000, Rung{Q: 2, T: 2}},
		// A layer in use is kept down to keepFactor of its rate.
		{"the whole high layer kept a while", Uncapped, false, 1_300_000, Rung{Q: 2, T: 2}},
		{"high at 15 fps fits", Uncapped, false, 900_000, Rung{Q: 2, T: 1}},
		{"holding high at 15 fps", Rung{Q: 2, T: 1}.ID(), false, 900_000, Rung{Q: 2, T: 1}},
		{"not even that", Rung{Q: 2, T: 1}.ID(), false, 520_000, Rung{Q: 1, T: 2}},
		{"medium: no 15 fps high going up", Rung{Q: 1, T: 2}.ID(), false, 1_300_000, Rung{Q: 1, T: 2}},
		{"medium: whole high going up", Rung{Q: 1, T: 2}.ID(), false, 1_800_000, Rung{Q: 2, T: 2}},
		{"300 kbit/s: the low layer, whole", Uncapped, false, 260_000, Rung{Q: 0, T: 2}},
		{"screen share: high at 7.5 fps", Rung{Q: 1, T: 2}.ID(), true, 700_000, Rung{Q: 2, T: 0}},
	} {
		v, st := cameraVideo(c.applied, c.screen)
		j := Fit(ladders(v), []*State{st}, c.budget, now, true)[0]
		if j < 0 {
			t.Errorf("%s: paused", c.name)
			continue
		}
		if got := v.ladder[j]; got.Q != c.want.Q || got.T != c.want.T {
			t.Errorf("%s: budget %.0f gives layer %d temporal %d, want %d %d (ladder %v)", c.name, c.budget, got.Q, got.T, c.want.Q, c.want.T, v.ladder)
		}
	}
}

// TestFitOrder: one budget across tracks, in the order given (the
// allocator sorts by priority first), pausing what cannot fit.
func TestFitOrder(t *testing.T) {
	now := time.Now()
	a, sa := cameraVideo(Uncapped, false)
	b, sb := cameraVideo(Uncapped, false)
	c, sc := cameraVideo(-1, false) // paused: resumes only with room
	got := Fit(ladders(a, b, c), []*State{sa, sb, sc}, 2_000_000, now, true)
	// The first keeps all of the high layer, the others get their lowest.
	if a.ladder[got[0]] != (Rung{2, 2, 1_700_000}) || got[1] != 0 || got[2] != 0 {
		t.Errorf("2 Mbit/s for three: got %v (%v %v %v)", got, a.ladder, b.ladder, c.ladder)
	}
	got = Fit(ladders(a, b, c), []*State{sa, sb, sc}, 100_000, now, true)
	if got[2] != -1 {
		t.Errorf("100 kbit/s: the paused video resumed: %v", got)
	}
}

// TestFitPausesOnlyLossyShortage: a budget below every lowest layer keeps
// the videos on screen while the link loses nothing (a busy client, not a
// slow link); with loss, a shortage that has lasted PauseGrace pauses, and
// loss that comes and goes (bursts) still counts.
func TestFitPausesOnlyLossyShortage(t *testing.T) {
	now := time.Now()
	tick := func(i int) time.Time { return now.Add(time.Duration(i) * tickInterval) }
	v, st := cameraVideo(Uncapped, false)
	for i := range 20 { // 5 s, without loss
		if j := Fit(ladders(v), []*State{st}, 50_000, tick(i), false)[0]; j != 0 {
			t.Fatalf("tick %d without loss: Rung %d, want the lowest (0)", i, j)
		}
	}
	// The shortage has lasted: the first loss pauses.
	if j := Fit(ladders(v), []*State{st}, 50_000, tick(20), true)[0]; j != -1 {
		t.Fatalf("a lasting shortage with loss: Rung %d, want paused", j)
	}
	// Paused, it is not resumed as soon as the estimate recovers (with
	// the video gone, the link carries what is left), but after the
	// resume back-off, as after a failed try.
	st.applied = -1
	for i := 21; i < 20+int(2*BackoffFirst/tickInterval); i++ {
		if j := Fit(ladders(v), []*State{st}, 5_000_000, tick(i), false)[0]; j != -1 {
			t.Fatalf("resumed %v after the pause", tick(i).Sub(tick(20)))
		}
	}
	if j := Fit(ladders(v), []*State{st}, 5_000_000, tick(20).Add(2*BackoffFirst), false)[0]; j < 0 {
		t.Fatalf("not resumed %v after the pause, with room", 2*BackoffFirst)
	}

	// A new shortage with loss every other tick: paused once it has lasted
	// PauseGrace, not before.
	v, st = cameraVideo(Uncapped, false)
	for i := 0; ; i++ {
		at := tick(i)
		j := Fit(ladders(v), []*State{st}, 50_000, at, i%2 == 0)[0]
		if j < 0 {
			if d := at.Sub(now); d < PauseGrace {
				t.Fatalf("paused after %v of lossy shortage, before PauseGrace", d)
			}
			return
		}
		if i > 20 {
			t.Fatal("never paused in 5 s of bursty lossy shortage")
		}
	}
}

// TestLinkLossNeedsReceiverReports: TWCC feedback that reports packets
// missing (a starved browser reports as missing packets that reach it
// late: 10-50 % in a class on a busy machine) does not make a link lossy
// while the subscriber's receiver reports say it lost next to nothing; a
// reported loss of PauseLoss or more over a second, with the TWCC loss,
// does, and stops counting PauseGrace after the last such report.
func TestLinkLossNeedsReceiverReports(t *testing.T) {
	now := time.Now()
	tick := func(i int) time.Time { return now.Add(time.Duration(i) * tickInterval) }
	l := &Link{baseAt: now}
	// 20 s of 40 % TWCC loss; the reports count 1 lost of 200 a second.
	var c LossCount
	for i := 1; i <= 80; i++ {
		c.Expected += 50
		if i%4 == 0 {
			c.Lost++
		}
		if l.Observe(0.4, c, tick(i)) {
			t.Fatalf("tick %d: lossy with %d of %d reported lost", i, c.Lost, c.Expected)
		}
	}
	// Now the reports count 5 % lost as well.
	lossyAt := -1
	for i := 81; i <= 90; i++ {
		c.Expected += 50
		c.Lost += 3
		if l.Observe(0.4, c, tick(i)) && lossyAt < 0 {
			lossyAt = i
		}
	}
	if lossyAt < 0 || tick(lossyAt).Sub(tick(80)) > 2*reportWindow {
		t.Fatalf("5 %% reported loss with TWCC loss: lossy at tick %d, want within %v", lossyAt, 2*reportWindow)
	}
	// Reported loss alone (TWCC sees none) is not enough either.
	for i := 91; i <= 91+int(PauseGrace/tickInterval); i++ {
		c.Expected += 50
		c.Lost += 3
		if i == 91+int(PauseGrace/tickInterval) && l.Observe(0, c, tick(i)) {
			t.Fatal("lossy without TWCC loss for PauseGrace")
		}
		l.Observe(0, c, tick(i))
	}
	// A window holding one track's report: 2 lost of 30 is not yet loss.
	l = &Link{base: LossCount{Lost: 0, Expected: 1000}, baseAt: now}
	if l.Observe(0.4, LossCount{Lost: 2, Expected: 1030}, tick(4)) {
		t.Fatal("lossy on 2 packets reported lost")
	}
	// A subscription that ends takes its counts with it: no loss from that.
	l = &Link{base: LossCount{Lost: 10, Expected: 1000}, baseAt: now}
	if l.Observe(0.4, LossCount{Lost: 2, Expected: 300}, tick(8)) {
		t.Fatal("lossy after a track's counts left the sum")
	}
	// Packets missing at one report and repaired by the next (NACKs on a
	// busy client) are not loss over the window.
	l = &Link{base: LossCount{Lost: 0, Expected: 1000}, baseAt: now}
	l.Observe(0.4, LossCount{Lost: 6, Expected: 1050}, tick(2))
	if l.Observe(0.4, LossCount{Lost: 0, Expected: 1100}, tick(4)) {
		t.Fatal("lossy after the missing packets were repaired")
	}
}
