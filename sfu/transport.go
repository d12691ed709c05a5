package sfu

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bayan-dev/bayan/sfu/bwe"

	"github.com/pion/webrtc/v4"
)

// ErrTransportClosed is returned by operations on a closed Transport.
var ErrTransportClosed = errors.New("sfu: transport closed")

// Transport is one peer connection with its negotiation state: it queues ICE
// candidates that arrive before the remote description, and on the side that
// offers it keeps at most one offer in flight, folding further requests
// into one renegotiation after the answer.
type Transport struct {
	pc     *webrtc.PeerConnection
	bwe    *bwe.Estimator   // what the peer's downlink carries, from its TWCC feedback
	tagger *simulcastTagger // receives SSRC-based simulcast; nil without

	mu          sync.Mutex
	pending     []webrtc.ICECandidateInit
	offering    bool // an offer is out, waiting for the answer
	renegotiate bool // another negotiation was asked for meanwhile
	iceRestart  bool
	closed      bool
	onOffer     func(webrtc.SessionDescription)
}

// NewTransport creates a peer connection from the engine.
func (e *Engine) NewTransport() (*Transport, error) {
	pc, err := e.API.NewPeerConnection(webrtc.Configuration{SDPSemantics: webrtc.SDPSemanticsUnifiedPlan})
	if err != nil {
		return nil, fmt.Errorf("sfu: new peer connection: %w", err)
	}
	t := &Transport{pc: pc, bwe: bwe.New(e.bweConfig)}
	if e.taggers != nil {
		t.tagger = e.taggers.tagger(pc.ID())
	}
	return t, nil
}

// Estimator returns the bandwidth estimate of the peer's downlink, which
// the down-tracks sent on this connection feed.
func (t *Transport) Estimator() *bwe.Estimator { return t.bwe }

// PeerConnection returns the underlying peer connection.
func (t *Transport) PeerConnection() *webrtc.PeerConnection { return t.pc }

// OnOffer sets the function that sends offers made by Negotiate to the peer.
func (t *Transport) OnOffer(f func(webrtc.SessionDescription)) {
	t.mu.Lock()
	t.onOffer = f
	t.mu.Unlock()
}

// AddICECandidate adds a remote candidate, or queues it until the remote
// description is known.
func (t *Transport) AddICECandidate(c webrtc.ICECandidateInit) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrTransportClosed
	}
	if t.pc.RemoteDescription() == nil {
		if len(t.pending) < 64 {
			t.pending = append(t.pending, c)
		}
		return nil
	}
	return t.pc.AddICECandidate(c)
}

func (t *Transport) flushCandidatesLocked() {
	for _, c := range t.pending {
		_ = t.pc.AddICECandidate(c) // a bad candidate must not spoil the good ones
	}
	t.pending = nil
}

// HandleOffer applies a remote offer and returns the local answer.
func (t *Transport) HandleOffer(offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return webrtc.SessionDescription{}, ErrTransportClosed
	}
	if err := checkRemoteDescription(offer.SDP); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("sfu: set remote offer: %w", err)
	}
	var sim *simTable
	if t.tagger != nil {
		var err error
		if offer.SDP, sim, err = rewriteSSRCSimulcast(offer.SDP); err != nil {
			return webrtc.SessionDescription{}, fmt.Errorf("sfu: set remote offer: %w", err)
		}
		if sim != nil {
			t.tagger.learn(sim)
		}
	}
	if err := t.pc.SetRemoteDescription(offer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("sfu: set remote offer: %w", err)
	}
	t.flushCandidatesLocked()
	answer, err := t.pc.CreateAnswer(nil)
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("sfu: create answer: %w", err)
	}
	if err := t.pc.SetLocalDescription(answer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("sfu: set local answer: %w", err)
	}
	local := *t.pc.LocalDescription()
	if sim != nil {
		// The client gets the answer to the offer it made.
		restored, err := sim.restoreAnswer(local.SDP)
		if err != nil {
			return webrtc.SessionDescription{}, fmt.Errorf("sfu: answer to SSRC simulcast: %w", err)
		}
		local.SDP = restored
	}
	return local, nil
}

// HandleAnswer applies the peer's answer to our last offer and starts the
// renegotiation asked for meanwhile, if any.
func (t *Transport) HandleAnswer(answer webrtc.SessionDescription) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrTransportClosed
	}
	if !t.offering {
		return errors.New("sfu: answer without an offer")
	}
	if err := checkRemoteDescription(answer.SDP); err != nil {
		return fmt.Errorf("sfu: set remote answer: %w", err)
	}
	if err := t.pc.SetRemoteDescription(answer); err != nil {
		return fmt.Errorf("sfu: set remote answer: %w", err)
	}
	t.offering = false
	t.flushCandidatesLocked()
	if t.renegotiate {
		t.renegotiate = false
		return t.offerLocked()
	}
	return nil
}

// Negotiate sends a new offer now, or after the answer to the one in flight.
// iceRestart asks for new ICE credentials (after a network change).
func (t *Transport) Negotiate(iceRestart bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrTransportClosed
	}
	t.iceRestart = t.iceRestart || iceRestart
	// An ICE restart replaces an offer in flight: its answer may never come
	// over a signal connection that has just been replaced.
	if t.offering && !iceRestart {
		t.renegotiate = true
		return nil
	}
	return t.offerLocked()
}

func (t *Transport) offerLocked() error {
	var opts *webrtc.OfferOptions
	if t.iceRestart {
		opts = &webrtc.OfferOptions{ICERestart: true}
		t.iceRestart = false
	}
	offer, err := t.pc.CreateOffer(opts)
	if err != nil {
		return fmt.Errorf("sfu: create offer: %w", err)
	}
	if err := t.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("sfu: set local offer: %w", err)
	}
	t.offering = true
	if t.onOffer != nil {
		t.onOffer(*t.pc.LocalDescription())
	}
	return nil
}

// closeTimeout bounds how long Close waits for pion's Close.
const closeTimeout = 5 * time.Second

// ErrCloseStuck is returned when pion's Close did not return in time.
var ErrCloseStuck = errors.New("sfu: peer connection close did not return (left to finish on its own)")

// Close closes the peer connection. pion's Close can block for good when an
// SRTCP packet from a new SSRC races the DTLS transport's stop (the SRTCP
// read loop waits for a stream acceptor that is gone while Stop waits for
// the read loop; seen in a join-storm test, cf. pion/webrtc#1430): the
// participant's teardown, and with it the signaling handler and the node's
// shutdown, must not block with it, so Close waits a bounded time.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- t.pc.Close() }()
	timer := time.NewTimer(closeTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return ErrCloseStuck
	}
}
