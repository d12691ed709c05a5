package classroom

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lkauth "github.com/livekit/protocol/auth"

	"github.com/bayan-dev/bayan/auth"
	"github.com/bayan-dev/bayan/internal/publicurl"
	"github.com/bayan-dev/bayan/internal/testlog"
	"github.com/bayan-dev/bayan/store"
)

const (
	key    = "school"
	secret = "school-secret-school-secret-school-secret"
)

// apiFixture is the API over a fresh SQLite store, served over HTTP.
type apiFixture struct {
	t    *testing.T
	srv  *httptest.Server
	st   *store.Store
	logs *testlog.Lines // the API's INFO lines and above
}

// fixturePublicURL is the public_url the fixture's API hands links out on.
const fixturePublicURL = "https://class.example.org"

func newAPIFixture(t *testing.T) *apiFixture {
	t.Helper()
	public, err := publicurl.Parse(fixturePublicURL)
	if err != nil {
		t.Fatal(err)
	}
	return newAPIFixtureOn(t, public)
}

// newAPIFixtureOn is newAPIFixture with its links on public (nil: on each
// request's own host).
func newAPIFixtureOn(t *testing.T, public *url.URL) *apiFixture {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "bayan.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	logs := testlog.New(slog.LevelInfo)
	api := NewAPI(st, auth.NewKeys(map[string]string{key: secret}), public, logs.Logger())
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &apiFixture{t: t, srv: srv, st: st, logs: logs}
}

// backendToken is a school back end's token: roomCreate, signed by key.
func backendToken(t *testing.T, k, s string, grant *lkauth.VideoGrant) string {
	t.Helper()
	tok, err := lkauth.NewAccessToken(k, s).SetVideoGrant(grant).SetValidFor(time.Minute).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// do sends a request with token (none when empty) and decodes the answer
// into out (when not nil); it returns the status.
func (f *apiFixture) do(method, path, token string, body any, out any) int {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	resp := f.send(method, path, token, rd)
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			f.t.Fatalf("%s %s: %d, undecodable answer: %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode
}

// send sends a request with token (none when empty) and returns the
// answer, whose body the caller closes.
func (f *apiFixture) send(method, path, token string, body io.Reader) *http.Response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp
}

func newClassBody(roster ...string) map[string]any {
	start := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	return map[string]any{"title": "Algebra 1", "teachers": []string{"ms-lee"}, "assistants": []string{"tom"},
		"roster": roster, "starts_at": start, "ends_at": start.Add(45 * time.Minute)}
}

func TestClassLifecycle(t *testing.T) {
	f := newAPIFixture(t)
	tok := backendToken(t, key, secret, &lkauth.VideoGrant{RoomCreate: true})
	var c classJSON
	if st := f.do("POST", "/api/classes", tok, newClassBody("ana", "ben"), &c); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	if !strings.HasPrefix(c.ID, "CL_") || c.State != "scheduled" || c.Title != "Algebra 1" || len(c.Roster) != 2 {
		t.Fatalf("created %+v", c)
	}
	var got classJSON
	if st := f.do("GET", "/api/classes/"+c.ID, tok, nil, &got); st != http.StatusOK || got.ID != c.ID || got.Teachers[0] != "ms-lee" {
		t.Fatalf("get: %d %+v", st, got)
	}
	var live classJSON
	if st := f.do("POST", "/api/classes/"+c.ID+"/start", tok, nil, &live); st != http.StatusOK || live.State != "live" || live.StartedAt == nil {
		t.Fatalf("start: %d %+v", st, live)
	}
	var list struct{ Classes []classJSON }
	if st := f.do("GET", "/api/classes?state=live", tok, nil, &list); st != http.StatusOK || len(list.Classes) != 1 || list.Classes[0].ID != c.ID {
		t.Fatalf("list live: %d %+v", st, list)
	}
	var ended classJSON
	if st := f.do("POST", "/api/classes/"+c.ID+"/end", tok, nil, &ended); st != http.StatusOK || ended.State != "ended" {
		t.Fatalf("end: %d %+v", st, ended)
	}
	// Ended is final: no going live again, and no more joins.
	if st := f.do("POST", "/api/classes/"+c.ID+"/start", tok, nil, nil); st != http.StatusConflict {
		t.Errorf("start after end: %d, want 409", st)
	}
	if st := f.do("POST", "/api/classes/"+c.ID+"/join", tok, joinRequest{Identity: "ana"}, nil); st != http.StatusConflict {
		t.Errorf("join after end: %d, want 409", st)
	}
	if st := f.do("GET", "/api/classes/CL_nope", tok, nil, nil); st != http.StatusNotFound {
		t.Errorf("unknown class: %d, want 404", st)
	}
}

// Taking a class live and ending it write one INFO line each; a retried
// request, which changes nothing, writes none.
func TestClassStartAndEndAreLogged(t *testing.T) {
	f := newAPIFixture(t)
	tok := backendToken(t, key, secret, &lkauth.VideoGrant{RoomCreate: true})
	var c classJSON
	if st := f.do("POST", "/api/classes", tok, newClassBody("ana"), &c); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	for _, step := range []string{"start", "start", "end", "end"} {
		if st := f.do("POST", "/api/classes/"+c.ID+"/"+step, tok, nil, nil); st != http.StatusOK {
			t.Fatalf("%s: %d", step, st)
		}
	}
	want := []string{
		`level=INFO msg="class started" class=` + c.ID + ` title="Algebra 1"`,
		`level=INFO msg="class ended" class=` + c.ID + ` title="Algebra 1"`,
	}
	if got := f.logs.Matching(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("logged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Join tokens carry the role the class gives: teachers and assistants
// publish, students join subscribe-only, observers are hidden; people off a
// roster are refused, and nobody can claim a role they do not have.
func TestJoinTokensByRole(t *testing.T) {
	f := newAPIFixture(t)
	tok := backendToken(t, key, secret, &lkauth.VideoGrant{RoomAdmin: true})
	var c classJSON
	if st := f.do("POST", "/api/classes", tok, newClassBody("ana"), &c); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	for _, tc := range []struct {
		req                 joinRequest
		status              int
		role                string
		publish, data, hide bool
	}{
		{joinRequest{Identity: "ms-lee", Name: "Ms Lee"}, 200, "teacher", true, true, false},
		{joinRequest{Identity: "tom"}, 200, "assistant", true, true, false},
		{joinRequest{Identity: "ana"}, 200, "student", false, true, false},
		{joinRequest{Identity: "inspector", Role: "observer"}, 200, "observer", false, false, true},
		{joinRequest{Identity: "zed"}, 403, "", false, false, false},                  // not on the roster
		{joinRequest{Identity: "ana", Role: "teacher"}, 403, "", false, false, false}, // claims a role
		{joinRequest{Identity: "  "}, 400, "", false, false, false},
	} {
		var out map[string]string
		st := f.do("POST", "/api/classes/"+c.ID+"/join", tok, tc.req, &out)
		if st != tc.status {
			t.Errorf("%+v: %d %v, want %d", tc.req, st, out, tc.status)
			continue
		}
		if st != 200 {
			continue
		}
		if out["role"] != tc.role || out["url"] != "wss://class.example.org" || out["room"] != c.ID ||
			out["link"] != fixturePublicURL+"/?t="+url.QueryEscape(out["token"]) {
			t.Errorf("%+v: answer %v", tc.req, out)
		}
		v, err := lkauth.ParseAPIToken(out["token"])
		if err != nil {
			t.Fatal(err)
		}
		_, grants, err := v.Verify(secret)
		if err != nil {
			t.Fatalf("%+v: the join token does not verify: %v", tc.req, err)
		}
		g := grants.Video
		if grants.Identity != tc.req.Identity || g.Room != c.ID || !g.RoomJoin || g.GetCanPublish() != tc.publish ||
			g.GetCanPublishData() != tc.data || g.Hidden != tc.hide || !g.GetCanSubscribe() || g.RoomAdmin || g.RoomCreate {
			t.Errorf("%+v: grants %+v", tc.req, g)
		}
		if grants.Attributes[RoleAttribute] != tc.role || !strings.Contains(grants.Metadata, `"role":"`+tc.role+`"`) {
			t.Errorf("%+v: role not carried: attributes %v metadata %s", tc.req, grants.Attributes, grants.Metadata)
		}
	}
	// An open class (no roster) takes anyone with a link as a student.
	open := newClassBody()
	var oc classJSON
	f.do("POST", "/api/classes", tok, open, &oc)
	var out map[string]string
	if st := f.do("POST", "/api/classes/"+oc.ID+"/join", tok, joinRequest{Identity: "walk-in"}, &out); st != 200 || out["role"] != "student" {
		t.Errorf("open class: %d %v", st, out)
	}
}

// Without a public_url, join links and the signaling URL are on the host
// the back end's request named, never on a wildcard address.
func TestJoinLinksOnTheRequestsHost(t *testing.T) {
	f := newAPIFixtureOn(t, nil)
	tok := backendToken(t, key, secret, &lkauth.VideoGrant{RoomCreate: true})
	var c classJSON
	if st := f.do("POST", "/api/classes", tok, newClassBody(), &c); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	join := func(host string) map[string]string {
		t.Helper()
		req, err := http.NewRequest("POST", f.srv.URL+"/api/classes/"+c.ID+"/join", strings.NewReader(`{"identity":"ana"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("join via Host %q: %s, %v", host, resp.Status, err)
		}
		return out
	}
	addr := strings.TrimPrefix(f.srv.URL, "http://")
	for host, want := range map[string]string{
		addr:                  "http://" + addr,
		"school.example:7880": "http://school.example:7880",
		"[::]:7880":           "http://localhost:7880",
		"0.0.0.0:7880":        "http://localhost:7880",
	} {
		out := join(host)
		if out["link"] != want+"/?t="+url.QueryEscape(out["token"]) || out["url"] != "ws"+strings.TrimPrefix(want, "http") {
			t.Errorf("via Host %q: link %q, url %q; want them on %s", host, out["link"], out["url"], want)
		}
	}
}

// Bad credentials and bad bodies change nothing and say why.
func TestAPIRefusesBadRequests(t *testing.T) {
	f := newAPIFixture(t)
	good := backendToken(t, key, secret, &lkauth.VideoGrant{RoomCreate: true})
	for _, tc := range []struct {
		name   string
		token  string
		body   any
		status int
	}{
		{"no token", "", newClassBody(), http.StatusUnauthorized},
		{"forged", backendToken(t, key, "another-secret-another-secret-another", &lkauth.VideoGrant{RoomCreate: true}), newClassBody(), http.StatusUnauthorized},
		{"unknown key", backendToken(t, "nokey", secret, &lkauth.VideoGrant{RoomCreate: true}), newClassBody(), http.StatusUnauthorized},
		{"a participant's token", backendToken(t, key, secret, &lkauth.VideoGrant{RoomJoin: true, Room: "x"}), newClassBody(), http.StatusForbidden},
		{"malformed JSON", good, []byte(`{"title": `), http.StatusBadRequest},
		{"unknown field", good, []byte(`{"title":"t","teachers":["a"],"colour":"red"}`), http.StatusBadRequest},
		{"no teacher", good, map[string]any{"title": "t", "starts_at": time.Now(), "ends_at": time.Now().Add(time.Hour)}, http.StatusBadRequest},
		{"huge body", good, append([]byte(`{"title":"`), bytes.Repeat([]byte("a"), 2<<20)...), http.StatusRequestEntityTooLarge},
	} {
		var out map[string]string
		if st := f.do("POST", "/api/classes", tc.token, tc.body, &out); st != tc.status || out["error"] == "" {
			t.Errorf("%s: %d %v, want %d with an error", tc.name, st, out, tc.status)
		}
	}
	cs, err := f.st.ListClasses(context.Background(), store.ClassFilter{})
	if err != nil || len(cs) != 0 {
		t.Fatalf("refused requests stored %d classes (%v)", len(cs), err)
	}
}
