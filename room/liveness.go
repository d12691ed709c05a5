package room

import (
	"time"

	"github.com/livekit/protocol/livekit"
)

// Layer liveness: every tick (sfu.LayerCheckInterval) the packet counts of
// each simulcast track's layers are sampled. When a layer the publisher should
// be sending stops (or starts again), the track's subscribers are moved to
// the best layer still arriving, or back to the one they asked for.

// checkLayerLiveness samples every simulcast track and re-places the
// subscribers of those whose dead layers changed; the room's ticker runs it.
func (r *Room) checkLayerLiveness(now time.Time) {
	for _, p := range r.Participants() {
		for _, pt := range p.PublishedTracks() {
			dead, changed, died := pt.observeLayers(now)
			if !changed {
				continue
			}
			r.log.Debug("simulcast layers changed", "track", pt.SID(),
				"low_dead", dead[livekit.VideoQuality_LOW], "medium_dead", dead[livekit.VideoQuality_MEDIUM], "high_dead", dead[livekit.VideoQuality_HIGH])
			r.onLayersChanged(pt)
			if died {
				// The publisher was told to send the layer (else it would
				// not be dead) and does not: the request may have been
				// lost with a dropped signal connection, or failed to
				// apply. Saying it again costs one message.
				r.resendDynacast(pt)
			}
		}
	}
}

// observeLayers samples the packet counts of a simulcast track's layers and
// returns which ones are dead (expected but silent for sfu.LayerTimeout),
// whether that changed, and whether a layer died (was live and is dead). Expected are the layers the publisher was last
// told somebody watches, or all of them before it was told anything. A
// track without simulcast has no dead layers.
func (t *PublishedTrack) observeLayers(now time.Time) (dead [3]bool, changed, died bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// A shared screen that does not change is sent at a frame a second or
	// less, which would look like a dead layer: screen shares are left out.
	if !t.info.GetSimulcast() || t.info.GetSource() == livekit.TrackSource_SCREEN_SHARE {
		return dead, false, false
	}
	var counts [3]uint64
	var present, expected [3]bool
	for q, r := range t.layers {
		if r != nil {
			counts[q], present[q] = r.PacketCount(), true
			expected[q] = !t.dynacastSent || t.dynacast[q]
		}
	}
	was := t.dead
	t.dead, changed = t.liveness.Observe(now, counts, present, expected)
	for q := range t.dead {
		died = died || t.dead[q] && !was[q]
	}
	return t.dead, changed, died
}
