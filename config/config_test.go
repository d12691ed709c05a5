package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

const (
	longSecret  = "0123456789abcdef0123456789abcdef"  // 32 characters
	otherSecret = "fedcba9876543210fedcba9876543210x" // 33
)

// envMap returns a LookupEnv reading only m, so tests never see the
// machine's BAYAN_* variables.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bayan.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// flags parses args as serve's setting flags.
func flags(t *testing.T, args ...string) *Flags {
	t.Helper()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	f := NewFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

const fullYAML = `
keys:
  key1: ` + longSecret + `
bind_address: 10.0.0.5
port: 9000
rtc:
  udp_port: 9002
  tcp_port: 9001
  node_ip: [203.0.113.7, 2001:db8::7]
room:
  empty_timeout: 10m
  departure_timeout: 30   # seconds, as LiveKit writes it
  max_participants: 50
  large_room_threshold: 200
audio:
  top_k: 4
  top_k_threshold: 100
signal:
  max_joining: 8
  join_wait: 5s
webhook:
  urls: [http://hooks.example/a, http://hooks.example/b]
  api_key: key1
tls:
  domain: class.example.org
  acme_email: ops@example.org
  http_port: 8080
http:
  max_conns_per_ip: 200
log_level: debug
reconnect_grace: 45s
data: /var/lib/bayan
db: postgres://bayan@db.example/bayan
`

func TestParseFull(t *testing.T) {
	c, err := Load(Options{File: writeFile(t, fullYAML), LookupEnv: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Keys:        map[string]string{"key1": longSecret},
		BindAddress: "10.0.0.5",
		Port:        9000,
		RTC:         RTCConfig{UDPPort: 9002, TCPPort: 9001, NodeIP: StringList{"203.0.113.7", "2001:db8::7"}},
		Room: RoomConfig{
			EmptyTimeout:       Duration(10 * time.Minute),
			DepartureTimeout:   Duration(30 * time.Second),
			MaxParticipants:    50,
			LargeRoomThreshold: 200,
		},
		Audio:          AudioConfig{TopK: 4, TopKThreshold: 100},
		Signal:         SignalConfig{MaxJoining: 8, JoinWait: Duration(5 * time.Second)},
		Webhook:        WebhookConfig{URLs: []string{"http://hooks.example/a", "http://hooks.example/b"}, APIKey: "key1"},
		TLS:            TLSConfig{Domain: "class.example.org", ACMEEmail: "ops@example.org", HTTPPort: 8080},
		HTTP:           HTTPConfig{MaxConnsPerIP: 200},
		LogLevel:       "debug",
		ReconnectGrace: Duration(45 * time.Second),
		Data:           "/var/lib/bayan",
		DB:             "postgres://bayan@db.example/bayan",
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("parsed\n%+v\nwant\n%+v", c, want)
	}
	if dsn := c.StoreDSN(); dsn != "postgres://bayan@db.example/bayan" {
		t.Errorf("store DSN %q, want the db setting", dsn)
	}
	if cache := c.ACMECache(); cache != filepath.Join("/var/lib/bayan", "autocert") {
		t.Errorf("ACME cache %q, want autocert in the data folder", cache)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Load(Options{LookupEnv: envMap(map[string]string{EnvKeys: "k: " + longSecret})})
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Keys = map[string]string{"k": longSecret}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("loaded %+v, want the defaults %+v", c, want)
	}
	if c.BindAddress != "0.0.0.0" || c.Port != 7880 || c.RTC.TCPPort != 7881 || c.RTC.UDPPort != 7882 {
		t.Errorf("default addresses: %q %d %d %d", c.BindAddress, c.Port, c.RTC.TCPPort, c.RTC.UDPPort)
	}
	if c.LogLevel != "info" || c.ReconnectGrace != Duration(20*time.Second) ||
		c.Room.EmptyTimeout != Duration(5*time.Minute) || c.Room.DepartureTimeout != Duration(20*time.Second) || c.Room.MaxParticipants != 0 ||
		c.Audio.TopK != 3 || c.Audio.TopKThreshold != 50 || c.Room.LargeRoomThreshold != 50 ||
		c.Signal.MaxJoining != 32 || c.Signal.JoinWait != Duration(10*time.Second) || c.HTTP.MaxConnsPerIP != 1000 {
		t.Errorf("defaults %+v", c)
	}
	if len(c.RTC.NodeIP) != 0 || len(c.Webhook.URLs) != 0 {
		t.Errorf("unexpected node IPs or webhooks: %+v", c)
	}
}

func TestNodeIPScalar(t *testing.T) {
	c, err := Parse([]byte("rtc:\n  node_ip: 198.51.100.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual([]string(c.RTC.NodeIP), []string{"198.51.100.1"}) {
		t.Fatalf("node_ip %v", c.RTC.NodeIP)
	}
}

func TestEmptyFile(t *testing.T) {
	c, err := Load(Options{File: writeFile(t, "# nothing\n"), Dev: true, LookupEnv: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != DefaultPort {
		t.Fatalf("port %d", c.Port)
	}
}

func TestConfigFromEnvVar(t *testing.T) {
	p := writeFile(t, "keys: {fromfile: "+longSecret+"}\nport: 9100\n")
	c, err := Load(Options{LookupEnv: envMap(map[string]string{EnvConfig: p})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9100 || c.Keys["fromfile"] != longSecret {
		t.Fatalf("BAYAN_CONFIG not read: %+v", c)
	}
	// --config wins over BAYAN_CONFIG.
	p2 := writeFile(t, "keys: {fromflag: "+longSecret+"}\nport: 9200\n")
	c, err = Load(Options{File: p2, LookupEnv: envMap(map[string]string{EnvConfig: p})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9200 || c.Keys["fromflag"] != longSecret {
		t.Fatalf("--config did not win: %+v", c)
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, `
keys: {filekey: `+longSecret+`}
bind_address: 10.0.0.1
port: 1001
rtc: {udp_port: 1002, tcp_port: 1003, node_ip: [192.0.2.1]}
room: {empty_timeout: 1m, departure_timeout: 1s, max_participants: 1, large_room_threshold: 7}
audio: {top_k: 1, top_k_threshold: 1}
webhook: {urls: [http://file.example], api_key: filekey}
log_level: warn
reconnect_grace: 1s
data: /file/data
`)
	env := map[string]string{
		EnvKeys:                          "envkey: " + otherSecret,
		Env("bind_address"):              "10.0.0.2",
		Env("port"):                      "2001",
		Env("rtc.udp_port"):              "2002",
		Env("rtc.tcp_port"):              "2003",
		Env("rtc.node_ip"):               "192.0.2.2, 192.0.2.3",
		Env("room.empty_timeout"):        "2m",
		Env("room.departure_timeout"):    "2",
		Env("room.max_participants"):     "2",
		Env("room.large_room_threshold"): "0",
		Env("webhook.urls"):              "http://env.example/1,http://env.example/2",
		Env("webhook.api_key"):           "envkey",
		Env("log_level"):                 "error",
		Env("reconnect_grace"):           "2s",
		Env("audio.top_k"):               "2",
		Env("audio.top_k_threshold"):     "0",
		Env("signal.max_joining"):        "0",
		Env("signal.join_wait"):          "3s",
		Env("data"):                      "/env/data",
	}

	// Environment over file.
	c, err := Load(Options{File: file, LookupEnv: envMap(env)})
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Keys:        map[string]string{"envkey": otherSecret},
		BindAddress: "10.0.0.2",
		Port:        2001,
		RTC:         RTCConfig{UDPPort: 2002, TCPPort: 2003, NodeIP: StringList{"192.0.2.2", "192.0.2.3"}},
		Room: RoomConfig{
			EmptyTimeout:       Duration(2 * time.Minute),
			DepartureTimeout:   Duration(2 * time.Second),
			MaxParticipants:    2,
			LargeRoomThreshold: 0,
		},
		Audio:          AudioConfig{TopK: 2, TopKThreshold: 0},
		Signal:         SignalConfig{MaxJoining: 0, JoinWait: Duration(3 * time.Second)},
		Webhook:        WebhookConfig{URLs: []string{"http://env.example/1", "http://env.example/2"}, APIKey: "envkey"},
		TLS:            TLSConfig{HTTPPort: DefaultACMEHTTPPort},
		HTTP:           HTTPConfig{MaxConnsPerIP: DefaultMaxConnsPerIP},
		LogLevel:       "error",
		ReconnectGrace: Duration(2 * time.Second),
		Data:           "/env/data",
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("env over file:\n%+v\nwant\n%+v", c, want)
	}

	// Flags over environment.
	c, err = Load(Options{File: file, LookupEnv: envMap(env), Flags: flags(t,
		"--bind=10.0.0.3", "--port=3001", "--udp-port=3002", "--tcp-port=3003",
		"--node-ip=192.0.2.4", "--log-level=debug", "--data=/flag/data")})
	if err != nil {
		t.Fatal(err)
	}
	if c.BindAddress != "10.0.0.3" || c.Port != 3001 || c.RTC.UDPPort != 3002 || c.RTC.TCPPort != 3003 ||
		!reflect.DeepEqual([]string(c.RTC.NodeIP), []string{"192.0.2.4"}) || c.LogLevel != "debug" || c.Data != "/flag/data" {
		t.Fatalf("flags over env: %+v", c)
	}
	// What flags do not set keeps the environment's value.
	if c.Room.MaxParticipants != 2 || c.Keys["envkey"] != otherSecret {
		t.Fatalf("env lost under flags: %+v", c)
	}

	// Empty environment variables are ignored.
	c, err = Load(Options{File: file, LookupEnv: envMap(map[string]string{Env("port"): "", EnvKeys: "  "})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 1001 || c.Keys["filekey"] != longSecret {
		t.Fatalf("empty env overrode file: %+v", c)
	}
	if dsn := c.StoreDSN(); dsn != filepath.Join("/file/data", "bayan.db") {
		t.Errorf("store DSN %q, want the SQLite file in the data folder", dsn)
	}
}

func TestPortZero(t *testing.T) {
	c, err := Load(Options{Dev: true, LookupEnv: envMap(nil), Flags: flags(t, "--port=0", "--udp-port=0", "--tcp-port=0")})
	if err != nil {
		t.Fatal(err)
	}
	if c.BindAddress != "127.0.0.1" || c.Port != 0 || c.RTC.UDPPort != 0 || c.RTC.TCPPort != 0 {
		t.Fatalf("addresses %q %d %d %d", c.BindAddress, c.Port, c.RTC.UDPPort, c.RTC.TCPPort)
	}
}

func TestDev(t *testing.T) {
	c, err := Load(Options{Dev: true, LookupEnv: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Keys, map[string]string{DevAPIKey: DevAPISecret}) {
		t.Errorf("dev keys %v", c.Keys)
	}
	if !c.Dev || c.BindAddress != DevBindAddress || c.Port != 7880 || c.RTC.UDPPort != 7882 || c.RTC.TCPPort != 7881 {
		t.Errorf("dev mode %v, addresses %q %d %d %d", c.Dev, c.BindAddress, c.Port, c.RTC.UDPPort, c.RTC.TCPPort)
	}

	// --dev binds loopback even over a configured address, unless --bind is given.
	c, err = Load(Options{Dev: true, LookupEnv: envMap(map[string]string{Env("bind_address"): "0.0.0.0"})})
	if err != nil {
		t.Fatal(err)
	}
	if c.BindAddress != DevBindAddress {
		t.Errorf("dev bind %q", c.BindAddress)
	}
	c, err = Load(Options{Dev: true, LookupEnv: envMap(nil), Flags: flags(t, "--bind=0.0.0.0")})
	if err != nil {
		t.Fatal(err)
	}
	if c.BindAddress != "0.0.0.0" {
		t.Errorf("--bind ignored in dev mode: %q", c.BindAddress)
	}

	// Configured keys are kept in dev mode, and may be short there.
	c, err = Load(Options{Dev: true, LookupEnv: envMap(map[string]string{EnvKeys: "mine: short"})})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Keys, map[string]string{"mine": "short"}) {
		t.Errorf("dev with keys: %v", c.Keys)
	}
}

func TestParseKeys(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
	}{
		{"k: s", map[string]string{"k": "s"}},
		{"k:s", map[string]string{"k": "s"}},
		{"a: 1, b: 2", map[string]string{"a": "1", "b": "2"}},
		{"a: 1\nb: 2\n", map[string]string{"a": "1", "b": "2"}},
		{"a: 1\r\n\r\n b :2 ,", map[string]string{"a": "1", "b": "2"}},
		{"k: se:cr:et", map[string]string{"k": "se:cr:et"}},
	} {
		got, err := ParseKeys(tc.in)
		if err != nil {
			t.Errorf("ParseKeys(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseKeys(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, in := range []string{"", " , ", "justakey", "k:", ": secret", "a: 1, a: 2"} {
		if _, err := ParseKeys(in); err == nil {
			t.Errorf("ParseKeys(%q) accepted", in)
		}
	}
	// A malformed entry must not be echoed whole: it may be a secret.
	_, err := ParseKeys("supersecretvalue")
	if err == nil || strings.Contains(err.Error(), "supersecretvalue") {
		t.Errorf("error leaks the entry: %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30s": 30 * time.Second, "5m": 5 * time.Minute, "300": 300 * time.Second, "1.5": 1500 * time.Millisecond, "0": 0,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "soon", "-5s", "-1", "inf", "NaN", "1e300"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        map[string]string
		dev        bool
		flags      []string
		want       string // substring of the error
		is         error
	}{
		{name: "no keys", want: "--dev", is: ErrNoKeys},
		{name: "short secret file", yaml: "keys: {k: short}", want: `API key "k" has 5 characters; at least 32`, is: ErrShortSecret},
		{name: "short secret env", env: map[string]string{EnvKeys: "k: 0123456789abcdef0123456789abcde"}, want: "at least 32", is: ErrShortSecret},
		{name: "bad BAYAN_KEYS", env: map[string]string{EnvKeys: "nocolon"}, want: EnvKeys},
		{name: "unknown field", yaml: "keys: {k: " + longSecret + "}\nprot: 1", want: `bayan.yaml:2: prot: unknown setting; did you mean "port"?`},
		{name: "bad yaml", yaml: "keys: [", want: "bayan.yaml"},
		{name: "bad duration", yaml: "room: {empty_timeout: soon}", dev: true, want: `bayan.yaml:1: room.empty_timeout: invalid duration "soon"`},
		{name: "bad env port", env: map[string]string{Env("port"): "http"}, dev: true, want: Env("port")},
		{name: "bad env duration", env: map[string]string{Env("reconnect_grace"): "x"}, dev: true, want: Env("reconnect_grace")},
		{name: "port range", flags: []string{"--port=70000"}, dev: true, want: "port: 70000 is not a port number"},
		{name: "negative udp", yaml: "rtc: {udp_port: -1}", dev: true, want: "rtc.udp_port"},
		{name: "node ip", flags: []string{"--node-ip=example.com"}, dev: true, want: "rtc.node_ip"},
		{name: "log level", flags: []string{"--log-level=loud"}, dev: true, want: "log_level"},
		{name: "max participants", yaml: "room: {max_participants: -3}", dev: true, want: "max_participants"},
		{name: "negative large room threshold", yaml: "room: {large_room_threshold: -1}", dev: true, want: "room.large_room_threshold"},
		{name: "negative max joining", env: map[string]string{Env("signal.max_joining"): "-1"}, dev: true, want: "signal.max_joining"},
		{name: "negative top k", yaml: "audio: {top_k: -1}", dev: true, want: "audio.top_k"},
		{name: "negative top k threshold", env: map[string]string{Env("audio.top_k_threshold"): "-5"}, dev: true, want: "audio.top_k_threshold"},
		{name: "webhook key unknown", yaml: "webhook: {urls: [http://x], api_key: nope}", dev: true, want: "webhook.api_key"},
		{name: "webhook key ambiguous", yaml: "keys: {a: " + longSecret + ", b: " + longSecret + "}\nwebhook: {urls: [http://x]}", want: "webhook.api_key: required"},
		{name: "sub-second room timeout", yaml: "room: {departure_timeout: 500ms}", dev: true, want: "room.departure_timeout: 500ms is under a second"},
		{name: "empty bind", flags: []string{"--bind="}, dev: true, want: "bind_address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Dev: tc.dev, Flags: flags(t, tc.flags...), LookupEnv: envMap(tc.env)}
			if tc.yaml != "" {
				opts.File = writeFile(t, tc.yaml)
			}
			_, err := Load(opts)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
		})
	}
	if _, err := Load(Options{File: filepath.Join(t.TempDir(), "missing.yaml"), LookupEnv: envMap(nil)}); err == nil ||
		!strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// TLS settings come from the file, BAYAN_TLS_* and the --tls-* flags, in
// that order of precedence, and reach server.Config: files as they are, a
// domain with its certificate cache in the data folder and its HTTP-01
// port (none at 0). cmd/bayan's TestServerConfigTLS maps them.
func TestTLSSettings(t *testing.T) {
	file := writeFile(t, "keys: {k: "+longSecret+"}\ntls: {cert: /file/cert.pem, key: /file/key.pem}\ndata: /srv/bayan")
	c, err := Load(Options{File: file, LookupEnv: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.TLS; got != (TLSConfig{Cert: "/file/cert.pem", Key: "/file/key.pem", HTTPPort: DefaultACMEHTTPPort}) || !c.TLS.Enabled() {
		t.Errorf("from the file: %+v", got)
	}
	env := map[string]string{Env("tls.cert"): "/env/cert.pem", Env("tls.key"): "/env/key.pem"}
	if c, err = Load(Options{File: file, LookupEnv: envMap(env)}); err != nil {
		t.Fatal(err)
	}
	if c.TLS.Cert != "/env/cert.pem" || c.TLS.Key != "/env/key.pem" {
		t.Errorf("env over file: %+v", c.TLS)
	}
	// Flags over both: a domain instead of the files.
	tlsFlags := flags(t, "--tls-cert=", "--tls-key=", "--tls-domain=class.example.org", "--tls-acme-email=ops@example.org")
	if c, err = Load(Options{File: file, LookupEnv: envMap(env), Flags: tlsFlags}); err != nil {
		t.Fatal(err)
	}
	want := TLSConfig{Domain: "class.example.org", ACMEEmail: "ops@example.org", HTTPPort: DefaultACMEHTTPPort}
	if got := c.TLS; got != want || c.ACMECache() != filepath.Join("/srv/bayan", ACMECacheDir) || c.BindAddress != "0.0.0.0" {
		t.Errorf("flags over env: %+v, want %+v", got, want)
	}
	env = map[string]string{Env("tls.domain"): "class.example.org", Env("tls.acme_email"): "a@example.org", Env("tls.http_port"): "0",
		Env("port"): "443", Env("http.max_conns_per_ip"): "50"}
	if c, err = Load(Options{LookupEnv: envMap(env), Dev: true}); err != nil {
		t.Fatal(err)
	}
	if c.TLS.HTTPPort != 0 || c.TLS.ACMEEmail != "a@example.org" || c.HTTP.MaxConnsPerIP != 50 {
		t.Errorf("tls.http_port 0 on port 443 and http.max_conns_per_ip from env: %+v %+v", c.TLS, c.HTTP)
	}
	if c, err = Load(Options{LookupEnv: envMap(nil), Dev: true}); err != nil {
		t.Fatal(err)
	}
	if c.TLS.Enabled() || c.TLS != (TLSConfig{HTTPPort: DefaultACMEHTTPPort}) {
		t.Errorf("TLS without settings: %+v", c.TLS)
	}

	for _, tc := range []struct {
		name, yaml string
		env        map[string]string
		want       string
	}{
		{name: "cert without key", yaml: "tls: {cert: c.pem}", want: "tls.cert and tls.key go together"},
		{name: "key without cert", env: map[string]string{Env("tls.key"): "k.pem"}, want: "tls.cert and tls.key go together"},
		{name: "files and domain", yaml: "tls: {cert: c.pem, key: k.pem, domain: a.example.org}", want: "exclude each other"},
		{name: "email without domain", yaml: "tls: {acme_email: a@example.org}", want: "tls.acme_email"},
		{name: "domain with scheme", yaml: "tls: {domain: 'https://a.example.org'}", want: `tls.domain: "https://a.example.org"`},
		{name: "bare domain", env: map[string]string{Env("tls.domain"): "localhost"}, want: "tls.domain"},
		{name: "http port range", yaml: "tls: {domain: a.example.org, http_port: 70000}", want: "tls.http_port: 70000"},
		{name: "bad env http port", env: map[string]string{Env("tls.http_port"): "eighty"}, want: Env("tls.http_port")},
		{name: "no challenge port", yaml: "tls: {domain: a.example.org, http_port: 0}", want: "port 443 for TLS-ALPN"},
		{name: "negative conns", yaml: "http: {max_conns_per_ip: -1}", want: "http.max_conns_per_ip"},
		{name: "misspelt key", yaml: "tls: {certificate: c.pem}", want: "certificate"},
	} {
		opts := Options{Dev: true, LookupEnv: envMap(tc.env)}
		if tc.yaml != "" {
			opts.File = writeFile(t, tc.yaml)
		}
		if _, err := Load(opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestWebhookDefaultKey(t *testing.T) {
	c, err := Load(Options{File: writeFile(t, "keys: {only: "+longSecret+"}\nwebhook: {urls: [http://x]}"), LookupEnv: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.WebhookAPIKey(); got != "only" {
		t.Fatalf("webhook key %q", got)
	}
}

func TestLogger(t *testing.T) {
	var sb strings.Builder
	c := Default()
	c.LogLevel = "WARN"
	l := c.Logger(&sb)
	l.Info("hidden")
	l.Warn("shown", "k", "v")
	if strings.Contains(sb.String(), "hidden") || !strings.Contains(sb.String(), "level=WARN msg=shown k=v") {
		t.Fatalf("log output %q", sb.String())
	}
}

// The YAML example in docs/config.md must stay a valid configuration.
func TestDocumentedExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	if !ok {
		t.Fatal("docs/config.md has no ```yaml block")
	}
	example, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("docs/config.md's yaml block is not closed")
	}
	c, err := Load(Options{File: writeFile(t, example), LookupEnv: envMap(nil)})
	if err != nil {
		t.Fatalf("documented example: %v", err)
	}
	d := Default()
	if c.Port != d.Port || c.RTC.UDPPort != d.RTC.UDPPort || c.RTC.TCPPort != d.RTC.TCPPort ||
		c.BindAddress != d.BindAddress || c.Room != d.Room || c.LogLevel != d.LogLevel || c.ReconnectGrace != d.ReconnectGrace {
		t.Errorf("documented example's values differ from the defaults it claims:\n%+v\n%+v", c, d)
	}
}

// A setting the file gets wrong is named by its YAML key and line, in
// words rather than Go types.
func TestErrorsNameTheSetting(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"port: http", `bayan.yaml:1: port: want a whole number, not "http"`},
		{"room:\n  empty_timeout: soon", `bayan.yaml:2: room.empty_timeout: invalid duration "soon"`},
		{"room: {departure_timeout: [1]}", `bayan.yaml:1: room.departure_timeout: want a duration like "30s"`},
		{"rtc: {unbatched_sends: maybe}", `bayan.yaml:1: rtc.unbatched_sends: want true or false, not "maybe"`},
		{"rtc: {node_ip: {a: b}}", `bayan.yaml:1: rtc.node_ip: want a string or a list of strings`},
		{"keys: [a, b]", `bayan.yaml:1: keys: want a mapping of names to strings, not a list`},
		{"webhook: {urls: http://x}", `bayan.yaml:1: webhook.urls: want a list of strings, not "http://x"`},
		{"audio: 3", `bayan.yaml:1: audio: want a mapping of settings, not "3"`},
		{"port: 1\nport: 2", `bayan.yaml:2: port: given twice (first on line 1)`},
		{"- port: 1", `bayan.yaml:1: want a mapping of settings`},
	} {
		t.Run(tc.yaml, func(t *testing.T) {
			_, err := Load(Options{File: writeFile(t, tc.yaml), Dev: true, LookupEnv: envMap(nil)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
			for _, goish := range []string{"config.", "!!", "unmarshal", "int", "[]string", "map["} {
				if strings.Contains(err.Error(), goish) {
					t.Errorf("error %q speaks Go (%q)", err, goish)
				}
			}
		})
	}
}

// A misspelt key is answered with the nearest known one, when one is near.
func TestErrorsSuggestTheNearestKey(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"room: {empty_timout: 5m}", `room.empty_timout: unknown setting; did you mean "room.empty_timeout"?`},
		{"empty_timeout: 5m", `empty_timeout: unknown setting; did you mean "room.empty_timeout"?`},
		{"log_lvel: debug", `log_lvel: unknown setting; did you mean "log_level"?`},
		{"publicurl: https://x.example", `publicurl: unknown setting; did you mean "public_url"?`},
		{"rtc: {udpport: 1}", `rtc.udpport: unknown setting; did you mean "rtc.udp_port"?`},
		{"webhooks: {urls: [http://x]}", `webhooks: unknown setting; did you mean "webhook"?`},
		{"frobnicate: 1", `frobnicate: unknown setting`},
	} {
		t.Run(tc.yaml, func(t *testing.T) {
			_, err := Load(Options{File: writeFile(t, tc.yaml), Dev: true, LookupEnv: envMap(nil)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
			if !strings.Contains(tc.want, "did you mean") && strings.Contains(err.Error(), "did you mean") {
				t.Errorf("error %q suggests a key nothing like the one given", err)
			}
		})
	}
}

// One run reports every problem of the file, and of the values, at once.
func TestErrorsAllAtOnce(t *testing.T) {
	file := writeFile(t, `
keys: {k: `+longSecret+`}
room:
  empty_timout: 5m
  max_participants: -1
port: http
rtc: {udp_port: 70000}
webhook: {urls: [hooks.example/bayan]}
log_level: loud
`)
	_, err := Load(Options{File: file, LookupEnv: envMap(nil)})
	if err == nil {
		t.Fatal("accepted")
	}
	want := []string{
		`bayan.yaml:4: room.empty_timout: unknown setting; did you mean "room.empty_timeout"?`,
		`bayan.yaml:6: port: want a whole number, not "http"`,
		`room.max_participants: -1 is negative`,
		`rtc.udp_port: 70000 is not a port number`,
		`webhook.urls: "hooks.example/bayan" is not an absolute http:// or https:// URL`,
		`log_level: "loud" is not one of`,
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not say %q:\n%v", w, err)
		}
	}
	if !strings.HasPrefix(err.Error(), "config: 6 problems:") {
		t.Errorf("error does not count its 6 problems:\n%v", err)
	}

	// keys failed to parse: that there are none is not reported besides.
	_, err = Load(Options{File: writeFile(t, "keys: [k]"), LookupEnv: envMap(nil)})
	if err == nil || strings.Contains(err.Error(), "problems") || strings.Contains(err.Error(), "no API keys") {
		t.Errorf("keys that do not parse: %v", err)
	}
}

// Webhook URLs must be absolute http(s) URLs.
func TestWebhookURLs(t *testing.T) {
	for _, u := range []string{"hooks.example/bayan", "/webhook", "ftp://hooks.example/x", "http://", "http//hooks.example", "https://%zz"} {
		_, err := Load(Options{Dev: true, LookupEnv: envMap(map[string]string{Env("webhook.urls"): u})})
		if err == nil || !strings.Contains(err.Error(), "webhook.urls: ") {
			t.Errorf("webhook URL %q: %v", u, err)
		}
	}
	for _, u := range []string{"http://hooks.example/bayan", "https://hooks.example:8443/a?b=c", "http://127.0.0.1:9/x"} {
		if _, err := Load(Options{Dev: true, LookupEnv: envMap(map[string]string{Env("webhook.urls"): u})}); err != nil {
			t.Errorf("webhook URL %q refused: %v", u, err)
		}
	}
}

// public_url comes from the file, $BAYAN_PUBLIC_URL or --public-url (in
// that rising order), reaches the server, and must be an openable base.
func TestPublicURL(t *testing.T) {
	file := writeFile(t, "public_url: https://file.example\n")
	for _, tc := range []struct {
		name  string
		env   map[string]string
		flags []string
		want  string
	}{
		{"file", nil, nil, "https://file.example"},
		{"env", map[string]string{Env("public_url"): "http://env.example:8080"}, nil, "http://env.example:8080"},
		{"flag", map[string]string{Env("public_url"): "http://env.example:8080"}, []string{"--public-url=https://flag.example/"}, "https://flag.example/"},
	} {
		c, err := Load(Options{File: file, Dev: true, LookupEnv: envMap(tc.env), Flags: flags(t, tc.flags...)})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.PublicURL != tc.want {
			t.Errorf("%s: public_url %q; want %q", tc.name, c.PublicURL, tc.want)
		}
	}
	for _, bad := range []string{"class.example.org", "ws://class.example.org", "https://", "https://class.example.org/?a=b",
		"https://class.example.org/#x", "https://class.example.org/school", "http://[::]:7880", "http://0.0.0.0:7880", "https://u:p@class.example.org"} {
		_, err := Load(Options{Dev: true, LookupEnv: envMap(map[string]string{Env("public_url"): bad})})
		if err == nil || !strings.Contains(err.Error(), "public_url: ") {
			t.Errorf("public_url %q: %v", bad, err)
		}
	}
}

// Environment names are derived from the keys: BAYAN_ and the key in
// capitals, dots as underscores, as docs/config.md lists them.
func TestEnvNames(t *testing.T) {
	for key, want := range map[string]string{
		"keys": "BAYAN_KEYS", "port": "BAYAN_PORT", "rtc.udp_port": "BAYAN_RTC_UDP_PORT",
		"room.large_room_threshold": "BAYAN_ROOM_LARGE_ROOM_THRESHOLD", "audio.top_k_threshold": "BAYAN_AUDIO_TOP_K_THRESHOLD",
		"tls.acme_email": "BAYAN_TLS_ACME_EMAIL", "http.max_conns_per_ip": "BAYAN_HTTP_MAX_CONNS_PER_IP",
	} {
		if got := Env(key); got != want {
			t.Errorf("Env(%q) = %q, want %q", key, got, want)
		}
	}
	if EnvKeys != Env("keys") {
		t.Errorf("EnvKeys %q, derived %q", EnvKeys, Env("keys"))
	}
}

// docs/config.md names every setting, its environment variable and its flag.
func TestDocumentedSettings(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings() {
		leaf := s.key[strings.LastIndex(s.key, ".")+1:]
		if !strings.Contains(string(doc), " "+leaf+":") && !strings.Contains(string(doc), "\n"+leaf+":") {
			t.Errorf("docs/config.md's example has no %s", s.key)
		}
		if !strings.Contains(string(doc), Env(s.key)) {
			t.Errorf("docs/config.md does not name %s, the variable of %s", Env(s.key), s.key)
		}
		if s.flag != "" && !strings.Contains(string(doc), "`--"+s.flag+"`") {
			t.Errorf("docs/config.md does not name --%s, the flag of %s", s.flag, s.key)
		}
	}
}
