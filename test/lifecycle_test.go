package test

import (
	"context"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
)

// A room created through the API that nobody joins closes after its empty
// timeout; one whose last participant left closes after its departure
// timeout; a full room refuses the next participant.
func TestRoomLifecycle(t *testing.T) {
	srv := testserver.Start(t, nil)
	api := lksdk.NewRoomServiceClient(srv.HTTPURL(), testserver.Key, testserver.Secret)
	ctx := context.Background()
	if _, err := api.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: "idle", EmptyTimeout: 1}); err != nil {
		t.Fatalf("create: %v", err)
	}
	if srv.Rooms().Room("idle") == nil {
		t.Fatal("room not created")
	}
	testwait.For(t, "the idle room to close", 5*time.Second, func() bool { return srv.Rooms().Room("idle") == nil })
}

func TestRoomClosesAfterLastLeavesAndEnforcesMax(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)
	api := lksdk.NewRoomServiceClient(srv.HTTPURL(), testserver.Key, testserver.Secret)
	if _, err := api.CreateRoom(context.Background(), &livekit.CreateRoomRequest{Name: "small", MaxParticipants: 1, DepartureTimeout: 1}); err != nil {
		t.Fatalf("create: %v", err)
	}
	a, err := lksdk.ConnectToRoomWithToken(srv.URL(), testserver.Token(t, "small", "alice", nil), lksdk.NewRoomCallback())
	if err != nil {
		t.Fatalf("alice: %v", err)
	}
	if _, err := lksdk.ConnectToRoomWithToken(srv.URL(), testserver.Token(t, "small", "bob", nil), lksdk.NewRoomCallback(),
		lksdk.WithConnectTimeout(3*time.Second)); err == nil {
		t.Fatal("bob joined a full room")
	}
	if n := len(srv.Rooms().Room("small").Participants()); n != 1 {
		t.Fatalf("%d participants in a room of at most 1", n)
	}
	a.Disconnect()
	testwait.For(t, "the room to close after alice left", 5*time.Second, func() bool { return srv.Rooms().Room("small") == nil })
}
