// Package config describes a Bayan node's settings and loads them from defaults, YAML, BAYAN_* and flags.
package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bayan-dev/bayan/internal/publicurl"
	"github.com/bayan-dev/bayan/store"
)

// Development credentials, used by --dev when no keys are configured.
const (
	DevAPIKey    = "devkey"
	DevAPISecret = "secret"
)

// MinSecretLength is the shortest API secret accepted outside dev mode.
const MinSecretLength = 32

// Default ports and addresses.
const (
	DefaultBindAddress = "0.0.0.0"
	DevBindAddress     = "127.0.0.1"
	DefaultPort        = 7880
	DefaultTCPPort     = 7881
	DefaultData        = "data"
	DefaultUDPPort     = 7882
)

// Environment variables read by Load. Every one is optional.
const (
	EnvConfig           = "BAYAN_CONFIG" // path of the YAML file
	EnvKeys             = "BAYAN_KEYS"   // "key: secret", several separated by commas or newlines
	EnvBindAddress      = "BAYAN_BIND_ADDRESS"
	EnvPort             = "BAYAN_PORT"
	EnvPublicURL        = "BAYAN_PUBLIC_URL"
	EnvUDPPort          = "BAYAN_RTC_UDP_PORT"
	EnvTCPPort          = "BAYAN_RTC_TCP_PORT"
	EnvUnbatchedSends   = "BAYAN_RTC_UNBATCHED_SENDS"
	EnvNodeIP           = "BAYAN_RTC_NODE_IP" // comma-separated
	EnvEmptyTimeout     = "BAYAN_ROOM_EMPTY_TIMEOUT"
	EnvDepartureTimeout = "BAYAN_ROOM_DEPARTURE_TIMEOUT"
	EnvMaxParticipants  = "BAYAN_ROOM_MAX_PARTICIPANTS"
	EnvLargeRoom        = "BAYAN_ROOM_LARGE_ROOM_THRESHOLD"
	EnvWebhookURLs      = "BAYAN_WEBHOOK_URLS" // comma-separated
	EnvWebhookAPIKey    = "BAYAN_WEBHOOK_API_KEY"
	EnvLogLevel         = "BAYAN_LOG_LEVEL"
	EnvData             = "BAYAN_DATA"
	EnvDB               = "BAYAN_DB"
	EnvReconnectGrace   = "BAYAN_RECONNECT_GRACE"
	EnvAudioTopK        = "BAYAN_AUDIO_TOP_K"
	EnvAudioTopKThresh  = "BAYAN_AUDIO_TOP_K_THRESHOLD"
	EnvMaxJoining       = "BAYAN_SIGNAL_MAX_JOINING"
	EnvJoinWait         = "BAYAN_SIGNAL_JOIN_WAIT"
	EnvTLSCert          = "BAYAN_TLS_CERT"
	EnvTLSKey           = "BAYAN_TLS_KEY"
	EnvTLSDomain        = "BAYAN_TLS_DOMAIN"
	EnvTLSACMEEmail     = "BAYAN_TLS_ACME_EMAIL"
	EnvTLSHTTPPort      = "BAYAN_TLS_HTTP_PORT"
	EnvMaxConnsPerIP    = "BAYAN_HTTP_MAX_CONNS_PER_IP"
)

// Config is a node's configuration, as written in the YAML file.
type Config struct {
	// Keys maps API keys to their secrets.
	Keys map[string]string `yaml:"keys"`
	// BindAddress is the address every socket listens on.
	BindAddress string `yaml:"bind_address"`
	// PublicURL is the address people reach the node at
	// ("https://class.example.org"): the base of join links and of the
	// signaling URL. Empty: the host each API request was addressed to.
	PublicURL string `yaml:"public_url"`
	// Port serves HTTP: WebSocket signaling, the API, /metrics and /healthz.
	Port    int           `yaml:"port"`
	RTC     RTCConfig     `yaml:"rtc"`
	Room    RoomConfig    `yaml:"room"`
	Audio   AudioConfig   `yaml:"audio"`
	Signal  SignalConfig  `yaml:"signal"`
	Webhook WebhookConfig `yaml:"webhook"`
	TLS     TLSConfig     `yaml:"tls"`
	HTTP    HTTPConfig    `yaml:"http"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// Data is the folder of what must outlive a class (the SQLite store).
	Data string `yaml:"data"`
	// DB, when set, is the store's database instead: postgres://... (or a
	// SQLite file).
	DB string `yaml:"db"`
	// ReconnectGrace is how long a participant whose connection dropped
	// stays in its room waiting to resume.
	ReconnectGrace Duration `yaml:"reconnect_grace"`

	// Dev is development mode (--dev): loopback only, the devkey/secret
	// credentials when no keys are configured, short secrets allowed.
	Dev bool `yaml:"-"`
}

// RTCConfig says where the media plane listens.
type RTCConfig struct {
	// UDPPort is the single UDP port all ICE traffic shares.
	UDPPort int `yaml:"udp_port"`
	// TCPPort is the ICE-TCP fallback port.
	TCPPort int `yaml:"tcp_port"`
	// NodeIP lists the addresses offered in ICE candidates (e.g. the public
	// address behind a 1:1 NAT); empty offers the host's own addresses. A
	// single string is accepted too.
	NodeIP StringList `yaml:"node_ip"`
	// UnbatchedSends turns off sendmmsg batching of fan-outs: every packet
	// then leaves in its own sendto (for comparison runs).
	UnbatchedSends bool `yaml:"unbatched_sends"`
}

// RoomConfig holds the room defaults.
type RoomConfig struct {
	// EmptyTimeout closes a room nobody joined after this long.
	EmptyTimeout Duration `yaml:"empty_timeout"`
	// DepartureTimeout closes a room this long after the last one left.
	DepartureTimeout Duration `yaml:"departure_timeout"`
	// MaxParticipants limits every room; 0 is unlimited.
	MaxParticipants int `yaml:"max_participants"`
	// LargeRoomThreshold is the room size (participants) above which
	// participants who may not publish (a class's students) are told only
	// of those who may, and of a running count; 0 turns it off.
	LargeRoomThreshold int `yaml:"large_room_threshold"`
}

// DefaultLargeRoomThreshold is the default room.large_room_threshold.
const DefaultLargeRoomThreshold = 50

// AudioConfig says how audio is forwarded in big rooms.
type AudioConfig struct {
	// TopK is how many of the loudest microphones each subscriber is sent
	// in a big room; 0 sends every microphone in every room.
	TopK int `yaml:"top_k"`
	// TopKThreshold is the room size (participants) above which only the
	// TopK loudest are sent; 0 applies top-K to every room.
	TopKThreshold int `yaml:"top_k_threshold"`
}

// SignalConfig says how joins are admitted.
type SignalConfig struct {
	// MaxJoining bounds the joins in progress at once on this node (from
	// the WebSocket to connected media); the others wait their turn. 0:
	// no limit.
	MaxJoining int `yaml:"max_joining"`
	// JoinWait is how long a join may wait for its turn before it is
	// refused (HTTP 503, "server busy").
	JoinWait Duration `yaml:"join_wait"`
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
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// Domain, instead, gets certificates for this name automatically from
	// Let's Encrypt (ACME), kept in the data folder's autocert folder.
	Domain string `yaml:"domain"`
	// ACMEEmail is the contact given to Let's Encrypt (optional).
	ACMEEmail string `yaml:"acme_email"`
	// HTTPPort answers Let's Encrypt's HTTP-01 challenges for Domain and
	// redirects other requests to HTTPS; 0 serves nothing there, leaving
	// the TLS-ALPN challenge, which needs port 443.
	HTTPPort int `yaml:"http_port"`
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
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
}

// WebhookConfig says where room events are posted.
type WebhookConfig struct {
	URLs []string `yaml:"urls"`
	// APIKey is the key whose secret signs the requests; it may be left out
	// when exactly one key is configured.
	APIKey string `yaml:"api_key"`
}

// Duration is a time.Duration written as a Go duration string ("30s",
// "5m") or as a number of seconds (300), the way LiveKit's config does.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New(`want a duration like "30s" or a number of seconds`)
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// ParseDuration parses "30s"-style durations and plain numbers of seconds.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 || math.IsNaN(n) || n > math.MaxInt64/float64(time.Second) {
			return 0, fmt.Errorf("duration %q is out of range", s)
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want e.g. \"30s\", \"5m\" or a number of seconds)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return d, nil
}

// StringList is a list of strings that YAML may also give as one string.
type StringList []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" || n.Value == "" {
			*l = nil
			return nil
		}
		*l = StringList{n.Value}
		return nil
	case yaml.SequenceNode:
		var s []string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*l = s
		return nil
	}
	return errors.New("want a string or a list of strings")
}

// Default returns the built-in configuration (no keys).
func Default() *Config {
	return &Config{
		BindAddress: DefaultBindAddress,
		Port:        DefaultPort,
		RTC:         RTCConfig{UDPPort: DefaultUDPPort, TCPPort: DefaultTCPPort},
		Room: RoomConfig{
			EmptyTimeout:       Duration(5 * time.Minute),
			DepartureTimeout:   Duration(20 * time.Second),
			LargeRoomThreshold: DefaultLargeRoomThreshold,
		},
		Audio:          AudioConfig{TopK: DefaultAudioTopK, TopKThreshold: DefaultAudioTopKThreshold},
		Signal:         SignalConfig{MaxJoining: DefaultMaxJoining, JoinWait: Duration(DefaultJoinWait)},
		TLS:            TLSConfig{HTTPPort: DefaultACMEHTTPPort},
		HTTP:           HTTPConfig{MaxConnsPerIP: DefaultMaxConnsPerIP},
		LogLevel:       "info",
		Data:           DefaultData,
		ReconnectGrace: Duration(20 * time.Second),
	}
}

// Overrides are values given on the command line; nil (or empty, for
// NodeIP) leaves the configured value alone.
type Overrides struct {
	BindAddress *string
	Port        *int
	PublicURL   *string
	UDPPort     *int
	TCPPort     *int
	NodeIP      []string
	LogLevel    *string
	Data        *string
	DB          *string
	TLSCert     *string
	TLSKey      *string
	TLSDomain   *string
	ACMEEmail   *string
}

// Options say where Load looks.
type Options struct {
	// File is the YAML file (--config); empty falls back to $BAYAN_CONFIG,
	// and to no file at all.
	File string
	// Dev is development mode (--dev).
	Dev bool
	// Flags override the file and the environment.
	Flags Overrides
	// LookupEnv reads the environment; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Load builds the configuration from defaults, the file, the environment
// and flags, in that order of precedence (flags win), and validates it.
// It describes settings only: cmd/bayan builds a server from them.
func Load(opts Options) (*Config, error) {
	env := opts.LookupEnv
	if env == nil {
		env = os.LookupEnv
	}
	c := Default()
	file := opts.File
	if file == "" {
		file, _ = env(EnvConfig)
	}
	var problems Problems
	failed := map[string]bool{} // settings the file got wrong: checking their defaults would mislead
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		for _, err := range c.decodeYAML(data, file) {
			var se *SettingError
			if !errors.As(err, &se) {
				return nil, Problems{err} // not YAML: nothing else can be checked
			}
			problems = append(problems, err)
			failed[se.Key] = true
		}
	}
	if err := c.applyEnv(env); err != nil {
		problems = append(problems, err)
	}
	c.applyFlags(opts.Flags)
	c.Dev = opts.Dev
	if c.Dev {
		if opts.Flags.BindAddress == nil {
			c.BindAddress = DevBindAddress
		}
		if len(c.Keys) == 0 {
			c.Keys = map[string]string{DevAPIKey: DevAPISecret}
		}
	}
	for _, err := range c.check() {
		if se := (*SettingError)(nil); !errors.As(err, &se) || !failed[se.Key] {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return c, nil
}

// Parse reads a YAML configuration over the defaults, without the
// environment, flags or validation. Its error is Problems: every
// setting the YAML gets wrong.
func Parse(data []byte) (*Config, error) {
	c := Default()
	if problems := c.decodeYAML(data, ""); len(problems) > 0 {
		return nil, Problems(problems)
	}
	return c, nil
}

func (c *Config) applyEnv(env func(string) (string, bool)) error {
	get := func(name string) (string, bool) {
		v, ok := env(name)
		if !ok || strings.TrimSpace(v) == "" {
			return "", false
		}
		return strings.TrimSpace(v), true
	}
	if v, ok := get(EnvKeys); ok {
		keys, err := ParseKeys(v)
		if err != nil {
			return fmt.Errorf("%s: %w", EnvKeys, err)
		}
		c.Keys = keys
	}
	if v, ok := get(EnvBindAddress); ok {
		c.BindAddress = v
	}
	if v, ok := get(EnvPublicURL); ok {
		c.PublicURL = v
	}
	ints := []struct {
		name string
		dst  *int
	}{
		{EnvPort, &c.Port},
		{EnvUDPPort, &c.RTC.UDPPort},
		{EnvTCPPort, &c.RTC.TCPPort},
		{EnvMaxParticipants, &c.Room.MaxParticipants},
		{EnvLargeRoom, &c.Room.LargeRoomThreshold},
		{EnvAudioTopK, &c.Audio.TopK},
		{EnvAudioTopKThresh, &c.Audio.TopKThreshold},
		{EnvMaxJoining, &c.Signal.MaxJoining},
		{EnvTLSHTTPPort, &c.TLS.HTTPPort},
		{EnvMaxConnsPerIP, &c.HTTP.MaxConnsPerIP},
	}
	for _, e := range ints {
		if v, ok := get(e.name); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%s: %q is not a number", e.name, v)
			}
			*e.dst = n
		}
	}
	durations := []struct {
		name string
		dst  *Duration
	}{
		{EnvEmptyTimeout, &c.Room.EmptyTimeout},
		{EnvDepartureTimeout, &c.Room.DepartureTimeout},
		{EnvReconnectGrace, &c.ReconnectGrace},
		{EnvJoinWait, &c.Signal.JoinWait},
	}
	for _, e := range durations {
		if v, ok := get(e.name); ok {
			d, err := ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s: %w", e.name, err)
			}
			*e.dst = Duration(d)
		}
	}
	if v, ok := get(EnvNodeIP); ok {
		c.RTC.NodeIP = splitList(v)
	}
	if v, ok := get(EnvUnbatchedSends); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s: %q is not true or false", EnvUnbatchedSends, v)
		}
		c.RTC.UnbatchedSends = b
	}
	if v, ok := get(EnvWebhookURLs); ok {
		c.Webhook.URLs = splitList(v)
	}
	if v, ok := get(EnvWebhookAPIKey); ok {
		c.Webhook.APIKey = v
	}
	if v, ok := get(EnvLogLevel); ok {
		c.LogLevel = v
	}
	if v, ok := get(EnvData); ok {
		c.Data = v
	}
	if v, ok := get(EnvDB); ok {
		c.DB = v
	}
	for _, e := range []struct {
		name string
		dst  *string
	}{{EnvTLSCert, &c.TLS.Cert}, {EnvTLSKey, &c.TLS.Key}, {EnvTLSDomain, &c.TLS.Domain}, {EnvTLSACMEEmail, &c.TLS.ACMEEmail}} {
		if v, ok := get(e.name); ok {
			*e.dst = v
		}
	}
	return nil
}

func (c *Config) applyFlags(f Overrides) {
	if f.BindAddress != nil {
		c.BindAddress = *f.BindAddress
	}
	if f.Port != nil {
		c.Port = *f.Port
	}
	if f.PublicURL != nil {
		c.PublicURL = *f.PublicURL
	}
	if f.UDPPort != nil {
		c.RTC.UDPPort = *f.UDPPort
	}
	if f.TCPPort != nil {
		c.RTC.TCPPort = *f.TCPPort
	}
	if len(f.NodeIP) > 0 {
		c.RTC.NodeIP = slices.Clone(f.NodeIP)
	}
	if f.LogLevel != nil {
		c.LogLevel = *f.LogLevel
	}
	if f.Data != nil {
		c.Data = *f.Data
	}
	if f.DB != nil {
		c.DB = *f.DB
	}
	for _, o := range []struct{ flag, dst *string }{
		{f.TLSCert, &c.TLS.Cert}, {f.TLSKey, &c.TLS.Key}, {f.TLSDomain, &c.TLS.Domain}, {f.ACMEEmail, &c.TLS.ACMEEmail},
	} {
		if o.flag != nil {
			*o.dst = *o.flag
		}
	}
}

// splitList splits a comma- or whitespace-separated list.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
}

// ParseKeys parses API keys written "key: secret", several separated by
// commas or newlines (the format of LiveKit's LIVEKIT_KEYS).
func ParseKeys(s string) (map[string]string, error) {
	keys := map[string]string{}
	for _, entry := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		k, v, ok := strings.Cut(entry, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("entry %q is not of the form \"key: secret\"", redact(entry))
		}
		if _, dup := keys[k]; dup {
			return nil, fmt.Errorf("API key %q is given twice", k)
		}
		keys[k] = v
	}
	if len(keys) == 0 {
		return nil, errors.New("no \"key: secret\" entry found")
	}
	return keys, nil
}

// redact hides what may be a secret in an error message.
func redact(entry string) string {
	if len(entry) <= 4 {
		return "****"
	}
	return entry[:4] + "****"
}

// ErrNoKeys is returned when no API key is configured outside dev mode.
var ErrNoKeys = errors.New("no API keys configured. Set them in the config file " +
	"(keys: {mykey: <secret of at least 32 characters>}) or in " + EnvKeys + "=\"mykey: <secret>\", " +
	"or run with --dev to use the development key " + DevAPIKey + " / " + DevAPISecret)

// ErrShortSecret is wrapped by the error for a secret below MinSecretLength.
var ErrShortSecret = errors.New("API secret too short")

// Validate checks the configuration; its error is Problems, every problem
// found, each naming its setting and saying how to fix it.
func (c *Config) Validate() error {
	if problems := c.check(); len(problems) > 0 {
		return Problems(problems)
	}
	return nil
}

// check returns every problem with the configuration, each a *SettingError.
func (c *Config) check() []error {
	var problems []error
	bad := func(key, format string, args ...any) {
		problems = append(problems, &SettingError{Key: key, Err: fmt.Errorf(format, args...)})
	}
	if len(c.Keys) == 0 {
		problems = append(problems, &SettingError{Key: "keys", Err: ErrNoKeys})
	}
	keyNames := make([]string, 0, len(c.Keys))
	for k := range c.Keys {
		keyNames = append(keyNames, k)
	}
	sort.Strings(keyNames)
	for _, k := range keyNames {
		s := c.Keys[k]
		if k == "" || strings.TrimSpace(s) == "" {
			bad("keys", "API key %q has an empty secret", k)
		} else if len(s) < MinSecretLength && !c.Dev {
			bad("keys", "%w: the secret of API key %q has %d characters; at least %d are required "+
				"(generate one with `openssl rand -base64 32`). Short secrets are only accepted with --dev",
				ErrShortSecret, k, len(s), MinSecretLength)
		}
	}
	if strings.TrimSpace(c.BindAddress) == "" {
		bad("bind_address", "empty")
	}
	if c.PublicURL != "" {
		if _, err := publicurl.Parse(c.PublicURL); err != nil {
			bad("public_url", "%w (want e.g. https://class.example.org)", err)
		}
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"port", c.Port}, {"rtc.udp_port", c.RTC.UDPPort}, {"rtc.tcp_port", c.RTC.TCPPort}, {"tls.http_port", c.TLS.HTTPPort}} {
		if p.v < 0 || p.v > 65535 {
			bad(p.name, "%d is not a port number (0-65535; 0 picks a free port)", p.v)
		}
	}
	for _, ip := range c.RTC.NodeIP {
		if net.ParseIP(ip) == nil {
			bad("rtc.node_ip", "%q is not an IP address", ip)
		}
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{{"room.empty_timeout", c.Room.EmptyTimeout}, {"room.departure_timeout", c.Room.DepartureTimeout}} {
		// Rooms keep their timeouts in whole seconds (as LiveKit's Room does).
		if d.v > 0 && time.Duration(d.v) < time.Second {
			bad(d.name, "%v is under a second; rooms count their timeouts in whole seconds", time.Duration(d.v))
		}
	}
	for _, n := range []struct {
		name, zero string
		v          int
	}{
		{"room.max_participants", "0 means unlimited", c.Room.MaxParticipants},
		{"room.large_room_threshold", "0 turns large-room mode off", c.Room.LargeRoomThreshold},
		{"signal.max_joining", "0 means no limit", c.Signal.MaxJoining},
		{"audio.top_k", "0 forwards every microphone", c.Audio.TopK},
		{"audio.top_k_threshold", "0 applies top-K to every room", c.Audio.TopKThreshold},
	} {
		if n.v < 0 {
			bad(n.name, "%d is negative (%s)", n.v, n.zero)
		}
	}
	if c.HTTP.MaxConnsPerIP < 0 {
		bad("http.max_conns_per_ip", "%d is negative (0 means the default, %d)", c.HTTP.MaxConnsPerIP, DefaultMaxConnsPerIP)
	}
	if err := c.TLS.validate(c.Port); err != nil {
		problems = append(problems, err)
	}
	if _, err := c.SlogLevel(); err != nil {
		problems = append(problems, err)
	}
	for _, u := range c.Webhook.URLs {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad("webhook.urls", "%q is not an absolute http:// or https:// URL", u)
		}
	}
	if len(c.Webhook.URLs) > 0 && len(c.Keys) > 0 {
		if _, err := c.webhookKey(); err != nil {
			problems = append(problems, err)
		}
	}
	return problems
}

// validate checks that the TLS settings name one way to a certificate, and
// that with a domain the ACME server has a port to check it on (port is
// the node's HTTPS port). Its error is a *SettingError.
func (t TLSConfig) validate(port int) error {
	files := t.Cert != "" || t.Key != ""
	bad := func(key, format string, args ...any) error {
		return &SettingError{Key: key, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case files && (t.Cert == "" || t.Key == ""):
		return bad("tls.cert", "tls.cert and tls.key go together: set both, the certificate (PEM, with its chain) and its private key")
	case files && t.Domain != "":
		return bad("tls.domain", "tls.cert/tls.key and tls.domain exclude each other: a certificate from files, or one obtained for the domain")
	case t.ACMEEmail != "" && t.Domain == "":
		return bad("tls.acme_email", "only used with tls.domain (automatic certificates)")
	case t.Domain != "" && (strings.ContainsAny(t.Domain, ":/ ") || !strings.Contains(strings.Trim(t.Domain, "."), ".")):
		return bad("tls.domain", "%q is not a domain name; want the bare name, e.g. class.example.org", t.Domain)
	case t.Domain != "" && t.HTTPPort == 0 && port != 443:
		return bad("tls.domain", "needs a port for Let's Encrypt to check it on: tls.http_port (80) "+
			"for HTTP-01, or port 443 for TLS-ALPN; port is %d and tls.http_port 0", port)
	}
	return nil
}

// webhookKey is the API key that signs webhooks.
func (c *Config) webhookKey() (string, error) {
	k := c.Webhook.APIKey
	if k == "" {
		if len(c.Keys) != 1 {
			return "", &SettingError{Key: "webhook.api_key", Err: errors.New("required when several API keys are configured")}
		}
		for only := range c.Keys {
			return only, nil
		}
	}
	if _, ok := c.Keys[k]; !ok {
		return "", &SettingError{Key: "webhook.api_key", Err: fmt.Errorf("%q is not one of the configured keys", k)}
	}
	return k, nil
}

// SlogLevel returns the log level as a slog.Level.
func (c *Config) SlogLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, &SettingError{Key: "log_level", Err: fmt.Errorf("%q is not one of debug, info, warn, error", c.LogLevel)}
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
