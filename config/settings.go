package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/bayan-dev/bayan/store"
)

// setting is one setting, declared once: its YAML key (from which its
// BAYAN_* name is derived), its serve flag, its default and its check.
type setting struct {
	// key is the dotted YAML key: "rtc.udp_port".
	key string
	// flag is serve's flag for it and usage that flag's help; "" has none.
	flag, usage string
	// field points at the setting in c: *int, *string, *bool, *Duration,
	// *StringList, *[]string or *map[string]string.
	field func(c *Config) any
	// def is the default value, of the type field points at.
	def any
	// check returns the problems of the value in c, as plain errors the
	// caller names by key; nil accepts every value.
	check func(c *Config) []error
}

// newSetting declares the setting key held in field, with its default and
// its check (nil: none); the generic types keep field, def and check agreed.
func newSetting[T any](key string, field func(*Config) *T, def T, check func(v T, c *Config) []error) setting {
	s := setting{key: key, field: func(c *Config) any { return field(c) }, def: def}
	if check != nil {
		s.check = func(c *Config) []error { return check(*field(c), c) }
	}
	return s
}

// withFlag gives s the serve flag name, with its help.
func (s setting) withFlag(name, usage string) setting {
	s.flag, s.usage = name, usage
	return s
}

// setDefault sets s in c to its default.
func (s setting) setDefault(c *Config) {
	reflect.ValueOf(s.field(c)).Elem().Set(reflect.ValueOf(s.def))
}

// settings is every setting, in the order of the documented file; the
// sections (rtc, room, ...) are the prefixes of their keys.
func settings() []setting {
	return []setting{
		newSetting("keys", func(c *Config) *map[string]string { return &c.Keys }, nil, checkKeys),
		newSetting("bind_address", func(c *Config) *string { return &c.BindAddress }, DefaultBindAddress, notEmpty).
			withFlag("bind", "address to listen on (127.0.0.1 with --dev)"),
		newSetting("public_url", func(c *Config) *string { return &c.PublicURL }, "", checkPublicURL).
			withFlag("public-url", "address people reach the node at, for join links and the signaling URL "+
				"(e.g. https://class.example.org; default: each API request's own host)"),
		newSetting("port", func(c *Config) *int { return &c.Port }, DefaultPort, portNumber).
			withFlag("port", "HTTP and WebSocket port"),

		newSetting("rtc.udp_port", func(c *Config) *int { return &c.RTC.UDPPort }, DefaultUDPPort, portNumber).
			withFlag("udp-port", "ICE UDP port (all peers share it)"),
		newSetting("rtc.tcp_port", func(c *Config) *int { return &c.RTC.TCPPort }, DefaultTCPPort, portNumber).
			withFlag("tcp-port", "ICE-TCP port"),
		newSetting("rtc.node_ip", func(c *Config) *StringList { return &c.RTC.NodeIP }, nil, ipAddresses).
			withFlag("node-ip", "IP address to advertise in ICE candidates (repeatable or comma-separated)"),
		newSetting("rtc.unbatched_sends", func(c *Config) *bool { return &c.RTC.UnbatchedSends }, false, nil),

		newSetting("room.empty_timeout", func(c *Config) *Duration { return &c.Room.EmptyTimeout }, Duration(5*time.Minute), wholeSeconds),
		newSetting("room.departure_timeout", func(c *Config) *Duration { return &c.Room.DepartureTimeout }, Duration(20*time.Second), wholeSeconds),
		newSetting("room.max_participants", func(c *Config) *int { return &c.Room.MaxParticipants }, 0, notNegative("0 means unlimited")),
		newSetting("room.large_room_threshold", func(c *Config) *int { return &c.Room.LargeRoomThreshold },
			DefaultLargeRoomThreshold, notNegative("0 turns large-room mode off")),

		newSetting("audio.top_k", func(c *Config) *int { return &c.Audio.TopK }, DefaultAudioTopK, notNegative("0 forwards every microphone")),
		newSetting("audio.top_k_threshold", func(c *Config) *int { return &c.Audio.TopKThreshold },
			DefaultAudioTopKThreshold, notNegative("0 applies top-K to every room")),

		newSetting("signal.max_joining", func(c *Config) *int { return &c.Signal.MaxJoining }, DefaultMaxJoining, notNegative("0 means no limit")),
		newSetting("signal.join_wait", func(c *Config) *Duration { return &c.Signal.JoinWait }, Duration(DefaultJoinWait), nil),

		newSetting("webhook.urls", func(c *Config) *[]string { return &c.Webhook.URLs }, nil, webhookURLs),
		newSetting("webhook.api_key", func(c *Config) *string { return &c.Webhook.APIKey }, "", nil),

		newSetting("tls.cert", func(c *Config) *string { return &c.TLS.Cert }, "", nil).
			withFlag("tls-cert", "serve HTTPS and WSS with this PEM certificate (with its chain); needs --tls-key"),
		newSetting("tls.key", func(c *Config) *string { return &c.TLS.Key }, "", nil).
			withFlag("tls-key", "the private key of --tls-cert (PEM)"),
		newSetting("tls.domain", func(c *Config) *string { return &c.TLS.Domain }, "", nil).
			withFlag("tls-domain", "serve HTTPS and WSS with certificates from Let's Encrypt for this domain"),
		newSetting("tls.acme_email", func(c *Config) *string { return &c.TLS.ACMEEmail }, "", nil).
			withFlag("tls-acme-email", "contact address given to Let's Encrypt with --tls-domain"),
		newSetting("tls.http_port", func(c *Config) *int { return &c.TLS.HTTPPort }, DefaultACMEHTTPPort, portNumber),

		newSetting("http.max_conns_per_ip", func(c *Config) *int { return &c.HTTP.MaxConnsPerIP },
			DefaultMaxConnsPerIP, notNegative(fmt.Sprintf("0 means the default, %d", DefaultMaxConnsPerIP))),

		newSetting("log_level", func(c *Config) *string { return &c.LogLevel }, "info", checkLogLevel).
			withFlag("log-level", "log level: debug, info, warn, error"),
		newSetting("data", func(c *Config) *string { return &c.Data }, DefaultData, nil).
			withFlag("data", "folder of the store (SQLite: "+store.DefaultFile+" in it)"),
		newSetting("db", func(c *Config) *string { return &c.DB }, "", nil).
			withFlag("db", "the store's database instead of SQLite in --data, e.g. postgres://user@host/db"),
		newSetting("reconnect_grace", func(c *Config) *Duration { return &c.ReconnectGrace }, Duration(20*time.Second), nil),
	}
}

// section is the section a setting's key is in ("rtc" for rtc.udp_port),
// or "" at the top level.
func section(key string) string {
	s, _, ok := strings.Cut(key, ".")
	if !ok {
		return ""
	}
	return s
}

// Env is the environment variable of the setting key: BAYAN_ and the key
// in capitals, dots as underscores (rtc.udp_port: BAYAN_RTC_UDP_PORT).
func Env(key string) string {
	return "BAYAN_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}
