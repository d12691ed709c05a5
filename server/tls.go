package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// TLSConfig makes the node serve HTTPS and WSS, with a certificate from
// files or one obtained automatically for a domain (ACME, Let's Encrypt).
// Browsers give a page the camera only in a secure context.
type TLSConfig struct {
	// CertFile and KeyFile are a PEM certificate (with its chain) and its
	// private key; read once, at start.
	CertFile, KeyFile string
	// Domain, instead, is the name to obtain certificates for, kept in
	// CacheDir and renewed before they expire. The ACME server checks the
	// domain over TLS-ALPN on this port (when it is 443) or HTTP-01 on
	// ChallengeAddr.
	Domain string
	// ACMEEmail is the contact the ACME server is given (optional).
	ACMEEmail string
	// CacheDir keeps the ACME account key and the certificates.
	CacheDir string
	// ChallengeAddr, when set, serves HTTP-01 challenges (":80") and sends
	// every other request to the HTTPS URL.
	ChallengeAddr string
	// ACMEDirectory is the ACME server's directory URL; empty is Let's
	// Encrypt's production one.
	ACMEDirectory string
}

// enabled reports whether the node serves TLS.
func (c TLSConfig) enabled() bool { return c.CertFile != "" || c.KeyFile != "" || c.Domain != "" }

// serverTLS is what serving TLS needs: the config for the listener, and the
// autocert manager when certificates are automatic (nil for files).
type serverTLS struct {
	config  *tls.Config
	manager *autocert.Manager
}

// newServerTLS loads the certificate files or sets up automatic
// certificates; the error says which setting is wrong.
func newServerTLS(c TLSConfig) (*serverTLS, error) {
	files := c.CertFile != "" || c.KeyFile != ""
	switch {
	case files && c.Domain != "":
		return nil, errors.New("TLS: give either a certificate and key or a domain, not both")
	case files && (c.CertFile == "" || c.KeyFile == ""):
		return nil, errors.New("TLS: a certificate needs both its file and its key file")
	case files:
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("TLS: load certificate %s and key %s: %w", c.CertFile, c.KeyFile, err)
		}
		return &serverTLS{config: &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"http/1.1"},
			MinVersion:   tls.VersionTLS12,
		}}, nil
	}
	if !strings.Contains(strings.Trim(c.Domain, "."), ".") {
		return nil, fmt.Errorf("TLS: domain %q is not a fully qualified name (e.g. class.example.org)", c.Domain)
	}
	if c.CacheDir == "" {
		return nil, errors.New("TLS: automatic certificates need a cache folder")
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		HostPolicy: autocert.HostWhitelist(c.Domain),
		Cache:      autocert.DirCache(c.CacheDir),
		Email:      c.ACMEEmail,
	}
	if c.ACMEDirectory != "" {
		m.Client = &acme.Client{DirectoryURL: c.ACMEDirectory}
	}
	return &serverTLS{manager: m, config: &tls.Config{
		GetCertificate: m.GetCertificate,
		// acme-tls/1 answers the ACME server's TLS-ALPN-01 challenge.
		NextProtos: []string{"http/1.1", acme.ALPNProto},
		MinVersion: tls.VersionTLS12,
	}}, nil
}

// challengeHandler answers HTTP-01 challenges and sends every other
// request to httpsBase (autocert's own fallback would assume port 443).
func (t *serverTLS) challengeHandler(httpsBase string) http.Handler {
	return t.manager.HTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, httpsBase+r.URL.RequestURI(), http.StatusFound)
	}))
}

// httpsHost is host:port for URLs, leaving out the default port 443.
func httpsHost(host, port string) string {
	if port == "443" {
		return host
	}
	return net.JoinHostPort(host, port)
}
