package server

import (
	"log/slog"
	"net/http"
	"time"
)

// HTTPLimits bound what HTTP clients may hold open; a zero field takes its
// default. The timeouts bound reading requests, not handlers: net/http lifts
// the read deadline once a request is read, so a WebSocket (/rtc) lasts
// hours, its own pings dropping a silent client (room.Config).
type HTTPLimits struct {
	// ReadHeaderTimeout is how long a client may take to send a request's
	// headers, counted from the connection or the previous request.
	ReadHeaderTimeout time.Duration
	// ReadTimeout is how long a client may take to send a whole request,
	// headers and body.
	ReadTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait between
	// requests.
	IdleTimeout time.Duration
	// MaxConnsPerIP bounds the connections one client address (IPv6: one
	// /64) holds open at once, WebSockets included; excess ones are closed
	// on arrival. A school behind one NAT address is one address.
	MaxConnsPerIP int
}

// Default HTTP limits.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxConnsPerIP     = 1000
)

// withDefaults returns l with its zero fields set to the defaults.
func (l HTTPLimits) withDefaults() HTTPLimits {
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = DefaultReadTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxConnsPerIP <= 0 {
		l.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	return l
}

// newHTTPServer returns an HTTP/1.1 server for h under the limits.
// No write timeout: responses are small, and a long one (a pprof profile)
// must not be cut; a client that never reads is held to its address's bound.
// Its own errors (failed handshakes, bad requests) are any client's doing,
// one per connection: debug lines in log.
func newHTTPServer(h http.Handler, l HTTPLimits, log *slog.Logger) *http.Server {
	var protocols http.Protocols
	// WebSockets need HTTP/1.1's Upgrade: over HTTP/2 a browser would ask
	// for RFC 8441's extended CONNECT, which the WebSocket library lacks.
	protocols.SetHTTP1(true)
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		IdleTimeout:       l.IdleTimeout,
		Protocols:         &protocols,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}
