package classroom

import (
	"encoding/json"
	"time"

	lkauth "github.com/livekit/protocol/auth"

	"github.com/bayan-dev/bayan/auth"

	"github.com/bayan-dev/bayan/store"
)

// RoleObserver watches without being seen: not a member of the class, let
// in by the school's back end.
const RoleObserver store.Role = "observer"

// RoleAttribute is the participant attribute (and metadata field) that
// carries the role into the room, where clients read it.
const RoleAttribute = "bayan.role"

// grantFor returns what a role may do in the class's room: teachers and
// assistants publish; students join subscribe-only and are brought on
// stage later; observers are hidden and only watch.
func grantFor(role store.Role, room string) *lkauth.VideoGrant {
	g := &lkauth.VideoGrant{RoomJoin: true, Room: room}
	g.SetCanSubscribe(true)
	switch role {
	case store.RoleTeacher, store.RoleAssistant:
		g.SetCanPublish(true)
		g.SetCanPublishData(true)
	case store.RoleStudent:
		g.SetCanPublish(false)
		g.SetCanPublishData(true) // chat and raised hands
	default: // observer
		g.SetCanPublish(false)
		g.SetCanPublishData(false)
		g.Hidden = true
	}
	return g
}

// joinToken mints the access token for identity in the class, with its
// role, valid until an hour after the class is scheduled to end (at least
// an hour from now).
func joinToken(key, secret string, c *store.Class, identity, name string, role store.Role, now time.Time) (string, error) {
	validFor := max(c.EndsAt.Sub(now)+time.Hour, time.Hour)
	meta, err := json.Marshal(map[string]string{"role": string(role), "class": c.ID, "title": c.Title})
	if err != nil {
		return "", err
	}
	return auth.Mint(key, secret, &lkauth.ClaimGrants{
		Identity:   identity,
		Name:       name,
		Metadata:   string(meta),
		Attributes: map[string]string{RoleAttribute: string(role)},
		Video:      grantFor(role, c.ID),
	}, validFor)
}
