package room

import "github.com/livekit/protocol/livekit"

// eachSubscription calls f with every subscription to pt in the room and
// the settings its subscriber last gave for it. f runs outside the
// subscriber's lock, so it may apply layers, pauses or budgets.
func (r *Room) eachSubscription(pt *PublishedTrack, f func(s *subscription, settings *livekit.UpdateTrackSettings)) {
	sid := pt.SID()
	for _, o := range r.Participants() {
		o.mu.Lock()
		s := o.subs[sid]
		var settings *livekit.UpdateTrackSettings
		if s != nil {
			settings = s.settings
		}
		o.mu.Unlock()
		if s != nil {
			f(s, settings)
		}
	}
}

// subscriptions returns a snapshot of p's subscriptions, for loops that
// act on each without holding p's lock.
func (p *Participant) subscriptions() []*subscription {
	p.mu.Lock()
	defer p.mu.Unlock()
	subs := make([]*subscription, 0, len(p.subs))
	for _, s := range p.subs {
		subs = append(subs, s)
	}
	return subs
}
