package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/loadtest/lean"
	"github.com/bayan-dev/bayan/loadtest/report"
)

// participantSpec is what a scenario asks of one synthetic participant.
type participantSpec struct {
	index         int
	identity      string
	role          string // "teacher", "student", "stage", "peer"
	publishAudio  bool
	publishVideo  bool
	simulcast     bool
	autoSubscribe bool
	// Without autoSubscribe the participant subscribes explicitly to all
	// audio and to the videos of the next tiles participants by index (of
	// total).
	tiles   int
	total   int
	quality livekit.VideoQuality // requested for every subscribed video
	// expectMedia says the participant should receive media.
	expectMedia bool
	// redAudio publishes the microphone as Opus RED.
	redAudio bool
	// ssrcSimulcast announces the simulcast encodings by SSRC (SIM group)
	// instead of by RID.
	ssrcSimulcast bool
}

func (s *participantSpec) publishes() bool { return s.publishAudio || s.publishVideo }

// identityFor is the identity of the participant with a global index,
// unique across shards.
func identityFor(index int) string { return "p-" + strconv.Itoa(index) }

func indexOf(identity string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(identity, "p-"))
	return n, err == nil && strings.HasPrefix(identity, "p-")
}

// participant is one synthetic client: a signaling connection, a
// subscriber peer connection (the server offers) and, when it publishes, a
// publisher peer connection (it offers).
type participant struct {
	spec participantSpec
	env  *runEnv
	pb   *publisher

	sig      *signalClient
	joinResp *livekit.JoinResponse
	pub, sub *webrtc.PeerConnection
	lean     *lean.Subscriber // receives instead of sub unless PionSubscribers

	ctx    context.Context // the participant's lifetime
	cancel context.CancelFunc
	// sigCtx bounds signal writes. It outlives ctx until the Leave is
	// sent: a write under a cancelled context would close the socket
	// abruptly, and the server keep the participant for its grace period.
	sigCtx    context.Context
	sigCancel context.CancelFunc

	joinStart time.Time
	joinDur   time.Duration
	joined    atomic.Bool
	// streamPaused is the state of the last StreamStateUpdate received
	// (the server paused a track for lack of bandwidth), streamStates how
	// many were received.
	streamPaused atomic.Bool
	streamStates atomic.Int32
	firstMedia   atomic.Int64     // Unix ns
	delays       report.Histogram // end-to-end delay of every packet received, µs
	signals      signalTally      // signaling messages received
	maxDelay     atomic.Int64     // ns

	published chan *livekit.TrackPublishedResponse
	answered  chan error // the publisher connection's answer was applied
	subUp     chan struct{}
	pubUp     chan struct{}
	failed    chan error // a connection failed or the session ended
	failOnce  sync.Once
	upOnce    [2]sync.Once

	mu         sync.Mutex
	closed     bool
	tracks     []*trackStats
	pending    map[livekit.SignalTarget][]webrtc.ICECandidateInit
	requested  map[string]bool // conference: track sids asked for
	qualitySet map[string]bool // video sids whose layer was asked for
	lost       error           // why the session ended before the run did
	wg         sync.WaitGroup
}

func newParticipant(env *runEnv, spec participantSpec) *participant {
	p := &participant{
		spec:       spec,
		env:        env,
		published:  make(chan *livekit.TrackPublishedResponse, 4),
		answered:   make(chan error, 1),
		subUp:      make(chan struct{}),
		pubUp:      make(chan struct{}),
		failed:     make(chan error, 1),
		pending:    map[livekit.SignalTarget][]webrtc.ICECandidateInit{},
		requested:  map[string]bool{},
		qualitySet: map[string]bool{},
	}
	p.signals.self = spec.identity
	if spec.publishes() {
		p.pb = newPublisher(&spec)
	}
	return p
}

// run joins, publishes and subscribes, then stays until ctx ends; it
// always leaves and closes everything it opened before returning. The
// error is the join's.
func (p *participant) run(ctx context.Context) error {
	p.ctx, p.cancel = context.WithCancel(ctx)
	p.sigCtx, p.sigCancel = context.WithCancel(context.WithoutCancel(ctx))
	defer p.sigCancel()
	defer p.cancel()
	defer p.close()
	if err := p.connect(); err != nil {
		return fmt.Errorf("join %s: %w", p.spec.identity, err)
	}
	p.joined.Store(true)
	if p.pb != nil {
		p.goTracked(func() { p.pb.run(p.ctx, p.env.stopMedia) })
	}
	select {
	case <-p.ctx.Done():
	case err := <-p.failed:
		p.mu.Lock()
		p.lost = err
		p.mu.Unlock()
	}
	return nil
}

// goTracked runs f in a goroutine that close waits for.
func (p *participant) goTracked(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
}

// fail reports that the participant cannot go on.
func (p *participant) fail(err error) {
	p.failOnce.Do(func() { p.failed <- err })
}

// connect is the join: WebSocket and JoinResponse, the peer connections,
// publishing, until both connections are up. It is bounded by the join
// timeout.
func (p *participant) connect() error {
	ctx, cancel := context.WithTimeout(p.ctx, p.env.cfg.JoinTimeout)
	defer cancel()
	p.joinStart = time.Now()
	token, err := p.env.token(&p.spec)
	if err != nil {
		return err
	}
	dctx, dcancel := context.WithTimeout(ctx, signalDialTimeout)
	sig, join, err := dialSignal(dctx, p.env.http, p.env.cfg.URL, token, p.spec.autoSubscribe, &p.signals)
	dcancel()
	if err != nil {
		return err
	}
	p.sig, p.joinResp = sig, join

	pcConfig := webrtc.Configuration{Certificates: []webrtc.Certificate{p.env.cert}}
	if p.env.cfg.PionSubscribers {
		if p.sub, err = p.env.api.NewPeerConnection(pcConfig); err != nil {
			return fmt.Errorf("subscriber connection: %w", err)
		}
		p.wire(p.sub, livekit.SignalTarget_SUBSCRIBER, p.subUp)
		p.sub.OnTrack(p.onTrack)
	} else if p.lean, err = p.newLean(); err != nil {
		return err
	}
	if p.pb != nil {
		if p.pub, err = p.env.api.NewPeerConnection(pcConfig); err != nil {
			return fmt.Errorf("publisher connection: %w", err)
		}
		p.wire(p.pub, livekit.SignalTarget_PUBLISHER, p.pubUp)
	} else {
		close(p.pubUp)
	}
	p.goTracked(p.readLoop)
	p.goTracked(p.pingLoop)

	if p.pb != nil {
		if err := p.publish(ctx); err != nil {
			return err
		}
	}
	for _, up := range []chan struct{}{p.subUp, p.pubUp} {
		select {
		case <-up:
		case err := <-p.failed:
			return err
		case <-ctx.Done():
			if p.ctx.Err() != nil {
				return p.ctx.Err()
			}
			return fmt.Errorf("peer connections not connected within %v (ICE: are the server's candidates reachable from here?)", p.env.cfg.JoinTimeout)
		}
	}
	p.joinDur = time.Since(p.joinStart)
	return nil
}

// wire sends a connection's ICE candidates to the server and reports its
// state.
func (p *participant) wire(pc *webrtc.PeerConnection, target livekit.SignalTarget, up chan struct{}) {
	once := &p.upOnce[0]
	if target == livekit.SignalTarget_PUBLISHER {
		once = &p.upOnce[1]
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil || p.env.cfg.withholdCandidates {
			return
		}
		b, err := json.Marshal(c.ToJSON())
		if err != nil {
			return
		}
		_ = p.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Trickle{
			Trickle: &livekit.TrickleRequest{CandidateInit: string(b), Target: target},
		}})
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			once.Do(func() { close(up) })
		case webrtc.PeerConnectionStateFailed:
			p.fail(fmt.Errorf("%s connection failed", strings.ToLower(target.String())))
		}
	})
}

// outgoingSDP is a local description as sent to the server: without its
// candidates when they are withheld (see Config.withholdCandidates).
func (p *participant) outgoingSDP(sdp string) string {
	if !p.env.cfg.withholdCandidates {
		return sdp
	}
	lines := strings.SplitAfter(sdp, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(l, "a=candidate:") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "")
}

// send writes a signal request; errors only matter to the join.
func (p *participant) send(req *livekit.SignalRequest) error {
	return p.sig.send(p.sigCtx, req)
}

// publish announces the tracks, waits for the server to accept them, and
// negotiates the publisher connection.
func (p *participant) publish(ctx context.Context) error {
	reqs := p.pb.addTrackRequests()
	for _, r := range reqs {
		if err := p.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: r}}); err != nil {
			return fmt.Errorf("send AddTrack: %w", err)
		}
	}
	for range reqs {
		select {
		case tp := <-p.published:
			if tp.GetCid() == p.pb.videoCID {
				p.pb.videoSID.Store(tp.GetTrack().GetSid())
			}
		case err := <-p.failed:
			return err
		case <-ctx.Done():
			return errors.New("no TrackPublished for an AddTrack request")
		}
	}
	if err := p.pb.addTracks(p, p.pub); err != nil {
		return err
	}
	offer, err := p.pub.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("publisher offer: %w", err)
	}
	if err := p.pub.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("publisher offer: %w", err)
	}
	if err := p.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{
		Offer: &livekit.SessionDescription{Type: "offer", Sdp: p.outgoingSDP(p.pb.announce(offer.SDP))},
	}}); err != nil {
		return fmt.Errorf("send offer: %w", err)
	}
	select {
	case err := <-p.answered:
		if err != nil {
			return err
		}
	case err := <-p.failed:
		return err
	case <-ctx.Done():
		return errors.New("no answer to the publisher offer")
	}
	return p.pb.negotiated(p.pub.RemoteDescription().SDP)
}

// readLoop handles what the server sends until the socket closes.
func (p *participant) readLoop() {
	if !p.spec.autoSubscribe {
		p.subscribeTiles(p.joinResp.GetOtherParticipants())
	}
	for {
		msg, err := p.sig.read(context.Background())
		if err != nil {
			p.fail(fmt.Errorf("signal connection: %w", err))
			return
		}
		switch m := msg.Message.(type) {
		case *livekit.SignalResponse_Offer:
			p.handleOffer(m.Offer)
		case *livekit.SignalResponse_Answer:
			if p.pub == nil {
				continue
			}
			err := p.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.Answer.GetSdp()})
			if err == nil {
				p.flushCandidates(livekit.SignalTarget_PUBLISHER)
			}
			select {
			case p.answered <- err:
			default:
			}
		case *livekit.SignalResponse_Trickle:
			p.handleTrickle(m.Trickle)
		case *livekit.SignalResponse_TrackPublished:
			select {
			case p.published <- m.TrackPublished:
			default:
			}
		case *livekit.SignalResponse_Update:
			if !p.spec.autoSubscribe {
				p.subscribeTiles(m.Update.GetParticipants())
			}
		case *livekit.SignalResponse_StreamStateUpdate:
			for _, st := range m.StreamStateUpdate.GetStreamStates() {
				p.streamPaused.Store(st.GetState() == livekit.StreamState_PAUSED)
				p.streamStates.Add(1)
			}
		case *livekit.SignalResponse_SubscribedQualityUpdate:
			if p.pb != nil {
				p.pb.onQualityUpdate(m.SubscribedQualityUpdate)
			}
		case *livekit.SignalResponse_Leave:
			p.fail(fmt.Errorf("server asked to leave: %s", m.Leave.GetReason()))
		case *livekit.SignalResponse_RequestResponse:
			if rr := m.RequestResponse; rr.GetReason() != livekit.RequestResponse_OK {
				p.env.recordError(fmt.Sprintf("request refused: %s: %s", rr.GetReason(), rr.GetMessage()))
			}
		}
	}
}

// pingLoop keeps the session alive as the SDKs do.
func (p *participant) pingLoop() {
	interval := time.Duration(p.joinResp.GetPingInterval()) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
			_ = p.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{
				PingReq: &livekit.Ping{Timestamp: time.Now().UnixMilli()},
			}})
		}
	}
}

// handleOffer answers an offer on the subscriber connection. Video tracks
// new in it get the participant's layer first, so that the server does not
// start them on the high layer.
func (p *participant) handleOffer(sd *livekit.SessionDescription) {
	p.requestQuality(videoTrackIDs(sd.GetSdp())...)
	if p.lean != nil {
		p.answerLean(sd)
		return
	}
	if err := p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sd.GetSdp()}); err != nil {
		p.fail(fmt.Errorf("subscriber offer: %w", err))
		return
	}
	p.flushCandidates(livekit.SignalTarget_SUBSCRIBER)
	answer, err := p.sub.CreateAnswer(nil)
	if err == nil {
		err = p.sub.SetLocalDescription(answer)
	}
	if err != nil {
		p.fail(fmt.Errorf("subscriber answer: %w", err))
		return
	}
	_ = p.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Answer{
		Answer: &livekit.SessionDescription{Type: "answer", Sdp: p.outgoingSDP(answer.SDP), Id: sd.GetId()},
	}})
}

func (p *participant) pcFor(target livekit.SignalTarget) *webrtc.PeerConnection {
	if target == livekit.SignalTarget_PUBLISHER {
		return p.pub
	}
	return p.sub
}

// handleTrickle adds a server candidate, or keeps it until the
// connection's remote description is set.
func (p *participant) handleTrickle(t *livekit.TrickleRequest) {
	pc := p.pcFor(t.GetTarget())
	if pc == nil {
		return
	}
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal([]byte(t.GetCandidateInit()), &c); err != nil {
		return
	}
	if pc.RemoteDescription() == nil {
		p.mu.Lock()
		p.pending[t.GetTarget()] = append(p.pending[t.GetTarget()], c)
		p.mu.Unlock()
		return
	}
	_ = pc.AddICECandidate(c)
}

func (p *participant) flushCandidates(target livekit.SignalTarget) {
	p.mu.Lock()
	cs := p.pending[target]
	delete(p.pending, target)
	p.mu.Unlock()
	pc := p.pcFor(target)
	for _, c := range cs {
		_ = pc.AddICECandidate(c)
	}
}

// subscribeTiles (conference) asks for every audio track and for the
// videos of the next tiles participants by index, so that every video has
// about as many subscribers as there are tiles.
func (p *participant) subscribeTiles(infos []*livekit.ParticipantInfo) {
	var sids, videos []string
	for _, info := range infos {
		if info.GetIdentity() == p.spec.identity || info.GetState() == livekit.ParticipantInfo_DISCONNECTED {
			continue
		}
		idx, ok := indexOf(info.GetIdentity())
		inTiles := false
		if ok && p.spec.total > 0 && p.spec.tiles > 0 {
			d := ((idx-p.spec.index)%p.spec.total + p.spec.total) % p.spec.total
			inTiles = d >= 1 && d <= p.spec.tiles
		}
		for _, t := range info.GetTracks() {
			if p.requested[t.GetSid()] {
				continue
			}
			if t.GetType() == livekit.TrackType_AUDIO || (t.GetType() == livekit.TrackType_VIDEO && inTiles) {
				p.requested[t.GetSid()] = true
				sids = append(sids, t.GetSid())
				if t.GetType() == livekit.TrackType_VIDEO {
					videos = append(videos, t.GetSid())
				}
			}
		}
	}
	if len(sids) > 0 {
		_ = p.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Subscription{
			Subscription: &livekit.UpdateSubscription{TrackSids: sids, Subscribe: true},
		}})
		p.requestQuality(videos...)
	}
}

// onTrack reads a subscribed track; for video it first asks for the
// participant's layer. The server has subscribed by now, so the settings
// apply.
func (p *participant) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	t := &trackStats{sid: tr.ID(), ssrc: uint32(tr.SSRC()), video: tr.Kind() == webrtc.RTPCodecTypeVideo,
		clock: int64(tr.Codec().ClockRate), red: strings.EqualFold(tr.Codec().MimeType, redCapability.MimeType)}
	if t.clock == 0 {
		t.clock = 90000
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.tracks = append(p.tracks, t)
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()
	if t.video {
		p.requestQuality(tr.ID())
	}
	p.readTrack(tr, t)
}

// requestQuality asks for the participant's layer of video tracks, once
// per track.
func (p *participant) requestQuality(sids ...string) {
	p.mu.Lock()
	var fresh []string
	for _, sid := range sids {
		if !p.qualitySet[sid] {
			p.qualitySet[sid] = true
			fresh = append(fresh, sid)
		}
	}
	p.mu.Unlock()
	if len(fresh) == 0 {
		return
	}
	req := &livekit.UpdateTrackSettings{TrackSids: fresh, Quality: p.spec.quality}
	if fps := p.env.cfg.fps; fps != nil {
		req.Fps = fps(p.spec.index)
	}
	for _, l := range simulcastLayers {
		if l.quality == p.spec.quality {
			req.Width, req.Height = l.width, l.height
		}
	}
	_ = p.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_TrackSetting{TrackSetting: req}})
}

// videoTrackIDs returns the track ids (a=msid) of the video sections of an
// SDP: the server names down-tracks by their track sid.
func videoTrackIDs(sdp string) []string {
	var ids []string
	video := false
	for _, line := range strings.Split(sdp, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "m="):
			video = strings.HasPrefix(line, "m=video")
		case video && strings.HasPrefix(line, "a=msid:"):
			if f := strings.Fields(strings.TrimPrefix(line, "a=msid:")); len(f) == 2 {
				ids = append(ids, f[1])
			}
		}
	}
	return ids
}

// close leaves the room and closes both connections and the socket, then
// waits for every goroutine the participant started.
func (p *participant) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	if p.sig != nil {
		ctx, cancel := context.WithTimeout(p.sigCtx, time.Second)
		_ = p.sig.send(ctx, &livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{
			Reason: livekit.DisconnectReason_CLIENT_INITIATED, Action: livekit.LeaveRequest_DISCONNECT,
		}}})
		cancel()
	}
	p.sigCancel()
	if p.pub != nil {
		_ = p.pub.GracefulClose()
	}
	if p.sub != nil {
		_ = p.sub.GracefulClose()
	}
	if p.lean != nil {
		p.lean.Close()
	}
	if p.sig != nil {
		p.sig.close()
	}
	p.wg.Wait()
}

// snapshot sums what the participant's tracks received so far, for the
// progress line.
func (p *participant) snapshot(s *liveTotals) {
	p.mu.Lock()
	tracks := p.tracks
	p.mu.Unlock()
	for _, t := range tracks {
		if t.packets.Load() == 0 {
			continue
		}
		s.tracks++
		s.bytesIn += t.bytes.Load()
		s.expected += t.expected.Load()
		s.received += t.received.Load()
	}
	p.delays.AddTo(&s.delays)
	if p.pb != nil {
		for _, l := range p.pb.video {
			s.bytesOut += l.sent.bytes.Load()
		}
		if p.pb.audio != nil {
			s.bytesOut += p.pb.audio.sent.bytes.Load()
		}
	}
}
