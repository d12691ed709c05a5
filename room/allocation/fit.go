package allocation

import "time"

// Fit chooses a rung for each video, given its ladder (see Ladder) and its
// state, within budget bits per second: the lowest rung of each in order,
// then raises in the same order. It returns, by video, an index into its
// ladder, or Paused. A video on screen is paused only after PauseGrace
// without room, and while its link loses packets (lossy now or within
// PauseGrace: loss comes in bursts). It records in states when a video
// started to go short and when its link last lost packets.
func Fit(ladders [][]Rung, states []*State, budget float64, now time.Time, lossy bool) []int {
	alloc := make([]int, len(ladders))
	for i, ladder := range ladders {
		st := states[i]
		if lossy {
			st.lossAt = now
		}
		if len(ladder) == 0 {
			alloc[i] = Paused
			continue
		}
		lowest := ladder[0]
		need := lowest.Rate
		if st.applied >= 0 {
			need *= keepFactor // hysteresis: a video on screen stays a little longer
		} else if now.Before(st.backoff[lowest.ID()]) {
			need = budget + 1 // resuming failed a moment ago: wait out the back-off
		}
		if budget < need {
			// Pause only a shortage that lasts: an estimate that dips and
			// recovers within PauseGrace should not blank the tile.
			if st.applied >= 0 {
				if st.shortAt.IsZero() {
					st.shortAt = now
				}
				recentLoss := !st.lossAt.IsZero() && now.Sub(st.lossAt) < PauseGrace
				if !recentLoss || now.Sub(st.shortAt) < PauseGrace {
					alloc[i] = 0
					budget -= lowest.Rate
					continue
				}
				// Paused now: the link has just shown it cannot carry the
				// lowest layer, so resuming waits as after a failed try.
				// An estimate that recovers at once (only audio left on
				// the link) would otherwise send a keyframe into the same
				// queue a moment later.
				id := lowest.ID()
				if st.backDur[id] == 0 {
					st.backDur[id] = 2 * BackoffFirst
				}
				if until := now.Add(st.backDur[id]); st.backoff[id].Before(until) {
					st.backoff[id] = until
				}
			}
			alloc[i] = Paused
			continue
		}
		st.shortAt = time.Time{}
		alloc[i] = 0
		budget -= lowest.Rate
	}
	for i, ladder := range ladders {
		if alloc[i] < 0 {
			continue
		}
		st := states[i]
		for j := alloc[i] + 1; j < len(ladder); j++ {
			r, cur := ladder[j], ladder[alloc[i]]
			need := r.Rate - cur.Rate
			if st.applied >= 0 && !r.Above(RungOf(st.applied)) {
				need = r.Rate*keepFactor - cur.Rate // keep what it has a little longer
			}
			if now.Before(st.backoff[r.ID()]) || budget < need {
				break
			}
			budget -= r.Rate - cur.Rate
			alloc[i] = j
		}
	}
	return alloc
}
