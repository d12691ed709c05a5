package room

import (
	"sync"
	"sync/atomic"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/sfu"
)

// subscription is one subscriber's down-track of one published track.
// settings is guarded by the subscriber's Participant.mu; the atomics are
// read without it, by the allocator and by pausing.
type subscription struct {
	track    *PublishedTrack
	down     *sfu.DownTrack
	sender   *webrtc.RTPSender
	settings *livekit.UpdateTrackSettings

	disabled atomic.Bool // the subscriber asked not to receive it (UpdateTrackSettings)
	// pauseMu makes reading the reasons to pause and applying them one
	// step: two callers (an unmute and an allocator tick) could otherwise
	// apply their readings in the other order, and the stale one would
	// hold until the next change.
	pauseMu sync.Mutex

	// Set by the room's bandwidth allocator: the highest layer the
	// subscriber's downlink has room for, and whether it has room for none.
	budgetCap      atomic.Int32 // a livekit.VideoQuality; HIGH until told otherwise
	budgetTemporal atomic.Int32 // highest temporal layer; allTemporal until told otherwise
	budgetPaused   atomic.Bool
}

// applyPause pauses the down-track while the publisher has it muted or the
// subscriber has it disabled.
func (s *subscription) applyPause() {
	s.pauseMu.Lock()
	s.down.SetPaused(s.disabled.Load() || s.track.Muted() || s.budgetPaused.Load())
	s.pauseMu.Unlock()
	s.track.owner.room.updateDynacast(s.track)
}

// applyLayer forwards the simulcast layer that fits the subscriber's
// settings (read under the subscriber's lock) best among those the
// publisher sends, thinned to the frame rate it asks for.
func (s *subscription) applyLayer(settings *livekit.UpdateTrackSettings) {
	s.down.SetMaxTemporalLayer(s.temporalLayer(settings))
	s.down.SwitchTo(s.track.layerFor(s.quality(settings)))
	s.track.owner.room.updateDynacast(s.track)
}

// applyBudget moves the subscription to the layer its settings and its
// budget allow; when the budget shrank, the layer being left stops at once.
func (s *subscription) applyBudget(settings *livekit.UpdateTrackSettings, shrank bool) {
	target := s.track.layerFor(s.quality(settings))
	s.down.SetMaxTemporalLayer(s.temporalLayer(settings))
	if shrank {
		s.down.SwitchDown(target)
	} else {
		s.down.SwitchTo(target)
	}
	s.applyPause()
}

// temporalLayer is the highest temporal layer to forward: what the frame
// rate the subscriber asked for needs, within its budget; -1 for all.
func (s *subscription) temporalLayer(settings *livekit.UpdateTrackSettings) int {
	t := temporalLayerForFPS(settings.GetFps())
	if t < 0 {
		t = allTemporal
	}
	t = min(t, int(s.budgetTemporal.Load()))
	if t >= allTemporal {
		return -1
	}
	return t
}

// quality is the quality the subscriber asked for, within its budget.
func (s *subscription) quality(settings *livekit.UpdateTrackSettings) livekit.VideoQuality {
	return min(s.track.qualityFor(settings), livekit.VideoQuality(s.budgetCap.Load()))
}
