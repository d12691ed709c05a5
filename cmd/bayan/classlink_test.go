package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/server"
)

// `bayan class join` prints a link that opens the web classroom, which
// `bayan serve --dev` serves at "/", with the person's token in it.
func TestClassJoinPrintsAPageLink(t *testing.T) {
	s, _, _ := serveDev(t, filepath.Join(t.TempDir(), "data"))
	class := func(args ...string) string {
		t.Helper()
		a, out, _ := newApp(nil)
		if err := a.run(context.Background(), append([]string{"class", "--dev", "--url", s.HTTPURL()}, args...)); err != nil {
			t.Fatalf("class %v: %v", args, err)
		}
		return out.String()
	}
	var c struct{ ID string }
	if err := json.Unmarshal([]byte(class("create", "--title", "Chemistry", "--teacher", "mr-k")), &c); err != nil {
		t.Fatal(err)
	}
	var j struct{ Token, URL, Link string }
	if err := json.Unmarshal([]byte(class("join", c.ID, "--identity", "ana")), &j); err != nil {
		t.Fatal(err)
	}
	if want := s.HTTPURL() + "/?t=" + j.Token; j.Link != want || j.Token == "" {
		t.Fatalf("join link %q, want %q", j.Link, want)
	}
	resp, err := http.Get(j.Link)
	if err != nil {
		t.Fatalf("GET the join link: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `src="app.js"`) {
		t.Fatalf("GET the join link: %s, not the classroom page", resp.Status)
	}
}

// With --public-url, join links and the signaling URL are on it, whatever
// address the API was called at, and serve says so when it starts.
func TestClassJoinLinksUsePublicURL(t *testing.T) {
	s, logs, _ := serveDev(t, filepath.Join(t.TempDir(), "data"), "--public-url", "https://class.example.org")
	a, out, _ := newApp(nil)
	if err := a.run(context.Background(), []string{"class", "--dev", "--url", s.HTTPURL(), "create", "--title", "Art", "--teacher", "mr-k"}); err != nil {
		t.Fatal(err)
	}
	var c struct{ ID string }
	if err := json.Unmarshal([]byte(out.String()), &c); err != nil {
		t.Fatal(err)
	}
	a, out, _ = newApp(nil)
	if err := a.run(context.Background(), []string{"class", "--dev", "--url", s.HTTPURL(), "join", c.ID, "--identity", "ana"}); err != nil {
		t.Fatal(err)
	}
	var j struct{ Token, URL, Link string }
	if err := json.Unmarshal([]byte(out.String()), &j); err != nil {
		t.Fatal(err)
	}
	if j.URL != "wss://class.example.org" || j.Link != "https://class.example.org/?t="+j.Token || j.Token == "" {
		t.Errorf("join answer url %q link %q, want them on https://class.example.org", j.URL, j.Link)
	}
	for _, want := range []string{"url=wss://class.example.org", "links=https://class.example.org"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("serve's log lacks %q:\n%s", want, logs)
		}
	}
}

// A node bound to a wildcard address, without a public_url, gives links on
// the host the API was called at: never on [::] or 0.0.0.0.
func TestClassJoinLinksOnAWildcardBind(t *testing.T) {
	s := testserver.Start(t, func(c *server.Config) {
		c.HTTPAddr = "0.0.0.0:0"
		c.StoreDSN = filepath.Join(t.TempDir(), "bayan.db")
	})
	host, port, _ := net.SplitHostPort(s.Addr())
	if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
		t.Fatalf("the node listens on %s, not a wildcard address", s.Addr())
	}
	base := "http://127.0.0.1:" + port
	class := func(args ...string) string {
		t.Helper()
		a, out, _ := newApp(nil)
		flags := []string{"class", "--url", base, "--api-key", testserver.Key, "--api-secret", testserver.Secret}
		if err := a.run(context.Background(), append(flags, args...)); err != nil {
			t.Fatalf("class %v: %v", args, err)
		}
		return out.String()
	}
	var c struct{ ID string }
	if err := json.Unmarshal([]byte(class("create", "--title", "Art", "--teacher", "mr-k")), &c); err != nil {
		t.Fatal(err)
	}
	var j struct{ Token, URL, Link string }
	if err := json.Unmarshal([]byte(class("join", c.ID, "--identity", "ana")), &j); err != nil {
		t.Fatal(err)
	}
	if j.Link != base+"/?t="+j.Token || j.URL != "ws://127.0.0.1:"+port {
		t.Errorf("join answer url %q link %q, want them on %s", j.URL, j.Link, base)
	}
	for _, wildcard := range []string{"[::]", "0.0.0.0"} {
		if strings.Contains(j.Link+j.URL, wildcard) {
			t.Errorf("join answer url %q link %q names %s", j.URL, j.Link, wildcard)
		}
	}
	resp, err := http.Get(j.Link)
	if err != nil {
		t.Fatalf("GET the join link: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET the join link: %s", resp.Status)
	}
}
