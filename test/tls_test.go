package test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"
	"golang.org/x/crypto/acme"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/server"
)

// tlsClient is an HTTP client trusting only cert, naming the server
// serverName in its handshakes ("" : the URL's host).
func tlsClient(cert *testserver.Cert, serverName string) *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool, ServerName: serverName}},
	}
}

// With a certificate from files the node speaks only TLS: a WebSocket
// joins over wss://, RoomService answers over https://, and plain HTTP on
// the port gets no service.
func TestTLSFromFiles(t *testing.T) {
	cert := testserver.NewCert(t, "127.0.0.1", "localhost")
	srv := testserver.Start(t, func(c *server.Config) {
		c.TLS = server.TLSConfig{CertFile: cert.CertFile, KeyFile: cert.KeyFile}
	})
	if !strings.HasPrefix(srv.URL(), "wss://") || !strings.HasPrefix(srv.HTTPURL(), "https://") {
		t.Fatalf("URLs %s and %s, want wss:// and https://", srv.URL(), srv.HTTPURL())
	}
	client := tlsClient(cert, "")
	c := wsJoinWith(t, srv, "secure", testserver.Token(t, "tls-room", "secure", nil), "",
		&websocket.DialOptions{HTTPClient: client})
	c.ping()

	api := livekit.NewRoomServiceProtobufClient(srv.HTTPURL(), client)
	h := http.Header{}
	h.Set("Authorization", "Bearer "+apiToken(t, testserver.Key, testserver.Secret, auth.VideoGrant{RoomList: true}))
	ctx, err := twirp.WithHTTPRequestHeaders(apiContext(t), h)
	if err != nil {
		t.Fatal(err)
	}
	rooms, err := api.ListRooms(ctx, &livekit.ListRoomsRequest{})
	if err != nil {
		t.Fatalf("ListRooms over https: %v", err)
	}
	if len(rooms.Rooms) != 1 || rooms.Rooms[0].Name != "tls-room" {
		t.Fatalf("ListRooms over https: %v, want the room tls-room", rooms.Rooms)
	}

	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + srv.Addr() + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP /healthz answered 200 on the TLS port")
		}
	}
}

// The LiveKit Go SDK joins over wss:// and its media connects.
func TestTLSSDKJoins(t *testing.T) {
	testnet.Require(t)
	cert := testserver.NewCert(t, "127.0.0.1")
	srv := testserver.Start(t, func(c *server.Config) {
		c.TLS = server.TLSConfig{CertFile: cert.CertFile, KeyFile: cert.KeyFile}
	})
	// The SDK dials with gorilla's default dialer, which has no other way
	// to trust a test certificate.
	gorilla.DefaultDialer.TLSClientConfig = &tls.Config{RootCAs: cert.Pool}
	t.Cleanup(func() { gorilla.DefaultDialer.TLSClientConfig = nil })
	testserver.Join(t, srv, testserver.Token(t, "tls-sdk", "gosdk", nil), nil)
	p := srv.Rooms().Room("tls-sdk").Participant("gosdk")
	if p == nil {
		t.Fatal("the node has no participant gosdk")
	}
	select {
	case <-p.Settled(): // media connected, or left
	case <-time.After(15 * time.Second):
		t.Fatal("the SDK's media did not connect in 15 s")
	}
	if srv.Rooms().Room("tls-sdk").Participant("gosdk") != p {
		t.Fatal("the SDK's participant left instead of connecting its media")
	}
}

// A certificate setting that cannot work stops the node from starting, and
// says which.
func TestTLSBadSettingsRefused(t *testing.T) {
	cert := testserver.NewCert(t, "127.0.0.1")
	for name, c := range map[string]server.TLSConfig{
		"key missing":     {CertFile: cert.CertFile},
		"no such file":    {CertFile: cert.CertFile + ".missing", KeyFile: cert.KeyFile},
		"key is the cert": {CertFile: cert.CertFile, KeyFile: cert.CertFile},
		"files and domain": {CertFile: cert.CertFile, KeyFile: cert.KeyFile, Domain: "class.example.org",
			CacheDir: t.TempDir()},
		"bare domain": {Domain: "localhost", CacheDir: t.TempDir()},
		"no cache":    {Domain: "class.example.org"},
	} {
		s, err := server.New(server.Config{
			Keys: map[string]string{testserver.Key: testserver.Secret}, HTTPAddr: "127.0.0.1:0",
			UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", LoopbackOnly: true, TLS: c,
		})
		if err == nil {
			_ = s.Close(apiContext(t))
		}
		if err == nil || !strings.Contains(err.Error(), "TLS") {
			t.Errorf("%s: server.New returned %v, want a TLS error", name, err)
		}
	}
}

// Automatic certificates, without an ACME server: the node's TLS config
// takes its certificates from the autocert manager (here from its cache,
// as after an earlier issuance), answers TLS-ALPN challenges, refuses other
// names, and the challenge port answers HTTP-01 and redirects the rest.
func TestTLSAutomaticCertificatesWiring(t *testing.T) {
	const domain = "class.bayan.test"
	cert := testserver.NewCert(t, domain)
	cache := t.TempDir()
	// autocert's cache entry for an ECDSA certificate: the key, then the chain.
	if err := os.WriteFile(filepath.Join(cache, domain), append(slices.Clone(cert.KeyPEM), cert.CertPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := testserver.Start(t, func(c *server.Config) {
		c.TLS = server.TLSConfig{
			Domain: domain, ACMEEmail: "admin@bayan.test", CacheDir: cache, ChallengeAddr: "127.0.0.1:0",
			ACMEDirectory: "http://127.0.0.1:1/directory", // nothing there: no certificate may be asked for
		}
	})
	m := srv.CertManager()
	if m == nil {
		t.Fatal("no certificate manager with tls.domain set")
	}
	if m.Email != "admin@bayan.test" {
		t.Errorf("manager's contact %q, want admin@bayan.test", m.Email)
	}
	ctx := apiContext(t)
	if err := m.HostPolicy(ctx, domain); err != nil {
		t.Errorf("host policy refuses %s: %v", domain, err)
	}
	if err := m.HostPolicy(ctx, "other.bayan.test"); err == nil {
		t.Error("host policy accepts other.bayan.test")
	}
	cfg := srv.TLSConfig()
	if cfg.GetCertificate == nil || len(cfg.Certificates) != 0 {
		t.Fatalf("TLS config has GetCertificate %v and %d fixed certificates, want the manager's", cfg.GetCertificate != nil, len(cfg.Certificates))
	}
	if !slices.Contains(cfg.NextProtos, acme.ALPNProto) || !slices.Contains(cfg.NextProtos, "http/1.1") {
		t.Errorf("TLS config offers %v, want http/1.1 and %s", cfg.NextProtos, acme.ALPNProto)
	}
	if want := "wss://" + net.JoinHostPort(domain, port(t, srv.Addr())); srv.URL() != want {
		t.Errorf("URL %s, want %s", srv.URL(), want)
	}

	// A handshake for the domain gets the manager's certificate; the node
	// then serves over it.
	client := tlsClient(cert, domain)
	resp, err := client.Get("https://" + srv.Addr() + "/healthz")
	if err != nil {
		t.Fatalf("https /healthz with SNI %s: %v", domain, err)
	}
	resp.Body.Close()
	if got := resp.TLS.PeerCertificates[0]; !bytes.Equal(got.Raw, cert.Leaf.Raw) {
		t.Fatalf("served certificate for %v, want the cached one", got.DNSNames)
	}
	// Another name gets no certificate (the policy stops it before any
	// ACME request).
	d := tls.Dialer{Config: &tls.Config{ServerName: "other.bayan.test", InsecureSkipVerify: true}}
	if c, err := d.DialContext(ctx, "tcp", srv.Addr()); err == nil {
		c.Close()
		t.Fatal("a handshake for other.bayan.test succeeded")
	}

	// The challenge port: unknown tokens are not found, anything else goes
	// to the HTTPS URL.
	plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+srv.ChallengeAddr()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = domain // as the ACME server asks
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatalf("challenge port %s: %v", path, err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get("/.well-known/acme-challenge/unknown-token"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown HTTP-01 token answered %s, want 404", resp.Status)
	}
	resp = get("/?t=abc")
	if want := srv.HTTPURL() + "/?t=abc"; resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		t.Errorf("challenge port / answered %s to %q, want 302 to %s", resp.Status, resp.Header.Get("Location"), want)
	}
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(errors.Join(errors.New("split "+addr), err))
	}
	return p
}
