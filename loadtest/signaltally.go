package loadtest

import (
	"sync"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/loadtest/report"
)

// signalTally counts the signaling messages one participant received, by
// type: the SignalResponse field ("join", "update", "room_update", ...),
// as the server's bayan_signal_messages_sent_total names them.
type signalTally struct {
	self string // the participant's identity, left out of its view

	mu     sync.Mutex
	byType map[string]int
	// view is the other participants the server has told of and not yet
	// of their leaving.
	view map[string]bool
}

func (t *signalTally) add(msg *livekit.SignalResponse) {
	var infos []*livekit.ParticipantInfo
	switch m := msg.Message.(type) {
	case *livekit.SignalResponse_Join:
		infos = m.Join.GetOtherParticipants()
	case *livekit.SignalResponse_Update:
		infos = m.Update.GetParticipants()
	}
	name := "other"
	m := msg.ProtoReflect()
	if od := m.Descriptor().Oneofs().ByName("message"); od != nil {
		if fd := m.WhichOneof(od); fd != nil {
			name = string(fd.Name())
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byType == nil {
		t.byType = map[string]int{}
	}
	t.byType[name]++
	if len(infos) > 0 && t.view == nil {
		t.view = map[string]bool{}
	}
	for _, info := range infos {
		switch {
		case info.GetIdentity() == t.self:
		case info.GetState() == livekit.ParticipantInfo_DISCONNECTED:
			delete(t.view, info.GetIdentity())
		default:
			t.view[info.GetIdentity()] = true
		}
	}
}

// seen returns the identities in the participant's view.
func (t *signalTally) seen() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.view))
	for id := range t.view {
		out = append(out, id)
	}
	return out
}

// counts returns a copy of the counts and their total.
func (t *signalTally) counts() (map[string]int, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.byType))
	total := 0
	for k, v := range t.byType {
		out[k] = v
		total += v
	}
	return out, total
}

// signalStats summarises the tallies of the participants who joined, by
// role.
func signalStats(parts []*participant) report.SignalStats {
	type acc struct {
		n      int
		sum    float64
		max    float64
		byType map[string]float64
	}
	roles := map[string]*acc{}
	for _, p := range parts {
		if !p.joined.Load() {
			continue
		}
		a := roles[p.spec.role]
		if a == nil {
			a = &acc{byType: map[string]float64{}}
			roles[p.spec.role] = a
		}
		byType, total := p.signals.counts()
		a.n++
		a.sum += float64(total)
		a.max = max(a.max, float64(total))
		for k, v := range byType {
			a.byType[k] += float64(v)
		}
	}
	out := report.SignalStats{ByRole: map[string]report.RoleSignal{}}
	for role, a := range roles {
		rs := report.RoleSignal{Participants: a.n, Mean: a.sum / float64(a.n), Max: a.max, ByType: map[string]float64{}}
		for k, v := range a.byType {
			rs.ByType[k] = v / float64(a.n)
		}
		out.ByRole[role] = rs
	}
	return out
}

// teacherMedia checks that every student (class) received audio and video
// from the teacher (publisher index 0). Packets without a media header
// count for nothing: a server that mangles them (LiveKit forwarding Opus
// sent on a RED answer) has not delivered them.
func teacherMedia(parts []*participant) report.TeacherMedia {
	var tm report.TeacherMedia
	tm.Missing = []string{}
	for _, p := range parts {
		if p.spec.role != "student" && p.spec.role != "stage" {
			continue
		}
		tm.Students++
		var audio, video bool
		if p.joined.Load() {
			for _, t := range p.tracks {
				r := t.result()
				if r.expected == 0 || r.publisher != 0 { // expected: from media headers
					continue
				}
				if r.video {
					video = true
				} else {
					audio = true
				}
			}
		}
		if audio && video {
			tm.Received++
		} else if len(tm.Missing) < 20 {
			tm.Missing = append(tm.Missing, p.spec.identity)
		}
	}
	return tm
}
