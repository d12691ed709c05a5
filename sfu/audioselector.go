package sfu

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Top-K audio forwarding: in a big room every subscriber is sent only the K
// loudest microphones. An AudioSelector ranks the audio receivers of one
// room every tick; down-tracks then gate their packets with two atomic
// loads (see AudioListener.allows), so the per-packet cost stays flat
// however many tracks the room has.

// Selection states of a track, held in audioSlot.state.
const (
	audioUnselected int32 = iota // forwarded to nobody while the selector is active
	audioSelected                // one of the K loudest: forwarded to everyone
	audioSpare                   // the (K+1)th: forwarded to those whose own mic is selected
)

// AudioSelectorConfig tunes an AudioSelector. Zero fields take the defaults
// noted.
type AudioSelectorConfig struct {
	// K is how many tracks each subscriber is sent; 3 if 0.
	K int
	// Interval is how often tracks are ranked; 20 ms (one Opus frame) if 0.
	Interval time.Duration
	// Hangover keeps a selected track that fell quiet selected this long,
	// unless a louder one needs its place; 1 s if 0.
	Hangover time.Duration
	// Floor is the smoothed linear amplitude (0..1) under which a track
	// counts as silent; 0.01 (-40 dBov) if 0.
	Floor float64
	// Margin is how many times louder than the weakest selected track a
	// newcomer must be to take its place; 1.5 (+3.5 dB) if 0.
	Margin float64
}

func (c *AudioSelectorConfig) defaults() {
	if c.K <= 0 {
		c.K = 3
	}
	if c.Interval <= 0 {
		c.Interval = 20 * time.Millisecond
	}
	if c.Hangover <= 0 {
		c.Hangover = time.Second
	}
	if c.Floor <= 0 {
		c.Floor = 0.01
	}
	if c.Margin <= 0 {
		c.Margin = 1.5
	}
}

const (
	// selectorSmoothing is the weight of the newest interval in a track's
	// smoothed level: high, so that the onset of speech ranks at once.
	selectorSmoothing = 0.5
	// selectorHoldDecay is how much of its peak a selected track keeps per
	// tick (at 20 ms, about half a second to halve): a pause between words
	// does not let a quieter newcomer in.
	selectorHoldDecay = 0.97
)

// audioSlot is a receiver's place in a selector. The receiver's read loop
// adds levels and down-tracks read state, both atomically; the remaining
// fields belong to the selector's tick, under AudioSelector.mu.
type audioSlot struct {
	sel    *AudioSelector
	levels audioLevels  // since the last tick
	state  atomic.Int32 // audioUnselected, audioSelected or audioSpare

	level    float64   // smoothed amplitude
	held     float64   // decaying peak while selected
	lastLoud time.Time // last tick the track was above the floor
	chosen   bool      // selected by the current tick
}

// score is how loud the track counts when it defends its place.
func (s *audioSlot) score() float64 { return max(s.level, s.held) }

// AudioSelector picks the K loudest audio tracks of a room. It knows
// nothing of rooms: the caller attaches receivers, tells it whether the room
// is big enough for selection (SetActive) and gives each subscriber an
// AudioListener.
type AudioSelector struct {
	cfg    AudioSelectorConfig
	active atomic.Bool

	mu       sync.Mutex
	slots    []*audioSlot
	selected []*audioSlot // scratch, reused every tick
	others   []*audioSlot // scratch, reused every tick

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewAudioSelector returns a selector ranking its tracks every
// cfg.Interval until Close. It starts inactive: everything is forwarded.
func NewAudioSelector(cfg AudioSelectorConfig) *AudioSelector {
	s := newAudioSelector(cfg)
	s.done = make(chan struct{})
	go s.run()
	return s
}

// newAudioSelector returns a selector without a ticker; tests call tick.
func newAudioSelector(cfg AudioSelectorConfig) *AudioSelector {
	cfg.defaults()
	done := make(chan struct{})
	close(done) // nothing to wait for
	return &AudioSelector{cfg: cfg, stop: make(chan struct{}), done: done}
}

// K returns how many tracks each subscriber is sent while active.
func (s *AudioSelector) K() int { return s.cfg.K }

// SetActive turns selection on (only the K loudest are forwarded) or off
// (everything is).
func (s *AudioSelector) SetActive(on bool) { s.active.Store(on) }

// Active reports whether selection is on.
func (s *AudioSelector) Active() bool { return s.active.Load() }

// Close stops the ticker and waits for it. Attached receivers keep their
// last state.
func (s *AudioSelector) Close() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
}

func (s *AudioSelector) run() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.tick(now)
		}
	}
}

// Attach makes r one of the ranked tracks; it starts unselected, and is
// forwarded once it is loud enough (or while the selector is inactive).
// A receiver belongs to at most one selector.
func (s *AudioSelector) Attach(r *Receiver) {
	slot := &audioSlot{sel: s}
	s.mu.Lock()
	s.slots = append(s.slots, slot)
	s.mu.Unlock()
	r.slot.Store(slot)
}

// Detach removes r from the ranking, freeing its place.
func (s *AudioSelector) Detach(r *Receiver) {
	slot := r.slot.Load()
	if slot == nil || slot.sel != s {
		return
	}
	s.mu.Lock()
	s.slots = slices.DeleteFunc(s.slots, func(o *audioSlot) bool { return o == slot })
	s.mu.Unlock()
	// Detached, the track is no longer gated: a down-track that is still
	// draining it forwards as without a selector.
	r.slot.Store(nil)
}

// Selected reports whether r is among the K tracks forwarded to everyone.
func (s *AudioSelector) Selected(r *Receiver) bool {
	slot := r.slot.Load()
	return slot != nil && slot.sel == s && slot.state.Load() == audioSelected
}

// tick smooths every track's level over the last interval and updates the
// selection: tracks quiet for longer than the hang-over leave, the loudest
// newcomers fill free places, then take the place of the weakest selected
// track while they are louder than it by the margin. The loudest of the
// rest becomes the spare.
func (s *AudioSelector) tick(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sel, others := s.selected[:0], s.others[:0]
	for _, t := range s.slots {
		amp, _ := t.levels.take() // no packets (DTX, mute) is silence
		t.level = selectorSmoothing*amp + (1-selectorSmoothing)*t.level
		if t.level >= s.cfg.Floor {
			t.lastLoud = now
		}
		if t.state.Load() == audioSelected {
			t.held = max(t.level, t.held*selectorHoldDecay)
			if now.Sub(t.lastLoud) <= s.cfg.Hangover {
				sel = append(sel, t)
				continue
			}
		}
		t.held = 0
		others = append(others, t)
	}
	// The loudest first among the contenders, the weakest first among the
	// selected.
	slices.SortFunc(others, func(a, b *audioSlot) int { return cmpFloat(b.level, a.level) })
	slices.SortFunc(sel, func(a, b *audioSlot) int { return cmpFloat(a.score(), b.score()) })
	next := 0
	for next < len(others) && others[next].level >= s.cfg.Floor {
		c := others[next]
		if len(sel) < s.cfg.K {
			c.held = c.level
			sel = append(sel, c)
			slices.SortFunc(sel, func(a, b *audioSlot) int { return cmpFloat(a.score(), b.score()) })
			next++
			continue
		}
		if c.level <= sel[0].score()*s.cfg.Margin {
			break // the loudest contender left cannot displace anyone
		}
		others[next] = sel[0] // the displaced one becomes a contender
		sel[0] = c
		c.held = c.level
		others[next].held = 0
		slices.SortFunc(sel, func(a, b *audioSlot) int { return cmpFloat(a.score(), b.score()) })
		next++
	}
	// Publish: those leaving first, so that no packet sees more than K
	// selected tracks (a brief K-1 is harmless).
	for _, t := range s.slots {
		t.chosen = false
	}
	for _, t := range sel {
		t.chosen = true
	}
	var spare *audioSlot
	for _, t := range s.slots {
		if !t.chosen && t.level >= s.cfg.Floor && (spare == nil || t.level > spare.level) {
			spare = t
		}
	}
	for _, t := range s.slots {
		if !t.chosen && t != spare {
			t.state.Store(audioUnselected)
		}
	}
	if spare != nil {
		spare.state.Store(audioSpare)
	}
	for _, t := range sel {
		t.state.Store(audioSelected)
	}
	clear(others) // drop references to detached slots
	clear(sel)
	s.selected, s.others = sel[:0], others[:0]
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// AudioListener is one subscriber's view of a selector: it decides which
// of the selected tracks that subscriber is sent. A subscriber is never
// sent its own microphone, so when that microphone is selected it is sent
// the spare instead, and still hears K others.
type AudioListener struct {
	own atomic.Pointer[audioSlot]
}

// SetOwn names the subscriber's own microphone (nil: none).
func (l *AudioListener) SetOwn(r *Receiver) {
	if r == nil {
		l.own.Store(nil)
		return
	}
	l.own.Store(r.slot.Load())
}

// ClearOwn forgets the subscriber's own microphone if it is r.
func (l *AudioListener) ClearOwn(r *Receiver) {
	if slot := r.slot.Load(); slot != nil {
		l.own.CompareAndSwap(slot, nil)
	}
}

// allows reports whether a packet of the track in slot may be forwarded to
// this listener. Two or three atomic loads: it runs per packet.
func (l *AudioListener) allows(slot *audioSlot) bool {
	if slot == nil || !slot.sel.active.Load() {
		return true
	}
	switch slot.state.Load() {
	case audioSelected:
		return true
	case audioSpare:
		own := l.own.Load()
		return own != nil && own.state.Load() == audioSelected
	}
	return false
}
