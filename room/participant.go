package room

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/utils/guid"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/bayan-dev/bayan/sfu"
)

// Errors returned to signaling, which maps them to the protocol's errors.
var (
	ErrPermissionDenied = errors.New("room: permission denied")
	ErrTrackNotFound    = errors.New("room: track not found")
	ErrRoomFull         = errors.New("room: room is full")
	ErrRoomClosed       = errors.New("room: room is closed")
	ErrBadRequest       = errors.New("room: bad request")
)

// JoinParams is what a verified access token and the join URL say about a
// participant.
type JoinParams struct {
	Identity       string
	Name           string
	Metadata       string
	Attributes     map[string]string
	Permission     *livekit.ParticipantPermission
	Kind           livekit.ParticipantInfo_Kind
	AutoSubscribe  bool
	ClientProtocol int32
	// SinglePeerConnection puts both directions on the one connection the
	// client offers (protocol 16+ join_request clients): the server never
	// offers, it asks the client to (MediaSectionsRequirement).
	SinglePeerConnection bool
}

// Participant is one client in a room with its two peer connections:
// the publisher connection (the client offers) and the subscriber
// connection (the server offers). In single peer connection mode sub is nil
// and pub carries both directions.
type Participant struct {
	room     *Room
	sid      string
	identity string
	log      *slog.Logger
	pub, sub *sfu.Transport
	single   bool

	mu            sync.Mutex
	info          *livekit.ParticipantInfo      // Tracks is rebuilt on each snapshot
	pending       map[string]*livekit.TrackInfo // AddTrack requests by client track id
	published     map[string]*PublishedTrack    // by track sid
	subs          map[string]*subscription      // by track sid
	autoSubscribe bool
	sink          SignalSink
	dcReliable    *webrtc.DataChannel // server-created, on the subscriber connection
	dcLossy       *webrtc.DataChannel
	closed        bool
	lostTimer     *time.Timer // runs while the signal connection is gone
}

func newParticipant(r *Room, p JoinParams, sink SignalSink) (*Participant, error) {
	perm := p.Permission
	if perm == nil {
		perm = &livekit.ParticipantPermission{CanSubscribe: true, CanPublish: true, CanPublishData: true}
	}
	now := time.Now()
	part := &Participant{
		room:     r,
		sid:      guid.New(guid.ParticipantPrefix),
		identity: p.Identity,
		info: &livekit.ParticipantInfo{
			Identity:       p.Identity,
			Name:           p.Name,
			Metadata:       p.Metadata,
			Attributes:     maps(p.Attributes),
			State:          livekit.ParticipantInfo_JOINING,
			JoinedAt:       now.Unix(),
			JoinedAtMs:     now.UnixMilli(),
			Permission:     proto.Clone(perm).(*livekit.ParticipantPermission),
			Kind:           p.Kind,
			Version:        1,
			ClientProtocol: p.ClientProtocol,
		},
		pending:       map[string]*livekit.TrackInfo{},
		published:     map[string]*PublishedTrack{},
		subs:          map[string]*subscription{},
		autoSubscribe: p.AutoSubscribe,
		sink:          sink,
	}
	part.info.Sid = part.sid
	part.log = r.log.With("participant", p.Identity, "pID", part.sid)
	part.single = p.SinglePeerConnection

	var err error
	if part.pub, err = r.mgr.engine.NewTransport(); err != nil {
		return nil, err
	}
	if part.single {
		part.wireSingleTransport()
		return part, nil
	}
	if part.sub, err = r.mgr.engine.NewTransport(); err != nil {
		_ = part.pub.Close()
		return nil, err
	}
	part.wireTransports()
	return part, nil
}

func maps(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// trickle returns an OnICECandidate handler sending candidates to the client.
func (p *Participant) trickle(target livekit.SignalTarget) func(*webrtc.ICECandidate) {
	return func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		b, err := json.Marshal(c.ToJSON())
		if err != nil {
			return
		}
		p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Trickle{
			Trickle: &livekit.TrickleRequest{CandidateInit: string(b), Target: target},
		}})
	}
}

// wireSingleTransport sets up the one connection of single peer connection
// mode: the client creates the data channels and the server sends on them.
func (p *Participant) wireSingleTransport() {
	pc := p.pub.PeerConnection()
	pc.OnICECandidate(p.trickle(livekit.SignalTarget_PUBLISHER))
	pc.OnTrack(p.onMediaTrack)
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		p.mu.Lock()
		switch dc.Label() {
		case "_reliable":
			p.dcReliable = dc
		case "_lossy":
			p.dcLossy = dc
		}
		p.mu.Unlock()
		p.onDataChannel(dc)
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			p.setState(livekit.ParticipantInfo_ACTIVE)
		}
	})
}

func (p *Participant) wireTransports() {
	p.pub.PeerConnection().OnICECandidate(p.trickle(livekit.SignalTarget_PUBLISHER))
	p.sub.PeerConnection().OnICECandidate(p.trickle(livekit.SignalTarget_SUBSCRIBER))
	p.sub.OnOffer(func(sd webrtc.SessionDescription) {
		p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Offer{
			Offer: &livekit.SessionDescription{Type: sd.Type.String(), Sdp: sd.SDP},
		}})
	})
	p.pub.PeerConnection().OnTrack(p.onMediaTrack)
	p.pub.PeerConnection().OnDataChannel(p.onDataChannel)
	p.sub.PeerConnection().OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			p.setState(livekit.ParticipantInfo_ACTIVE)
		}
	})
	ordered := true
	var zero uint16
	p.dcReliable, _ = p.sub.PeerConnection().CreateDataChannel("_reliable", &webrtc.DataChannelInit{Ordered: &ordered})
	unordered := false
	p.dcLossy, _ = p.sub.PeerConnection().CreateDataChannel("_lossy", &webrtc.DataChannelInit{Ordered: &unordered, MaxRetransmits: &zero})
}

// SID returns the participant's server-assigned ID.
func (p *Participant) SID() string { return p.sid }

// Identity returns the participant's identity from its token.
func (p *Participant) Identity() string { return p.identity }

// Room returns the room the participant is in.
func (p *Participant) Room() *Room { return p.room }

func (p *Participant) send(msg *livekit.SignalResponse) {
	p.mu.Lock()
	sink := p.sink
	p.mu.Unlock()
	if sink != nil {
		sink.Send(msg)
	}
}

// Info returns a snapshot of the participant, tracks included.
func (p *Participant) Info() *livekit.ParticipantInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.infoLocked()
}

func (p *Participant) infoLocked() *livekit.ParticipantInfo {
	info := proto.Clone(p.info).(*livekit.ParticipantInfo)
	info.Tracks = info.Tracks[:0]
	for _, t := range p.published {
		info.Tracks = append(info.Tracks, t.Info())
	}
	slices.SortFunc(info.Tracks, func(a, b *livekit.TrackInfo) int {
		switch {
		case a.Sid < b.Sid:
			return -1
		case a.Sid > b.Sid:
			return 1
		}
		return 0
	})
	info.IsPublisher = len(p.published) > 0
	return info
}

// Permission returns a copy of the participant's permissions.
func (p *Participant) Permission() *livekit.ParticipantPermission {
	p.mu.Lock()
	defer p.mu.Unlock()
	return proto.Clone(p.info.Permission).(*livekit.ParticipantPermission)
}

// Hidden reports whether other participants must not see this one.
func (p *Participant) Hidden() bool { return p.Permission().GetHidden() }

func (p *Participant) setState(s livekit.ParticipantInfo_State) {
	p.mu.Lock()
	if p.closed || p.info.State >= s {
		p.mu.Unlock()
		return
	}
	p.info.State = s
	p.info.Version++
	p.mu.Unlock()
	p.room.broadcastParticipant(p)
}

// SetSink replaces the connection that signal responses go to, as when a
// client resumes over a new WebSocket; nil marks the connection as lost.
func (p *Participant) SetSink(sink SignalSink) {
	p.mu.Lock()
	p.sink = sink
	if p.lostTimer != nil {
		p.lostTimer.Stop()
		p.lostTimer = nil
	}
	p.mu.Unlock()
}

// SignalLost starts the grace period in which the client may resume; when
// it runs out the participant leaves the room. It does nothing if sink is no
// longer the participant's connection (the client has already resumed).
func (p *Participant) SignalLost(sink SignalSink, grace time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.sink != sink {
		return
	}
	p.sink = nil
	if p.lostTimer != nil {
		p.lostTimer.Stop()
	}
	p.lostTimer = time.AfterFunc(grace, func() {
		p.Leave(livekit.DisconnectReason_SIGNAL_CLOSE)
	})
}

// Leave takes the participant out of its room if it is still the one there
// under its identity: a newer session that joined with the same identity
// must not be removed in its place (by a stale session's leave, say).
func (p *Participant) Leave(reason livekit.DisconnectReason) {
	p.room.removeParticipant(p, reason, false)
}

// Resume restarts ICE on the subscriber connection after the client has
// come back over a new signal connection. In single peer connection mode
// the client restarts ICE with its next offer.
func (p *Participant) Resume() error {
	if p.single {
		return nil
	}
	return p.sub.Negotiate(true)
}

// SinglePeerConnection reports whether the participant uses one connection
// for both directions.
func (p *Participant) SinglePeerConnection() bool { return p.single }

// downTransport is the connection that carries media to the client.
func (p *Participant) downTransport() *sfu.Transport {
	if p.single {
		return p.pub
	}
	return p.sub
}

// negotiateDown brings the client's view of the down-tracks up to date: the
// server offers on the subscriber connection, or, with a single connection,
// asks the client for an offer with room for every unplaced down-track.
func (p *Participant) negotiateDown() error {
	if !p.single {
		return p.sub.Negotiate(false)
	}
	audio, video := p.unplacedDownTracks()
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_MediaSectionsRequirement{
		MediaSectionsRequirement: &livekit.MediaSectionsRequirement{NumAudios: audio, NumVideos: video},
	}})
	return nil
}

// unplacedDownTracks counts down-tracks that have no m-section yet.
func (p *Participant) unplacedDownTracks() (audio, video uint32) {
	for _, tr := range p.pub.PeerConnection().GetTransceivers() {
		if tr.Mid() != "" || tr.Sender() == nil || tr.Sender().Track() == nil {
			continue
		}
		if tr.Kind() == webrtc.RTPCodecTypeAudio {
			audio++
		} else {
			video++
		}
	}
	return audio, video
}

// midToTrackID maps each m-section carrying a down-track to the track's sid,
// so single-connection clients know what each m-section is.
func (p *Participant) midToTrackID() map[string]string {
	if !p.single {
		return nil
	}
	m := map[string]string{}
	for _, tr := range p.pub.PeerConnection().GetTransceivers() {
		if tr.Mid() != "" && tr.Sender() != nil && tr.Sender().Track() != nil {
			m[tr.Mid()] = tr.Sender().Track().ID()
		}
	}
	return m
}

// HandleOffer answers the client's offer for the publisher connection.
func (p *Participant) HandleOffer(sd *livekit.SessionDescription) error {
	if sd == nil || sd.Sdp == "" {
		return fmt.Errorf("%w: empty offer", ErrBadRequest)
	}
	answer, err := p.pub.HandleOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sd.Sdp})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Answer{
		Answer: &livekit.SessionDescription{Type: answer.Type.String(), Sdp: answer.SDP, Id: sd.Id, MidToTrackId: p.midToTrackID()},
	}})
	if p.single {
		if audio, video := p.unplacedDownTracks(); audio+video > 0 {
			return p.negotiateDown()
		}
	}
	return nil
}

// HandleAnswer applies the client's answer on the subscriber connection.
func (p *Participant) HandleAnswer(sd *livekit.SessionDescription) error {
	if sd == nil || sd.Sdp == "" {
		return fmt.Errorf("%w: empty answer", ErrBadRequest)
	}
	if p.single {
		return fmt.Errorf("%w: answer in single peer connection mode", ErrBadRequest)
	}
	if err := p.sub.HandleAnswer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sd.Sdp}); err != nil {
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	return nil
}

// HandleTrickle adds a remote ICE candidate to the connection it targets.
func (p *Participant) HandleTrickle(t *livekit.TrickleRequest) error {
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal([]byte(t.GetCandidateInit()), &c); err != nil {
		return fmt.Errorf("%w: candidate: %v", ErrBadRequest, err)
	}
	tr := p.pub
	if t.GetTarget() == livekit.SignalTarget_SUBSCRIBER && !p.single {
		tr = p.sub
	}
	if err := tr.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: candidate: %v", ErrBadRequest, err)
	}
	return nil
}

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
	pt.receiver = p.newReceiver(remote, recv, ti.Sid)
	if q, ok := qualityOfRID(remote.RID(), ti.Layers); ok {
		pt.layers[q] = pt.receiver
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

func (p *Participant) newReceiver(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver, sid string) *sfu.Receiver {
	audioLevelExtID := sfu.AudioLevelExtensionID(recv)
	return sfu.NewReceiver(remote, sfu.ReceiverParams{
		TrackID:         sid,
		Stats:           p.room.mgr.stats,
		WriteRTCP:       p.pub.PeerConnection().WriteRTCP,
		AudioLevelExtID: audioLevelExtID,
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
	r := p.newReceiver(remote, pt.rtpReceiver, pt.SID())
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
	out := make([]*PublishedTrack, 0, len(p.published))
	for _, t := range p.published {
		out = append(out, t)
	}
	return out
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

// subscribe starts forwarding a published track to this participant.
func (p *Participant) subscribe(pt *PublishedTrack) error {
	if pt.owner == p {
		return nil
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrRoomClosed
	}
	if !p.info.Permission.GetCanSubscribe() {
		p.mu.Unlock()
		return fmt.Errorf("%w: cannot subscribe", ErrPermissionDenied)
	}
	sid := pt.SID()
	if _, ok := p.subs[sid]; ok {
		p.mu.Unlock()
		return nil
	}
	down := sfu.NewDownTrack(pt.layerFor(livekit.VideoQuality_HIGH), sid, pt.owner.sid+"|"+sid, p.room.mgr.stats)
	sender, err := p.downTransport().PeerConnection().AddTrack(down)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("room: add down-track: %w", err)
	}
	s := &subscription{track: pt, down: down, sender: sender}
	p.subs[sid] = s
	// Paused before it joins the fan-out if the track is muted; the
	// publisher hears of the new subscriber below (dynacast), unlocked.
	s.down.SetPaused(pt.Muted())
	p.mu.Unlock()

	go down.ServeRTCP(sender)
	down.Receiver().AddDownTrack(down)
	p.room.updateDynacast(pt)
	return p.negotiateDown()
}

// unsubscribe stops forwarding a track to this participant.
func (p *Participant) unsubscribe(sid string, renegotiate bool) {
	p.mu.Lock()
	s, ok := p.subs[sid]
	if ok {
		delete(p.subs, sid)
	}
	closed := p.closed
	p.mu.Unlock()
	if !ok {
		return
	}
	s.down.Close()
	p.room.updateDynacast(s.track)
	if !closed {
		_ = p.downTransport().PeerConnection().RemoveTrack(s.sender)
		if renegotiate {
			_ = p.negotiateDown()
		}
	}
}

// Subscribed reports whether the participant receives the given track.
func (p *Participant) Subscribed(sid string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.subs[sid]
	return ok
}

// UpdateSubscription subscribes to or unsubscribes from tracks by sid.
func (p *Participant) UpdateSubscription(req *livekit.UpdateSubscription) error {
	sids := slices.Clone(req.GetTrackSids())
	for _, pt := range req.GetParticipantTracks() {
		sids = append(sids, pt.GetTrackSids()...)
	}
	for _, sid := range sids {
		if !req.GetSubscribe() {
			p.unsubscribe(sid, true)
			continue
		}
		pt := p.room.findTrack(sid)
		if pt == nil {
			continue // the track may be gone already; nothing to do
		}
		if err := p.subscribe(pt); err != nil {
			return err
		}
	}
	return nil
}

// UpdateTrackSettings stores the subscriber's wishes for a track; disabling
// pauses forwarding. Quality and dimensions drive layer selection.
func (p *Participant) UpdateTrackSettings(req *livekit.UpdateTrackSettings) {
	settings := proto.Clone(req).(*livekit.UpdateTrackSettings)
	p.mu.Lock()
	var changed []*subscription
	for _, sid := range req.GetTrackSids() {
		if s, ok := p.subs[sid]; ok {
			s.settings = settings
			s.disabled = req.GetDisabled()
			changed = append(changed, s)
		}
	}
	p.mu.Unlock()
	for _, s := range changed {
		s.applyPause()
		s.applyLayer(settings)
	}
}

// UpdateInfo applies changes to name, metadata, attributes or permissions
// (nil or empty values leave a field as it is) and tells the room.
func (p *Participant) UpdateInfo(name, metadata *string, attrs map[string]string, perm *livekit.ParticipantPermission) {
	p.mu.Lock()
	if name != nil {
		p.info.Name = *name
	}
	if metadata != nil {
		p.info.Metadata = *metadata
	}
	if len(attrs) > 0 {
		if p.info.Attributes == nil {
			p.info.Attributes = map[string]string{}
		}
		for k, v := range attrs {
			if v == "" {
				delete(p.info.Attributes, k)
			} else {
				p.info.Attributes[k] = v
			}
		}
	}
	var lostSubscribe, nowHidden bool
	if perm != nil {
		lostSubscribe = p.info.Permission.GetCanSubscribe() && !perm.GetCanSubscribe()
		nowHidden = !p.info.Permission.GetHidden() && perm.GetHidden()
		p.info.Permission = proto.Clone(perm).(*livekit.ParticipantPermission)
	}
	p.info.Version++
	var toUnpublish []string
	if perm != nil {
		for sid, pt := range p.published {
			if !canPublishSource(perm, pt.Info().Source) {
				toUnpublish = append(toUnpublish, sid)
			}
		}
	}
	var subs []string
	if lostSubscribe {
		for sid := range p.subs {
			subs = append(subs, sid)
		}
	}
	p.mu.Unlock()
	for _, sid := range toUnpublish {
		p.unpublish(sid)
	}
	for _, sid := range subs {
		p.unsubscribe(sid, true)
	}
	if nowHidden {
		p.room.hideParticipant(p)
	}
	p.room.broadcastParticipant(p)
}

func (p *Participant) onDataChannel(dc *webrtc.DataChannel) {
	kind := livekit.DataPacket_RELIABLE
	if dc.Label() == "_lossy" {
		kind = livekit.DataPacket_LOSSY
	} else if dc.Label() != "_reliable" {
		return
	}
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		p.handleData(msg.Data, kind)
	})
}

// maxDataPacket bounds a data message; larger ones are dropped.
const maxDataPacket = 64 << 10

func (p *Participant) handleData(b []byte, kind livekit.DataPacket_Kind) {
	if len(b) > maxDataPacket || !p.Permission().GetCanPublishData() {
		return
	}
	var pkt livekit.DataPacket
	if err := proto.Unmarshal(b, &pkt); err != nil {
		return // garbage from a client changes nothing
	}
	p.room.SendData(p, &pkt, kind)
}

// sendData writes an encoded DataPacket on the subscriber data channel.
func (p *Participant) sendData(b []byte, kind livekit.DataPacket_Kind) {
	p.mu.Lock()
	dc := p.dcReliable
	if kind == livekit.DataPacket_LOSSY {
		dc = p.dcLossy
	}
	p.mu.Unlock()
	if dc != nil && dc.ReadyState() == webrtc.DataChannelStateOpen {
		_ = dc.Send(b)
	}
}

// close tears the participant down; called by the room on removal.
func (p *Participant) close(reason livekit.DisconnectReason, tellClient bool) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	if tellClient && p.sink != nil {
		p.sink.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{
			Leave: &livekit.LeaveRequest{Reason: reason, Action: livekit.LeaveRequest_DISCONNECT},
		}})
	}
	p.closed = true
	p.info.State = livekit.ParticipantInfo_DISCONNECTED
	p.info.DisconnectReason = reason
	p.info.Version++
	if p.lostTimer != nil {
		p.lostTimer.Stop()
	}
	subs := p.subs
	p.subs = map[string]*subscription{}
	published := p.published
	p.published = map[string]*PublishedTrack{}
	p.mu.Unlock()

	for _, s := range subs {
		s.down.Close()
		p.room.updateDynacast(s.track)
	}
	for _, pt := range published {
		for _, r := range pt.receivers() {
			r.Close()
		}
		p.room.onTrackUnpublished(pt)
	}
	_ = p.pub.Close()
	if p.sub != nil {
		_ = p.sub.Close()
	}
}

// SubscriptionCount returns how many tracks the participant receives.
func (p *Participant) SubscriptionCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.subs)
}

// SubscriptionPaused reports whether the participant's down-track of a
// track exists and is paused (muted by the publisher or disabled by the
// subscriber).
func (p *Participant) SubscriptionPaused(sid string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.subs[sid]
	return ok && s.down.Paused()
}
