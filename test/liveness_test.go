package test

import (
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
)

// firstOtherLayer returns the index of the first packet from index from on
// whose layer is not skip, or -1.
func firstOtherLayer(pkts []layerPacket, from int, skip livekit.VideoQuality) int {
	for i := from; i < len(pkts); i++ {
		if pkts[i].layer != skip {
			return i
		}
	}
	return -1
}

// checkSwitch fails unless packet i continues the sequence of the one
// before it and starts a keyframe.
func checkSwitch(t *testing.T, pkts []layerPacket, i int) {
	t.Helper()
	if i == 0 {
		t.Fatal("no packet before the switch")
	}
	if pkts[i].seq != pkts[i-1].seq+1 {
		t.Fatalf("switch to layer %v: sequence %d after %d", pkts[i].layer, pkts[i].seq, pkts[i-1].seq)
	}
	if !pkts[i].key {
		t.Fatalf("switch to layer %v does not start with a keyframe", pkts[i].layer)
	}
}

// A publisher that stops sending the high layer its subscriber watches
// (as a browser under CPU pressure does) is noticed: within 2 s the
// subscriber gets the medium layer, seamlessly from a keyframe, and when
// the high layer comes back, so does the subscriber.
func TestSDKSimulcastDeadLayerFallsBack(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)

	bLog := &layerLog{}
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
		go bLog.read(track)
	}
	testserver.Join(t, srv, testserver.Token(t, "liveness", "bob", nil), cb)
	a := testserver.Join(t, srv, testserver.Token(t, "liveness", "alice", nil), nil)
	layers := publishSimulcast(t, a)

	testwait.For(t, "bob to get the high layer", 15*time.Second, func() bool {
		q, ok := bLog.tailLayer(30)
		return ok && q == livekit.VideoQuality_HIGH
	})

	// The high layer stops.
	stoppedAt := time.Now()
	from := len(bLog.snapshot())
	layers[livekit.VideoQuality_HIGH].stopped.Store(true)
	testwait.For(t, "bob to leave the dead high layer", 5*time.Second, func() bool {
		return firstOtherLayer(bLog.snapshot(), from, livekit.VideoQuality_HIGH) >= 0
	})
	pkts := bLog.snapshot()
	i := firstOtherLayer(pkts, from, livekit.VideoQuality_HIGH)
	if pkts[i].layer != livekit.VideoQuality_MEDIUM {
		t.Fatalf("bob fell back to layer %v, want the next lower, MEDIUM", pkts[i].layer)
	}
	checkSwitch(t, pkts, i)
	fellBack := pkts[i].at.Sub(stoppedAt)
	t.Logf("high layer stopped: medium reached bob after %v", fellBack)
	// Noticing takes under 1 s; then the publisher resumes the medium
	// layer (dynacast had it off) and the switch waits for its next
	// keyframe, which this publisher sends every 0.5 s whatever PLIs say.
	if fellBack > 2*time.Second {
		t.Fatalf("bob got the medium layer %v after the high layer stopped, want at most 2s", fellBack)
	}
	testwait.For(t, "bob to stay on the medium layer", 5*time.Second, func() bool {
		q, ok := bLog.tailLayer(20)
		return ok && q == livekit.VideoQuality_MEDIUM
	})

	// The high layer resumes: bob asked for it, so he is moved back.
	resumedAt := time.Now()
	from = len(bLog.snapshot())
	layers[livekit.VideoQuality_HIGH].stopped.Store(false)
	testwait.For(t, "bob back on the high layer", 5*time.Second, func() bool {
		return firstOtherLayer(bLog.snapshot(), from, livekit.VideoQuality_MEDIUM) >= 0
	})
	pkts = bLog.snapshot()
	i = firstOtherLayer(pkts, from, livekit.VideoQuality_MEDIUM)
	if pkts[i].layer != livekit.VideoQuality_HIGH {
		t.Fatalf("bob moved to layer %v, want HIGH", pkts[i].layer)
	}
	checkSwitch(t, pkts, i)
	t.Logf("high layer resumed: back on it after %v", pkts[i].at.Sub(resumedAt))
	testwait.For(t, "bob to stay on the high layer", 5*time.Second, func() bool {
		q, ok := bLog.tailLayer(20)
		return ok && q == livekit.VideoQuality_HIGH
	})
	pkts = bLog.snapshot()
	for j := 1; j < len(pkts); j++ {
		if pkts[j].seq != pkts[j-1].seq+1 {
			t.Fatalf("sequence gap at packet %d: %d after %d", j, pkts[j].seq, pkts[j-1].seq)
		}
	}
}
