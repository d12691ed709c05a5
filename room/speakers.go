package room

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
)

// Speaker detection: every speakerInterval the audio level of each
// published microphone is read (RFC 6464, averaged as amplitude). Someone
// becomes a speaker after two loud periods in a row, so a cough does not
// steal the stage, and stays one until the smoothed level falls below a
// lower threshold, so a pause between words does not drop them.
const (
	speakerInterval  = 300 * time.Millisecond
	speakerSmoothing = 0.4    // weight of the newest period
	speakerOn        = 0.025  // about -32 dBov: becomes a speaker
	speakerOff       = 0.0125 // about -38 dBov: stops being one
)

// speakerState is the detector's memory of one participant.
type speakerState struct {
	level       float64 // smoothed
	loudPeriods int     // consecutive periods at or above speakerOn
	active      bool
}

// speakerDetector is the room's speaker memory; only the room's ticker
// touches its state.
type speakerDetector struct {
	room  *Room
	state map[string]*speakerState // by participant sid
	// lastOrder is the active speakers last announced, loudest first;
	// announced is the same, for other goroutines to read.
	lastOrder []string
	announced atomic.Pointer[[]string]
}

func newSpeakerDetector(r *Room) *speakerDetector {
	return &speakerDetector{room: r, state: map[string]*speakerState{}}
}

// announce tells everyone of the speakers whose state changed.
func (d *speakerDetector) announce() {
	if changed := d.tick(); len(changed) > 0 {
		msg := &livekit.SignalResponse{Message: &livekit.SignalResponse_SpeakersChanged{
			SpeakersChanged: &livekit.SpeakersChanged{Speakers: changed},
		}}
		for _, p := range d.room.Participants() {
			p.send(msg)
		}
	}
}

// tick reads the levels of the last period and returns the speakers whose
// state changed, loudest first, followed by those who fell silent.
func (d *speakerDetector) tick() []*livekit.SpeakerInfo {
	seen := map[string]bool{}
	var started, stopped []*livekit.SpeakerInfo
	for _, p := range d.room.Participants() {
		if p.Hidden() {
			continue
		}
		level := 0.0
		for _, t := range p.PublishedTracks() {
			if t.receiver.Kind() != webrtc.RTPCodecTypeAudio || t.Muted() {
				continue
			}
			if l, n := t.receiver.TakeAudioLevel(); n > 0 && l > level {
				level = l
			}
		}
		sid := p.SID()
		seen[sid] = true
		st := d.state[sid]
		if st == nil {
			st = &speakerState{}
			d.state[sid] = st
		}
		st.level = speakerSmoothing*level + (1-speakerSmoothing)*st.level
		if level >= speakerOn {
			st.loudPeriods++
		} else {
			st.loudPeriods = 0
		}
		switch {
		case !st.active && st.loudPeriods >= 2:
			st.active = true
		case st.active && st.level < speakerOff:
			st.active = false
			stopped = append(stopped, &livekit.SpeakerInfo{Sid: sid})
			continue
		}
		if st.active {
			started = append(started, &livekit.SpeakerInfo{Sid: sid, Level: float32(st.level), Active: true})
		}
	}
	for sid, st := range d.state {
		if !seen[sid] {
			if st.active {
				stopped = append(stopped, &livekit.SpeakerInfo{Sid: sid})
			}
			delete(d.state, sid)
		}
	}
	if len(stopped) == 0 && !d.orderChanged(started) {
		return nil
	}
	slices.SortFunc(started, louderFirst)
	return append(started, stopped...)
}

// orderChanged reports whether the set or order of active speakers differs
// from the one last sent, and remembers the new one.
func (d *speakerDetector) orderChanged(active []*livekit.SpeakerInfo) bool {
	sorted := slices.Clone(active)
	slices.SortFunc(sorted, louderFirst)
	order := make([]string, len(sorted))
	for i, s := range sorted {
		order[i] = s.Sid
	}
	if slices.Equal(order, d.lastOrder) {
		return false
	}
	d.lastOrder = order
	d.announced.Store(&order)
	return true
}

func louderFirst(a, b *livekit.SpeakerInfo) int {
	switch {
	case a.Level > b.Level:
		return -1
	case a.Level < b.Level:
		return 1
	}
	return 0
}
