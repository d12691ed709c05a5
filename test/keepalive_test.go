package test

import (
	"context"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"google.golang.org/protobuf/proto"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
	"github.com/bayan-dev/bayan/server"
)

// shortPings makes a node drop a silent client after 2 s, not 15.
func shortPings(c *server.Config) {
	c.Room.PingInterval = 500 * time.Millisecond
	c.Room.PingTimeout = 2 * time.Second
	c.ReconnectGrace = time.Second
}

// The LiveKit Go SDK sends no pings of its own (v2.19 has none); it answers
// the WebSocket's, as browsers do. Quiet on signaling for several ping
// timeouts, it stays connected: no resume, the same participant.
func TestSDKQuietSignalingStaysConnected(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, shortPings)
	var reconnects, disconnects atomic.Int32
	cb := lksdk.NewRoomCallback()
	cb.OnReconnecting = func() { reconnects.Add(1) }
	cb.OnDisconnected = func() { disconnects.Add(1) }
	testserver.Join(t, srv, testserver.Token(t, "quiet", "gosdk", nil), cb)
	p := srv.Rooms().Room("quiet").Participant("gosdk")
	if p == nil {
		t.Fatal("the node has no participant gosdk")
	}
	// Three ping timeouts of silence: what is being checked is that
	// nothing happens, so the test waits the whole span.
	time.Sleep(3 * 2 * time.Second)
	if n, d := reconnects.Load(), disconnects.Load(); n != 0 || d != 0 {
		t.Fatalf("the SDK reconnected %d and disconnected %d times while quiet", n, d)
	}
	if now := srv.Rooms().Room("quiet").Participant("gosdk"); now != p {
		t.Fatalf("participant gosdk was replaced (or left) while quiet: %v", now)
	}
}

// A client that neither sends nor answers pings is dropped after the ping
// timeout, and leaves the room once its reconnect grace is over.
func TestDeafSocketIsDropped(t *testing.T) {
	srv := testserver.Start(t, shortPings)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	q := url.Values{"access_token": {testserver.Token(t, "deaf", "deaf", nil)}, "protocol": {"16"}}
	conn, _, err := websocket.Dial(ctx, srv.URL()+"/rtc?"+q.Encode(), nil)
	if err != nil {
		t.Fatalf("dial signaling: %v", err)
	}
	defer conn.CloseNow()
	for joined := false; !joined; {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("read join response: %v", err)
		}
		var resp livekit.SignalResponse
		if err := proto.Unmarshal(data, &resp); err != nil {
			t.Fatalf("decode response: %v", err)
		}
		joined = resp.GetJoin() != nil
	}
	// From here on nothing reads the socket, so its pings go unanswered.
	start := time.Now()
	testwait.For(t, "the deaf client to leave the room", 10*time.Second, func() bool {
		r := srv.Rooms().Room("deaf")
		return r == nil || r.Participant("deaf") == nil
	})
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("the deaf client was dropped after %v, before the 2 s ping timeout", took)
	}
}
