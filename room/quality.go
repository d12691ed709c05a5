package room

import (
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/sfu"
)

// defaultQualityInterval is how often connection quality is measured and,
// when it changed, announced; LiveKit servers use the same period.
const defaultQualityInterval = 5 * time.Second

// participantQuality is the monitor's memory of one participant.
type participantQuality struct {
	score     float64 // smoothed, 0..100
	quality   livekit.ConnectionQuality
	announced bool // its quality has been sent to the room at least once
	informed  bool // it has been sent everyone's quality at least once
}

// qualityMonitor measures every participant's connection each interval
// and sends ConnectionQualityUpdate. Each participant first gets the
// quality of everyone it can see, itself included; after that only the
// qualities that changed, so a quiet room of many costs nothing.
type qualityMonitor struct {
	room     *Room
	interval time.Duration
	state    map[string]*participantQuality // by participant sid
}

func newQualityMonitor(r *Room, interval time.Duration) *qualityMonitor {
	if interval <= 0 {
		interval = defaultQualityInterval
	}
	return &qualityMonitor{room: r, interval: interval, state: map[string]*participantQuality{}}
}

// tick measures everyone and sends the updates.
func (m *qualityMonitor) tick() {
	ps := m.room.Participants()
	infos := make(map[string]*livekit.ConnectionQualityInfo, len(ps))
	news := map[string]bool{}
	hidden := map[string]bool{}
	var changed []*livekit.ConnectionQualityInfo // visible ones only
	for _, p := range ps {
		sid := p.SID()
		st := m.state[sid]
		if st == nil {
			st = &participantQuality{score: scoreMax}
			m.state[sid] = st
		}
		q := st.quality
		switch raw, measured, lost := p.measureQuality(); {
		case lost:
			st.score = scoreFloor
			q = livekit.ConnectionQuality_LOST
		case measured:
			st.score = smoothScore(st.score, raw)
			q = qualityOf(st.score)
		case !st.announced || q == livekit.ConnectionQuality_LOST:
			// Nothing to go by (yet, or any more): judge by the score.
			q = qualityOf(st.score)
		}
		info := &livekit.ConnectionQualityInfo{ParticipantSid: sid, Quality: q, Score: mosOf(st.score)}
		if q == livekit.ConnectionQuality_LOST {
			info.Score = 1
		}
		infos[sid] = info
		hidden[sid] = p.Hidden()
		if !st.announced || q != st.quality {
			news[sid] = true
			if !hidden[sid] {
				changed = append(changed, info)
			}
		}
		st.quality, st.announced = q, true
	}
	for sid := range m.state {
		if infos[sid] == nil {
			delete(m.state, sid)
		}
	}
	m.distribute(ps, infos, news, hidden, changed)
}

// distribute sends each participant its own quality and that of the
// others it sees: everyone's the first time, then the changes. In audience
// mode an audience member hears only of those who are not audience, so a
// big room's changes cost O(N), not O(N²).
func (m *qualityMonitor) distribute(ps []*Participant, infos map[string]*livekit.ConnectionQualityInfo,
	news, hidden map[string]bool, changed []*livekit.ConnectionQualityInfo) {
	r := m.room
	r.viewMu.Lock()
	defer r.viewMu.Unlock()
	large := r.large.Load()
	bySID := make(map[string]*Participant, len(ps))
	for _, p := range ps {
		bySID[p.SID()] = p
	}
	// Changes of audience members, which only non-audience participants
	// are told of in audience mode, apart from the rest.
	var public, private []*livekit.ConnectionQualityInfo
	for _, info := range changed {
		if p := bySID[info.ParticipantSid]; large && p.audience {
			private = append(private, info)
		} else {
			public = append(public, info)
		}
	}
	for _, o := range ps {
		sid := o.SID()
		st := m.state[sid]
		var updates []*livekit.ConnectionQualityInfo
		if !st.informed {
			st.informed = true
			updates = append(updates, infos[sid])
			for _, p := range ps {
				if p != o && !hidden[p.SID()] && r.sees(o, p) {
					updates = append(updates, infos[p.SID()])
				}
			}
		} else {
			if news[sid] {
				updates = append(updates, infos[sid])
			}
			lists := [][]*livekit.ConnectionQualityInfo{public}
			if !large || !o.audience {
				lists = append(lists, private)
			}
			for _, list := range lists {
				for _, info := range list {
					if info.ParticipantSid != sid {
						updates = append(updates, info)
					}
				}
			}
		}
		if len(updates) == 0 {
			continue
		}
		o.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_ConnectionQuality{
			ConnectionQuality: &livekit.ConnectionQualityUpdate{Updates: updates},
		}})
	}
}

// measureQuality scores the participant's connection over the last
// interval: what it publishes as it reaches us (loss, jitter) and what it
// receives as its receiver reports describe it (loss, jitter, round trip);
// the worst stream counts. measured is false when no stream said anything;
// lost is true when every unmuted microphone it had been sending has
// stopped arriving.
func (p *Participant) measureQuality() (score float64, measured, lost bool) {
	p.mu.Lock()
	published := make([]*PublishedTrack, 0, len(p.published))
	for _, t := range p.published {
		published = append(published, t)
	}
	downs := make([]*sfu.DownTrack, 0, len(p.subs))
	for _, s := range p.subs {
		downs = append(downs, s.down)
	}
	p.mu.Unlock()

	score = scoreMax
	// Every window is taken, even of paused or muted streams, so that the
	// next interval starts afresh.
	var rtt time.Duration
	for _, d := range downs {
		ds := d.TakeDeliveryStats()
		if ds.Reports == 0 || d.Paused() {
			continue
		}
		rtt = max(rtt, ds.RTT)
		loss := 0.0
		if ds.Expected >= minLossSample {
			loss = ds.LossFraction()
		}
		score, measured = min(score, streamScore(loss, ds.Jitter, ds.RTT)), true
	}
	mics, silentMics := 0, 0
	for _, t := range published {
		muted := t.Muted()
		for _, r := range t.receivers() {
			rs := r.TakeReceptionStats()
			if muted {
				continue
			}
			if r.Kind() == webrtc.RTPCodecTypeAudio && r.PacketCount() > 0 {
				mics++
				if rs.Received == 0 {
					silentMics++
				}
			}
			if rs.Expected == 0 {
				continue // not sent: a video layer nobody watches, say
			}
			loss := 0.0
			if rs.Expected >= minLossSample {
				loss = rs.LossFraction()
			}
			// The publisher's round trip is not measured on its own
			// connection; its subscriber side is the same client and
			// network, so that round trip stands in.
			score, measured = min(score, streamScore(loss, rs.Jitter, rtt)), true
		}
	}
	return score, measured, mics > 0 && silentMics == mics
}
