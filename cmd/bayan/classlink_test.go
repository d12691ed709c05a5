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

// `bayan class join` prints a link that opens the web classroom, which
// `bayan serve --dev` serves at "/", with the person's token in it.
func TestClassJoinPrintsAPageLink(t *testing.T) {
	s, _, _ := serveDev(t, filepath.Join(t.TempDir(), "data"))
	class := func(args ...string) string {
		t.Helper()
		a, out, _ := newApp(nil)
		if err := a.run(context.Background(), append([]string{"class", "--url", s.HTTPURL()}, args...)); err != nil {
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
