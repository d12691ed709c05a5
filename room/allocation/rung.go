package allocation

import "slices"

// Rung is one way to send a video: spatial layer Q thinned to temporal
// layer T (AllTemporal: every frame), which costs Rate bits per second.
type Rung struct {
	Q, T int
	Rate float64
}

// AllTemporal is the temporal layer that means all frames.
const AllTemporal = 2

// topLayer is the highest spatial layer (livekit.VideoQuality_HIGH).
const topLayer = 2

// Uncapped is the rung id of a video that gets all it asked for.
const Uncapped = 3*2 + AllTemporal

// Paused is the rung id, and the ladder index, of a paused video.
const Paused = -1

// ID numbers the rungs 0..8 (Q*3+T), the index of per-rung state.
func (r Rung) ID() int { return r.Q*3 + r.T }

// RungOf returns the rung (without its rate) of an id.
func RungOf(id int) Rung { return Rung{Q: id / 3, T: id % 3} }

// Above reports whether r gives more than o: a higher layer, or the same
// layer with more frames.
func (r Rung) Above(o Rung) bool { return r.Q > o.Q || r.Q == o.Q && r.T > o.T }

// Ladder returns the rungs a subscriber may get, cheapest first, up to
// the layer wantQ and temporal layer wantT it asked for: every layer at
// all frames, and the layer holdQ (the one the subscriber is on now, if
// above the lowest) also at 15 fps; for a screen share every layer at
// every rate. Rungs that cost more than one giving at least as much are
// left out. rates are by layer and temporal layer; exists and temporal
// say which layers arrive and which carry temporal layers. It returns nil
// when no layer exists.
func Ladder(rates [3][3]float64, exists, temporal [3]bool, wantQ, wantT, holdQ int, screen bool) []Rung {
	lowest := lowestLayer(exists)
	if lowest < 0 {
		return nil
	}
	var all []Rung
	for q := lowest; q <= max(wantQ, lowest) && q < 3; q++ {
		if !exists[q] {
			continue
		}
		if !temporal[q] {
			all = append(all, Rung{q, AllTemporal, rates[q][AllTemporal]})
			continue
		}
		first := AllTemporal
		switch {
		case screen:
			first = 0
		case q == holdQ && q > lowest:
			first = 1
		}
		for t := min(first, wantT); t <= wantT; t++ {
			all = append(all, Rung{q, t, rates[q][t]})
		}
	}
	slices.SortStableFunc(all, func(a, b Rung) int {
		switch {
		case a.Rate < b.Rate:
			return -1
		case a.Rate > b.Rate:
			return 1
		case b.Above(a):
			return -1
		}
		return 1
	})
	kept := all[:0]
	for _, r := range all {
		dominated := false
		for _, k := range kept {
			if k.Q >= r.Q && k.T >= r.T {
				dominated = true
				break
			}
		}
		if !dominated {
			kept = append(kept, r)
		}
	}
	return kept
}

// lowestLayer returns the lowest layer that exists, or -1.
func lowestLayer(exists [3]bool) int {
	for q, ok := range exists {
		if ok {
			return q
		}
	}
	return -1
}

// Cap returns the rung id a video on ladder index j (Paused to pause it)
// is held to: Uncapped on the top of its ladder, so that a wish its
// subscriber changes later applies at once, unless held (its subscriber
// may still ask), which keeps it from going up to the highest layer
// before its subscriber had time to ask.
func Cap(ladder []Rung, j int, held bool) int {
	if j < 0 {
		return Paused
	}
	if j == len(ladder)-1 && !held {
		return Uncapped
	}
	return ladder[j].ID()
}
