package main

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/bayan-dev/bayan/config"
	"github.com/bayan-dev/bayan/server"
)

// noEnv is a LookupEnv that finds nothing, so tests never see the
// machine's BAYAN_* variables.
func noEnv(string) (string, bool) { return "", false }

// Every setting reaches the server.Config it configures.
func TestServerConfigFull(t *testing.T) {
	c := config.Default()
	c.Keys = map[string]string{"key1": longSecret}
	c.BindAddress, c.Port, c.PublicURL = "10.0.0.5", 9000, "https://class.example.org"
	c.RTC = config.RTCConfig{UDPPort: 9002, TCPPort: 9001, NodeIP: config.StringList{"203.0.113.7", "2001:db8::7"}, UnbatchedSends: true}
	c.Room = config.RoomConfig{EmptyTimeout: config.Duration(10 * time.Minute), DepartureTimeout: config.Duration(30 * time.Second),
		MaxParticipants: 50, LargeRoomThreshold: 200}
	c.Audio = config.AudioConfig{TopK: 4, TopKThreshold: 100}
	c.Signal = config.SignalConfig{MaxJoining: 8, JoinWait: config.Duration(5 * time.Second)}
	c.Webhook = config.WebhookConfig{URLs: []string{"http://hooks.example/a", "http://hooks.example/b"}, APIKey: "key1"}
	c.TLS = config.TLSConfig{Domain: "class.example.org", ACMEEmail: "ops@example.org", HTTPPort: 8080}
	c.HTTP.MaxConnsPerIP = 200
	c.ReconnectGrace = config.Duration(45 * time.Second)
	c.Data, c.DB = "/var/lib/bayan", "postgres://bayan@db.example/bayan"

	sc := serverConfig(c, nil)
	if sc.StoreDSN != "postgres://bayan@db.example/bayan" {
		t.Errorf("store DSN %q, want the db setting", sc.StoreDSN)
	}
	if sc.HTTPAddr != "10.0.0.5:9000" || sc.UDPAddr != "10.0.0.5:9002" || sc.TCPAddr != "10.0.0.5:9001" {
		t.Errorf("addresses: %q %q %q", sc.HTTPAddr, sc.UDPAddr, sc.TCPAddr)
	}
	if sc.LoopbackOnly || sc.Pprof {
		t.Error("LoopbackOnly or Pprof set outside dev mode")
	}
	if sc.PublicURL != "https://class.example.org" || !sc.NoBatching {
		t.Errorf("public URL %q, no batching %v", sc.PublicURL, sc.NoBatching)
	}
	if !reflect.DeepEqual(sc.NodeIPs, []string{"203.0.113.7", "2001:db8::7"}) {
		t.Errorf("NodeIPs %v", sc.NodeIPs)
	}
	if sc.Room.EmptyTimeout != 10*time.Minute || sc.Room.DepartureTimeout != 30*time.Second || sc.Room.MaxParticipants != 50 ||
		sc.Room.AudioTopK != 4 || sc.Room.AudioTopKThreshold != 100 || sc.Room.AudienceThreshold != 200 {
		t.Errorf("room %+v", sc.Room)
	}
	if sc.MaxJoining != 8 || sc.JoinWait != 5*time.Second {
		t.Errorf("join admission %d, %v", sc.MaxJoining, sc.JoinWait)
	}
	if sc.ReconnectGrace != 45*time.Second {
		t.Errorf("ReconnectGrace %v", sc.ReconnectGrace)
	}
	if sc.Webhook.APIKey != "key1" || len(sc.Webhook.URLs) != 2 {
		t.Errorf("webhook %+v", sc.Webhook)
	}
	if sc.Keys["key1"] != longSecret {
		t.Errorf("keys %v", sc.Keys)
	}
	if want := (server.TLSConfig{Domain: "class.example.org", ACMEEmail: "ops@example.org",
		CacheDir: filepath.Join("/var/lib/bayan", "autocert"), ChallengeAddr: "10.0.0.5:8080"}); sc.TLS != want {
		t.Errorf("TLS %+v, want %+v", sc.TLS, want)
	}
	if sc.HTTP.MaxConnsPerIP != 200 {
		t.Errorf("HTTP limits %+v", sc.HTTP)
	}
}

func TestServerConfigDefaults(t *testing.T) {
	c := config.Default()
	c.Keys = map[string]string{"k": longSecret}
	sc := serverConfig(c, nil)
	if sc.HTTPAddr != "0.0.0.0:7880" || sc.TCPAddr != "0.0.0.0:7881" || sc.UDPAddr != "0.0.0.0:7882" {
		t.Errorf("default addresses: %q %q %q", sc.HTTPAddr, sc.TCPAddr, sc.UDPAddr)
	}
	if sc.ReconnectGrace != 20*time.Second ||
		sc.Room.EmptyTimeout != 5*time.Minute || sc.Room.DepartureTimeout != 20*time.Second || sc.Room.MaxParticipants != 0 ||
		sc.Room.AudioTopK != 3 || sc.Room.AudioTopKThreshold != 50 || sc.Room.AudienceThreshold != 50 ||
		sc.MaxJoining != 32 || sc.JoinWait != 10*time.Second {
		t.Errorf("defaults %+v", sc)
	}
	if len(sc.NodeIPs) != 0 || len(sc.Webhook.URLs) != 0 {
		t.Errorf("unexpected node IPs or webhooks: %+v", sc)
	}
	if sc.StoreDSN != filepath.Join("data", "bayan.db") {
		t.Errorf("store DSN %q, want the SQLite file in the data folder", sc.StoreDSN)
	}
	// config keeps its own copy of the server's default: they must agree.
	if c.HTTP.MaxConnsPerIP != server.DefaultMaxConnsPerIP || config.DefaultMaxConnsPerIP != server.DefaultMaxConnsPerIP {
		t.Errorf("http.max_conns_per_ip default %d, the server's %d", c.HTTP.MaxConnsPerIP, server.DefaultMaxConnsPerIP)
	}
}

func TestServerConfigDev(t *testing.T) {
	c, err := config.Load(config.Options{Dev: true, LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	sc := serverConfig(c, nil)
	if !sc.LoopbackOnly {
		t.Error("dev mode without LoopbackOnly")
	}
	if sc.HTTPAddr != "127.0.0.1:7880" || sc.UDPAddr != "127.0.0.1:7882" || sc.TCPAddr != "127.0.0.1:7881" {
		t.Errorf("dev addresses %q %q %q", sc.HTTPAddr, sc.UDPAddr, sc.TCPAddr)
	}
	c.Port, c.RTC.UDPPort, c.RTC.TCPPort = 0, 0, 0
	if sc := serverConfig(c, nil); sc.HTTPAddr != "127.0.0.1:0" || sc.UDPAddr != "127.0.0.1:0" || sc.TCPAddr != "127.0.0.1:0" {
		t.Fatalf("addresses %q %q %q", sc.HTTPAddr, sc.UDPAddr, sc.TCPAddr)
	}
}

// TLS settings reach server.Config: files as they are, a domain with its
// certificate cache in the data folder and its HTTP-01 port (none at 0).
func TestServerConfigTLS(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  config.TLSConfig
		port int
		want server.TLSConfig
	}{
		{"files", config.TLSConfig{Cert: "/file/cert.pem", Key: "/file/key.pem", HTTPPort: 80}, 7880,
			server.TLSConfig{CertFile: "/file/cert.pem", KeyFile: "/file/key.pem"}},
		{"domain", config.TLSConfig{Domain: "class.example.org", ACMEEmail: "ops@example.org", HTTPPort: 80}, 7880,
			server.TLSConfig{Domain: "class.example.org", ACMEEmail: "ops@example.org",
				CacheDir: filepath.Join("/srv/bayan", config.ACMECacheDir), ChallengeAddr: "0.0.0.0:80"}},
		{"domain on 443 without http_port", config.TLSConfig{Domain: "class.example.org", ACMEEmail: "a@example.org"}, 443,
			server.TLSConfig{Domain: "class.example.org", ACMEEmail: "a@example.org", CacheDir: filepath.Join("/srv/bayan", config.ACMECacheDir)}},
		{"none", config.TLSConfig{HTTPPort: 80}, 7880, server.TLSConfig{}},
	} {
		c := config.Default()
		c.TLS, c.Port, c.Data = tc.tls, tc.port, "/srv/bayan"
		if got := serverConfig(c, nil).TLS; got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// With one key, webhooks are signed with it when webhook.api_key is left out.
func TestServerConfigWebhookDefaultKey(t *testing.T) {
	c := config.Default()
	c.Keys = map[string]string{"only": longSecret}
	c.Webhook.URLs = []string{"http://x"}
	if got := serverConfig(c, nil).Webhook.APIKey; got != "only" {
		t.Fatalf("webhook key %q", got)
	}
}
