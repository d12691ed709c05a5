package allocation

import "time"

// State is the allocator's memory of one subscription. It is used by one
// goroutine at a time (the room's ticker) and needs no lock.
type State struct {
	applied   int // rung id in effect (Uncapped when all it asked for), or Paused
	trial     int // rung id being tried, -1 for none
	trialFrom int // the rung id before the trial
	trialAt   time.Time
	trialEst  int64
	backoff   [9]time.Time // by rung id
	backDur   [9]time.Duration
	announced bool      // paused was announced to the client
	shortAt   time.Time // since when the budget has had no room for it; zero while it has
	lossAt    time.Time // when its link last reported loss (PauseLoss)
	failed    bool      // a trial failed this tick: its back-off, not a cool-down, applies
}

// NewState starts the memory of a subscription from the budget it is held
// to now: paused, or capped at layer capQ and temporal layer capT. A
// subscription leaves the allocation while its track is muted or disabled
// and comes back with the budget it had: memory that assumed Uncapped
// would see nothing to change and leave a video paused, or low, for good.
func NewState(paused bool, capQ, capT int) *State {
	st := &State{applied: Uncapped, trial: -1}
	switch {
	case paused:
		st.applied, st.announced = Paused, true
	case capQ < topLayer || capT < AllTemporal:
		st.applied = Rung{Q: capQ, T: capT}.ID()
	}
	return st
}

// Applied returns the rung id in effect: Uncapped, Paused, or a rung's ID.
func (st *State) Applied() int { return st.applied }

// Announced reports whether the client was last told the video is paused.
func (st *State) Announced() bool { return st.announced }

// Trial returns the rung id of the raise on trial, or -1 for none.
func (st *State) Trial() int { return st.trial }

// Hold returns the layer the video is on now, no higher than wantQ, whose
// ladder keeps a 15 fps rung; -1 while paused.
func (st *State) Hold(wantQ int) int {
	if st.applied < 0 {
		return -1
	}
	return min(RungOf(st.applied).Q, wantQ)
}

// JudgeTrial ends a trial under way: failed if the estimate est fell
// while it ran (its rung then backs off, doubling), held once it lasted
// trialTime.
func (st *State) JudgeTrial(est int64, now time.Time) {
	if st.trial < 0 {
		return
	}
	switch {
	case float64(est) < trialTolerance*float64(st.trialEst):
		first, most := BackoffFirst, backoffMax
		if st.trialFrom < 0 {
			// Resuming costs a keyframe, which a link too slow for it
			// queues for a second or more: try less often.
			first, most = 2*BackoffFirst, 2*backoffMax
		}
		if st.backDur[st.trial] == 0 {
			st.backDur[st.trial] = first
		} else {
			st.backDur[st.trial] = min(2*st.backDur[st.trial], most)
		}
		st.backoff[st.trial] = now.Add(st.backDur[st.trial])
		st.trial, st.failed = -1, true
	case now.Sub(st.trialAt) > trialTime:
		st.backDur[st.trial] = 0 // it held
		st.trial = -1
	}
}

// Change is a move from one rung id to another, as Place decided it.
type Change struct {
	From, To int
	// Trial is set when the move is a raise (or a resume) on trial.
	Trial bool
	// SpatialShrank is set when the move lowers the spatial layer, or
	// pauses.
	SpatialShrank bool
}

// Place records that the video is now on ladder index j (Paused to pause
// it), held to the rung id Cap returns, under estimate est, and returns
// the change, or false when that cap is already in effect. held is Cap's;
// placed says whether the video was placed before: the
// first placement, up from the lowest layer the video started on, is a
// start and not a trial, since a new connection's estimate is bwe's
// initial guess and its first correction would fail every trial on it.
func (st *State) Place(ladder []Rung, j int, held, placed bool, now time.Time, est int64) (Change, bool) {
	capID := Cap(ladder, j, held)
	failed := st.failed
	st.failed = false
	if capID == st.applied {
		return Change{}, false
	}
	shrank := capID < 0 || st.applied >= 0 && RungOf(st.applied).Above(RungOf(capID))
	c := Change{
		From:          st.applied,
		To:            capID,
		Trial:         !shrank && placed,
		SpatialShrank: capID < 0 || st.applied >= 0 && RungOf(capID).Q < RungOf(st.applied).Q,
	}
	switch {
	case c.Trial:
		// Not shrinking, so not paused: j is a rung of the ladder.
		st.trial, st.trialFrom, st.trialAt, st.trialEst = ladder[j].ID(), st.applied, now, est
	case shrank && st.trial < 0 && !failed:
		// The link shrank under a rung that had held: let it settle
		// before trying the layers above again. More frames of the same
		// layer cost no keyframe to try: only their own back-off applies.
		until := now.Add(coolDown)
		for id := range st.backoff {
			r := RungOf(id)
			if capID >= 0 && (!r.Above(RungOf(capID)) || r.Q == RungOf(capID).Q) {
				continue
			}
			if st.backoff[id].Before(until) {
				st.backoff[id] = until
			}
		}
	}
	st.applied = capID
	return c, true
}

// Announce records whether the client is told the video is paused and
// reports whether that differs from what it was last told.
func (st *State) Announce(paused bool) bool {
	if paused == st.announced {
		return false
	}
	st.announced = paused
	return true
}
