package room

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/utils/guid"
	"google.golang.org/protobuf/proto"

	"github.com/bayan-dev/bayan/sfu"
)

// Room is a set of participants who can see and hear each other.
type Room struct {
	mgr  *Manager
	name string
	log  *slog.Logger

	// viewMu orders every decision about who is told of whom (see
	// audience.go); it is taken before mu.
	viewMu sync.Mutex
	// large is audience mode, written under viewMu and mu.
	large     atomic.Bool
	lastCount int // the count last sent in audience mode; the ticker's

	mu           sync.Mutex
	info         *livekit.Room
	participants map[string]*Participant // by identity
	closed       bool
	emptyTimer   *time.Timer
	hadJoin      bool
	speakers     *speakerDetector
	quality      *qualityMonitor
	alloc        *bandwidthAllocator
	ticker       *roomTicker        // runs speakers, quality, liveness, alloc, keyframe nudges
	audio        *sfu.AudioSelector // top-K audio; nil when off
}

func newRoom(m *Manager, name string, opts *livekit.CreateRoomRequest) *Room {
	now := time.Now()
	r := &Room{
		mgr:  m,
		name: name,
		log:  m.log.With("room", name),
		info: &livekit.Room{
			Sid:              guid.New(guid.RoomPrefix),
			Name:             name,
			EmptyTimeout:     uint32(m.cfg.EmptyTimeout / time.Second),
			DepartureTimeout: uint32(m.cfg.DepartureTimeout / time.Second),
			MaxParticipants:  uint32(m.cfg.MaxParticipants),
			CreationTime:     now.Unix(),
			CreationTimeMs:   now.UnixMilli(),
		},
		participants: map[string]*Participant{},
	}
	if opts != nil {
		if opts.EmptyTimeout > 0 {
			r.info.EmptyTimeout = opts.EmptyTimeout
		}
		if opts.DepartureTimeout > 0 {
			r.info.DepartureTimeout = opts.DepartureTimeout
		}
		if opts.MaxParticipants > 0 {
			r.info.MaxParticipants = opts.MaxParticipants
		}
		r.info.Metadata = opts.Metadata
	}
	r.scheduleCloseLocked(time.Duration(r.info.EmptyTimeout) * time.Second)
	r.speakers = newSpeakerDetector(r)
	r.quality = newQualityMonitor(r, m.cfg.QualityInterval)
	r.alloc = newBandwidthAllocator(r)
	r.audio = newAudioSelector(m.cfg)
	r.lastCount = -1
	r.ticker = r.startTicker(context.Background(), r.quality.interval)
	return r
}

// Name returns the room's name.
func (r *Room) Name() string { return r.name }

// Info returns a snapshot of the room.
func (r *Room) Info() *livekit.Room {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.infoLocked()
}

func (r *Room) infoLocked() *livekit.Room {
	info := proto.Clone(r.info).(*livekit.Room)
	info.NumParticipants = 0
	info.NumPublishers = 0
	for _, p := range r.participants {
		if p.Hidden() {
			continue
		}
		info.NumParticipants++
		if len(p.PublishedTracks()) > 0 {
			info.NumPublishers++
		}
	}
	return info
}

// Participant returns the participant with that identity, or nil.
func (r *Room) Participant(identity string) *Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.participants[identity]
}

// ParticipantBySID returns the participant with that sid, or nil.
func (r *Room) ParticipantBySID(sid string) *Participant {
	for _, p := range r.Participants() {
		if p.sid == sid {
			return p
		}
	}
	return nil
}

// Participants returns everyone in the room.
func (r *Room) Participants() []*Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Collect(maps.Values(r.participants))
}

// Join adds a participant, sends it the JoinResponse, subscribes it to what
// is published (when it auto-subscribes) and tells the others. A
// participant already there under the same identity is replaced: it is
// told to leave (DUPLICATE_IDENTITY) and closed.
func (r *Room) Join(params JoinParams, sink SignalSink) (*Participant, error) {
	// Refused before any peer connection is built, and again when p is
	// stored: the room may have closed or filled up meanwhile.
	r.mu.Lock()
	err := r.admitsLocked(params.Identity)
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	p, err := newParticipant(r, params, sink)
	if err != nil {
		return nil, err
	}
	r.viewMu.Lock()
	r.mu.Lock()
	if err := r.admitsLocked(params.Identity); err != nil {
		r.mu.Unlock()
		r.viewMu.Unlock()
		p.close(livekit.DisconnectReason_JOIN_FAILURE, false)
		close(p.joinDone)
		return nil, err
	}
	defer close(p.joinDone)
	if r.emptyTimer != nil {
		r.emptyTimer.Stop()
		r.emptyTimer = nil
	}
	p.audience = p.isAudience()
	// Whatever was stored under the identity is replaced in the same step,
	// and so is closed by this join and by nobody else: a concurrent join
	// with the same identity replaces p in turn, never the one before it.
	replaced := r.participants[params.Identity]
	r.participants[params.Identity] = p
	r.switchModeLocked(p)
	others := r.visibleToLocked(p)
	r.updateAudioSelectionLocked()
	first := !r.hadJoin
	r.hadJoin = true
	roomInfo := r.infoLocked()
	// Queued while the room is locked: once p is in the room, others'
	// updates may be sent to it, and the JoinResponse must come first.
	sink.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Join{Join: &livekit.JoinResponse{
		Room:              roomInfo,
		Participant:       p.Info(),
		OtherParticipants: others,
		ServerVersion:     r.mgr.cfg.ServerInfo.GetVersion(),
		ServerInfo:        r.mgr.cfg.ServerInfo,
		SubscriberPrimary: !p.single,
		FastPublish:       p.single && p.Permission().GetCanPublish(),
		PingInterval:      int32(r.mgr.cfg.PingInterval / time.Second),
		PingTimeout:       int32(r.mgr.cfg.PingTimeout / time.Second),
		ClientConfiguration: &livekit.ClientConfiguration{
			ResumeConnection: livekit.ClientConfigSetting_ENABLED,
		},
	}}})
	r.mu.Unlock()
	r.viewMu.Unlock()

	if replaced != nil {
		// The others (and the hooks) hear of the replaced session's
		// arrival, then of its departure, then of p: clients and hooks
		// key participants by identity, so a departure told after p's
		// arrival would remove p. Its own join finishes first.
		<-replaced.joinDone
		r.retire(replaced, livekit.DisconnectReason_DUPLICATE_IDENTITY, true)
	}
	if first {
		r.mgr.event(&livekit.WebhookEvent{Event: "room_started", Room: roomInfo})
	}
	p.setState(livekit.ParticipantInfo_JOINED)
	r.mgr.event(&livekit.WebhookEvent{Event: "participant_joined", Room: r.Info(), Participant: p.Info()})
	r.mgr.cfg.Hooks.Joined(r, p)

	if p.single {
		// The client's first offer comes with or right after the join; the
		// caller subscribes it with SubscribeToExisting once that offer is
		// answered, so the down-tracks land in its spare m-sections.
		return p, nil
	}
	if params.AutoSubscribe {
		r.SubscribeToExisting(p)
	}
	// The subscriber connection carries the server's data channels, so it
	// is offered right away even with nothing to subscribe to.
	if err := p.sub.Negotiate(false); err != nil {
		p.Leave(livekit.DisconnectReason_STATE_MISMATCH)
		return nil, err
	}
	return p, nil
}

// SubscribeToExisting subscribes p to every track already published.
func (r *Room) SubscribeToExisting(p *Participant) {
	for _, o := range r.Participants() {
		if o == p {
			continue
		}
		for _, t := range o.PublishedTracks() {
			if err := p.subscribe(t); err != nil {
				p.log.Debug("auto-subscribe", "track", t.SID(), "err", err)
			}
		}
	}
}

// RemoveParticipant takes a participant out of the room and tells everyone.
// It reports whether the participant was there.
func (r *Room) RemoveParticipant(identity string, reason livekit.DisconnectReason) bool {
	p := r.Participant(identity)
	if p == nil {
		return false
	}
	tell := reason != livekit.DisconnectReason_CLIENT_INITIATED && reason != livekit.DisconnectReason_SIGNAL_CLOSE
	r.removeParticipant(p, reason, tell)
	return true
}

func (r *Room) removeParticipant(p *Participant, reason livekit.DisconnectReason, tellClient bool) {
	r.mu.Lock()
	if r.participants[p.identity] != p {
		// Gone already, or replaced: whoever took it out closes it.
		r.mu.Unlock()
		return
	}
	delete(r.participants, p.identity)
	r.updateAudioSelectionLocked()
	empty := len(r.participants) == 0
	if empty && !r.closed {
		r.scheduleCloseLocked(time.Duration(r.info.DepartureTimeout) * time.Second)
	}
	r.mu.Unlock()
	r.retire(p, reason, tellClient)
}

// retire closes p, which the caller has just taken out of the room, and
// tells the others and the hooks that it left.
func (r *Room) retire(p *Participant, reason livekit.DisconnectReason, tellClient bool) {
	p.close(reason, tellClient)
	r.broadcastParticipant(p)
	r.viewMu.Lock()
	r.mu.Lock()
	r.switchModeLocked(nil)
	r.mu.Unlock()
	r.viewMu.Unlock()
	r.mgr.event(&livekit.WebhookEvent{Event: "participant_left", Room: r.Info(), Participant: p.Info()})
	r.mgr.cfg.Hooks.Left(r, p, reason)
}

// admitsLocked says why a participant with identity may not join now, or
// nil. Callers hold r.mu.
func (r *Room) admitsLocked(identity string) error {
	switch {
	case r.closed:
		return ErrRoomClosed
	case r.participants[identity] == nil && r.info.MaxParticipants > 0 && uint32(len(r.participants)) >= r.info.MaxParticipants:
		return fmt.Errorf("%w: %d participants", ErrRoomFull, r.info.MaxParticipants)
	}
	return nil
}

// scheduleCloseLocked closes the room after d unless someone joins first.
func (r *Room) scheduleCloseLocked(d time.Duration) {
	if r.emptyTimer != nil {
		r.emptyTimer.Stop()
	}
	r.emptyTimer = time.AfterFunc(d, func() {
		r.mu.Lock()
		idle := len(r.participants) == 0
		r.mu.Unlock()
		if idle {
			r.mgr.closeRoom(r, livekit.DisconnectReason_ROOM_CLOSED)
		}
	})
}

// Close closes the room for everyone in it, telling them why, as
// RoomService.DeleteRoom does; the manager forgets it, so a later join
// starts a new room.
func (r *Room) Close(reason livekit.DisconnectReason) { r.mgr.closeRoom(r, reason) }

// close removes everyone, telling them why, and marks the room closed.
func (r *Room) close(reason livekit.DisconnectReason) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	if r.emptyTimer != nil {
		r.emptyTimer.Stop()
	}
	ps := make([]*Participant, 0, len(r.participants))
	for _, p := range r.participants {
		ps = append(ps, p)
	}
	r.participants = map[string]*Participant{}
	hadJoin := r.hadJoin
	r.mu.Unlock()
	r.ticker.stop()
	if r.audio != nil {
		r.audio.Close()
	}
	for _, p := range ps {
		p.close(reason, true)
		r.mgr.event(&livekit.WebhookEvent{Event: "participant_left", Room: r.Info(), Participant: p.Info()})
		r.mgr.cfg.Hooks.Left(r, p, reason)
	}
	if hadJoin {
		r.mgr.event(&livekit.WebhookEvent{Event: "room_finished", Room: r.Info()})
	}
}

// broadcastParticipant sends p's current info to everyone in the room who
// sees p (p itself included, so it learns of permission changes), unless p
// is hidden. It first brings p's audience status up to date.
func (r *Room) broadcastParticipant(p *Participant) {
	r.viewMu.Lock()
	defer r.viewMu.Unlock()
	r.refreshAudienceLocked(p)
	info := p.Info()
	msg := updateOf([]*livekit.ParticipantInfo{info})
	hidden := info.GetPermission().GetHidden()
	for _, o := range r.Participants() {
		if o != p && (hidden || !r.sees(o, p)) {
			continue
		}
		o.send(msg)
	}
}

// hideParticipant makes p disappear for everyone else who saw it, as if it
// had left.
func (r *Room) hideParticipant(p *Participant) {
	r.viewMu.Lock()
	defer r.viewMu.Unlock()
	msg := updateOf([]*livekit.ParticipantInfo{goneInfo(p)})
	for _, o := range r.Participants() {
		if o != p && r.sees(o, p) {
			o.send(msg)
		}
	}
}

// findTrack returns the published track with that sid, or nil.
func (r *Room) findTrack(sid string) *PublishedTrack {
	for _, p := range r.Participants() {
		if t := p.PublishedTrack(sid); t != nil {
			return t
		}
	}
	return nil
}

func (r *Room) onTrackPublished(pt *PublishedTrack) {
	r.broadcastParticipant(pt.owner)
	r.mgr.event(&livekit.WebhookEvent{Event: "track_published", Room: r.Info(), Participant: pt.owner.Info(), Track: pt.Info()})
	for _, o := range r.Participants() {
		if o == pt.owner {
			continue
		}
		o.mu.Lock()
		auto := o.autoSubscribe
		o.mu.Unlock()
		if auto {
			if err := o.subscribe(pt); err != nil {
				o.log.Debug("auto-subscribe", "track", pt.SID(), "err", err)
			}
		}
	}
}

func (r *Room) onTrackUnpublished(pt *PublishedTrack) {
	sid := pt.SID()
	for _, o := range r.Participants() {
		o.unsubscribe(sid, true)
	}
	r.broadcastParticipant(pt.owner)
	r.mgr.event(&livekit.WebhookEvent{Event: "track_unpublished", Room: r.Info(), Participant: pt.owner.Info(), Track: pt.Info()})
}

// onLayersChanged moves every subscriber of pt to the layer that now fits
// it best: when a layer starts or stops arriving.
func (r *Room) onLayersChanged(pt *PublishedTrack) {
	r.eachSubscription(pt, func(s *subscription, settings *livekit.UpdateTrackSettings) {
		s.applyLayer(settings)
	})
}

func (r *Room) onTrackMuted(pt *PublishedTrack) {
	r.eachSubscription(pt, func(s *subscription, _ *livekit.UpdateTrackSettings) { s.applyPause() })
	r.broadcastParticipant(pt.owner)
}

// SendData delivers a data packet from a participant (nil for the server)
// to the identities it names, or to everyone else.
func (r *Room) SendData(from *Participant, pkt *livekit.DataPacket, kind livekit.DataPacket_Kind) {
	dest := slices.Clone(pkt.GetDestinationIdentities())
	if u := pkt.GetUser(); u != nil {
		if len(dest) == 0 {
			dest = slices.Clone(u.GetDestinationIdentities())
		}
		// Older clients address by sid; a packet addressed to anyone must
		// never fall back to everyone.
		for _, sid := range u.GetDestinationSids() {
			if o := r.ParticipantBySID(sid); o != nil {
				dest = append(dest, o.identity)
			} else {
				dest = append(dest, "\x00unknown-sid")
			}
		}
	}
	if from != nil {
		// The server, not the client, says who sent it.
		pkt.ParticipantIdentity = from.identity
		if u := pkt.GetUser(); u != nil {
			u.ParticipantIdentity = from.identity
			u.ParticipantSid = from.sid
		}
	}
	pkt.DestinationIdentities = nil
	if u := pkt.GetUser(); u != nil {
		u.DestinationIdentities = nil
		u.DestinationSids = nil
	}
	pkt.Kind = kind
	b, err := proto.Marshal(pkt)
	if err != nil {
		return
	}
	var want map[string]bool
	if len(dest) > 0 {
		want = make(map[string]bool, len(dest))
		for _, d := range dest {
			want[d] = true
		}
	}
	for _, o := range r.Participants() {
		if o == from || (want != nil && !want[o.identity]) {
			continue
		}
		o.sendData(b, kind)
	}
}

// UpdateMetadata changes the room's metadata and tells everyone.
func (r *Room) UpdateMetadata(md string) *livekit.Room {
	r.mu.Lock()
	r.info.Metadata = md
	info := r.infoLocked()
	r.mu.Unlock()
	msg := &livekit.SignalResponse{Message: &livekit.SignalResponse_RoomUpdate{RoomUpdate: &livekit.RoomUpdate{Room: info}}}
	for _, o := range r.Participants() {
		o.send(msg)
	}
	return info
}
