package test

import (
	"context"
	"sync"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
)

// A client that joins with auto_subscribe off receives nothing until it
// subscribes, and stops receiving when it disables the track.
func TestSDKManualSubscriptionAndDisable(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	audio := &counterLog{intact: true}
	published := make(chan *lksdk.RemoteTrackPublication, 1)
	var mu sync.Mutex
	subscribed := 0
	cb := lksdk.NewRoomCallback()
	cb.OnTrackPublished = func(pub *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) { published <- pub }
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
		mu.Lock()
		subscribed++
		mu.Unlock()
		go readTrack(track, audio, audioMagic)
	}
	testserver.Join(t, srv, testserver.Token(t, "manual", "bob", nil), cb, lksdk.WithAutoSubscribe(false))
	a := testserver.Join(t, srv, testserver.Token(t, "manual", "alice", nil), nil)
	publishCounted(ctx, t, a, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", audioMagic, 20*time.Millisecond)

	var pub *lksdk.RemoteTrackPublication
	select {
	case pub = <-published:
	case <-time.After(10 * time.Second):
		t.Fatal("bob was not told of alice's track")
	}
	time.Sleep(500 * time.Millisecond)
	bob := srv.Rooms().Room("manual").Participant("bob")
	if n := bob.SubscriptionCount(); n != 0 {
		t.Fatalf("bob has %d subscriptions before asking for any", n)
	}

	if err := pub.SetSubscribed(true); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	testwait.For(t, "audio after a manual subscription", 10*time.Second, func() bool {
		c, _ := audio.snapshot()
		return len(c) >= 50
	})

	pub.SetEnabled(false)
	testwait.For(t, "the down-track to pause", 5*time.Second, func() bool { return bob.SubscriptionPaused(pub.SID()) })
	time.Sleep(200 * time.Millisecond) // packets in flight
	paused, _ := audio.snapshot()
	time.Sleep(500 * time.Millisecond)
	if after, _ := audio.snapshot(); len(after) > len(paused) {
		t.Fatalf("%d packets arrived while the track was disabled", len(after)-len(paused))
	}
	pub.SetEnabled(true)
	testwait.For(t, "audio to resume", 10*time.Second, func() bool {
		c, _ := audio.snapshot()
		return len(c) >= len(paused)+25
	})
	// Pausing and resuming must be seamless at the RTP level.
	if gaps, total := audio.seqGaps(); gaps != 0 {
		t.Fatalf("%d sequence numbers missing in %d packets across disable/enable", gaps, total)
	}
	counts, intact := audio.snapshot()
	if !intact {
		t.Fatal("payload altered")
	}
	for i := 1; i < len(counts); i++ {
		if counts[i] <= counts[i-1] {
			t.Fatalf("out of order after resume: %d after %d", counts[i], counts[i-1])
		}
	}
}
