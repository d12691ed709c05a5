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

// Protocol 16+ clients join with a join_request and use one peer connection
// for both directions; they must interoperate with two-connection clients.
func TestSDKSinglePeerConnection(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	type receiver struct {
		audio, video *counterLog
		mu           sync.Mutex
		data         []string
	}
	newReceiver := func() (*receiver, *lksdk.RoomCallback) {
		rc := &receiver{audio: &counterLog{intact: true}, video: &counterLog{intact: true}}
		cb := lksdk.NewRoomCallback()
		cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
			if track.Kind() == webrtc.RTPCodecTypeAudio {
				go readTrack(track, rc.audio, audioMagic)
			} else {
				go readTrack(track, rc.video, videoMagic)
			}
		}
		cb.OnDataPacket = func(d lksdk.DataPacket, p lksdk.DataReceiveParams) {
			if u, ok := d.(*lksdk.UserDataPacket); ok {
				rc.mu.Lock()
				rc.data = append(rc.data, p.SenderIdentity+":"+string(u.Payload))
				rc.mu.Unlock()
			}
		}
		return rc, cb
	}

	// bob (single) is in the room before alice publishes; carol (two
	// connections) too; dave (single) joins after, and gets existing tracks.
	bob, bobCB := newReceiver()
	b := testserver.Join(t, srv, testserver.Token(t, "single", "bob", nil), bobCB, lksdk.WithSinglePeerConnection())
	carol, carolCB := newReceiver()
	c := testserver.Join(t, srv, testserver.Token(t, "single", "carol", nil), carolCB)
	if !srv.Rooms().Room("single").Participant("bob").SinglePeerConnection() {
		t.Fatal("bob did not join in single peer connection mode")
	}

	alice, aliceCB := newReceiver()
	a := testserver.Join(t, srv, testserver.Token(t, "single", "alice", nil), aliceCB, lksdk.WithSinglePeerConnection())
	publishCounted(ctx, t, a, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", audioMagic, 20*time.Millisecond)
	publishCounted(ctx, t, a, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", videoMagic, 33*time.Millisecond)

	dave, daveCB := newReceiver()
	testserver.Join(t, srv, testserver.Token(t, "single", "dave", nil), daveCB, lksdk.WithSinglePeerConnection())

	for name, rc := range map[string]*receiver{"bob": bob, "carol": carol, "dave": dave} {
		testwait.For(t, name+" to receive alice's audio and video", 15*time.Second, func() bool {
			ac, _ := rc.audio.snapshot()
			vc, _ := rc.video.snapshot()
			return len(ac) >= 25 && len(vc) >= 15
		})
		// A client may drop the first packets of a down-track that reach it
		// before it has applied the answer that declares it; from then on
		// the stream must be complete and in order.
		ac0, _ := rc.audio.snapshot()
		vc0, _ := rc.video.snapshot()
		testwait.For(t, name+" to receive more", 15*time.Second, func() bool {
			ac, _ := rc.audio.snapshot()
			vc, _ := rc.video.snapshot()
			return len(ac) >= len(ac0)+50 && len(vc) >= len(vc0)+30
		})
		ac, aok := rc.audio.snapshot()
		checkInOrder(t, name+" audio", ac[len(ac0):], aok, 50)
		vc, vok := rc.video.snapshot()
		checkInOrder(t, name+" video", vc[len(vc0):], vok, 30)
	}

	// Data both ways over the client-created channels.
	if err := b.LocalParticipant.PublishDataPacket(lksdk.UserData([]byte("hi alice")), lksdk.WithDataPublishReliable(true),
		lksdk.WithDataPublishDestination([]string{"alice"})); err != nil {
		t.Fatalf("bob data: %v", err)
	}
	if err := c.LocalParticipant.PublishDataPacket(lksdk.UserData([]byte("hi all")), lksdk.WithDataPublishReliable(true)); err != nil {
		t.Fatalf("carol data: %v", err)
	}
	testwait.For(t, "data over the single connection", 10*time.Second, func() bool {
		alice.mu.Lock()
		defer alice.mu.Unlock()
		bob.mu.Lock()
		defer bob.mu.Unlock()
		return len(alice.data) == 2 && len(bob.data) == 1
	})
	bob.mu.Lock()
	if bob.data[0] != "carol:hi all" {
		t.Errorf("bob got %q", bob.data)
	}
	bob.mu.Unlock()
}
