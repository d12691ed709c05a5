package test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
	"github.com/bayan-dev/bayan/server"
)

// One valid token joining in a loop, several joins at once, each dropped
// right after its JoinResponse: once the last has timed out the node holds
// no participant, and the peer connections every join built are gone with
// their goroutines.
func TestJoinLoopWithOneIdentityLeavesNothingRunning(t *testing.T) {
	watchPanics(t)
	srv := testserver.Start(t, func(c *server.Config) { c.ReconnectGrace = 500 * time.Millisecond })
	tok := testserver.Token(t, "loop", "dana", nil)
	checkHealthy(t, srv)
	baseline := runtime.NumGoroutine()

	const joins, atOnce = 50, 8
	var wg sync.WaitGroup
	turn := make(chan struct{}, atOnce)
	for i := range joins {
		wg.Add(1)
		turn <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-turn }()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			conn, _, err := wsDial(ctx, srv, tok, "")
			if err != nil {
				t.Errorf("join %d: dial: %v", i, err)
				return
			}
			defer conn.CloseNow()
			typ, data, err := conn.Read(ctx)
			if err != nil {
				t.Errorf("join %d: read: %v", i, err)
				return
			}
			// A replaced session may hear of it first; its own join came
			// all the same, else the connection ends here.
			if msg, err := decodeFrame(typ, data); err != nil || msg.GetJoin() == nil {
				t.Errorf("join %d: first frame %v (%v), want a JoinResponse", i, msg, err)
			}
			conn.Close(websocket.StatusNormalClosure, "")
		}()
	}
	wg.Wait()

	// The last session's grace runs out, then the room's departure timeout.
	deadline := time.Now().Add(30 * time.Second)
	for (metricValue(t, srv, "bayan_participants") > 0 || metricValue(t, srv, "bayan_rooms") > 0) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := metricValue(t, srv, "bayan_participants"); n > 0 {
		t.Fatalf("%v participants 30 s after the last join was dropped", n)
	}
	testwait.Goroutines(t, baseline, 10, time.Until(deadline))
}
