package signaling

import (
	"net/http"
	"strings"
)

// tokenFromRequest reads the token from the access_token query parameter
// or an "Authorization: Bearer" header.
func tokenFromRequest(r *http.Request) string {
	if t := r.URL.Query().Get("access_token"); t != "" {
		return t
	}
	h := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}
