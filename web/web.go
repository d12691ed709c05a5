// Package web serves the browser classroom: hand-written ES modules, HTML and CSS embedded in the binary.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// files are the classroom's static files; there is no build step, what is
// here is what the browser runs.
//
//go:embed index.html *.css *.js
var files embed.FS

// Handler serves the classroom page at "/" and its files beside it. Only
// the embedded files exist: any other path is a 404, so the handler can sit
// at the root of a mux without answering for the API's mistakes.
func Handler() http.Handler {
	fsys := http.FS(files)
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
		if _, err := fs.Stat(files, name); err != nil {
			http.NotFound(w, r)
			return
		}
		// The files change with the binary: no-cache keeps a browser from
		// running an old page's modules against a newer node.
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer") // the page's URL carries a token
		f, err := fsys.Open(name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			http.Error(w, "cannot read "+name, http.StatusInternalServerError)
			return
		}
		http.ServeContent(w, r, name, st.ModTime(), f)
	})
}
