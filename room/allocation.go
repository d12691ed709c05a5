package room

import (
	"slices"
	"time"

	"github.com/livekit/protocol/livekit"
)

// Bandwidth allocation: every allocInterval each subscriber's video
// subscriptions are fitted into the estimate of its downlink (sfu/bwe), one
// budget across all its tracks. Audio is served first; then every video
// gets its lowest layer, in priority order (screen shares and the active
// speakers' cameras, then the tiles the subscriber pinned, i.e. gave a
// priority in UpdateTrackSettings, highest first, then the rest), and a
// video whose lowest layer no longer fits is paused and the client told
// (StreamStateUpdate); what is left raises videos towards the layer their
// subscriber asked for, in the same order.
//
// A video is paused only when its lowest layer has not fitted for
// pauseGrace while the link was losing packets (pauseLoss): estimates dip
// for a moment when a client is busy, and a delay-based estimate falls
// when a client's CPU, not its link, is short (four browser tabs on one
// laptop), where a blank tile would be a worse answer than a late one.
// Loss is the TWCC feedback's, confirmed by the subscriber's receiver
// reports: a starved browser reports packets missing that reach it late,
// which TWCC cannot tell from lost, but its receiver reports can.
//
// When the link shrinks under a layer that had held, the layers above it
// are not tried for coolDown: a link that just lost capacity rarely gets it
// back at once, and every failed trial costs a keyframe's worth of queue.
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
//
// A raise is a trial: if the estimate falls within trialTime, the layer is
// withdrawn at once (sfu.DownTrack.SwitchDown) and not tried again for a
// back-off that doubles, from 4 s up to 8 s, at each failure (8 to 16 s for
// resuming a paused video). That is how a
// subscriber finds out, without probing packets, that its link carries
// more again.
const (
	allocInterval  = 250 * time.Millisecond
	trialTime      = 3 * time.Second
	backoffFirst   = 4 * time.Second
	backoffMax     = 8 * time.Second
	audioReserve   = 40_000 // bps per forwarded audio track
	rateSmoothing  = 0.3    // weight of the newest interval in a layer's measured rate
	trialTolerance = 0.9    // the estimate may sag this much during a trial
	keepFactor     = 0.6    // a layer in use is kept until the budget falls below this share of its rate
	pauseGrace     = 2 * time.Second
	pauseLoss      = 0.02             // loss fraction that shows the link, not the client, is short
	coolDown       = 10 * time.Second // after the link shrank, before trying higher layers
)

// defaultLayerRates stand in for a layer's bitrate until it is measured:
// the rates of LiveKit's default simulcast layers.
var defaultLayerRates = [3]float64{150_000, 500_000, 1_700_000}

// rung is one way to send a video: spatial layer q thinned to temporal
// layer t (allTemporal: every frame), which costs rate bits per second.
type rung struct {
	q, t int
	rate float64
}

// allTemporal is the temporal layer that means all frames.
const allTemporal = 2

// uncapped is the rung id of a video that gets all it asked for.
const uncapped = 3*2 + allTemporal

// id numbers the rungs 0..8 (q*3+t), the index of per-rung state.
func (r rung) id() int { return r.q*3 + r.t }

// rungOf returns the rung (without its rate) of an id.
func rungOf(id int) rung { return rung{q: id / 3, t: id % 3} }

// above reports whether r gives more than o: a higher layer, or the same
// layer with more frames.
func (r rung) above(o rung) bool { return r.q > o.q || r.q == o.q && r.t > o.t }

// ladder returns the rungs a subscriber may get, cheapest first, up to
// the layer wantQ and temporal layer wantT it asked for: every layer at
// all frames, and the layer holdQ (the one the subscriber is on now, if
// above the lowest) also at 15 fps; for a screen share every layer at
// every rate. Rungs that cost more than one giving at least as much are
// left out.
func ladder(rates [3][3]float64, exists, temporal [3]bool, wantQ, wantT, holdQ int, screen bool) []rung {
	lowest := lowestLayer(exists)
	if lowest < 0 {
		return nil
	}
	var all []rung
	for q := lowest; q <= max(wantQ, lowest) && q < 3; q++ {
		if !exists[q] {
			continue
		}
		if !temporal[q] {
			all = append(all, rung{q, allTemporal, rates[q][allTemporal]})
			continue
		}
		first := allTemporal
		switch {
		case screen:
			first = 0
		case q == holdQ && q > lowest:
			first = 1
		}
		for t := min(first, wantT); t <= wantT; t++ {
			all = append(all, rung{q, t, rates[q][t]})
		}
	}
	slices.SortStableFunc(all, func(a, b rung) int {
		switch {
		case a.rate < b.rate:
			return -1
		case a.rate > b.rate:
			return 1
		case b.above(a):
			return -1
		}
		return 1
	})
	kept := all[:0]
	for _, r := range all {
		dominated := false
		for _, k := range kept {
			if k.q >= r.q && k.t >= r.t {
				dominated = true
				break
			}
		}
		if !dominated {
			kept = append(kept, r)
		}
	}
	return kept
}

// allocState is the allocator's memory of one subscription; touched only
// by the room's allocator goroutine.
type allocState struct {
	applied   int // rung id in effect (uncapped when all it asked for), or -1 for paused
	trial     int // rung id being tried, -1 for none
	trialFrom int // the rung id before the trial
	trialAt   time.Time
	trialEst  int64
	backoff   [9]time.Time // by rung id
	backDur   [9]time.Duration
	announced bool      // paused was announced to the client
	shortAt   time.Time // since when the budget has had no room for it; zero while it has
	lossAt    time.Time // when its link last reported loss (pauseLoss)
	failed    bool      // a trial failed this tick: its back-off, not a cool-down, applies
}

// newAllocState starts the allocator's memory of s from the budget s is
// held to now. A subscription leaves the allocation while its track is
// muted or disabled and comes back with the budget it had: memory that
// assumed "uncapped" would see nothing to change and leave a video paused,
// or on a low layer, for good.
func newAllocState(s *subscription) *allocState {
	st := &allocState{applied: uncapped, trial: -1}
	switch q, t := int(s.budgetCap.Load()), int(s.budgetTemporal.Load()); {
	case s.budgetPaused.Load():
		st.applied, st.announced = -1, true
	case q < int(livekit.VideoQuality_HIGH) || t < allTemporal:
		st.applied = rung{q: q, t: t}.id()
	}
	return st
}

// linkLoss is the allocator's memory of one subscriber's link: when its
// TWCC feedback and its receiver reports last showed loss.
type linkLoss struct {
	base     lossCount // the receiver reports' counts when the window began
	baseAt   time.Time
	twccAt   time.Time // the estimator's loss last reached pauseLoss
	reportAt time.Time // a window's reported loss last reached pauseLoss
}

// lossCount is what receiver reports said: packets lost of those expected.
type lossCount struct{ lost, expected uint64 }

// reportWindow is how much receiver reports a loss fraction is judged
// over: browsers report on each track about every second. Loss counts
// only from reportMinLost packets up: a window often holds one track's
// report, 15-45 packets, where one or two lost would pass for several per
// cent.
const (
	reportWindow  = time.Second
	reportMinLost = 3
)

// observe records this tick's readings and reports whether the link loses
// packets: both signs within pauseGrace (receiver reports come about once
// a second, so the two need not show in the same tick).
func (l *linkLoss) observe(twccLoss float64, reported lossCount, now time.Time) bool {
	if twccLoss >= pauseLoss {
		l.twccAt = now
	}
	if reported.expected < l.base.expected {
		l.base, l.baseAt = reported, now // a track left: its counts went with it
	}
	if now.Sub(l.baseAt) >= reportWindow {
		// The lost count goes down when a missing packet is repaired.
		lost := int64(reported.lost) - int64(l.base.lost)
		if exp := reported.expected - l.base.expected; exp > 0 && lost >= reportMinLost && float64(lost) >= pauseLoss*float64(exp) {
			l.reportAt = now
		}
		l.base, l.baseAt = reported, now
	}
	recent := func(at time.Time) bool { return !at.IsZero() && now.Sub(at) < pauseGrace }
	return recent(l.twccAt) && recent(l.reportAt)
}

// bandwidthAllocator runs for the life of a room.
type bandwidthAllocator struct {
	room  *Room
	state map[*subscription]*allocState
	links map[*Participant]*linkLoss
	last  time.Time
	loop  *periodic
}

func newBandwidthAllocator(r *Room) *bandwidthAllocator {
	a := &bandwidthAllocator{room: r, state: map[*subscription]*allocState{}, links: map[*Participant]*linkLoss{}, last: time.Now()}
	a.loop = startPeriodic(allocInterval, a.tick)
	return a
}

func (a *bandwidthAllocator) close() { a.loop.close() }

// videoSub is a subscription as one tick sees it.
type videoSub struct {
	s        *subscription
	settings *livekit.UpdateTrackSettings
	ladder   []rung // set by allocate, once the state is known
	priority int    // class: 0 screen share or active speaker, 1 pinned, 2 the rest
	screen   bool
	wantQ    int // the layer and temporal layer the subscriber asked for
	wantT    int
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
	var reported lossCount
	p.mu.Lock()
	for _, s := range p.subs {
		lost, expected := s.down.ReportedLoss()
		reported.lost += lost
		reported.expected += expected
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
			v.wantT = allTemporal
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
	budget := float64(est) - float64(audio*audioReserve)
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

	states := make([]*allocState, len(videos))
	for i, v := range videos {
		seen[v.s] = true
		st := a.state[v.s]
		if st == nil {
			st = newAllocState(v.s)
			a.state[v.s] = st
		}
		states[i] = st
		holdQ := -1
		if st.applied >= 0 {
			holdQ = min(rungOf(st.applied).q, v.wantQ)
		}
		v.ladder = ladder(v.rates, v.exists, v.temporal, v.wantQ, v.wantT, holdQ, v.screen)
		// A trial failed when the estimate fell while it ran.
		if st.trial >= 0 {
			switch {
			case float64(est) < trialTolerance*float64(st.trialEst):
				first, most := backoffFirst, backoffMax
				if st.trialFrom < 0 {
					// Resuming costs a keyframe, which a link too slow for
					// it queues for a second or more: try less often.
					first, most = 2*backoffFirst, 2*backoffMax
				}
				if st.backDur[st.trial] == 0 {
					st.backDur[st.trial] = first
				} else {
					st.backDur[st.trial] = min(2*st.backDur[st.trial], most)
				}
				st.backoff[st.trial] = now.Add(st.backDur[st.trial])
				st.trial, st.failed = -1, true
			case now.Sub(st.trialAt) > trialTime:
				st.backDur[st.trial] = 0 // it held
				st.trial = -1
			}
		}
	}
	link := a.links[p]
	if link == nil {
		link = &linkLoss{base: reported, baseAt: now}
		a.links[p] = link
	}
	loss, _ := t.Estimator().Stats()
	alloc := fit(videos, states, budget, now, link.observe(loss, reported, now))
	for i, v := range videos {
		a.apply(p, v, states[i], alloc[i], now, est)
	}
}

// fit chooses a rung for each video (an index into its ladder, or -1 to
// pause it) within budget: the lowest rung of each in order, then raises
// in the same order. A video on screen is paused only after pauseGrace
// without room, and while its link loses packets (lossy now or within
// pauseGrace: loss comes in bursts). It records in states when a video
// started to go short and when its link last lost packets.
func fit(videos []*videoSub, states []*allocState, budget float64, now time.Time, lossy bool) []int {
	alloc := make([]int, len(videos))
	for i, v := range videos {
		st := states[i]
		if lossy {
			st.lossAt = now
		}
		if len(v.ladder) == 0 {
			alloc[i] = -1
			continue
		}
		lowest := v.ladder[0]
		need := lowest.rate
		if st.applied >= 0 {
			need *= keepFactor // hysteresis: a video on screen stays a little longer
		} else if now.Before(st.backoff[lowest.id()]) {
			need = budget + 1 // resuming failed a moment ago: wait out the back-off
		}
		if budget < need {
			// Pause only a shortage that lasts: an estimate that dips and
			// recovers within pauseGrace should not blank the tile.
			if st.applied >= 0 {
				if st.shortAt.IsZero() {
					st.shortAt = now
				}
				recentLoss := !st.lossAt.IsZero() && now.Sub(st.lossAt) < pauseGrace
				if !recentLoss || now.Sub(st.shortAt) < pauseGrace {
					alloc[i] = 0
					budget -= lowest.rate
					continue
				}
				// Paused now: the link has just shown it cannot carry the
				// lowest layer, so resuming waits as after a failed try.
				// An estimate that recovers at once (only audio left on
				// the link) would otherwise send a keyframe into the same
				// queue a moment later.
				id := lowest.id()
				if st.backDur[id] == 0 {
					st.backDur[id] = 2 * backoffFirst
				}
				if until := now.Add(st.backDur[id]); st.backoff[id].Before(until) {
					st.backoff[id] = until
				}
			}
			alloc[i] = -1
			continue
		}
		st.shortAt = time.Time{}
		alloc[i] = 0
		budget -= lowest.rate
	}
	for i, v := range videos {
		if alloc[i] < 0 {
			continue
		}
		st := states[i]
		for j := alloc[i] + 1; j < len(v.ladder); j++ {
			r, cur := v.ladder[j], v.ladder[alloc[i]]
			need := r.rate - cur.rate
			if st.applied >= 0 && !r.above(rungOf(st.applied)) {
				need = r.rate*keepFactor - cur.rate // keep what it has a little longer
			}
			if now.Before(st.backoff[r.id()]) || budget < need {
				break
			}
			budget -= r.rate - cur.rate
			alloc[i] = j
		}
	}
	return alloc
}

// apply puts a subscription on its allocated rung (ladder index j, or -1
// to pause it), and tells the client when a video is paused or resumed for
// lack of room.
func (a *bandwidthAllocator) apply(p *Participant, v *videoSub, st *allocState, j int, now time.Time, est int64) {
	// The budget's cap: -1 paused, else the rung allowed; a video that
	// gets all it asked for is not capped at all, so that a wish the
	// subscriber changes later applies at once. A held one is: uncapped,
	// it would go up to the highest layer before its subscriber had time
	// to ask.
	capID := -1
	if j >= 0 {
		capID = v.ladder[j].id()
		if j == len(v.ladder)-1 && !v.held {
			capID = uncapped
		}
	}
	failed := st.failed
	st.failed = false
	if capID == st.applied {
		return
	}
	s := v.s
	shrank := capID < 0 || st.applied >= 0 && rungOf(st.applied).above(rungOf(capID))
	spatialShrank := capID < 0 || st.applied >= 0 && rungOf(capID).q < rungOf(st.applied).q
	// The first placement, up from the lowest layer the video started
	// on, is a start and not a trial: a new connection's estimate is bwe's
	// initial guess, and its first correction would fail the trial of
	// every video placed on it.
	trial := !shrank && s.budgetPlaced.Load()
	switch {
	case trial:
		// A raise, or a resume from pause, is a trial.
		st.trial, st.trialFrom, st.trialAt, st.trialEst = v.ladder[max(j, 0)].id(), st.applied, now, est
	case shrank && st.trial < 0 && !failed:
		// The link shrank under a rung that had held: let it settle
		// before trying the layers above again. More frames of the same
		// layer cost no keyframe to try: only their own back-off applies.
		until := now.Add(coolDown)
		for id := range st.backoff {
			r := rungOf(id)
			if capID >= 0 && (!r.above(rungOf(capID)) || r.q == rungOf(capID).q) {
				continue
			}
			if st.backoff[id].Before(until) {
				st.backoff[id] = until
			}
		}
	}
	p.log.Debug("allocation", "track", v.s.track.SID(), "from", st.applied, "to", capID, "estimate", est, "trial", trial, "ladder", v.ladder)
	st.applied = capID
	p.mu.Lock()
	if p.subs[s.track.SID()] != s {
		p.mu.Unlock()
		return // unsubscribed meanwhile
	}
	s.budgetPaused.Store(capID < 0)
	if capID >= 0 {
		s.budgetCap.Store(int32(rungOf(capID).q))
		s.budgetTemporal.Store(int32(rungOf(capID).t))
	}
	s.budgetPlaced.Store(true)
	settings := s.settings
	p.mu.Unlock()
	s.applyBudget(settings, spatialShrank)
	if paused := capID < 0; paused != st.announced {
		st.announced = paused
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

func lowestLayer(exists [3]bool) int {
	for q, ok := range exists {
		if ok {
			return q
		}
	}
	return -1
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
