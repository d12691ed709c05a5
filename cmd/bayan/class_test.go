package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// `bayan class` against a node started by `bayan serve --dev`: create,
// start, a teacher's join token and link, and a clear error for a missing
// class.
func TestClassCommands(t *testing.T) {
	s, _, _ := serveDev(t, filepath.Join(t.TempDir(), "data"))

	class := func(args ...string) (string, error) {
		t.Helper()
		a, out, _ := newApp(nil)
		err := a.run(context.Background(), append([]string{"class", "--url", s.HTTPURL()}, args...))
		return out.String(), err
	}
	out, err := class("create", "--title", "Physics", "--teacher", "mr-k", "--student", "ana", "--length", "30m")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	var c struct{ ID, Title, State string }
	if err := json.Unmarshal([]byte(out), &c); err != nil || !strings.HasPrefix(c.ID, "CL_") || c.State != "scheduled" {
		t.Fatalf("create printed %q (%v)", out, err)
	}
	if out, err = class("start", c.ID); err != nil || !strings.Contains(out, `"state": "live"`) {
		t.Fatalf("start: %q, %v", out, err)
	}
	out, err = class("join", c.ID, "--identity", "mr-k")
	var j struct{ Token, Role, URL, Link string }
	if err != nil || json.Unmarshal([]byte(out), &j) != nil || j.Role != "teacher" || j.Token == "" || !strings.HasPrefix(j.URL, "ws://127.0.0.1:") {
		t.Fatalf("join: %q, %v", out, err)
	}
	// The link opens the web classroom that the node serves at "/".
	if want := "http" + strings.TrimPrefix(j.URL, "ws") + "/?t=" + j.Token; j.Link != want {
		t.Errorf("join link %q, want %q", j.Link, want)
	}
	resp, err := http.Get(j.Link)
	if err != nil {
		t.Fatalf("GET the join link: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `src="app.js"`) {
		t.Errorf("GET the join link: %s, not the classroom page", resp.Status)
	}
	if _, err := class("join", c.ID, "--identity", "stranger"); err == nil || !strings.Contains(err.Error(), "not on this class's roster") {
		t.Errorf("a stranger's join: %v", err)
	}
	if _, err := class("get", "CL_nope"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("get of a missing class: %v", err)
	}
	if _, err := class("list", "--api-secret", "wrong-wrong-wrong-wrong-wrong-wrong"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong secret: %v", err)
	}
}
