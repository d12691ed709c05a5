package test

import (
	"testing"
	"time"

	"github.com/livekit/protocol/auth"

	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/server"
)

// A connected client is sent fresh tokens that carry its identity, its room
// and its current permissions, so a long class outlives its first token.
func TestRefreshTokenCarriesCurrentGrants(t *testing.T) {
	srv := testserver.Start(t, func(c *server.Config) { c.RefreshInterval = 200 * time.Millisecond })
	c := wsJoin(t, srv, "rita", testserver.Token(t, "refresh", "rita", nil), "")
	c.keepAlive(100 * time.Millisecond)

	// Revoke publishing live; the next token must say so.
	p := srv.Rooms().Room("refresh").Participant("rita")
	perm := p.Permission()
	perm.CanPublish = false
	p.UpdateInfo(nil, nil, nil, perm)

	// Tokens minted before the change may still be queued: within a
	// bounded number of refreshes one must carry canPublish=false.
	for i := 0; ; i++ {
		if i == 10 {
			t.Fatal("no refreshed token carried the revoked publish permission")
		}
		f, _ := c.expect("a refreshed token", 5*time.Second, func(f wsFrame) bool {
			return f.msg != nil && f.msg.GetRefreshToken() != ""
		})
		v, err := auth.ParseAPIToken(f.msg.GetRefreshToken())
		if err != nil {
			t.Fatalf("refreshed token: %v", err)
		}
		_, g, err := v.Verify(testserver.Secret)
		if err != nil {
			t.Fatalf("refreshed token does not verify: %v", err)
		}
		if g.Identity != "rita" || g.Video.Room != "refresh" || !g.Video.RoomJoin || !g.Video.GetCanSubscribe() {
			t.Fatalf("refreshed grants %+v", g.Video)
		}
		if !g.Video.GetCanPublish() {
			return
		}
	}
}
