package test

import (
	"context"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
)

func TestShutdownTellsClientsToLeave(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)
	disconnected := make(chan struct{})
	cb := lksdk.NewRoomCallback()
	cb.OnDisconnectedWithReason = func(lksdk.DisconnectionReason) { close(disconnected) }
	r := testserver.Join(t, srv, testserver.Token(t, "shut", "dora", nil), cb)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case <-disconnected:
	case <-time.After(5 * time.Second):
		t.Fatal("client was not told to leave")
	}
	if got := r.DisconnectReason(); got != livekit.DisconnectReason_SERVER_SHUTDOWN {
		t.Fatalf("disconnect reason %v, want SERVER_SHUTDOWN", got)
	}
}
