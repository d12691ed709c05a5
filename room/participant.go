package room

import (
	"errors"
	"log/slog"
	"maps"
	"slices"
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

	// settled is closed once the media connection is up or the
	// participant is gone: the end of its join.
	settled     chan struct{}
	settledOnce sync.Once
	// joinDone is closed when Join has told everyone of the participant
	// (or refused it): a join replacing it waits for that, so that its
	// departure is never told before its arrival.
	joinDone chan struct{}

	// audience is the status the room's view last gave this participant
	// (see audience.go); guarded by room.viewMu.
	audience bool

	// listener gates the microphones this participant is sent by the
	// room's top-K selection; unused when top-K is off.
	listener sfu.AudioListener
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
			Attributes:     maps.Clone(p.Attributes),
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
		settled:       make(chan struct{}),
		joinDone:      make(chan struct{}),
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
	if s >= livekit.ParticipantInfo_ACTIVE {
		p.settle()
	}
	p.room.broadcastParticipant(p)
}

// Settled is closed once the participant's media connection is up, or it
// has left: its join is over either way.
func (p *Participant) Settled() <-chan struct{} { return p.settled }

func (p *Participant) settle() { p.settledOnce.Do(func() { close(p.settled) }) }

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

// UpdateInfo applies changes to name, metadata, attributes or permissions
// (nil or empty values leave a field as it is) and tells the room. A
// participant that has left (or been replaced) changes no more.
func (p *Participant) UpdateInfo(name, metadata *string, attrs map[string]string, perm *livekit.ParticipantPermission) {
	p.mu.Lock()
	if p.closed {
		// Its departure has been told; news of it now would be taken,
		// by identity, as news of whoever replaced it.
		p.mu.Unlock()
		return
	}
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
		// A track announced but whose media has not arrived yet would
		// otherwise be published when it does.
		for cid, ti := range p.pending {
			if !canPublishSource(perm, ti.Source) {
				delete(p.pending, cid)
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
	p.settle()
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
	for _, tr := range []*sfu.Transport{p.pub, p.sub} {
		if tr == nil {
			continue
		}
		if err := tr.Close(); errors.Is(err, sfu.ErrCloseStuck) {
			p.log.Error("peer connection close", "err", err)
		}
	}
}
