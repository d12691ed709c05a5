package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"

	"github.com/bayan-dev/bayan/config"
	"github.com/bayan-dev/bayan/internal/testlog"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/server"
	"github.com/bayan-dev/bayan/store"
)

const longSecret = "0123456789abcdef0123456789abcdef"

// newApp returns an app whose environment is env only.
func newApp(env map[string]string) (*app, *testlog.Buffer, *testlog.Buffer) {
	out, errOut := &testlog.Buffer{}, &testlog.Buffer{}
	return &app{
		stdout: out, stderr: errOut,
		lookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}, out, errOut
}

// createToken runs `bayan token create args...` and returns its output.
func createToken(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	a, out, _ := newApp(env)
	err := a.run(context.Background(), append([]string{"token", "create"}, args...))
	return strings.TrimSpace(out.String()), err
}

// verify checks the token's signature with key/secret and returns its grants.
func verify(t *testing.T, tok, key, secret string) *auth.ClaimGrants {
	t.Helper()
	v, err := auth.ParseAPIToken(tok)
	if err != nil {
		t.Fatalf("parse %q: %v", tok, err)
	}
	if v.APIKey() != key {
		t.Fatalf("API key %q, want %q", v.APIKey(), key)
	}
	claims, grants, err := v.Verify(secret)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if claims.ExpiresAt == nil || claims.NotBefore == nil {
		t.Fatalf("token without expiry: %+v", claims)
	}
	return grants
}

func TestTokenDev(t *testing.T) {
	tok, err := createToken(t, nil, "--dev", "--room", "r", "--identity", "i")
	if err != nil {
		t.Fatal(err)
	}
	g := verify(t, tok, config.DevAPIKey, config.DevAPISecret)
	if g.Identity != "i" || g.Video == nil || !g.Video.RoomJoin || g.Video.Room != "r" {
		t.Fatalf("grants %+v video %+v", g, g.Video)
	}
	if !g.Video.GetCanPublish() || !g.Video.GetCanSubscribe() || !g.Video.GetCanPublishData() {
		t.Errorf("default permissions %+v", g.Video)
	}
	if g.Video.RoomAdmin || g.Video.RoomCreate || g.Video.RoomList {
		t.Errorf("unrequested admin grants %+v", g.Video)
	}
	// Another secret must not verify it.
	v, _ := auth.ParseAPIToken(tok)
	if _, _, err := v.Verify("not-the-secret"); err == nil {
		t.Error("token verified with the wrong secret")
	}
}

func TestTokenAllFlags(t *testing.T) {
	start := time.Now()
	tok, err := createToken(t, nil, "--api-key", "K", "--api-secret", longSecret,
		"--room", "class", "--identity", "teacher", "--name", "Ms T", "--metadata", `{"role":"t"}`,
		"--publish=false", "--subscribe=false", "--admin", "--create", "--list", "--ttl", "90m")
	if err != nil {
		t.Fatal(err)
	}
	g := verify(t, tok, "K", longSecret)
	if g.Identity != "teacher" || g.Name != "Ms T" || g.Metadata != `{"role":"t"}` {
		t.Errorf("claims %+v", g)
	}
	v := g.Video
	if !v.RoomJoin || v.Room != "class" || !v.RoomAdmin || !v.RoomCreate || !v.RoomList {
		t.Errorf("video grant %+v", v)
	}
	if v.GetCanPublish() || v.GetCanSubscribe() {
		t.Errorf("publish/subscribe not revoked: %+v", v)
	}

	parsed, _ := auth.ParseAPIToken(tok)
	claims, _, _ := parsed.Verify(longSecret)
	ttl := claims.ExpiresAt.Sub(start)
	if ttl < 89*time.Minute || ttl > 91*time.Minute {
		t.Errorf("ttl %v, want 90m", ttl)
	}
}

func TestTokenKeysFromConfig(t *testing.T) {
	// One key in BAYAN_KEYS: used without --api-key.
	env := map[string]string{config.EnvKeys: "envkey: " + longSecret}
	tok, err := createToken(t, env, "--room", "r", "--identity", "i")
	if err != nil {
		t.Fatal(err)
	}
	verify(t, tok, "envkey", longSecret)

	// Configured keys win over --dev's development key, as in serve.
	tok, err = createToken(t, env, "--dev", "--room", "r", "--identity", "i")
	if err != nil {
		t.Fatal(err)
	}
	verify(t, tok, "envkey", longSecret)

	// A config file named by --config, with two keys: --api-key chooses.
	other := "zyxwvutsrqponmlkjihgfedcba9876543210"
	p := filepath.Join(t.TempDir(), "bayan.yaml")
	if err := os.WriteFile(p, []byte("keys:\n  a: "+longSecret+"\n  b: "+other+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := createToken(t, nil, "--config", p, "--room", "r", "--identity", "i"); err == nil ||
		!strings.Contains(err.Error(), "--api-key") {
		t.Fatalf("two keys without --api-key: %v", err)
	}
	tok, err = createToken(t, nil, "--config", p, "--api-key", "b", "--room", "r", "--identity", "i")
	if err != nil {
		t.Fatal(err)
	}
	verify(t, tok, "b", other)

	// The same file through BAYAN_CONFIG.
	tok, err = createToken(t, map[string]string{config.EnvConfig: p}, "--api-key", "a", "--room", "r", "--identity", "i")
	if err != nil {
		t.Fatal(err)
	}
	verify(t, tok, "a", longSecret)

	if _, err := createToken(t, nil, "--config", p, "--api-key", "c", "--room", "r", "--identity", "i"); err == nil ||
		!strings.Contains(err.Error(), `"c" is not configured`) {
		t.Fatalf("unknown --api-key: %v", err)
	}
}

func TestTokenAPIOnly(t *testing.T) {
	tok, err := createToken(t, nil, "--dev", "--list", "--create")
	if err != nil {
		t.Fatal(err)
	}
	g := verify(t, tok, config.DevAPIKey, config.DevAPISecret)
	if g.Video.RoomJoin || g.Video.Room != "" || !g.Video.RoomList || !g.Video.RoomCreate {
		t.Fatalf("API-only grant %+v", g.Video)
	}
}

func TestTokenErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no keys", nil, []string{"--room", "r", "--identity", "i"}, "--dev"},
		{"no room", nil, []string{"--dev", "--identity", "i"}, "--room is required"},
		{"no identity", nil, []string{"--dev", "--room", "r"}, "--identity is required"},
		{"admin without room", nil, []string{"--dev", "--admin", "--list"}, "--admin needs --room"},
		{"secret without key", nil, []string{"--api-secret", longSecret, "--room", "r", "--identity", "i"}, "--api-secret needs --api-key"},
		{"bad ttl", nil, []string{"--dev", "--room", "r", "--identity", "i", "--ttl", "0s"}, "--ttl"},
		{"short secret", map[string]string{config.EnvKeys: "k: short"}, []string{"--room", "r", "--identity", "i"}, "at least 32"},
		{"unknown flag", nil, []string{"--dev", "--bogus"}, "unknown flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := createToken(t, tc.env, tc.args...)
			if err == nil {
				t.Fatalf("accepted, printed %q", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if out != "" {
				t.Errorf("printed %q on error", out)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	a, out, _ := newApp(nil)
	if err := a.run(context.Background(), []string{"version"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "bayan "+server.Version+" ") {
		t.Fatalf("version output %q", out.String())
	}
}

func TestServeRefusesWithoutKeys(t *testing.T) {
	a, _, _ := newApp(nil)
	err := a.run(context.Background(), []string{"serve", "--port", "0", "--udp-port", "0", "--tcp-port", "0"})
	if err == nil || !strings.Contains(err.Error(), "no API keys configured") {
		t.Fatalf("serve without keys: %v", err)
	}
}

// serveDev runs `bayan serve --dev` on free ports with its store in data
// and the extra flags, until stop, which shuts it down as SIGINT would and
// returns serve's error. It returns the node and serve's log.
func serveDev(t *testing.T, data string, extra ...string) (s *server.Server, logs *testlog.Buffer, stop func() error) {
	t.Helper()
	a, _, logs := newApp(nil)
	started := make(chan *server.Server, 1)
	a.started = func(s *server.Server) { started <- s }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		args := []string{"serve", "--dev", "--port", "0", "--udp-port", "0", "--tcp-port", "0", "--data", data}
		done <- a.run(ctx, append(args, extra...))
	}()
	stopped := false
	stop = func() error {
		t.Helper()
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(shutdownTimeout + 2*time.Second):
			t.Fatal("serve did not stop")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	select {
	case s = <-started:
	case err := <-done:
		t.Fatalf("serve exited: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not start\n%s", logs)
	}
	return s, logs, stop
}

func TestServeDev(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	s, logs, stop := serveDev(t, data)
	ctx := context.Background()
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Errorf("--dev listens on %s", s.Addr())
	}
	// The store: SQLite in --data, migrated and answering.
	if _, err := os.Stat(filepath.Join(data, store.DefaultFile)); err != nil {
		t.Errorf("no store file in --data: %v", err)
	}
	if s.Store() == nil {
		t.Fatal("serve runs without a store")
	}
	if _, err := s.Store().ListClasses(ctx, store.ClassFilter{}); err != nil {
		t.Errorf("the store does not answer: %v", err)
	}
	// The classes' API, with a back end's token for the dev key.
	tok, err := auth.NewAccessToken("devkey", "secret").SetVideoGrant(&auth.VideoGrant{RoomCreate: true}).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(time.Hour).UTC()
	body := fmt.Sprintf(`{"title":"Dev class","teachers":["t1"],"starts_at":%q,"ends_at":%q}`,
		start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339))
	req, _ := http.NewRequest("POST", s.HTTPURL()+"/api/classes", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	created, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(created), `"id":"CL_`) {
		t.Errorf("POST /api/classes: %s %s", resp.Status, created)
	}
	for path, want := range map[string]string{"/healthz": "ok", "/metrics": "bayan_rooms"} {
		resp, err := http.Get(s.HTTPURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %s %.200q", path, resp.Status, body)
		}
	}
	l := logs.String()
	for _, want := range []string{"msg=\"bayan started\"", "url=ws://127.0.0.1:", "api_key=devkey", "api_secret=secret"} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q:\n%s", want, l)
		}
	}

	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if !strings.Contains(logs.String(), "bayan stopped") {
		t.Errorf("no stop message:\n%s", logs)
	}
}

// serve --tls-cert --tls-key serves HTTPS with that certificate and says
// so in its start line.
func TestServeTLSFlags(t *testing.T) {
	cert := testserver.NewCert(t, "127.0.0.1")
	s, logs, _ := serveDev(t, filepath.Join(t.TempDir(), "data"), "--tls-cert", cert.CertFile, "--tls-key", cert.KeyFile)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool}}}
	resp, err := client.Get(s.HTTPURL() + "/healthz")
	if err != nil {
		t.Fatalf("GET %s/healthz: %v", s.HTTPURL(), err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(s.HTTPURL(), "https://") {
		t.Errorf("GET %s/healthz: %s", s.HTTPURL(), resp.Status)
	}
	for _, want := range []string{"url=wss://127.0.0.1:", "http=https://127.0.0.1:"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestDisplayHost(t *testing.T) {
	for in, want := range map[string]string{"0.0.0.0": "localhost", "::": "localhost", "127.0.0.1": "127.0.0.1", "10.1.2.3": "10.1.2.3", "myhost": "myhost"} {
		if got := displayHost(in); got != want {
			t.Errorf("displayHost(%q) = %q, want %q", in, got, want)
		}
	}
}
