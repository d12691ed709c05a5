package signaling

import (
	"context"
	"time"
)

// keepAlive pings the client's WebSocket every ping interval and, once the
// client has been silent for the ping timeout (no request, no pong),
// cancels the session's reads, which closes the socket. Requests alone are
// not enough: livekit-client pings, but the LiveKit Go SDK sends nothing
// while it has nothing to say, and answers WebSocket pings (as browsers
// do). Returns when ctx ends.
func (s *session) keepAlive(ctx context.Context, drop context.CancelFunc) {
	interval, timeout := s.srv.rooms.PingInterval(), s.srv.rooms.PingTimeout()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if silent := time.Since(time.Unix(0, s.heard.Load())); silent > timeout {
			s.log.Debug("client silent past the ping timeout, dropping it", "silent", silent)
			drop()
			return
		}
		// The pong is read by the session's reader, which is always
		// reading; a ping unanswered within an interval just counts as
		// nothing heard.
		pctx, cancel := context.WithTimeout(ctx, interval)
		if err := s.conn.Ping(pctx); err == nil {
			s.heard.Store(time.Now().UnixNano())
		}
		cancel()
	}
}
