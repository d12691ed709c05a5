package room

import (
	"strings"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/sfu"
)

// updateDynacast tells the publisher of a simulcast track which of its
// layers somebody watches, so that it stops encoding the others (LiveKit's
// dynacast). It is sent only when the answer changes. A subscriber watches
// the layer it is forwarded or switching to, and also the one it asked for
// when that one stopped arriving: the publisher must keep trying to send it
// so that the subscriber can move back.
//
// A layer the track advertises but whose first packet has not arrived is
// always wanted: the server learns of a layer only from its packets, and a
// publisher told to leave it off before then would never send it, so that
// subscribers of a layer that stops could not fall back to it.
//
// A subscriber whose video is paused for its downlink's sake still wants
// the lowest layer, the one it resumes on: with every layer off, the
// publisher's own uplink estimate falls to its audio's rate (to 82 kbit/s
// in a browser class) and holds the video to a thumbnail long after.
func (r *Room) updateDynacast(pt *PublishedTrack) { r.sendDynacast(pt, false) }

// resendDynacast tells the publisher again which layers of pt somebody
// watches, even if that has not changed since it was last told.
func (r *Room) resendDynacast(pt *PublishedTrack) { r.sendDynacast(pt, true) }

// sendDynacast is updateDynacast, and with again set sends the answer even
// when it is the one sent last.
func (r *Room) sendDynacast(pt *PublishedTrack, again bool) {
	pt.dynacastMu.Lock()
	defer pt.dynacastMu.Unlock()
	pt.mu.Lock()
	layers := pt.layers
	simulcast := pt.info.GetSimulcast()
	mime := pt.info.GetMimeType()
	var advertised [3]bool
	for _, l := range pt.info.GetLayers() {
		if l.GetQuality() <= livekit.VideoQuality_HIGH {
			advertised[l.GetQuality()] = true
		}
	}
	pt.mu.Unlock()
	if !simulcast {
		return
	}
	sid := pt.SID()
	var wanted [3]bool
	mark := func(r *sfu.Receiver) {
		for q, l := range layers {
			if l != nil && l == r {
				wanted[q] = true
			}
		}
	}
	r.eachSubscription(pt, func(s *subscription, settings *livekit.UpdateTrackSettings) {
		if s.down.Paused() {
			if s.budgetPaused.Load() && !s.disabled.Load() && !pt.Muted() {
				markLowest(&wanted, layers, advertised)
			}
			return
		}
		mark(s.down.Target())
		if q := min(pt.qualityFor(settings), livekit.VideoQuality_HIGH); advertised[q] {
			// Asked for even before its first packet, so that a publisher
			// that has not started it yet is not told to leave it off.
			wanted[q] = true
		} else {
			mark(pt.askedLayer(q))
		}
	})
	for q, l := range layers {
		if advertised[q] && l == nil {
			wanted[q] = true
		}
	}
	pt.mu.Lock()
	if pt.dynacastSent && pt.dynacast == wanted && !again {
		pt.mu.Unlock()
		return
	}
	pt.dynacast, pt.dynacastSent = wanted, true
	pt.mu.Unlock()
	r.log.Debug("dynacast", "track", sid, "low", wanted[livekit.VideoQuality_LOW],
		"medium", wanted[livekit.VideoQuality_MEDIUM], "high", wanted[livekit.VideoQuality_HIGH])

	qualities := make([]*livekit.SubscribedQuality, 0, len(wanted))
	for q, on := range wanted {
		qualities = append(qualities, &livekit.SubscribedQuality{Quality: livekit.VideoQuality(q), Enabled: on})
	}
	codec := strings.ToLower(mime[strings.IndexByte(mime, '/')+1:])
	pt.owner.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_SubscribedQualityUpdate{
		SubscribedQualityUpdate: &livekit.SubscribedQualityUpdate{
			TrackSid:            sid,
			SubscribedQualities: qualities,
			SubscribedCodecs:    []*livekit.SubscribedCodec{{Codec: codec, Qualities: qualities}},
		},
	}})
}

// markLowest marks as wanted the lowest layer that has arrived or is
// advertised.
func markLowest(wanted *[3]bool, layers [3]*sfu.Receiver, advertised [3]bool) {
	for q := range layers {
		if layers[q] != nil || advertised[q] {
			wanted[q] = true
			return
		}
	}
}
