package signaling

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/auth"
	"github.com/bayan-dev/bayan/room"
)

// outboxSize bounds the responses queued for one client; a client that lets
// it fill up is disconnected rather than allowed to stall the room.
const outboxSize = 1024

// session is one signaling WebSocket. Requests are handled in order on the
// read goroutine; responses are queued and written by a writer goroutine.
type session struct {
	srv  *Server
	conn *websocket.Conn
	// text says responses go out as protojson text frames: set from the
	// join URL (format=json), then, as LiveKit does, following the kind of
	// frame the client last sent that decoded.
	text   atomic.Bool
	log    *slog.Logger
	token  *auth.Verified
	p      *room.Participant
	outbox chan *livekit.SignalResponse
	done   chan struct{}
	once   sync.Once
	left   bool

	closeCode   websocket.StatusCode // set once, before done is closed
	closeReason string

	// heard is when the client was last heard from (Unix ns): a request,
	// or a pong to the node's ping.
	heard atomic.Int64
}

func newSession(srv *Server, conn *websocket.Conn, text bool, tok *auth.Verified, log *slog.Logger) *session {
	s := &session{
		srv:    srv,
		conn:   conn,
		log:    log,
		token:  tok,
		outbox: make(chan *livekit.SignalResponse, outboxSize),
		done:   make(chan struct{}),
	}
	s.text.Store(text)
	return s
}

// Send queues a response; it never blocks.
func (s *session) Send(msg *livekit.SignalResponse) {
	select {
	case <-s.done:
	case s.outbox <- msg:
	default:
		s.log.Warn("signal outbox full, disconnecting slow client")
		s.close(websocket.StatusPolicyViolation, "too slow")
	}
}

// close ends the session: the writer flushes what is queued (a Leave, for
// instance) and then closes the socket with code, which ends the reader.
func (s *session) close(code websocket.StatusCode, reason string) {
	s.once.Do(func() {
		s.closeCode, s.closeReason = code, reason
		close(s.done)
	})
}

// writeLoop writes queued responses until the session ends; on the way out
// it flushes what is queued, best-effort, and closes the socket.
func (s *session) writeLoop(ctx context.Context) {
	defer func() {
		<-s.done
		_ = s.conn.Close(s.closeCode, s.closeReason)
	}()
	write := func(msg *livekit.SignalResponse) bool {
		text := s.text.Load()
		b, err := EncodeResponse(msg, text)
		if err != nil {
			s.log.Error("encode response", "err", err)
			return true
		}
		typ := websocket.MessageBinary
		if text {
			typ = websocket.MessageText
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := s.conn.Write(wctx, typ, b); err != nil {
			s.close(websocket.StatusGoingAway, "write failed")
			return false
		}
		s.srv.metrics.sent.add(msg, len(b))
		return true
	}
	for {
		select {
		case msg := <-s.outbox:
			if !write(msg) {
				return
			}
		case <-s.done:
			for {
				select {
				case msg := <-s.outbox:
					if !write(msg) {
						return
					}
				default:
					return
				}
			}
		}
	}
}

// readLoop handles requests until the client leaves or the socket fails.
func (s *session) readLoop(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.heard.Store(time.Now().UnixNano())
	go s.keepAlive(ctx, cancel)
	for {
		typ, data, err := s.conn.Read(ctx)
		if err != nil {
			return
		}
		s.heard.Store(time.Now().UnixNano())
		req, err := DecodeRequest(data, typ == websocket.MessageText)
		if err != nil {
			s.srv.metrics.badFrames.Add(1)
			s.log.Debug("dropping bad signal frame", "err", err)
			continue
		}
		s.srv.metrics.received.add(req, len(data))
		s.text.Store(typ == websocket.MessageText)
		s.handle(req)
		if s.left {
			return
		}
	}
}

// reply answers a request that failed (or is unsupported), naming the
// request so that clients can match the answer to what they asked.
func (s *session) reply(req *livekit.SignalRequest, reason livekit.RequestResponse_Reason, msg string) {
	rr := &livekit.RequestResponse{Reason: reason, Message: msg}
	switch m := req.GetMessage().(type) {
	case *livekit.SignalRequest_Trickle:
		rr.Request = &livekit.RequestResponse_Trickle{Trickle: m.Trickle}
	case *livekit.SignalRequest_AddTrack:
		rr.Request = &livekit.RequestResponse_AddTrack{AddTrack: m.AddTrack}
	case *livekit.SignalRequest_Mute:
		rr.Request = &livekit.RequestResponse_Mute{Mute: m.Mute}
	case *livekit.SignalRequest_UpdateMetadata:
		rr.RequestId = m.UpdateMetadata.GetRequestId()
		rr.Request = &livekit.RequestResponse_UpdateMetadata{UpdateMetadata: m.UpdateMetadata}
	}
	s.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_RequestResponse{RequestResponse: rr}})
}

func reasonFor(err error) livekit.RequestResponse_Reason {
	switch {
	case errors.Is(err, room.ErrPermissionDenied):
		return livekit.RequestResponse_NOT_ALLOWED
	case errors.Is(err, room.ErrTrackNotFound):
		return livekit.RequestResponse_NOT_FOUND
	default:
		return livekit.RequestResponse_INVALID_REQUEST
	}
}

func (s *session) handle(req *livekit.SignalRequest) {
	p := s.p
	var err error
	switch m := req.Message.(type) {
	case *livekit.SignalRequest_Offer:
		err = p.HandleOffer(m.Offer)
	case *livekit.SignalRequest_Answer:
		err = p.HandleAnswer(m.Answer)
	case *livekit.SignalRequest_Trickle:
		err = p.HandleTrickle(m.Trickle)
	case *livekit.SignalRequest_AddTrack:
		err = p.AddTrack(m.AddTrack)
	case *livekit.SignalRequest_Mute:
		err = p.SetTrackMuted(m.Mute.GetSid(), m.Mute.GetMuted(), false)
	case *livekit.SignalRequest_Subscription:
		err = p.UpdateSubscription(m.Subscription)
	case *livekit.SignalRequest_TrackSetting:
		p.UpdateTrackSettings(m.TrackSetting)
	case *livekit.SignalRequest_Leave:
		s.left = true
		p.Leave(livekit.DisconnectReason_CLIENT_INITIATED)
	case *livekit.SignalRequest_Ping:
		s.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Pong{Pong: time.Now().UnixMilli()}})
	case *livekit.SignalRequest_PingReq:
		s.Send(&livekit.SignalResponse{Message: &livekit.SignalResponse_PongResp{PongResp: &livekit.Pong{
			LastPingTimestamp: m.PingReq.GetTimestamp(),
			Timestamp:         time.Now().UnixMilli(),
		}}})
	case *livekit.SignalRequest_UpdateMetadata:
		if !p.Permission().GetCanUpdateMetadata() {
			err = room.ErrPermissionDenied
			break
		}
		u := m.UpdateMetadata
		var name, md *string
		if u.Name != "" {
			name = &u.Name
		}
		if u.Metadata != "" {
			md = &u.Metadata
		}
		p.UpdateInfo(name, md, u.Attributes, nil)
	case *livekit.SignalRequest_SyncState, *livekit.SignalRequest_Simulate,
		*livekit.SignalRequest_UpdateLayers, *livekit.SignalRequest_SubscriptionPermission:
		// Accepted; Bayan derives this state itself.
	default:
		s.reply(req, livekit.RequestResponse_UNSUPPORTED_TYPE, "unsupported request")
		return
	}
	if err != nil {
		s.log.Debug("request failed", "err", err)
		s.reply(req, reasonFor(err), err.Error())
	}
}
