package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bayan-dev/bayan/internal/testserver"
)

// The node serves the page at / and its modules beside it, while the
// routes registered before it keep answering, and unknown paths are 404s
// rather than the page.
func TestNodeServesThePage(t *testing.T) {
	srv := testserver.Start(t, nil)
	get := func(method, path string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.HTTPURL()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(body)
	}

	code, hdr, body := get("GET", "/")
	if code != 200 || !strings.Contains(body, `<script type="module" src="app.js">`) || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %q, body %.200q", code, hdr.Get("Content-Type"), body)
	}
	// A browser revalidates with the ETag and gets a 304 while it holds.
	etag := hdr.Get("ETag")
	req, _ := http.NewRequest("GET", srv.HTTPURL()+"/", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if etag == "" || resp.StatusCode != http.StatusNotModified {
		t.Errorf("GET / with If-None-Match %q: %s, want 304", etag, resp.Status)
	}
	if hdr.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("GET /: Referrer-Policy %q: the page's URL may carry a token", hdr.Get("Referrer-Policy"))
	}
	for _, f := range []string{"app.js", "room.js", "signal.js", "protobuf.js", "classroom.js", "ui.js", "panels.js"} {
		code, hdr, body := get("GET", "/"+f)
		if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/javascript") || len(body) == 0 {
			t.Errorf("GET /%s: %d %q (%d bytes): browsers run modules only with a JavaScript type", f, code, hdr.Get("Content-Type"), len(body))
		}
	}
	if code, hdr, _ := get("GET", "/style.css"); code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/css") {
		t.Errorf("GET /style.css: %d %q", code, hdr.Get("Content-Type"))
	}
	if code, _, body := get("GET", "/healthz"); code != 200 || body != "ok" {
		t.Errorf("GET /healthz behind the page: %d %q", code, body)
	}
	if code, _, body := get("GET", "/metrics"); code != 200 || !strings.Contains(body, "bayan_rooms") {
		t.Errorf("GET /metrics behind the page: %d", code)
	}
	if code, _, _ := get("GET", "/rtc/validate"); code != http.StatusUnauthorized {
		t.Errorf("GET /rtc/validate without a token: %d, want 401 from signaling", code)
	}
	for _, path := range []string{"/nope", "/api/classes", "/debug/pprof/", "/web.go", "/../go.mod", "/index.html/x"} {
		if code, _, body := get("GET", path); code != http.StatusNotFound || strings.Contains(body, "<html") {
			t.Errorf("GET %s: %d, want a plain 404", path, code)
		}
	}
	if code, _, _ := get("POST", "/"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", code)
	}
}
