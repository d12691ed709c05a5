package publicurl

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]string{
		"https://class.example.org":       "https://class.example.org",
		"https://class.example.org/":      "https://class.example.org",
		"http://10.0.0.5:7880":            "http://10.0.0.5:7880",
		"http://[2001:db8::5]:7880":       "http://[2001:db8::5]:7880",
		"HTTPS://Class.Example.org:8443/": "https://Class.Example.org:8443",
	} {
		u, err := Parse(in)
		if err != nil || u.String() != want {
			t.Errorf("Parse(%q) = %v, %v; want %q", in, u, err, want)
		}
	}
	for _, in := range []string{"", "class.example.org", "ws://class.example.org", "https://", "https://:8443",
		"https://class.example.org/school", "https://class.example.org/?t=1", "https://class.example.org/?",
		"https://class.example.org#x", "https://u@class.example.org", "http://[::]:7880", "http://0.0.0.0", "http://%zz"} {
		if u, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, u)
		}
	}
}

func TestFromRequestAndSignaling(t *testing.T) {
	for _, tc := range []struct {
		host        string
		tls         bool
		base, wsURL string
	}{
		{"class.example.org", false, "http://class.example.org", "ws://class.example.org"},
		{"class.example.org:8443", true, "https://class.example.org:8443", "wss://class.example.org:8443"},
		{"[::]:7880", false, "http://localhost:7880", "ws://localhost:7880"},
		{"0.0.0.0:7880", false, "http://localhost:7880", "ws://localhost:7880"},
		{"0.0.0.0", false, "http://localhost", "ws://localhost"},
		{"[2001:db8::5]:7880", false, "http://[2001:db8::5]:7880", "ws://[2001:db8::5]:7880"},
	} {
		r := httptest.NewRequest("POST", "/api/classes/CL_x/join", nil)
		r.Host = tc.host
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		} else {
			r.TLS = nil
		}
		base := FromRequest(r)
		if base.String() != tc.base || Signaling(base) != tc.wsURL {
			t.Errorf("Host %q (TLS %v): base %q, signaling %q; want %q, %q", tc.host, tc.tls, base, Signaling(base), tc.base, tc.wsURL)
		}
	}
}
