package room

import (
	"fmt"
	"slices"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

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
	s := newSubscription(pt, pt.owner.sid+"|"+sid, p.room.mgr.stats)
	down := s.down
	sender, err := p.downTransport().PeerConnection().AddTrack(down)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("room: add down-track: %w", err)
	}
	s.sender = sender
	p.gateAudio(pt, down)
	down.SetEstimator(p.downTransport().Estimator())
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
			s.disabled.Store(req.GetDisabled())
			changed = append(changed, s)
		}
	}
	p.mu.Unlock()
	for _, s := range changed {
		s.applyPause()
		s.applyLayer(settings)
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
