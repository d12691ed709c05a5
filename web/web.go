// Package web serves the browser classroom: hand-written ES modules, HTML and CSS embedded in the binary.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// files are the classroom's static files; there is no build step, what is
// here is what the browser runs.
//
//go:embed index.html *.css *.js
var files embed.FS

// file is one embedded file with the ETag browsers revalidate it by.
type file struct {
	body []byte
	etag string
}

// Handler serves the classroom page at "/" and its files beside it. Only
// the embedded files exist: any other path is a 404, so the handler can sit
// at the root of a mux without answering for the API's mistakes.
func Handler() http.Handler {
	byName := map[string]file{}
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		body, err := files.ReadFile(e.Name())
		if err != nil {
			continue // cannot happen for an embedded file; it is then a 404
		}
		sum := sha256.Sum256(body)
		byName[e.Name()] = file{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name == "" {
			name = "index.html"
		}
		f, ok := byName[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		// The files change with the binary: browsers revalidate each time
		// (a 304 while the ETag holds), so a page never runs an old
		// module against a newer node.
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", f.etag)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer") // the page's URL may carry a token
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
	})
}
