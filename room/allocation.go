package room

import (
	"slices"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/room/allocation"
)

// Bandwidth allocation: every tick of the room's ticker each subscriber's video
// subscriptions are fitted into the estimate of its downlink (sfu/bwe), one
// budget across all its tracks (room/allocation decides; this file reads
// the room and applies the result). Audio is served first; then every
// video gets its lowest layer, in priority order (screen shares and the
// active speakers' cameras, then the tiles the subscriber pinned, i.e.
// gave a priority in UpdateTrackSettings, highest first, then the rest),
// and a video whose lowest layer no longer fits is paused and the client
// told (StreamStateUpdate); what is left raises videos towards the layer
// their subscriber asked for, in the same order.
//
// A video's steps are rungs: a spatial layer thinned to a VP8 temporal
// layer. A camera whose layer (above its lowest) no longer fits first
// drops frames (30 to 15 fps saves about 40 % of a layer's rate) and keeps
// its resolution, and drops resolution only when that does not fit
// either; going up, it takes a higher layer only with room for all its
// frames. A screen share, where detail matters more than motion, may take
// any layer at 15 or 7.5 fps. Temporal steps cost no keyframe.
//
// A new subscription starts on its video's lowest layer (newSubscription),
// and the first tick places it on what fits, not as a trial; a subscriber
// that has said nothing yet is first given settingsWait to ask, on the
// lowest layer, so that nobody starts on a layer it is about to refuse.

// newAllocState starts the allocator's memory of s from the budget s is
// held to now (see allocation.NewState).
func newAllocState(s *subscription) *allocation.State {
	return allocation.NewState(s.budgetPaused.Load(), int(s.budgetCap.Load()), int(s.budgetTemporal.Load()))
}

// bandwidthAllocator is the room's allocation memory; only the room's
// ticker touches it.
type bandwidthAllocator struct {
	room  *Room
	state map[*subscription]*allocation.State
	links map[*Participant]*allocation.Link
	last  time.Time
}

func newBandwidthAllocator(r *Room) *bandwidthAllocator {
	return &bandwidthAllocator{room: r, state: map[*subscription]*allocation.State{}, links: map[*Participant]*allocation.Link{}, last: time.Now()}
}

// videoSub is a subscription as one tick sees it.
type videoSub struct {
	s        *subscription
	settings *livekit.UpdateTrackSettings
	ladder   []allocation.Rung // set by allocate, once the state is known
	priority int               // class: 0 screen share or active speaker, 1 pinned, 2 the rest
	screen   bool
	wantQ    int  // the layer the subscriber asked for
	wantT    int  // the temporal layer the subscriber asked for
	held     bool // its subscriber may still ask (awaitsSettings): kept on the lowest layer
	rates    [3][3]float64
	exists   [3]bool
	temporal [3]bool
	pin      uint32 // the subscriber's priority for it, within class 1
}

func (a *bandwidthAllocator) tick(now time.Time) {
	dt := now.Sub(a.last).Seconds()
	a.last = now
	parts := a.room.Participants()
	for _, p := range parts {
		for _, pt := range p.PublishedTracks() {
			pt.measureRates(dt)
		}
	}
	speaking := a.room.activeSpeakers()
	seen := map[*subscription]bool{}
	for _, p := range parts {
		a.allocate(p, now, speaking, seen)
	}
	for s := range a.state {
		if !seen[s] {
			delete(a.state, s)
		}
	}
	if len(a.links) > len(parts) {
		present := make(map[*Participant]bool, len(parts))
		for _, p := range parts {
			present[p] = true
		}
		for p := range a.links {
			if !present[p] {
				delete(a.links, p)
			}
		}
	}
}

// allocate fits one subscriber's videos into its estimate.
func (a *bandwidthAllocator) allocate(p *Participant, now time.Time, speaking map[string]int, seen map[*subscription]bool) {
	t := p.downTransport()
	if t == nil {
		return
	}
	est := t.Estimator().Target()
	var videos []*videoSub
	audio := 0
	var reported allocation.LossCount
	p.mu.Lock()
	for _, s := range p.subs {
		lost, expected := s.down.ReportedLoss()
		reported.Lost += lost
		reported.Expected += expected
		if s.disabled.Load() || s.track.Muted() {
			continue
		}
		kind, source := s.track.kindAndSource()
		if kind != livekit.TrackType_VIDEO {
			audio++
			continue
		}
		v := &videoSub{s: s, settings: s.settings, priority: 2, screen: source == livekit.TrackSource_SCREEN_SHARE}
		v.rates, v.exists, v.temporal = s.track.layerRates()
		v.wantQ, v.wantT = int(s.track.qualityFor(s.settings)), temporalLayerForFPS(s.settings.GetFps())
		if awaitsSettings(s.settings, s.down.ForwardingSince(), now) {
			v.held, v.wantQ = true, int(livekit.VideoQuality_LOW)
		}
		if v.wantT < 0 {
			v.wantT = allocation.AllTemporal
		}
		_, speaks := speaking[s.track.owner.SID()]
		switch {
		case source == livekit.TrackSource_SCREEN_SHARE || speaks:
			v.priority = 0
		case s.settings.GetPriority() > 0:
			v.priority, v.pin = 1, s.settings.GetPriority()
		}
		videos = append(videos, v)
	}
	p.mu.Unlock()
	if k := a.room.audioForwarded(); k > 0 {
		audio = min(audio, k)
	}
	budget := float64(est) - float64(audio*allocation.AudioReserve)
	slices.SortStableFunc(videos, func(x, y *videoSub) int {
		if x.priority != y.priority {
			return x.priority - y.priority
		}
		if x.pin != y.pin {
			if x.pin > y.pin {
				return -1
			}
			return 1
		}
		if x.s.track.SID() < y.s.track.SID() {
			return -1
		}
		return 1
	})

	states := make([]*allocation.State, len(videos))
	ladders := make([][]allocation.Rung, len(videos))
	for i, v := range videos {
		seen[v.s] = true
		st := a.state[v.s]
		if st == nil {
			st = newAllocState(v.s)
			a.state[v.s] = st
		}
		states[i] = st
		v.ladder = allocation.Ladder(v.rates, v.exists, v.temporal, v.wantQ, v.wantT, st.Hold(v.wantQ), v.screen)
		ladders[i] = v.ladder
		st.JudgeTrial(est, now)
	}
	link := a.links[p]
	if link == nil {
		link = allocation.NewLink(reported, now)
		a.links[p] = link
	}
	loss, _ := t.Estimator().Stats()
	alloc := allocation.Fit(ladders, states, budget, now, link.Observe(loss, reported, now))
	for i, v := range videos {
		a.apply(p, v, states[i], alloc[i], now, est)
	}
}

// apply puts a subscription on its allocated rung (ladder index j, or
// allocation.Paused), and tells the client when a video is paused or
// resumed for lack of room.
func (a *bandwidthAllocator) apply(p *Participant, v *videoSub, st *allocation.State, j int, now time.Time, est int64) {
	s := v.s
	c, changed := st.Place(v.ladder, j, v.held, s.budgetPlaced.Load(), now, est)
	if !changed {
		return
	}
	p.log.Debug("allocation", "track", v.s.track.SID(), "from", c.From, "to", c.To, "estimate", est, "trial", c.Trial, "ladder", v.ladder)
	p.mu.Lock()
	if p.subs[s.track.SID()] != s {
		p.mu.Unlock()
		return // unsubscribed meanwhile
	}
	s.budgetPaused.Store(c.To < 0)
	if c.To >= 0 {
		s.budgetCap.Store(int32(allocation.RungOf(c.To).Q))
		s.budgetTemporal.Store(int32(allocation.RungOf(c.To).T))
	}
	s.budgetPlaced.Store(true)
	settings := s.settings
	p.mu.Unlock()
	s.applyBudget(settings, c.SpatialShrank)
	if paused := c.To < 0; st.Announce(paused) {
		state := livekit.StreamState_ACTIVE
		if paused {
			state = livekit.StreamState_PAUSED
		}
		p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_StreamStateUpdate{
			StreamStateUpdate: &livekit.StreamStateUpdate{StreamStates: []*livekit.StreamStateInfo{{
				ParticipantSid: s.track.owner.SID(), TrackSid: s.track.SID(), State: state,
			}}},
		}})
	}
}

// activeSpeakers returns the participants last announced as speaking, by
// sid, with their rank (0 the loudest).
func (r *Room) activeSpeakers() map[string]int {
	m := map[string]int{}
	if order := r.speakers.announced.Load(); order != nil {
		for i, sid := range *order {
			m[sid] = i
		}
	}
	return m
}

// audioForwarded returns how many microphones top-K selection forwards to
// each subscriber, or 0 when every microphone is.
func (r *Room) audioForwarded() int {
	if r.audio != nil && r.audio.Active() {
		return r.mgr.cfg.AudioTopK
	}
	return 0
}
