package signaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/auth"
	"github.com/bayan-dev/bayan/room"
)

// Config configures the signaling server.
type Config struct {
	Keys  *auth.Keys
	Rooms *room.Manager
	Log   *slog.Logger
	// ReconnectGrace is how long a participant whose WebSocket dropped stays
	// in the room waiting to resume.
	ReconnectGrace time.Duration
	// RefreshInterval is how often a client is sent a fresh token.
	RefreshInterval time.Duration
	// MaxJoining bounds the joins in progress at once (from the WebSocket
	// to connected media); the others wait their turn. 0: no limit.
	MaxJoining int
	// JoinWait is how long a join may wait for its turn before it is
	// refused with 503; 0 means 10 s.
	JoinWait time.Duration
	// JoinHold is how long a join that does not connect its media keeps
	// its turn; 0 means 10 s.
	JoinHold time.Duration
	// MaxQueuedJoins bounds the joins waiting; more are refused at once.
	// 0 means 10 000.
	MaxQueuedJoins int
}

// Counters are the signaling layer's own metrics.
type Counters struct {
	badFrames   atomic.Uint64
	joins       atomic.Uint64
	resumes     atomic.Uint64
	authFailure atomic.Uint64
	sent        messageCounts
	received    messageCounts
	gate        *joinGate
}

// JoinsInProgress returns the joins admitted whose media is not connected
// yet; JoinsWaiting those waiting their turn.
func (c *Counters) JoinsInProgress() int { return c.gate.inProgress() }

// JoinsWaiting returns the joins waiting their turn.
func (c *Counters) JoinsWaiting() int { return int(c.gate.waiting.Load()) }

// JoinsRefusedBusy returns the joins refused because their turn did not
// come in time or too many were waiting.
func (c *Counters) JoinsRefusedBusy() uint64 { return c.gate.refused.Load() }

// JoinWaitSeconds returns the time admitted joins spent waiting, summed.
func (c *Counters) JoinWaitSeconds() float64 { return float64(c.gate.waitedNs.Load()) / 1e9 }

// BadFrames returns how many undecodable frames were dropped.
func (c *Counters) BadFrames() uint64 { return c.badFrames.Load() }

// Joins returns how many joins succeeded.
func (c *Counters) Joins() uint64 { return c.joins.Load() }

// Resumes returns how many sessions were resumed.
func (c *Counters) Resumes() uint64 { return c.resumes.Load() }

// AuthFailures returns how many requests were refused for their token.
func (c *Counters) AuthFailures() uint64 { return c.authFailure.Load() }

// Server serves /rtc and /rtc/validate.
type Server struct {
	keys    *auth.Keys
	rooms   *room.Manager
	log     *slog.Logger
	cfg     Config
	metrics Counters
	gate    *joinGate

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	sessions map[*session]struct{}
}

// NewServer returns a signaling server; Close ends its sessions.
func NewServer(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.ReconnectGrace <= 0 {
		cfg.ReconnectGrace = 20 * time.Second
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 10 * time.Minute
	}
	if cfg.JoinWait <= 0 {
		cfg.JoinWait = 10 * time.Second
	}
	if cfg.JoinHold <= 0 {
		cfg.JoinHold = 10 * time.Second
	}
	if cfg.MaxQueuedJoins <= 0 {
		cfg.MaxQueuedJoins = 10000
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{keys: cfg.Keys, rooms: cfg.Rooms, log: cfg.Log, cfg: cfg, ctx: ctx, cancel: cancel,
		sessions: map[*session]struct{}{},
		gate:     newJoinGate(cfg.MaxJoining, cfg.MaxQueuedJoins, cfg.JoinWait)}
	s.metrics.gate = s.gate
	return s
}

// Counters returns the server's counters.
func (s *Server) Counters() *Counters { return &s.metrics }

// Register adds the signaling routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("/rtc", s.handleRTC)
	mux.HandleFunc("/rtc/validate", s.handleValidate)
	// Protocol 16+ clients (livekit-client 2.2x) join here with a
	// join_request and one peer connection for both directions.
	mux.HandleFunc("/rtc/v1", s.handleRTC)
	mux.HandleFunc("/rtc/v1/validate", s.handleValidate)
	// Anything else under /rtc must answer 404, never a page, so that
	// clients probing for newer paths fall back.
	mux.HandleFunc("/rtc/", http.NotFound)
}

// Close ends every session, letting each flush what is queued for it (the
// Leave that tells clients the server is going away) until ctx ends, and
// waits for their goroutines.
func (s *Server) Close(ctx context.Context) {
	s.mu.Lock()
	for sess := range s.sessions {
		sess.close(websocket.StatusGoingAway, "server shutting down")
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.cancel()
		<-done
	}
	s.cancel()
}

// httpError writes a plain-text error the SDKs show to their users.
func httpError(w http.ResponseWriter, code int, err error) {
	http.Error(w, err.Error(), code)
}

// authorize verifies the request's token and its room-join grant.
func (s *Server) authorize(r *http.Request) (*auth.Verified, int, error) {
	tok, err := s.keys.Verify(tokenFromRequest(r))
	if err != nil {
		s.metrics.authFailure.Add(1)
		return nil, http.StatusUnauthorized, err
	}
	g := tok.Grants.Video
	if g == nil || !g.RoomJoin || g.Room == "" {
		s.metrics.authFailure.Add(1)
		return nil, http.StatusUnauthorized, fmt.Errorf("%w: token lacks roomJoin for a room", auth.ErrNotAllowed)
	}
	if want := r.URL.Query().Get("room"); want != "" && want != g.Room {
		s.metrics.authFailure.Add(1)
		return nil, http.StatusUnauthorized, fmt.Errorf("%w: token is for room %q", auth.ErrNotAllowed, g.Room)
	}
	if tok.Grants.Identity == "" {
		s.metrics.authFailure.Add(1)
		return nil, http.StatusUnauthorized, fmt.Errorf("%w: token has no identity", auth.ErrInvalidToken)
	}
	return tok, 0, nil
}

func (s *Server) handleValidate(w http.ResponseWriter, r *http.Request) {
	tok, code, err := s.authorize(r)
	if err != nil {
		httpError(w, code, err)
		return
	}
	if _, code, err := s.joinOptions(r, tok); err != nil {
		httpError(w, code, err)
		return
	}
	if err := s.checkCapacity(tok); err != nil {
		httpError(w, http.StatusServiceUnavailable, err)
		return
	}
	_, _ = w.Write([]byte("success"))
}

// checkCapacity refuses a join the token's room has no room for.
func (s *Server) checkCapacity(tok *auth.Verified) error {
	rm := s.rooms.Room(tok.Grants.Video.Room)
	if rm == nil {
		return nil
	}
	info := rm.Info()
	if info.MaxParticipants > 0 && info.NumParticipants >= info.MaxParticipants &&
		rm.Participant(tok.Grants.Identity) == nil {
		return room.ErrRoomFull
	}
	return nil
}

func queryBool(r *http.Request, name string, def bool) bool {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def
	}
	return b
}

// joinOptions is what the join URL asks for.
type joinOptions struct {
	single        bool                 // one peer connection (join_request)
	request       *livekit.JoinRequest // nil for /rtc query-parameter joins
	autoSubscribe bool
	protocol      int // the signaling protocol version
	// clientProtocol is the client's feature level (ClientInfo.client_protocol:
	// data stream packets, ...), which ParticipantInfo tells the others; not
	// the signaling protocol.
	clientProtocol int32
	resume         bool
	sid            string // participant to resume
	text           bool   // protojson text frames
}

// joinOptions reads the join parameters from the query string or, for
// protocol 16+ clients, from the join_request parameter.
func (s *Server) joinOptions(r *http.Request, tok *auth.Verified) (*joinOptions, int, error) {
	q := r.URL.Query()
	o := &joinOptions{text: q.Get("format") == "json"}
	if jrParam := q.Get("join_request"); jrParam != "" {
		jr, err := DecodeJoinRequest(jrParam)
		if err != nil {
			return nil, http.StatusBadRequest, err
		}
		if (jr.Metadata != "" || len(jr.ParticipantAttributes) > 0) && !tok.Grants.Video.GetCanUpdateOwnMetadata() {
			return nil, http.StatusUnauthorized, fmt.Errorf("%w: setting metadata needs canUpdateOwnMetadata", auth.ErrNotAllowed)
		}
		o.single = true
		o.request = jr
		o.autoSubscribe = jr.GetConnectionSettings() == nil || jr.GetConnectionSettings().GetAutoSubscribe()
		o.protocol = int(jr.GetClientInfo().GetProtocol())
		o.clientProtocol = jr.GetClientInfo().GetClientProtocol()
		o.resume = jr.GetReconnect() && jr.GetParticipantSid() != ""
		o.sid = jr.GetParticipantSid()
		return o, 0, nil
	}
	if strings.HasPrefix(r.URL.Path, "/rtc/v1") {
		return nil, http.StatusBadRequest, fmt.Errorf("%w: /rtc/v1 needs a join_request", ErrBadFrame)
	}
	o.autoSubscribe = queryBool(r, "auto_subscribe", true)
	o.protocol, _ = strconv.Atoi(q.Get("protocol"))
	if cp, err := strconv.ParseInt(q.Get("client_protocol"), 10, 32); err == nil {
		o.clientProtocol = int32(cp)
	}
	o.sid = q.Get("sid")
	o.resume = queryBool(r, "reconnect", false) && o.sid != ""
	return o, 0, nil
}

func (s *Server) handleRTC(w http.ResponseWriter, r *http.Request) {
	tok, code, err := s.authorize(r)
	if err != nil {
		httpError(w, code, err)
		return
	}
	opts, code, err := s.joinOptions(r, tok)
	if err != nil {
		httpError(w, code, err)
		return
	}
	resume := opts.resume
	release := func() {}
	if !resume {
		if err := s.checkCapacity(tok); err != nil {
			httpError(w, http.StatusServiceUnavailable, err)
			return
		}
		// The client waits for its turn before the WebSocket is accepted:
		// a refusal is then a plain HTTP error the SDKs show.
		// The wait ends when the client gives up or the server shuts down.
		wctx, wcancel := context.WithCancel(r.Context())
		stop := context.AfterFunc(s.ctx, wcancel)
		release, err = s.gate.enter(wctx)
		stop()
		wcancel()
		if err != nil {
			switch {
			case errors.Is(err, ErrBusy):
				s.log.Warn("join refused", "room", tok.Grants.Video.Room, "participant", tok.Grants.Identity, "err", err)
				httpError(w, http.StatusServiceUnavailable, err)
			case s.ctx.Err() != nil:
				httpError(w, http.StatusServiceUnavailable, errors.New("server shutting down"))
			}
			return
		}
		defer release()
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// Classrooms are embedded in schools' own sites: the token, not the
		// page's origin, decides who may join.
		InsecureSkipVerify: true,
	})
	if err != nil {
		return // Accept has answered the request
	}
	conn.SetReadLimit(MaxFrameSize)
	g := tok.Grants
	log := s.log.With("room", g.Video.Room, "participant", g.Identity)
	sess := newSession(s, conn, opts.text, tok, log)

	s.wg.Add(1)
	defer s.wg.Done()
	s.mu.Lock()
	s.sessions[sess] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sessions, sess)
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		sess.writeLoop(ctx)
	}()
	defer func() {
		sess.close(websocket.StatusNormalClosure, "")
		<-writerDone
	}()

	if resume {
		if !s.resume(sess, opts.sid) {
			return
		}
	} else if !s.join(sess, opts) {
		return
	} else {
		s.releaseWhenSettled(ctx, sess.p, release)
	}
	go s.refreshTokens(ctx, sess)
	sess.readLoop(ctx)
	if !sess.left {
		sess.p.SignalLost(sess, s.cfg.ReconnectGrace)
	}
}

func (s *Server) join(sess *session, opts *joinOptions) bool {
	g := sess.token.Grants
	rm := s.rooms.GetOrCreate(g.Video.Room)
	params := room.JoinParams{
		Identity:             g.Identity,
		Name:                 g.Name,
		Metadata:             g.Metadata,
		Attributes:           g.Attributes,
		Permission:           g.Video.ToPermission(),
		Kind:                 g.GetParticipantKind(),
		AutoSubscribe:        opts.autoSubscribe,
		ClientProtocol:       opts.clientProtocol,
		SinglePeerConnection: opts.single,
	}
	if jr := opts.request; jr != nil {
		if jr.Metadata != "" {
			params.Metadata = jr.Metadata
		}
		for k, v := range jr.ParticipantAttributes {
			if v == "" {
				continue
			}
			if params.Attributes == nil {
				params.Attributes = map[string]string{}
			}
			params.Attributes[k] = v
		}
	}
	p, err := rm.Join(params, sess)
	if err != nil {
		reason := livekit.DisconnectReason_JOIN_FAILURE
		if errors.Is(err, room.ErrRoomClosed) {
			reason = livekit.DisconnectReason_ROOM_CLOSED
		}
		sess.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{Leave: &livekit.LeaveRequest{
			Reason: reason, Action: livekit.LeaveRequest_DISCONNECT,
		}}})
		sess.log.Info("join refused", "err", err)
		return false
	}
	sess.p = p
	s.metrics.joins.Add(1)
	if opts.single {
		// What a protocol 16+ client sends with its join: tracks to publish
		// and the first offer. Existing tracks follow once it is answered.
		for _, at := range opts.request.GetAddTrackRequests() {
			if err := p.AddTrack(at); err != nil {
				sess.reply(&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: at}}, reasonFor(err), err.Error())
			}
		}
		if offer := opts.request.GetPublisherOffer(); offer.GetSdp() != "" {
			if err := p.HandleOffer(offer); err != nil {
				sess.log.Info("join offer refused", "err", err)
			}
		}
		if opts.autoSubscribe {
			rm.SubscribeToExisting(p)
		}
	}
	return true
}

// releaseWhenSettled gives up the join's turn once p's media is connected
// or it left, or after the hold time, whichever comes first.
func (s *Server) releaseWhenSettled(ctx context.Context, p *room.Participant, release func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer release()
		t := time.NewTimer(s.cfg.JoinHold)
		defer t.Stop()
		select {
		case <-p.Settled():
		case <-t.C:
		case <-ctx.Done():
		}
	}()
}

// resume re-attaches a participant whose WebSocket dropped.
func (s *Server) resume(sess *session, sid string) bool {
	g := sess.token.Grants
	var p *room.Participant
	if rm := s.rooms.Room(g.Video.Room); rm != nil {
		p = rm.Participant(g.Identity)
	}
	if p == nil || p.SID() != sid {
		// Too late to resume: the client must join again from scratch.
		sess.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{Leave: &livekit.LeaveRequest{
			CanReconnect: true, Reason: livekit.DisconnectReason_STATE_MISMATCH, Action: livekit.LeaveRequest_RECONNECT,
		}}})
		return false
	}
	// The ReconnectResponse is queued before the participant's messages can
	// reach this session: clients expect it first.
	sess.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Reconnect{Reconnect: &livekit.ReconnectResponse{
		ClientConfiguration: &livekit.ClientConfiguration{ResumeConnection: livekit.ClientConfigSetting_ENABLED},
	}}})
	p.SetSink(sess)
	sess.p = p
	if err := p.Resume(); err != nil {
		sess.log.Warn("resume: ICE restart", "err", err)
	}
	s.metrics.resumes.Add(1)
	return true
}

// refreshTokens sends the client a fresh token periodically so that a long
// session outlives its original token.
func (s *Server) refreshTokens(ctx context.Context, sess *session) {
	t := time.NewTicker(s.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sess.done:
			return
		case <-t.C:
			tok, err := s.keys.Refresh(withPermission(sess.token, sess.p.Permission()), sess.token.TTL)
			if err != nil {
				continue
			}
			sess.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_RefreshToken{RefreshToken: tok}})
		}
	}
}

// withPermission returns a copy of tok whose grants carry the participant's
// current permissions, which may have changed since the token was issued.
func withPermission(tok *auth.Verified, perm *livekit.ParticipantPermission) *auth.Verified {
	out := *tok
	out.Grants = tok.Grants.Clone()
	v := out.Grants.Video
	v.CanPublish = &perm.CanPublish
	v.CanSubscribe = &perm.CanSubscribe
	v.CanPublishData = &perm.CanPublishData
	v.CanUpdateOwnMetadata = &perm.CanUpdateMetadata
	v.Hidden = perm.Hidden
	v.CanPublishSources = v.CanPublishSources[:0]
	for _, src := range perm.CanPublishSources {
		v.CanPublishSources = append(v.CanPublishSources, sourceName(src))
	}
	return &out
}

// sourceName is how tokens spell a track source ("camera", "microphone").
func sourceName(src livekit.TrackSource) string { return strings.ToLower(src.String()) }
