package room

import (
	"testing"
	"time"

	"github.com/bayan-dev/bayan/room/allocation"
)

// cameraRates are a three-layer VP8 camera with three temporal layers
// (each layer at 7.5, 15 and 30 fps), at the rates a track's layers take
// until measured.
var cameraRates = func() (rates [3][3]float64) {
	for q := range rates {
		for t := range rates[q] {
			rates[q][t] = defaultLayerRates[q] * temporalShare(t)
		}
	}
	return rates
}()

// TestAllocStateStartsFromTheBudgetInForce: a subscription comes back to
// the allocator (its track unmuted, or enabled again) held to the budget
// it had when it left. The allocator starts from that budget, so that a
// link with room lifts it; starting from "uncapped" would see nothing to
// change and leave the video paused or low for good.
func TestAllocStateStartsFromTheBudgetInForce(t *testing.T) {
	fresh := func() *subscription {
		s := &subscription{}
		s.budgetCap.Store(int32(2))
		s.budgetTemporal.Store(allocation.AllTemporal)
		return s
	}
	s := fresh()
	if st := newAllocState(s); st.Applied() != allocation.Uncapped || st.Announced() {
		t.Errorf("an uncapped subscription: applied %d, announced %v; want uncapped, not announced", st.Applied(), st.Announced())
	}
	s = fresh()
	s.budgetCap.Store(1)
	s.budgetTemporal.Store(1)
	if st := newAllocState(s); st.Applied() != (allocation.Rung{Q: 1, T: 1}).ID() {
		t.Errorf("held to the medium layer at 15 fps: applied %d, want %d", st.Applied(), allocation.Rung{Q: 1, T: 1}.ID())
	}

	// Paused for lack of room before the mute: with room now, the
	// allocation is a change (a resume), and the pause was announced, so
	// the resume will be too.
	s = fresh()
	s.budgetPaused.Store(true)
	st := newAllocState(s)
	if st.Applied() != -1 || !st.Announced() {
		t.Fatalf("a paused subscription: applied %d, announced %v; want -1, announced", st.Applied(), st.Announced())
	}
	ladder := allocation.Ladder(cameraRates, [3]bool{true, true, true}, [3]bool{true, true, true}, 2, allocation.AllTemporal, -1, false)
	j := allocation.Fit([][]allocation.Rung{ladder}, []*allocation.State{st}, 5_000_000, time.Now(), false)[0]
	if j != len(ladder)-1 {
		t.Fatalf("5 Mbit/s after the unmute: rung %d of %v, want the top", j, ladder)
	}
}
