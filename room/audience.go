package room

import (
	"time"

	"github.com/livekit/protocol/livekit"
)

// Audience mode keeps a big room's signaling O(N). An audience member is a
// participant that may not publish and publishes nothing (a student
// watching a class). In a room of more than Config.AudienceThreshold
// participants, audience members are told nothing of each other: their
// JoinResponse and ParticipantUpdates carry only the participants who are
// not audience (teachers, students on stage) and themselves, and a running
// count (RoomUpdate.Room.NumParticipants, at most once per countInterval)
// stands in for the rest. Everyone else still sees everyone. Without it
// every join, leave or attribute change of N students is sent to all N.
//
// Who sees whom changes when a participant enters or leaves the audience
// (publish permission granted, or withdrawn and its tracks gone) and when
// the room crosses the threshold; each such change sends the clients
// concerned what makes their view right again: the participants they now
// see, or DISCONNECTED for those they no longer see (as hideParticipant
// does). Every decision about who is told of whom is taken under
// Room.viewMu, with the status each participant was last given
// (Participant.audience), so that the updates of one change never
// interleave with another's.
//
// The other per-participant broadcasts: connection quality (quality.go)
// tells audience members only of those they see, so a tick costs O(N)
// messages and entries; SpeakersChanged goes to everyone but only lists
// publishers, whom everyone sees, so it is O(N) per change of speakers.
// Entering or leaving the mode costs about threshold² entries once, which
// the hysteresis keeps from repeating.

// countInterval coalesces the running count sent in big rooms.
const countInterval = time.Second

// audienceHysteresis is how far below the threshold a room must fall
// before audience members see each other again, so that a room hovering
// at the threshold does not send everyone the whole room each time.
func audienceHysteresis(threshold int) int { return max(1, threshold/10) }

// isAudience reports whether p may not publish and publishes nothing.
func (p *Participant) isAudience() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.info.GetPermission().GetCanPublish() && len(p.published) == 0
}

// sees reports whether o is told about p; callers hold r.viewMu.
func (r *Room) sees(o, p *Participant) bool {
	return o == p || !r.large.Load() || !o.audience || !p.audience
}

// goneInfo is p as a participant who has left: what a client that must no
// longer see p is sent.
func goneInfo(p *Participant) *livekit.ParticipantInfo {
	info := p.Info()
	info.State = livekit.ParticipantInfo_DISCONNECTED
	info.Tracks = nil
	return info
}

func updateOf(infos []*livekit.ParticipantInfo) *livekit.SignalResponse {
	return &livekit.SignalResponse{Message: &livekit.SignalResponse_Update{
		Update: &livekit.ParticipantUpdate{Participants: infos},
	}}
}

// refreshAudienceLocked gives p the audience status it has now and, in a
// big room, makes the views it changes right: p entering the audience
// forgets (and is forgotten by) the other audience members, p leaving it
// learns of them (they learn of p from the broadcast that follows).
// Callers hold r.viewMu and not r.mu.
func (r *Room) refreshAudienceLocked(p *Participant) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return // leaving: its last info goes to whoever saw it
	}
	now := p.isAudience()
	if now == p.audience {
		return
	}
	p.audience = now
	if !r.large.Load() {
		return
	}
	hidden := p.Hidden()
	var gone *livekit.SignalResponse
	if now && !hidden {
		gone = updateOf([]*livekit.ParticipantInfo{goneInfo(p)})
	}
	var infos []*livekit.ParticipantInfo
	for _, o := range r.Participants() {
		if o == p || !o.audience {
			continue
		}
		if gone != nil {
			o.send(gone)
		}
		if o.Hidden() {
			continue
		}
		if now {
			infos = append(infos, goneInfo(o))
		} else {
			infos = append(infos, o.Info())
		}
	}
	if len(infos) > 0 {
		p.send(updateOf(infos))
	}
}

// switchModeLocked turns audience mode on or off for the room's current
// size and sends audience members (except skip, whose JoinResponse is
// being built) the others they no longer, or now, see. Callers hold
// r.viewMu and r.mu.
func (r *Room) switchModeLocked(skip *Participant) {
	th := r.mgr.cfg.AudienceThreshold
	n := len(r.participants)
	large := r.large.Load()
	want := false
	switch {
	case th <= 0:
	case large:
		want = n > th-audienceHysteresis(th)
	default:
		want = n > th
	}
	if want == large {
		return
	}
	r.large.Store(want)
	r.log.Info("audience mode", "on", want, "participants", n)
	var members []*Participant
	var infos []*livekit.ParticipantInfo
	for _, o := range r.participants {
		if o == skip || !o.audience {
			continue
		}
		members = append(members, o)
		if o.Hidden() {
			continue
		}
		if want {
			infos = append(infos, goneInfo(o))
		} else {
			infos = append(infos, o.Info())
		}
	}
	for _, o := range members {
		mine := make([]*livekit.ParticipantInfo, 0, len(infos))
		for _, info := range infos {
			if info.GetSid() != o.sid {
				mine = append(mine, info)
			}
		}
		if len(mine) > 0 {
			o.send(updateOf(mine))
		}
	}
}

// visibleToLocked returns the infos of everyone p sees, p excluded: its
// JoinResponse's other participants. Callers hold r.viewMu and r.mu.
func (r *Room) visibleToLocked(p *Participant) []*livekit.ParticipantInfo {
	others := make([]*livekit.ParticipantInfo, 0, len(r.participants))
	for _, o := range r.participants {
		if o == p || o.Hidden() || !r.sees(p, o) {
			continue
		}
		others = append(others, o.Info())
	}
	return others
}

// sendCount sends the running count to everyone when the room is in
// audience mode and the count changed since it was last sent, and once
// more when the room has left the mode, so that no client keeps a stale
// count.
func (r *Room) sendCount() {
	large := r.large.Load()
	if !large && r.lastCount < 0 {
		return
	}
	info := r.Info()
	n := int(info.GetNumParticipants())
	if large && n == r.lastCount {
		return
	}
	r.lastCount = n
	if !large {
		r.lastCount = -1
	}
	msg := &livekit.SignalResponse{Message: &livekit.SignalResponse_RoomUpdate{RoomUpdate: &livekit.RoomUpdate{Room: info}}}
	for _, o := range r.Participants() {
		o.send(msg)
	}
}
