// Package testserver starts a complete Bayan node on loopback for tests and
// mints tokens for it.
package testserver

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"

	bayanauth "github.com/bayan-dev/bayan/auth"
	"github.com/bayan-dev/bayan/room"
	"github.com/bayan-dev/bayan/server"
)

// Key and Secret are the test node's API credentials.
const (
	Key    = "testkey"
	Secret = "testsecret-testsecret-testsecret"
)

// Start runs a node on random loopback ports until the test ends. modify,
// if not nil, adjusts the configuration first.
func Start(t testing.TB, modify func(*server.Config)) *server.Server {
	t.Helper()
	// The whole log with BAYAN_TEST_LOG set; else its last lines, shown
	// if the test fails.
	var logOut io.Writer = os.Stderr
	if os.Getenv("BAYAN_TEST_LOG") == "" {
		tail := newLogTail(300)
		logOut = tail
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("the node's last log lines:\n%s", tail)
			}
		})
	}
	cfg := server.Config{
		Keys:           map[string]string{Key: Secret},
		HTTPAddr:       "127.0.0.1:0",
		UDPAddr:        "127.0.0.1:0",
		TCPAddr:        "127.0.0.1:0",
		LoopbackOnly:   true,
		ReconnectGrace: 10 * time.Second,
		Room:           room.Config{DepartureTimeout: 2 * time.Second},
		Log:            slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if modify != nil {
		modify(&cfg)
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

// Token mints a token for identity in roomName; grant, if not nil, adjusts
// the video grant.
func Token(t testing.TB, roomName, identity string, grant func(*auth.VideoGrant)) string {
	t.Helper()
	g := &auth.VideoGrant{RoomJoin: true, Room: roomName}
	if grant != nil {
		grant(g)
	}
	tok, err := bayanauth.Mint(Key, Secret, &auth.ClaimGrants{Identity: identity, Name: identity, Video: g}, time.Hour)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return tok
}
