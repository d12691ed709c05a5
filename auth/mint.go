package auth

import (
	"errors"
	"time"

	lkauth "github.com/livekit/protocol/auth"
)

// Mint signs a LiveKit access token for key with secret, carrying grants
// (identity, name, metadata, attributes, kind and video grant; nil fields
// are left out) and valid for validFor from now. Every token Bayan issues
// is made here: join tokens of classes, refreshed tokens, `bayan token
// create` and the tests'.
func Mint(key, secret string, grants *lkauth.ClaimGrants, validFor time.Duration) (string, error) {
	switch {
	case key == "" || secret == "":
		return "", errors.New("mint token: an API key and its secret are needed")
	case validFor <= 0:
		return "", errors.New("mint token: validity must be positive")
	case grants == nil:
		grants = &lkauth.ClaimGrants{}
	}
	at := lkauth.NewAccessToken(key, secret).SetValidFor(validFor)
	if grants.Identity != "" {
		at.SetIdentity(grants.Identity)
	}
	if grants.Name != "" {
		at.SetName(grants.Name)
	}
	if grants.Metadata != "" {
		at.SetMetadata(grants.Metadata)
	}
	if len(grants.Attributes) > 0 {
		at.SetAttributes(grants.Attributes)
	}
	if grants.Kind != "" {
		at.SetKind(grants.GetParticipantKind())
	}
	if grants.Video != nil {
		at.SetVideoGrant(grants.Video)
	}
	return at.ToJWT()
}
