package room

import (
	"encoding/json"
	"fmt"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/sfu"
)

// trickle returns an OnICECandidate handler sending candidates to the client.
func (p *Participant) trickle(target livekit.SignalTarget) func(*webrtc.ICECandidate) {
	return func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		b, err := json.Marshal(c.ToJSON())
		if err != nil {
			return
		}
		p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Trickle{
			Trickle: &livekit.TrickleRequest{CandidateInit: string(b), Target: target},
		}})
	}
}

// wireSingleTransport sets up the one connection of single peer connection
// mode: the client creates the data channels and the server sends on them.
func (p *Participant) wireSingleTransport() {
	pc := p.pub.PeerConnection()
	pc.OnICECandidate(p.trickle(livekit.SignalTarget_PUBLISHER))
	pc.OnTrack(p.onMediaTrack)
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		p.mu.Lock()
		switch dc.Label() {
		case "_reliable":
			p.dcReliable = dc
		case "_lossy":
			p.dcLossy = dc
		}
		p.mu.Unlock()
		p.onDataChannel(dc)
		p.watchReady(dc)
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			p.setState(livekit.ParticipantInfo_ACTIVE)
		}
	})
}

func (p *Participant) wireTransports() {
	p.pub.PeerConnection().OnICECandidate(p.trickle(livekit.SignalTarget_PUBLISHER))
	p.sub.PeerConnection().OnICECandidate(p.trickle(livekit.SignalTarget_SUBSCRIBER))
	p.sub.OnOffer(func(sd webrtc.SessionDescription) {
		p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Offer{
			Offer: &livekit.SessionDescription{Type: sd.Type.String(), Sdp: sd.SDP},
		}})
	})
	p.pub.PeerConnection().OnTrack(p.onMediaTrack)
	p.pub.PeerConnection().OnDataChannel(p.onDataChannel)
	p.sub.PeerConnection().OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			p.setState(livekit.ParticipantInfo_ACTIVE)
		}
	})
	ordered := true
	var zero uint16
	p.dcReliable, _ = p.sub.PeerConnection().CreateDataChannel("_reliable", &webrtc.DataChannelInit{Ordered: &ordered})
	p.watchReady(p.dcReliable)
	unordered := false
	p.dcLossy, _ = p.sub.PeerConnection().CreateDataChannel("_lossy", &webrtc.DataChannelInit{Ordered: &unordered, MaxRetransmits: &zero})
}

// SinglePeerConnection reports whether the participant uses one connection
// for both directions.
func (p *Participant) SinglePeerConnection() bool { return p.single }

// downTransport is the connection that carries media to the client.
func (p *Participant) downTransport() *sfu.Transport {
	if p.single {
		return p.pub
	}
	return p.sub
}

// negotiateDown brings the client's view of the down-tracks up to date: the
// server offers on the subscriber connection, or, with a single connection,
// asks the client for an offer with room for every unplaced down-track.
func (p *Participant) negotiateDown() error {
	if !p.single {
		return p.sub.Negotiate(false)
	}
	audio, video := p.unplacedDownTracks()
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_MediaSectionsRequirement{
		MediaSectionsRequirement: &livekit.MediaSectionsRequirement{NumAudios: audio, NumVideos: video},
	}})
	return nil
}

// unplacedDownTracks counts down-tracks that have no m-section yet.
func (p *Participant) unplacedDownTracks() (audio, video uint32) {
	for _, tr := range p.pub.PeerConnection().GetTransceivers() {
		if tr.Mid() != "" || tr.Sender() == nil || tr.Sender().Track() == nil {
			continue
		}
		if tr.Kind() == webrtc.RTPCodecTypeAudio {
			audio++
		} else {
			video++
		}
	}
	return audio, video
}

// midToTrackID maps each m-section carrying a down-track to the track's sid,
// so single-connection clients know what each m-section is.
func (p *Participant) midToTrackID() map[string]string {
	if !p.single {
		return nil
	}
	m := map[string]string{}
	for _, tr := range p.pub.PeerConnection().GetTransceivers() {
		if tr.Mid() != "" && tr.Sender() != nil && tr.Sender().Track() != nil {
			m[tr.Mid()] = tr.Sender().Track().ID()
		}
	}
	return m
}

// HandleOffer answers the client's offer for the publisher connection.
func (p *Participant) HandleOffer(sd *livekit.SessionDescription) error {
	if sd == nil || sd.Sdp == "" {
		return fmt.Errorf("%w: empty offer", ErrBadRequest)
	}
	answer, err := p.pub.HandleOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sd.Sdp})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	p.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Answer{
		Answer: &livekit.SessionDescription{Type: answer.Type.String(), Sdp: answer.SDP, Id: sd.Id, MidToTrackId: p.midToTrackID()},
	}})
	if p.single {
		if audio, video := p.unplacedDownTracks(); audio+video > 0 {
			return p.negotiateDown()
		}
	}
	return nil
}

// HandleAnswer applies the client's answer on the subscriber connection.
func (p *Participant) HandleAnswer(sd *livekit.SessionDescription) error {
	if sd == nil || sd.Sdp == "" {
		return fmt.Errorf("%w: empty answer", ErrBadRequest)
	}
	if p.single {
		return fmt.Errorf("%w: answer in single peer connection mode", ErrBadRequest)
	}
	if err := p.sub.HandleAnswer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sd.Sdp}); err != nil {
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	return nil
}

// HandleTrickle adds a remote ICE candidate to the connection it targets.
func (p *Participant) HandleTrickle(t *livekit.TrickleRequest) error {
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal([]byte(t.GetCandidateInit()), &c); err != nil {
		return fmt.Errorf("%w: candidate: %v", ErrBadRequest, err)
	}
	tr := p.pub
	if t.GetTarget() == livekit.SignalTarget_SUBSCRIBER && !p.single {
		tr = p.sub
	}
	if err := tr.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: candidate: %v", ErrBadRequest, err)
	}
	return nil
}
