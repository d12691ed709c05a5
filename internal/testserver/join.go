package testserver

import (
	"testing"

	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/bayan-dev/bayan/server"
)

// Join connects to s with the LiveKit SDK and token, failing the test if
// it cannot, and disconnects when the test ends. cb may be nil.
func Join(t testing.TB, s *server.Server, token string, cb *lksdk.RoomCallback, opts ...lksdk.ConnectOption) *lksdk.Room {
	t.Helper()
	if cb == nil {
		cb = lksdk.NewRoomCallback()
	}
	r, err := lksdk.ConnectToRoomWithToken(s.URL(), token, cb, opts...)
	if err != nil {
		t.Fatalf("join with the SDK: %v", err)
	}
	t.Cleanup(r.Disconnect)
	return r
}
