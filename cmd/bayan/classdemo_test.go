package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/livekit/protocol/auth"

	"github.com/bayan-dev/bayan/config"
)

// `bayan class demo` leaves a live class and prints a link for its teacher
// and each student: each opens the classroom page with a token for that
// person in that role.
func TestClassDemoPrintsLinksToALiveClass(t *testing.T) {
	s, _, _ := serveDev(t, filepath.Join(t.TempDir(), "data"))
	a, out, _ := newApp(nil)
	if err := a.run(context.Background(), []string{"class", "demo", "--dev", "--url", s.HTTPURL(), "--students", "3"}); err != nil {
		t.Fatalf("class demo: %v", err)
	}
	printed := out.String()
	id := regexp.MustCompile(`\((CL_[^)]+)\) is live`).FindStringSubmatch(printed)
	links := regexp.MustCompile(`(?m)^\s+(Teacher|Student \d):\s+(\S+)$`).FindAllStringSubmatch(printed, -1)
	if id == nil || len(links) != 4 || !strings.Contains(printed, "bayan class end --dev "+id[1]) {
		t.Fatalf("class demo printed:\n%s", printed)
	}

	a, out, _ = newApp(nil)
	if err := a.run(context.Background(), []string{"class", "get", "--dev", "--url", s.HTTPURL(), id[1]}); err != nil {
		t.Fatal(err)
	}
	var class struct{ State string }
	if err := json.Unmarshal([]byte(out.String()), &class); err != nil || class.State != "live" {
		t.Fatalf("the demo class: %s (%v)", out, err)
	}

	identities := map[string]bool{}
	for _, l := range links {
		who, link := l[1], l[2]
		u, err := url.Parse(link)
		if err != nil || !strings.HasPrefix(link, s.HTTPURL()+"/?t=") {
			t.Fatalf("%s's link %q is not on the node", who, link)
		}
		grants, err := devGrants(u.Query().Get("t"))
		if err != nil {
			t.Fatalf("%s's token: %v", who, err)
		}
		wantRole := map[bool]string{true: "teacher", false: "student"}[who == "Teacher"]
		if grants.Attributes["bayan.role"] != wantRole || grants.Video.Room != id[1] || identities[grants.Identity] {
			t.Errorf("%s's token: identity %q, role %q, room %q", who, grants.Identity, grants.Attributes["bayan.role"], grants.Video.Room)
		}
		identities[grants.Identity] = true
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `src="app.js"`) {
			t.Errorf("%s's link: %s, not the classroom page", who, resp.Status)
		}
	}
}

// devGrants returns what token grants, checked against the dev secret.
func devGrants(token string) (*auth.ClaimGrants, error) {
	v, err := auth.ParseAPIToken(token)
	if err != nil {
		return nil, err
	}
	_, grants, err := v.Verify(config.DevAPISecret)
	return grants, err
}
