package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	lkauth "github.com/livekit/protocol/auth"
)

const (
	testKey    = "APIkey"
	testSecret = "a-secret-of-thirty-two-characters"
)

func mustMint(t *testing.T, secret string, g *lkauth.ClaimGrants, validFor time.Duration) string {
	t.Helper()
	tok, err := Mint(testKey, secret, g, validFor)
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return tok
}

func TestMintedTokenVerifies(t *testing.T) {
	keys := NewKeys(map[string]string{testKey: testSecret})
	tok := mustMint(t, testSecret, &lkauth.ClaimGrants{
		Identity: "alice", Name: "Alice", Metadata: `{"role":"student"}`,
		Attributes: map[string]string{"role": "student"},
		Video:      &lkauth.VideoGrant{RoomJoin: true, Room: "maths"},
	}, time.Hour)
	v, err := keys.Verify(tok)
	if err != nil {
		t.Fatalf("verify a token just minted: %v", err)
	}
	g := v.Grants
	if v.APIKey != testKey || g.Identity != "alice" || g.Name != "Alice" || g.Metadata != `{"role":"student"}` ||
		g.Attributes["role"] != "student" || g.Video == nil || !g.Video.RoomJoin || g.Video.Room != "maths" {
		t.Fatalf("verified %+v with grants %+v, video %+v", v, g, g.Video)
	}
	if v.TTL < 59*time.Minute || v.TTL > time.Hour+time.Minute {
		t.Fatalf("TTL %v, want an hour", v.TTL)
	}
	if d := time.Until(v.Expires); d < 59*time.Minute || d > time.Hour+time.Minute {
		t.Fatalf("expires in %v, want an hour", d)
	}

	// A refreshed token carries the same grants with a new lifetime.
	fresh, err := keys.Refresh(v, 10*time.Minute)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	v2, err := keys.Verify(fresh)
	if err != nil {
		t.Fatalf("verify the refreshed token: %v", err)
	}
	if v2.Grants.Identity != "alice" || v2.Grants.Video.Room != "maths" || v2.Grants.Attributes["role"] != "student" {
		t.Fatalf("refreshed grants %+v", v2.Grants)
	}
	if d := time.Until(v2.Expires); d > 11*time.Minute {
		t.Fatalf("refreshed token expires in %v, want 10 minutes", d)
	}
}

func TestVerifyRefuses(t *testing.T) {
	keys := NewKeys(map[string]string{testKey: testSecret})
	join := &lkauth.ClaimGrants{Identity: "mallory", Video: &lkauth.VideoGrant{RoomJoin: true, Room: "r"}}
	good := mustMint(t, testSecret, join, time.Hour)
	// Expired beyond the minute of clock skew the verifier allows (the
	// SDK's builder cannot make one: it takes a negative validity as none).
	expired, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": testKey, "sub": "mallory", "nbf": time.Now().Add(-time.Hour).Unix(),
		"exp": time.Now().Add(-5 * time.Minute).Unix(), "video": map[string]any{"roomJoin": true, "room": "r"},
	}).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := Mint("someone-else", testSecret, join, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	for _, c := range []struct {
		name, token string
		want        error
	}{
		{"empty", "", ErrNoToken},
		{"not a JWT", "hello", ErrInvalidToken},
		{"signed with another secret", mustMint(t, "another-secret-of-thirty-two-chars", join, time.Hour), ErrInvalidToken},
		{"signature cut", parts[0] + "." + parts[1] + ".", ErrInvalidToken},
		{"signature of another token", parts[0] + "." + parts[1] + "." + strings.Split(otherKey, ".")[2], ErrInvalidToken},
		{"expired", expired, ErrInvalidToken},
		{"unknown key", otherKey, ErrUnknownKey},
	} {
		if _, err := keys.Verify(c.token); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestMintRefuses(t *testing.T) {
	for _, c := range []struct {
		name, key, secret string
		validFor          time.Duration
	}{
		{"no key", "", testSecret, time.Hour},
		{"no secret", testKey, "", time.Hour},
		{"no validity", testKey, testSecret, 0},
		{"negative validity", testKey, testSecret, -time.Hour},
	} {
		if tok, err := Mint(c.key, c.secret, nil, c.validFor); err == nil {
			t.Errorf("%s: minted %q", c.name, tok)
		}
	}
	if _, err := NewKeys(nil).Refresh(&Verified{APIKey: testKey, Grants: &lkauth.ClaimGrants{}}, time.Hour); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("refresh for an unknown key: %v", err)
	}
}
