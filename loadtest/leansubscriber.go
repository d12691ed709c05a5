package loadtest

import (
	"fmt"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/loadtest/lean"
)

// newLean makes the participant's lean subscriber, which receives instead
// of a pion peer connection unless PionSubscribers.
func (p *participant) newLean() (*lean.Subscriber, error) {
	s, err := lean.New(p.ctx, lean.Config{
		ServerHost: p.env.serverHost,
		Identity:   p.env.leanIdentity,
		Up:         p.subUp,
		Hooks: lean.Hooks{
			OnFail: p.fail,
			OnNACK: func(n uint64) { p.env.rtcp.nacks.Add(n) },
			OnPLI:  func() { p.env.rtcp.plis.Add(1) },
		},
	})
	if err != nil {
		return nil, fmt.Errorf("lean subscriber: %w", err)
	}
	return s, nil
}

// answerLean answers an offer with the lean subscriber and starts
// accounting the tracks new in it.
func (p *participant) answerLean(sd *livekit.SessionDescription) {
	var fresh []*trackStats
	answer, err := p.lean.Answer(sd.GetSdp(), func(d lean.TrackDesc) lean.Track {
		t := &trackStats{sid: d.ID, ssrc: d.SSRC, video: d.Video, clock: d.Clock}
		fresh = append(fresh, t)
		return leanTrack{p: p, t: t}
	})
	if err != nil {
		p.fail(fmt.Errorf("subscriber offer: %w", err))
		return
	}
	p.mu.Lock()
	p.tracks = append(p.tracks, fresh...)
	p.mu.Unlock()
	_ = p.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Answer{
		Answer: &livekit.SessionDescription{Type: "answer", Sdp: answer, Id: sd.GetId()},
	}})
}

// leanTrack is a track's statistics as the lean subscriber's read loop
// feeds them; it carries the participant because a PLI goes through it.
type leanTrack struct {
	p *participant
	t *trackStats
}

// OnPacket accounts one decrypted packet.
func (l leanTrack) OnPacket(pkt []byte, arrival int64) { l.t.onPacket(l.p, pkt, arrival) }

// JitterMicros is the track's interarrival jitter, µs.
func (l leanTrack) JitterMicros() uint64 { return l.t.jitterUs.Load() }

// Finish closes the track's open segment.
func (l leanTrack) Finish() { l.t.finish() }
