package lean

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
)

// Identity is the DTLS certificate lean subscribers present and its SDP
// fingerprint; one per run, since generating a key costs more than a join.
type Identity struct {
	Cert        tls.Certificate
	Fingerprint string // sha-256, colon-separated hex
}

// NewIdentity generates a self-signed certificate and its fingerprint.
func NewIdentity() (Identity, error) {
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		return Identity{}, fmt.Errorf("DTLS certificate: %w", err)
	}
	fp, err := certFingerprint(cert)
	if err != nil {
		return Identity{}, fmt.Errorf("DTLS certificate: %w", err)
	}
	return Identity{Cert: cert, Fingerprint: fp}, nil
}

// certFingerprint is the SDP fingerprint (sha-256) of a certificate.
func certFingerprint(cert tls.Certificate) (string, error) {
	x, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return "", fmt.Errorf("parse certificate: %w", err)
	}
	sum := sha256.Sum256(x.Raw)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":"), nil
}
