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
// pauseGrace: estimates dip for a moment when a client is busy.
//
// When the link shrinks under a layer that had held, the layers above it
// are not tried for coolDown: a link that just lost capacity rarely gets it
// back at once, and every failed trial costs a keyframe's worth of queue.
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
	coolDown       = 10 * time.Second // after the link shrank, before trying higher layers
)

// defaultLayerRates stand in for a layer's bitrate until it is measured:
// the rates of LiveKit's default simulcast layers.
var defaultLayerRates = [3]float64{150_000, 500_000, 1_700_000}

// allocState is the allocator's memory of one subscription; touched only
// by the room's allocator goroutine.
type allocState struct {
	applied   int // layer index in effect, or -1 for paused
	trial     int // layer being tried, -1 for none
	trialFrom int // the layer before the trial
	trialAt   time.Time
	trialEst  int64
	backoff   [3]time.Time
	backDur   [3]time.Duration
	announced bool      // paused was announced to the client
	shortAt   time.Time // since when the budget has had no room for it; zero while it has
	failed    bool      // a trial failed this tick: its back-off, not a cool-down, applies
}

// bandwidthAllocator runs for the life of a room.
type bandwidthAllocator struct {
	room  *Room
	state map[*subscription]*allocState
	last  time.Time
	loop  *periodic
}

func newBandwidthAllocator(r *Room) *bandwidthAllocator {
	a := &bandwidthAllocator{room: r, state: map[*subscription]*allocState{}, last: time.Now()}
	a.loop = startPeriodic(allocInterval, a.tick)
	return a
}

func (a *bandwidthAllocator) close() { a.loop.close() }

// videoSub is a subscription as one tick sees it.
type videoSub struct {
	s        *subscription
	settings *livekit.UpdateTrackSettings
	wanted   int // layer index the subscriber asked for
	rates    [3]float64
	exists   [3]bool
	priority int    // class: 0 screen share or active speaker, 1 pinned, 2 the rest
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
	p.mu.Lock()
	for _, s := range p.subs {
		if s.disabled || s.track.Muted() {
			continue
		}
		kind, source := s.track.kindAndSource()
		if kind != livekit.TrackType_VIDEO {
			audio++
			continue
		}
		v := &videoSub{s: s, settings: s.settings, wanted: int(s.track.qualityFor(s.settings)), priority: 2}
		v.rates, v.exists = s.track.layerRates()
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

	alloc := make([]int, len(videos))
	for i, v := range videos {
		seen[v.s] = true
		st := a.state[v.s]
		if st == nil {
			st = &allocState{applied: int(livekit.VideoQuality_HIGH), trial: -1}
			a.state[v.s] = st
		}
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
		lowest := lowestLayer(v.exists)
		if lowest < 0 {
			alloc[i] = -1
			continue
		}
		need := v.rates[lowest]
		if st.applied >= 0 {
			need *= keepFactor // hysteresis: a video on screen stays a little longer
		} else if now.Before(st.backoff[lowest]) {
			need = budget + 1 // resuming failed a moment ago: wait out the back-off
		}
		if budget < need {
			// Pause only a shortage that lasts: an estimate that dips and
			// recovers within pauseGrace should not blank the tile.
			if st.applied >= 0 {
				if st.shortAt.IsZero() {
					st.shortAt = now
				}
				if now.Sub(st.shortAt) < pauseGrace {
					alloc[i] = lowest
					budget -= v.rates[lowest]
					continue
				}
			}
			alloc[i] = -1
			continue
		}
		st.shortAt = time.Time{}
		alloc[i] = lowest
		budget -= v.rates[lowest]
	}
	for i, v := range videos {
		if alloc[i] < 0 {
			continue
		}
		st := a.state[v.s]
		for q := alloc[i] + 1; q <= v.wanted && q < 3; q++ {
			if !v.exists[q] {
				continue
			}
			need := v.rates[q] - v.rates[alloc[i]]
			if q <= st.applied {
				need = v.rates[q]*keepFactor - v.rates[alloc[i]] // keep what it has a little longer
			}
			if now.Before(st.backoff[q]) || budget < need {
				break
			}
			budget -= v.rates[q] - v.rates[alloc[i]]
			alloc[i] = q
		}
	}
	for i, v := range videos {
		a.apply(p, v, a.state[v.s], alloc[i], now, est)
	}
}

// apply puts a subscription on its allocated layer (or pauses it), and
// tells the client when a video is paused or resumed for lack of room.
func (a *bandwidthAllocator) apply(p *Participant, v *videoSub, st *allocState, layer int, now time.Time, est int64) {
	// The budget's cap: -1 paused, 0..2 the highest layer allowed; a video
	// that gets all it asked for is not capped at all, so that a wish the
	// subscriber changes later applies at once.
	capLayer := layer
	if layer >= v.wanted {
		capLayer = int(livekit.VideoQuality_HIGH)
	}
	failed := st.failed
	st.failed = false
	if capLayer == st.applied {
		return
	}
	s := v.s
	shrank := capLayer < st.applied
	switch {
	case !shrank:
		// A raise, or a resume from pause, is a trial.
		st.trial, st.trialFrom, st.trialAt, st.trialEst = max(layer, 0), st.applied, now, est
	case st.trial < 0 && !failed:
		// The link shrank under a layer that had held: let it settle
		// before trying the layers above again.
		for q := max(capLayer+1, 0); q < 3; q++ {
			if until := now.Add(coolDown); st.backoff[q].Before(until) {
				st.backoff[q] = until
			}
		}
	}
	st.applied = capLayer
	p.mu.Lock()
	if p.subs[s.track.SID()] != s {
		p.mu.Unlock()
		return // unsubscribed meanwhile
	}
	s.budgetPaused.Store(capLayer < 0)
	if capLayer >= 0 {
		s.budgetCap.Store(int32(capLayer))
	}
	settings := s.settings
	p.mu.Unlock()
	s.applyBudget(settings, shrank)
	if paused := capLayer < 0; paused != st.announced {
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
