// Package auth mints, verifies and refreshes the LiveKit access tokens of Bayan's API keys.
package auth

import (
	"errors"
	"fmt"
	"time"

	lkauth "github.com/livekit/protocol/auth"
)

// Errors of token verification; each maps to HTTP 401 or 403.
var (
	ErrNoToken      = errors.New("no access token")
	ErrInvalidToken = errors.New("invalid access token")
	ErrUnknownKey   = errors.New("unknown API key")
	ErrNotAllowed   = errors.New("permission denied")
)

// Keys verifies access tokens against the configured API key/secret pairs.
type Keys struct {
	secrets map[string]string
}

// NewKeys returns a verifier for the given key → secret pairs.
func NewKeys(secrets map[string]string) *Keys {
	m := make(map[string]string, len(secrets))
	for k, v := range secrets {
		m[k] = v
	}
	return &Keys{secrets: m}
}

// Secret returns the secret of an API key, or "" when it is unknown.
func (k *Keys) Secret(key string) string { return k.secrets[key] }

// Verified is a token whose signature and expiry have been checked.
type Verified struct {
	APIKey  string
	Grants  *lkauth.ClaimGrants
	Expires time.Time
	TTL     time.Duration
}

// Verify checks a raw JWT: signature (HS256 over the key's secret), expiry
// and issuer. The error wraps ErrInvalidToken or ErrUnknownKey.
func (k *Keys) Verify(raw string) (*Verified, error) {
	if raw == "" {
		return nil, ErrNoToken
	}
	v, err := lkauth.ParseAPIToken(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	secret := k.secrets[v.APIKey()]
	if secret == "" {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKey, v.APIKey())
	}
	claims, grants, err := v.Verify(secret)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	out := &Verified{APIKey: v.APIKey(), Grants: grants}
	if claims.ExpiresAt != nil {
		out.Expires = claims.ExpiresAt.Time
		if claims.IssuedAt != nil {
			out.TTL = claims.ExpiresAt.Sub(claims.IssuedAt.Time)
		} else if claims.NotBefore != nil {
			out.TTL = claims.ExpiresAt.Sub(claims.NotBefore.Time)
		}
	}
	if out.TTL <= 0 {
		out.TTL = 6 * time.Hour
	}
	return out, nil
}

// Refresh mints a new token carrying the same grants, valid for ttl.
func (k *Keys) Refresh(v *Verified, ttl time.Duration) (string, error) {
	secret := k.secrets[v.APIKey]
	if secret == "" {
		return "", ErrUnknownKey
	}
	return Mint(v.APIKey, secret, v.Grants, ttl)
}
