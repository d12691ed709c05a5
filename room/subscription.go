package room

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/room/allocation"
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
	budgetCap      atomic.Int32 // a livekit.VideoQuality; LOW until told otherwise
	budgetTemporal atomic.Int32 // highest temporal layer; allocation.AllTemporal until told otherwise
	budgetPaused   atomic.Bool
	budgetPlaced   atomic.Bool // the allocator has set the budget at least once
}

// settingsWait is how long a subscriber that has said nothing about a
// video has, from its first packet, to ask for a layer before the
// allocator takes it to want the highest. Clients ask as soon as they have
// the track; raising it first would send a layer they are about to refuse.
const settingsWait = time.Second

// newSubscription returns a new subscriber's subscription to pt, its
// down-track on the lowest layer that arrives. Its budget starts there
// too: the allocator raises it when the link has room and the subscriber
// wants more, so that a room full of new subscribers never starts on the
// costliest layer.
func newSubscription(pt *PublishedTrack, streamID string, stats *sfu.Stats) *subscription {
	s := &subscription{track: pt}
	s.budgetCap.Store(int32(livekit.VideoQuality_LOW))
	s.budgetTemporal.Store(allocation.AllTemporal)
	s.down = sfu.NewDownTrack(pt.layerFor(s.quality(nil)), pt.SID(), streamID, stats)
	return s
}

// awaitsSettings reports whether a subscriber may still be about to say
// which layer of a video it wants: it has said nothing (settings are nil)
// and has had the track (since its first packet was sent; zero before)
// for less than settingsWait.
func awaitsSettings(settings *livekit.UpdateTrackSettings, since, now time.Time) bool {
	return settings == nil && (since.IsZero() || now.Sub(since) < settingsWait)
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
		t = allocation.AllTemporal
	}
	t = min(t, int(s.budgetTemporal.Load()))
	if t >= allocation.AllTemporal {
		return -1
	}
	return t
}

// quality is the quality the subscriber asked for, within its budget.
func (s *subscription) quality(settings *livekit.UpdateTrackSettings) livekit.VideoQuality {
	return min(s.track.qualityFor(settings), livekit.VideoQuality(s.budgetCap.Load()))
}
