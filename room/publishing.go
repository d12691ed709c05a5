package room

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/utils/guid"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/bayan-dev/bayan/sfu"
)

// canPublishSource reports whether the permission allows a track source.
func canPublishSource(perm *livekit.ParticipantPermission, src livekit.TrackSource) bool {
	if !perm.GetCanPublish() {
		return false
	}
	sources := perm.GetCanPublishSources()
	return len(sources) == 0 || slices.Contains(sources, src)
}

// AddTrack registers a track the client is about to publish and answers
// with its server-assigned ID; the media arrives with the next offer.
func (p *Participant) AddTrack(req *livekit.AddTrackRequest) error {
	if req.GetCid() == "" {
		return fmt.Errorf("%w: add track without cid", ErrBadRequest)
	}
	p.mu.Lock()
	if !canPublishSource(p.info.Permission, req.GetSource()) {
		p.mu.Unlock()
		return fmt.Errorf("%w: cannot publish %s", ErrPermissionDenied, req.GetSource())
	}
	if len(p.pending) >= 32 || len(p.published) >= 64 {
		p.mu.Unlock()
		return fmt.Errorf("%w: too many tracks", ErrBadRequest)
	}
	ti := p.pending[req.Cid]
	if ti == nil {
		ti = &livekit.TrackInfo{Sid: guid.New(guid.TrackPrefix)}
		p.pending[req.Cid] = ti
	}
	ti.Type = req.Type
	ti.Name = req.Name
	ti.Width, ti.Height = req.Width, req.Height
	ti.Muted = req.Muted
	ti.Source = req.Source
	ti.Layers = req.Layers
	ti.Codecs = ti.Codecs[:0]
	for _, c := range req.SimulcastCodecs {
		mime := c.GetCodec()
		if mime != "" && !strings.Contains(mime, "/") {
			// Some clients name the codec alone ("vp8").
			prefix := "video/"
			if req.Type == livekit.TrackType_AUDIO {
				prefix = "audio/"
			}
			mime = prefix + mime
		}
		ti.Codecs = append(ti.Codecs, &livekit.SimulcastCodecInfo{
			MimeType: mime, Cid: c.GetCid(), Layers: c.GetLayers(), VideoLayerMode: c.GetVideoLayerMode(),
		})
		if len(ti.Layers) == 0 {
			ti.Layers = c.GetLayers()
		}
	}
	ti.Simulcast = len(ti.Layers) > 1
	ti.DisableDtx = req.DisableDtx
	ti.Stereo = req.Stereo
	ti.DisableRed = req.DisableRed
	ti.Encryption = req.Encryption
	ti.Stream = req.Stream
	resp := proto.Clone(ti).(*livekit.TrackInfo)
	p.mu.Unlock()
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackPublished{
		TrackPublished: &livekit.TrackPublishedResponse{Cid: req.Cid, Track: resp},
	}})
	return nil
}

// onMediaTrack matches an incoming track with its AddTrack request and
// publishes it to the room.
func (p *Participant) onMediaTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	kind := livekit.TrackType_AUDIO
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		kind = livekit.TrackType_VIDEO
	}
	p.mu.Lock()
	if rid := remote.RID(); rid != "" {
		// Another simulcast layer of a track already published.
		for _, pt := range p.published {
			if pt.rtpReceiver == recv {
				p.mu.Unlock()
				p.addSimulcastLayer(pt, remote, rid)
				return
			}
		}
	}
	cid := remote.ID()
	ti, ok := p.pending[cid]
	if !ok {
		// Some clients' msid track ids differ from the cid they announced:
		// fall back to the oldest pending track of the same kind.
		for c, t := range p.pending {
			if t.Type == kind {
				cid, ti, ok = c, t, true
				break
			}
		}
	}
	if !ok || p.closed {
		p.mu.Unlock()
		p.log.Warn("media track without AddTrack", "trackID", remote.ID(), "kind", remote.Kind())
		return
	}
	delete(p.pending, cid)
	ti.MimeType = remote.Codec().MimeType
	for _, tr := range p.pub.PeerConnection().GetTransceivers() {
		if tr.Receiver() == recv {
			ti.Mid = tr.Mid()
		}
	}
	pt := &PublishedTrack{owner: p, info: ti, rtpReceiver: recv}
	pt.receiver = p.newReceiver(remote, recv)
	if q, ok := qualityOfRID(remote.RID(), ti.Layers); ok {
		pt.layers[q] = pt.receiver
	}
	if p.room.ranked(remote, ti) {
		p.attachAudio(pt)
	}
	p.published[ti.Sid] = pt
	p.info.Version++
	p.mu.Unlock()

	pt.receiver.Start()
	p.room.onTrackPublished(pt)
	go func() {
		// The track ends when the publisher removes it or leaves.
		<-pt.receiver.Done()
		p.unpublish(ti.Sid)
	}()
}

func (p *Participant) newReceiver(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) *sfu.Receiver {
	return sfu.NewReceiver(remote, sfu.ReceiverParams{
		Stats:           p.room.mgr.stats,
		WriteRTCP:       p.pub.PeerConnection().WriteRTCP,
		AudioLevelExtID: sfu.AudioLevelExtensionID(recv),
		Batch:           p.room.mgr.engine.Batch(),
	})
}

// addSimulcastLayer starts forwarding one more layer of a published track
// and moves the subscribers who want that layer onto it.
func (p *Participant) addSimulcastLayer(pt *PublishedTrack, remote *webrtc.TrackRemote, rid string) {
	q, ok := qualityOfRID(rid, pt.Info().Layers)
	if !ok {
		p.log.Warn("simulcast layer with an unknown rid", "rid", rid, "track", pt.SID())
		return
	}
	r := p.newReceiver(remote, pt.rtpReceiver)
	p.log.Debug("simulcast layer arrived", "track", pt.SID(), "quality", q)
	pt.addLayer(q, r)
	r.Start()
	p.room.onLayersChanged(pt)
}

// unpublish removes a published track from the room.
func (p *Participant) unpublish(sid string) {
	p.mu.Lock()
	pt, ok := p.published[sid]
	if ok {
		delete(p.published, sid)
		p.info.Version++
	}
	closed := p.closed
	p.mu.Unlock()
	if !ok {
		return
	}
	for _, r := range pt.receivers() {
		r.Close()
	}
	p.detachAudio(pt)
	p.room.onTrackUnpublished(pt)
	if !closed {
		p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackUnpublished{
			TrackUnpublished: &livekit.TrackUnpublishedResponse{TrackSid: sid},
		}})
	}
}

// PublishedTracks returns the participant's published tracks.
func (p *Participant) PublishedTracks() []*PublishedTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Collect(maps.Values(p.published))
}

// PublishedTrack returns the published track with the given sid, or nil.
func (p *Participant) PublishedTrack(sid string) *PublishedTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.published[sid]
}

// SetTrackMuted mutes or unmutes one of the participant's own tracks.
// fromServer says the change comes from an admin, and the client is told.
func (p *Participant) SetTrackMuted(sid string, muted, fromServer bool) error {
	pt := p.PublishedTrack(sid)
	if pt == nil {
		p.mu.Lock()
		// A track may be muted before its media arrives.
		for _, ti := range p.pending {
			if ti.Sid == sid {
				ti.Muted = muted
				p.mu.Unlock()
				return nil
			}
		}
		p.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrTrackNotFound, sid)
	}
	if !pt.setMuted(muted) {
		return nil
	}
	p.mu.Lock()
	p.info.Version++
	p.mu.Unlock()
	if fromServer {
		p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Mute{
			Mute: &livekit.MuteTrackRequest{Sid: sid, Muted: muted},
		}})
	}
	p.room.onTrackMuted(pt)
	return nil
}
