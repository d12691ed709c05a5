// Package server assembles a Bayan node: the media engine, rooms, signaling,
// the RoomService API, metrics and health checks behind one HTTP listener.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"time"

	"github.com/livekit/protocol/livekit"
	"golang.org/x/crypto/acme/autocert"

	"github.com/bayan-dev/bayan/auth"
	"github.com/bayan-dev/bayan/classroom"
	"github.com/bayan-dev/bayan/internal/connlimit"
	"github.com/bayan-dev/bayan/internal/publicurl"
	"github.com/bayan-dev/bayan/metrics"
	"github.com/bayan-dev/bayan/room"
	"github.com/bayan-dev/bayan/sfu"
	"github.com/bayan-dev/bayan/signaling"
	"github.com/bayan-dev/bayan/store"
	"github.com/bayan-dev/bayan/web"
)

// Version is Bayan's own version (bayan version, logs, ServerInfo's
// debug info).
const Version = "0.1.0"

// LiveKitVersion is the LiveKit server version whose client-facing features
// Bayan provides, reported as ServerInfo.version: the SDKs decide from it
// what they may use (livekit-client refuses RPC below 1.8.0 and sends chat
// as data streams above 1.8.2; it asks for SVC simulcast, which Bayan does
// not forward, only above 1.13.6).
const LiveKitVersion = "1.9.0"

// ProtocolVersion is the newest LiveKit signaling protocol spoken.
const ProtocolVersion = 17

// Config configures a node.
type Config struct {
	// Keys maps API keys to their secrets.
	Keys map[string]string
	// HTTPAddr serves signaling, the API, /metrics and /healthz ("127.0.0.1:7880").
	HTTPAddr string
	// UDPAddr is the single ICE UDP port ("127.0.0.1:7882"); TCPAddr the ICE-TCP fallback.
	UDPAddr, TCPAddr string
	// NodeIPs are the addresses offered in ICE candidates, when set.
	NodeIPs []string
	// LoopbackOnly offers loopback candidates only (development, tests).
	LoopbackOnly bool
	// NoBatching sends each packet with its own sendto (see sfu.BatchConn).
	NoBatching bool
	// PublicURL is the address people reach the node at
	// ("https://class.example.org"): the base of the classes' join links and
	// signaling URL. Empty: the host each API request was addressed to.
	PublicURL string
	// Pprof serves Go's profiles under /debug/pprof/ on the HTTP port.
	Pprof bool
	// StoreDSN is the store's database (store.Open); empty runs without a
	// store (tests of the media path).
	StoreDSN string
	Room     room.Config
	Webhook  signaling.WebhookConfig
	// ReconnectGrace is how long a dropped participant may resume.
	ReconnectGrace time.Duration
	// RefreshInterval is how often clients get a fresh token.
	RefreshInterval time.Duration
	// MaxJoining bounds the joins in progress at once (0: no limit);
	// JoinWait is how long a join may wait for its turn (see signaling.Config).
	MaxJoining int
	JoinWait   time.Duration
	// HTTP bounds slow and numerous HTTP clients (zero fields: defaults).
	HTTP HTTPLimits
	// TLS, when it names a certificate or a domain, serves HTTPS and WSS
	// on HTTPAddr instead of HTTP and WS.
	TLS TLSConfig
	Log *slog.Logger
}

// Server is a running node.
type Server struct {
	cfg     Config
	engine  *sfu.Engine
	stats   *sfu.Stats
	rooms   *room.Manager
	sig     *signaling.Server
	hooks   *signaling.Webhooks
	http    *http.Server
	ln      net.Listener // the TCP listener under the limits and TLS
	conns   *connlimit.Listener
	tls     *serverTLS   // nil without TLS
	acmeSrv *http.Server // HTTP-01 challenges; nil without
	acmeLn  net.Listener
	serveCh chan error
	store   *store.Store    // nil without Config.StoreDSN
	live    *classroom.Live // nil without a store
}

// New opens the node's sockets and starts serving.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if len(cfg.Keys) == 0 {
		return nil, errors.New("server: no API keys configured")
	}
	var public *url.URL
	if cfg.PublicURL != "" {
		var err error
		if public, err = publicurl.Parse(cfg.PublicURL); err != nil {
			return nil, fmt.Errorf("server: public URL: %w", err)
		}
	}
	cfg.HTTP = cfg.HTTP.withDefaults()
	var stls *serverTLS
	if cfg.TLS.enabled() {
		var err error
		if stls, err = newServerTLS(cfg.TLS); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	var st *store.Store
	if cfg.StoreDSN != "" {
		// Opening migrates the schema: a bounded wait, before any socket.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var err error
		st, err = store.Open(ctx, cfg.StoreDSN)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	engine, err := sfu.NewEngine(sfu.EngineConfig{
		UDPAddr:       cfg.UDPAddr,
		TCPAddr:       cfg.TCPAddr,
		NodeIPs:       cfg.NodeIPs,
		LoopbackOnly:  cfg.LoopbackOnly,
		NoBatching:    cfg.NoBatching,
		LoggerFactory: sfu.NewPionLoggerFactory(cfg.Log),
	})
	if err != nil {
		if st != nil {
			_ = st.Close()
		}
		return nil, err
	}
	s := &Server{cfg: cfg, engine: engine, stats: &sfu.Stats{}, serveCh: make(chan error, 1), store: st, tls: stls}
	keys := auth.NewKeys(cfg.Keys)
	s.hooks = signaling.NewWebhooks(cfg.Webhook, keys, cfg.Log)
	if cfg.Room.ServerInfo == nil {
		cfg.Room.ServerInfo = &livekit.ServerInfo{
			Edition:   livekit.ServerInfo_Standard,
			Version:   LiveKitVersion,
			Protocol:  ProtocolVersion,
			NodeId:    "bayan",
			DebugInfo: "bayan " + Version,
		}
	}
	if st != nil && cfg.Room.Hooks == nil {
		// Classes in session: roles, hands, stage, chat, polls, attendance.
		s.live = classroom.NewLive(st, cfg.Log)
		cfg.Room.Hooks = s.live
	}
	s.rooms = room.NewManager(engine, s.stats, s.hooks, cfg.Room, cfg.Log)
	s.sig = signaling.NewServer(signaling.Config{
		Keys:            keys,
		Rooms:           s.rooms,
		Log:             cfg.Log,
		ReconnectGrace:  cfg.ReconnectGrace,
		RefreshInterval: cfg.RefreshInterval,
		MaxJoining:      cfg.MaxJoining,
		JoinWait:        cfg.JoinWait,
	})

	mux := http.NewServeMux()
	s.sig.Register(mux)
	signaling.NewRoomService(keys, s.rooms, signaling.WithRoomServiceLog(cfg.Log)).Register(mux)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	if cfg.Pprof {
		// Profiles for whoever can reach the HTTP port: development and
		// load tests only.
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}

	closeAll := func() {
		engine.Close()
		if s.live != nil {
			_ = s.live.Close(context.Background()) // nobody joined: nothing to wait for
		}
		if st != nil {
			_ = st.Close()
		}
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("server: listen %s: %w", cfg.HTTPAddr, err)
	}
	s.ln = ln
	s.conns = connlimit.New(ln, cfg.HTTP.MaxConnsPerIP)
	mux.Handle("/metrics", metrics.Handler(metrics.Sources{Rooms: s.rooms, Media: s.stats, Signaling: s.sig.Counters(), Conns: s.conns}))
	if stls != nil && stls.manager != nil && cfg.TLS.ChallengeAddr != "" {
		if s.acmeLn, err = net.Listen("tcp", cfg.TLS.ChallengeAddr); err != nil {
			_ = ln.Close()
			closeAll()
			return nil, fmt.Errorf("server: listen %s for ACME HTTP-01 challenges: %w", cfg.TLS.ChallengeAddr, err)
		}
	}
	if st != nil {
		// The classes' API for schools' back ends, beside RoomService.
		mux.Handle("/api/", classroom.NewAPI(st, keys, public, cfg.Log).Handler())
	}
	// The classroom page at the root: every path above is more specific,
	// and any other path that is not one of the page's files is a 404.
	mux.Handle("/", web.Handler())
	s.http = newHTTPServer(mux, cfg.HTTP, cfg.Log)
	var served net.Listener = s.conns
	if stls != nil {
		// The bound counts TCP connections, under the handshakes.
		served = tls.NewListener(s.conns, stls.config)
	}
	go func() { s.serveCh <- s.http.Serve(served) }()
	if s.acmeLn != nil {
		s.acmeSrv = newHTTPServer(stls.challengeHandler(s.HTTPURL()), cfg.HTTP, cfg.Log)
		go func() { _ = s.acmeSrv.Serve(connlimit.New(s.acmeLn, cfg.HTTP.MaxConnsPerIP)) }()
	}
	return s, nil
}

// Mux exposes nothing; Handler-level additions go through Register helpers.

// Addr returns the HTTP address the node listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the WebSocket URL clients connect to: wss:// with TLS, at
// the TLS domain when there is one.
func (s *Server) URL() string {
	if s.tls != nil {
		return "wss://" + s.hostPort()
	}
	return "ws://" + s.Addr()
}

// HTTPURL returns the base URL of the HTTP API (https:// with TLS).
func (s *Server) HTTPURL() string {
	if s.tls != nil {
		return "https://" + s.hostPort()
	}
	return "http://" + s.Addr()
}

// hostPort is where clients reach the node: the TLS domain, whose name the
// certificate carries, or the listening address.
func (s *Server) hostPort() string {
	if s.cfg.TLS.Domain == "" {
		return s.Addr()
	}
	_, port, _ := net.SplitHostPort(s.Addr())
	return httpsHost(s.cfg.TLS.Domain, port)
}

// ChallengeAddr returns the address serving ACME HTTP-01 challenges, or ""
// when none is served.
func (s *Server) ChallengeAddr() string {
	if s.acmeLn == nil {
		return ""
	}
	return s.acmeLn.Addr().String()
}

// TLSConfig returns the TLS configuration the node serves with, or nil
// without TLS.
func (s *Server) TLSConfig() *tls.Config {
	if s.tls == nil {
		return nil
	}
	return s.tls.config
}

// CertManager returns the manager of automatic certificates, or nil when
// they are not automatic.
func (s *Server) CertManager() *autocert.Manager {
	if s.tls == nil {
		return nil
	}
	return s.tls.manager
}

// RefusedConns returns how many connections were closed on arrival for
// exceeding HTTPLimits.MaxConnsPerIP.
func (s *Server) RefusedConns() uint64 { return s.conns.Refused() }

// UDPPort returns the ICE UDP port.
func (s *Server) UDPPort() int { return s.engine.UDPPort() }

// Rooms returns the node's room manager.
func (s *Server) Rooms() *room.Manager { return s.rooms }

// Stats returns the media plane counters.
func (s *Server) Stats() *sfu.Stats { return s.stats }

// Close shuts the node down gracefully: every client is told to leave,
// webhooks already queued are delivered (until ctx ends), then sockets close.
func (s *Server) Close(ctx context.Context) error {
	s.rooms.Close(livekit.DisconnectReason_SERVER_SHUTDOWN)
	s.sig.Close(ctx)
	err := s.http.Shutdown(ctx)
	if s.acmeSrv != nil {
		err = errors.Join(err, s.acmeSrv.Shutdown(ctx))
	}
	s.hooks.Close(ctx)
	s.engine.Close()
	if s.live != nil {
		// The rooms are closed, so every leave and chat message is queued:
		// written before the store closes.
		err = errors.Join(err, s.live.Close(ctx))
	}
	if s.store != nil {
		err = errors.Join(err, s.store.Close())
	}
	return err
}

// Store returns the node's store, or nil when it runs without one.
func (s *Server) Store() *store.Store { return s.store }

// Signaling returns the node's signaling server.
func (s *Server) Signaling() *signaling.Server { return s.sig }
