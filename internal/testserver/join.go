package testserver

import (
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/bayan-dev/bayan/internal/testwait"
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

// WaitFor fails the test unless cond holds within timeout; what names
// what was awaited.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	testwait.For(t, what, timeout, cond)
}
