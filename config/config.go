// Package config describes a Bayan node's settings and loads them from defaults, YAML, BAYAN_* and flags.
package config

import (
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/bayan-dev/bayan/store"
)

// Development credentials, used by --dev when no keys are configured.
const (
	DevAPIKey    = "devkey"
	DevAPISecret = "secret"
)

// Default ports and addresses.
const (
	DefaultBindAddress = "0.0.0.0"
	DevBindAddress     = "127.0.0.1"
	DefaultPort        = 7880
	DefaultTCPPort     = 7881
	DefaultData        = "data"
	DefaultUDPPort     = 7882
)

// Config is a node's configuration, as written in the YAML file; each
// field's key, environment variable, flag, default and check are in
// settings.
type Config struct {
	// Keys maps API keys to their secrets.
	Keys map[string]string
	// BindAddress is the address every socket listens on.
	BindAddress string
	// PublicURL is the address people reach the node at
	// ("https://class.example.org"): the base of join links and of the
	// signaling URL. Empty: the host each API request was addressed to.
	PublicURL string
	// Port serves HTTP: WebSocket signaling, the API, /metrics and /healthz.
	Port    int
	RTC     RTCConfig
	Room    RoomConfig
	Audio   AudioConfig
	Signal  SignalConfig
	Webhook WebhookConfig
	TLS     TLSConfig
	HTTP    HTTPConfig
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// Data is the folder of what must outlive a class (the SQLite store).
	Data string
	// DB, when set, is the store's database instead: postgres://... (or a
	// SQLite file).
	DB string
	// ReconnectGrace is how long a participant whose connection dropped
	// stays in its room waiting to resume.
	ReconnectGrace Duration

	// Dev is development mode (--dev): loopback only, the devkey/secret
	// credentials when no keys are configured, short secrets allowed.
	Dev bool
}

// RTCConfig says where the media plane listens.
type RTCConfig struct {
	// UDPPort is the single UDP port all ICE traffic shares.
	UDPPort int
	// TCPPort is the ICE-TCP fallback port.
	TCPPort int
	// NodeIP lists the addresses offered in ICE candidates (e.g. the public
	// address behind a 1:1 NAT); empty offers the host's own addresses. A
	// single string is accepted too.
	NodeIP StringList
	// UnbatchedSends turns off sendmmsg batching of fan-outs: every packet
	// then leaves in its own sendto (for comparison runs).
	UnbatchedSends bool
}

// RoomConfig holds the room defaults.
type RoomConfig struct {
	// EmptyTimeout closes a room nobody joined after this long.
	EmptyTimeout Duration
	// DepartureTimeout closes a room this long after the last one left.
	DepartureTimeout Duration
	// MaxParticipants limits every room; 0 is unlimited.
	MaxParticipants int
	// LargeRoomThreshold is the room size (participants) above which
	// participants who may not publish (a class's students) are told only
	// of those who may, and of a running count; 0 turns it off.
	LargeRoomThreshold int
}

// DefaultLargeRoomThreshold is the default room.large_room_threshold.
const DefaultLargeRoomThreshold = 50

// AudioConfig says how audio is forwarded in big rooms.
type AudioConfig struct {
	// TopK is how many of the loudest microphones each subscriber is sent
	// in a big room; 0 sends every microphone in every room.
	TopK int
	// TopKThreshold is the room size (participants) above which only the
	// TopK loudest are sent; 0 applies top-K to every room.
	TopKThreshold int
}

// SignalConfig says how joins are admitted.
type SignalConfig struct {
	// MaxJoining bounds the joins in progress at once on this node (from
	// the WebSocket to connected media); the others wait their turn. 0:
	// no limit.
	MaxJoining int
	// JoinWait is how long a join may wait for its turn before it is
	// refused (HTTP 503, "server busy").
	JoinWait Duration
}

// Default join admission settings.
const (
	DefaultMaxJoining = 32
	DefaultJoinWait   = 10 * time.Second
)

// Default top-K audio settings.
const (
	DefaultAudioTopK          = 3
	DefaultAudioTopKThreshold = 50
)

// TLSConfig makes the node serve HTTPS and WSS on its port, which browsers
// require before they give a page the camera (outside localhost).
type TLSConfig struct {
	// Cert and Key are PEM files: the certificate with its chain, and its
	// private key.
	Cert string
	Key  string
	// Domain, instead, gets certificates for this name automatically from
	// Let's Encrypt (ACME), kept in the data folder's autocert folder.
	Domain string
	// ACMEEmail is the contact given to Let's Encrypt (optional).
	ACMEEmail string
	// HTTPPort answers Let's Encrypt's HTTP-01 challenges for Domain and
	// redirects other requests to HTTPS; 0 serves nothing there, leaving
	// the TLS-ALPN challenge, which needs port 443.
	HTTPPort int
}

// Enabled reports whether the node serves TLS.
func (t TLSConfig) Enabled() bool { return t.Cert != "" || t.Key != "" || t.Domain != "" }

// DefaultMaxConnsPerIP is the default http.max_conns_per_ip, the one
// server.HTTPLimits falls back to at 0 (cmd/bayan's tests hold them equal).
const DefaultMaxConnsPerIP = 1000

// DefaultACMEHTTPPort is the default tls.http_port, where ACME servers
// send HTTP-01 challenges.
const DefaultACMEHTTPPort = 80

// HTTPConfig bounds what HTTP clients may hold.
type HTTPConfig struct {
	// MaxConnsPerIP bounds the connections one client address (IPv6: one
	// /64) holds open at once, WebSockets included; a school behind one
	// NAT address is one address.
	MaxConnsPerIP int
}

// WebhookConfig says where room events are posted.
type WebhookConfig struct {
	URLs []string
	// APIKey is the key whose secret signs the requests; it may be left out
	// when exactly one key is configured.
	APIKey string
}

// Default returns the built-in configuration: every setting's default (no
// keys).
func Default() *Config {
	c := &Config{}
	for _, s := range settings() {
		s.setDefault(c)
	}
	return c
}

// SlogLevel returns the log level as a slog.Level; its error, for a level
// that is none of debug, info, warn, error, is a *SettingError.
func (c *Config) SlogLevel() (slog.Level, error) {
	l, err := parseLevel(c.LogLevel)
	if err != nil {
		return 0, &SettingError{Key: "log_level", Err: err}
	}
	return l, nil
}

// Logger returns a text logger writing to w at the configured level.
func (c *Config) Logger(w io.Writer) *slog.Logger {
	l, err := c.SlogLevel()
	if err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// WebhookAPIKey is the API key whose secret signs webhooks: webhook.api_key,
// else the only configured key; empty when neither names one.
func (c *Config) WebhookAPIKey() string {
	k, _ := c.webhookKey()
	return k
}

// StoreDSN is the store's database: DB when set, else the SQLite file in
// the data folder.
func (c *Config) StoreDSN() string {
	if c.DB != "" {
		return c.DB
	}
	return filepath.Join(c.dataDir(), store.DefaultFile)
}

// ACMECacheDir is the folder, in the data folder, where automatic
// certificates and the ACME account key are kept.
const ACMECacheDir = "autocert"

// ACMECache is the folder where automatic certificates and the ACME
// account key are kept: ACMECacheDir in the data folder.
func (c *Config) ACMECache() string { return filepath.Join(c.dataDir(), ACMECacheDir) }

// dataDir is the data folder.
func (c *Config) dataDir() string {
	if c.Data == "" {
		return DefaultData
	}
	return c.Data
}
