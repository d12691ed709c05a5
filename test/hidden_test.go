package test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
)

// Hiding a participant through the API makes it vanish for the others, as
// if it had left, while it stays connected.
func TestHidingAParticipantRemovesItForOthers(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)
	var mu sync.Mutex
	gone := false
	cb := lksdk.NewRoomCallback()
	cb.OnParticipantDisconnected = func(rp *lksdk.RemoteParticipant) {
		mu.Lock()
		gone = gone || rp.Identity() == "alice"
		mu.Unlock()
	}
	b := testserver.Join(t, srv, testserver.Token(t, "hide", "bob", nil), cb)
	testserver.Join(t, srv, testserver.Token(t, "hide", "alice", nil), nil)
	testwait.For(t, "bob to see alice", 5*time.Second, func() bool { return b.GetParticipantByIdentity("alice") != nil })

	api := lksdk.NewRoomServiceClient(srv.HTTPURL(), testserver.Key, testserver.Secret)
	_, err := api.UpdateParticipant(context.Background(), &livekit.UpdateParticipantRequest{
		Room: "hide", Identity: "alice",
		Permission: &livekit.ParticipantPermission{CanSubscribe: true, CanPublish: true, CanPublishData: true, Hidden: true},
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	testwait.For(t, "bob to see alice vanish", 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return gone
	})
	if srv.Rooms().Room("hide").Participant("alice") == nil {
		t.Fatal("alice was removed instead of hidden")
	}
}
