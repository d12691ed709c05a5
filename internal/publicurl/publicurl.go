// Package publicurl is the address people and clients reach a node at: the
// base of the links it hands out and of its signaling URL.
package publicurl

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
)

// Parse checks that s is an absolute http or https URL with a host and
// nothing after it, and returns it. A path is refused because the web
// classroom signals at its page's origin, so it cannot sit under one.
func Parse(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %w", s, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q is not an http:// or https:// URL", s)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%q has no host", s)
	case u.User != nil:
		return nil, fmt.Errorf("%q carries user information; links must not", s)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("%q has a query or fragment; the links add their own", s)
	case u.Path != "" && u.Path != "/":
		return nil, fmt.Errorf("%q has a path; the classroom page must be served at the root of its host", s)
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsUnspecified() {
		return nil, fmt.Errorf("%q is a wildcard address, which nobody can open: name the host people reach", s)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// FromRequest returns the base URL r was addressed to: the host its client
// named, over https when it came over TLS. A wildcard address there (a
// client of this machine dialing 0.0.0.0) becomes localhost.
func FromRequest(r *http.Request) *url.URL {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if h, port, err := net.SplitHostPort(host); err == nil {
		if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
			host = net.JoinHostPort("localhost", port)
		}
	} else if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return &url.URL{Scheme: scheme, Host: host}
}

// Signaling returns the WebSocket URL of the node whose pages are at base:
// wss for https, ws for http.
func Signaling(base *url.URL) string {
	scheme := "ws"
	if base.Scheme == "https" {
		scheme = "wss"
	}
	return scheme + "://" + base.Host
}
