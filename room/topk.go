package room

import (
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/sfu"
)

// Top-K audio: in a room of more than Config.AudioTopKThreshold
// participants every subscriber is sent only the Config.AudioTopK loudest
// microphones (sfu.AudioSelector); the others reach it as silence. Below the
// threshold everything is forwarded. Subscribers are not told: the tracks
// stay subscribed and unmuted, which is what lets the selection change every
// 20 ms without signaling.

// newAudioSelector returns the room's selector, or nil when top-K is off.
func newAudioSelector(cfg Config) *sfu.AudioSelector {
	if cfg.AudioTopK <= 0 {
		return nil
	}
	return sfu.NewAudioSelector(sfu.AudioSelectorConfig{K: cfg.AudioTopK})
}

// updateAudioSelectionLocked turns selection on or off for the room's
// current size; callers hold r.mu.
func (r *Room) updateAudioSelectionLocked() {
	if r.audio != nil {
		r.audio.SetActive(len(r.participants) > r.mgr.cfg.AudioTopKThreshold)
	}
}

// ranked reports whether a published track takes part in top-K selection:
// microphones do; screen-share audio is always forwarded.
func (r *Room) ranked(remote *webrtc.TrackRemote, ti *livekit.TrackInfo) bool {
	if r.audio == nil || remote.Kind() != webrtc.RTPCodecTypeAudio {
		return false
	}
	src := ti.GetSource()
	return src == livekit.TrackSource_MICROPHONE || src == livekit.TrackSource_UNKNOWN
}

// attachAudio ranks a newly published microphone and makes it its owner's
// own, so that its owner is sent the spare while it is selected.
func (p *Participant) attachAudio(pt *PublishedTrack) {
	p.room.audio.Attach(pt.receiver)
	p.listener.SetOwn(pt.receiver)
	pt.ranked = true
}

// detachAudio undoes attachAudio when the track ends.
func (p *Participant) detachAudio(pt *PublishedTrack) {
	if !pt.ranked {
		return
	}
	p.listener.ClearOwn(pt.receiver)
	p.room.audio.Detach(pt.receiver)
}

// gateAudio makes a new down-track of a ranked track forward only what
// the selection lets this subscriber hear.
func (p *Participant) gateAudio(pt *PublishedTrack, down *sfu.DownTrack) {
	if pt.ranked {
		down.SetAudioListener(&p.listener)
	}
}
