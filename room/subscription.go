package room

import (
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/sfu"
)

// subscription is one subscriber's down-track of one published track.
// Guarded by the subscriber's Participant.mu.
type subscription struct {
	track    *PublishedTrack
	down     *sfu.DownTrack
	sender   *webrtc.RTPSender
	disabled bool // the subscriber asked not to receive it (UpdateTrackSettings)
	settings *livekit.UpdateTrackSettings
}

// applyPause pauses the down-track while the publisher has it muted or the
// subscriber has it disabled.
func (s *subscription) applyPause() {
	s.down.SetPaused(s.disabled || s.track.Muted())
	s.track.owner.room.updateDynacast(s.track)
}

// applyLayer forwards the simulcast layer that fits the subscriber's
// settings (read under the subscriber's lock) best among those the
// publisher sends, thinned to the frame rate it asks for.
func (s *subscription) applyLayer(settings *livekit.UpdateTrackSettings) {
	s.down.SetMaxTemporalLayer(temporalLayerForFPS(settings.GetFps()))
	s.down.SwitchTo(s.track.layerFor(s.track.qualityFor(settings)))
	s.track.owner.room.updateDynacast(s.track)
}
