package room

import (
	"sync"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/bayan-dev/bayan/sfu"
)

// PublishedTrack is a track a participant publishes: its advertised info and
// the receivers that forward its media, one per simulcast layer.
type PublishedTrack struct {
	owner       *Participant
	receiver    *sfu.Receiver       // the first layer to arrive; its end ends the track
	rtpReceiver *webrtc.RTPReceiver // shared by all layers of the track
	ranked      bool                // a microphone in top-K selection; set before it is shared

	mu     sync.Mutex
	info   *livekit.TrackInfo
	layers [3]*sfu.Receiver // simulcast layers by livekit.VideoQuality; empty otherwise

	dynacast     [3]bool // layers the publisher was last told somebody watches
	dynacastSent bool

	// liveness notices layers the publisher stopped sending; dead is its
	// latest answer, which layerFor avoids.
	liveness sfu.LayerMonitor
	dead     [3]bool
	// dynacastMu serialises updateDynacast for this track, so that an
	// answer computed before a change can never be sent after one computed
	// after it. Taken before any participant's or the track's mu.
	dynacastMu sync.Mutex

	meter layerMeter // the layers' measured bitrates (bandwidth allocation)
}

// qualityOfRID maps the RIDs LiveKit clients give simulcast layers to a
// quality; ok is false for a RID the track's layers do not name either.
func qualityOfRID(rid string, layers []*livekit.VideoLayer) (livekit.VideoQuality, bool) {
	for _, l := range layers {
		if l.GetRid() == rid && l.GetQuality() <= livekit.VideoQuality_HIGH {
			return l.GetQuality(), true
		}
	}
	switch rid {
	case "q":
		return livekit.VideoQuality_LOW, true
	case "h":
		return livekit.VideoQuality_MEDIUM, true
	case "f":
		return livekit.VideoQuality_HIGH, true
	}
	return 0, false
}

// addLayer records the receiver of one simulcast layer.
func (t *PublishedTrack) addLayer(q livekit.VideoQuality, r *sfu.Receiver) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.layers[q] = r
}

// receivers returns every receiver of the track.
func (t *PublishedTrack) receivers() []*sfu.Receiver {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := []*sfu.Receiver{t.receiver}
	for _, r := range t.layers {
		if r != nil && r != t.receiver {
			out = append(out, r)
		}
	}
	return out
}

// layerFor returns the receiver to forward to a subscriber who wants
// quality q: that layer if it arrives, else the nearest lower one, else the
// nearest higher one, passing over layers the publisher stopped sending
// unless all of them stopped; for a track without simulcast, its only
// receiver.
func (t *PublishedTrack) layerFor(q livekit.VideoQuality) *sfu.Receiver {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := t.nearestLayerLocked(q, t.dead); r != nil {
		return r
	}
	if r := t.nearestLayerLocked(q, [3]bool{}); r != nil {
		return r
	}
	return t.receiver
}

// askedLayer returns the receiver a subscriber who wants quality q asks
// for, whether or not it is arriving: the one to move it back to when it
// does.
func (t *PublishedTrack) askedLayer(q livekit.VideoQuality) *sfu.Receiver {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := t.nearestLayerLocked(q, [3]bool{}); r != nil {
		return r
	}
	return t.receiver
}

// nearestLayerLocked returns layer q, else the nearest lower one, else the
// nearest higher one, among the layers not skipped; nil if there is none.
func (t *PublishedTrack) nearestLayerLocked(q livekit.VideoQuality, skip [3]bool) *sfu.Receiver {
	if q > livekit.VideoQuality_HIGH {
		q = livekit.VideoQuality_HIGH
	}
	for i := int(q); i >= 0; i-- {
		if t.layers[i] != nil && !skip[i] {
			return t.layers[i]
		}
	}
	for i := int(q) + 1; i < len(t.layers); i++ {
		if t.layers[i] != nil && !skip[i] {
			return t.layers[i]
		}
	}
	return nil
}

// qualityFor turns a subscriber's settings into the quality it wants: the
// smallest layer at least as large as the size it asks for, or the quality
// it names; HIGH when it has said nothing.
func (t *PublishedTrack) qualityFor(s *livekit.UpdateTrackSettings) livekit.VideoQuality {
	if s == nil {
		return livekit.VideoQuality_HIGH
	}
	if s.GetWidth() == 0 && s.GetHeight() == 0 {
		return s.GetQuality()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	best := livekit.VideoQuality_HIGH
	bestWidth := uint32(0)
	for _, l := range t.info.GetLayers() {
		if l.GetWidth() >= s.GetWidth() && l.GetHeight() >= s.GetHeight() && (bestWidth == 0 || l.GetWidth() < bestWidth) {
			best, bestWidth = l.GetQuality(), l.GetWidth()
		}
	}
	return best
}

// Info returns a copy of the track's current info.
func (t *PublishedTrack) Info() *livekit.TrackInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	return proto.Clone(t.info).(*livekit.TrackInfo)
}

// SID returns the track's server-assigned ID.
func (t *PublishedTrack) SID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.info.Sid
}

// Muted reports whether the publisher has muted the track.
func (t *PublishedTrack) Muted() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.info.Muted
}

func (t *PublishedTrack) setMuted(muted bool) (changed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	changed = t.info.Muted != muted
	t.info.Muted = muted
	return changed
}

// LayerPackets returns how many packets each simulcast layer (by quality)
// has delivered; layers not received count 0.
func (t *PublishedTrack) LayerPackets() [3]uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out [3]uint64
	for q, r := range t.layers {
		if r != nil {
			out[q] = r.PacketCount()
		}
	}
	return out
}

// dynacastState returns the layers the publisher was last told somebody
// watches, and whether it was told anything yet.
func (t *PublishedTrack) dynacastState() (layers [3]bool, sent bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dynacast, t.dynacastSent
}

// qualityOf returns the simulcast quality of receiver r, or -1 when r is
// not one of the track's layers (a track without simulcast).
func (t *PublishedTrack) qualityOf(r *sfu.Receiver) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	for q, l := range t.layers {
		if l != nil && l == r {
			return q
		}
	}
	return -1
}
