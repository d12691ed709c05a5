package test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
	"github.com/bayan-dev/bayan/server"
)

// qualityInterval is the room's measuring period in these tests.
const qualityInterval = 500 * time.Millisecond

// qualitySeen records the connection qualities one client is told, by
// participant identity, in order.
type qualitySeen struct {
	mu   sync.Mutex
	seen map[string][]livekit.ConnectionQuality
}

func (q *qualitySeen) callback() *lksdk.RoomCallback {
	cb := lksdk.NewRoomCallback()
	cb.OnConnectionQualityChanged = func(info *livekit.ConnectionQualityInfo, p lksdk.Participant) {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.seen == nil {
			q.seen = map[string][]livekit.ConnectionQuality{}
		}
		q.seen[p.Identity()] = append(q.seen[p.Identity()], info.GetQuality())
	}
	// The client's receiver reports count only packets read: drain every
	// subscribed track (until the connection closes), as a player would.
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
		go func() {
			buf := make([]byte, 1500)
			for {
				if _, _, err := track.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	return cb
}

// latest returns the last quality told for identity and how many updates
// about it came.
func (q *qualitySeen) latest(identity string) (livekit.ConnectionQuality, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.seen[identity]
	if len(s) == 0 {
		return livekit.ConnectionQuality_POOR, 0
	}
	return s[len(s)-1], len(s)
}

func startQualityServer(t *testing.T) *server.Server {
	return testserver.Start(t, func(c *server.Config) { c.Room.QualityInterval = qualityInterval })
}

// On loopback a publisher and a subscriber are both EXCELLENT, each told
// about itself and about the other.
func TestSDKConnectionQualityExcellentOnLoopback(t *testing.T) {
	testnet.Require(t)
	srv := startQualityServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var aliceSaw, bobSaw qualitySeen
	a := testserver.Join(t, srv, testserver.Token(t, "q", "alice", nil), aliceSaw.callback())
	testserver.Join(t, srv, testserver.Token(t, "q", "bob", nil), bobSaw.callback())
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	publishSamples(ctx, t, a, opus, "mic", 20*time.Millisecond, func(uint32) ([]byte, *lksdk.SampleWriteOptions) {
		return make([]byte, 80), nil
	})

	testwait.For(t, "both to hear of themselves and each other", 5*time.Second, func() bool {
		_, n1 := aliceSaw.latest("alice")
		_, n2 := aliceSaw.latest("bob")
		_, n3 := bobSaw.latest("bob")
		_, n4 := bobSaw.latest("alice")
		return n1 > 0 && n2 > 0 && n3 > 0 && n4 > 0
	})
	// Several intervals of media and receiver reports later, all is still
	// EXCELLENT (a drop would have been sent as a change).
	time.Sleep(6 * qualityInterval)
	for _, c := range []struct {
		saw      *qualitySeen
		observer string
		about    string
	}{{&aliceSaw, "alice", "alice"}, {&aliceSaw, "alice", "bob"}, {&bobSaw, "bob", "bob"}, {&bobSaw, "bob", "alice"}} {
		if q, _ := c.saw.latest(c.about); q != livekit.ConnectionQuality_EXCELLENT {
			t.Errorf("%s sees %s as %v, want EXCELLENT", c.observer, c.about, q)
		}
	}
}

// A publisher whose packets lose every fifth sequence number on the way is
// no longer EXCELLENT for the others, while the subscriber, who gets every
// packet that reached the server, stays EXCELLENT: the publisher's gaps
// are not blamed on it.
func TestSDKConnectionQualityLossyPublisher(t *testing.T) {
	testnet.Require(t)
	srv := startQualityServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var bobSaw qualitySeen
	b := testserver.Join(t, srv, testserver.Token(t, "lossy", "bob", nil), bobSaw.callback())
	c := testserver.Join(t, srv, testserver.Token(t, "lossy", "carol", nil), nil)

	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	track, err := lksdk.NewLocalTrack(opus)
	if err != nil {
		t.Fatalf("new track: %v", err)
	}
	if _, err := c.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{Name: "mic"}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := uint32(0); ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if i%5 == 4 {
				continue // lost on the way: its sequence number is skipped
			}
			_ = track.WriteRTP(&rtp.Packet{
				Header:  rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: i * 960},
				Payload: make([]byte, 80),
			}, nil)
		}
	}()

	testwait.For(t, "bob to see carol's connection degrade", 10*time.Second, func() bool {
		q, n := bobSaw.latest("carol")
		return n > 0 && q != livekit.ConnectionQuality_EXCELLENT
	})
	// 20 % loss for several intervals: POOR once smoothing has caught up.
	testwait.For(t, "carol to be POOR", 10*qualityInterval, func() bool {
		q, _ := bobSaw.latest("carol")
		return q == livekit.ConnectionQuality_POOR
	})
	time.Sleep(4 * qualityInterval) // bob's receiver reports keep coming
	// Bob has been receiving carol's gappy stream all along.
	if !bobReceives(b) {
		t.Fatalf("bob is not subscribed to carol's track")
	}
	if q, n := bobSaw.latest("bob"); n == 0 || q != livekit.ConnectionQuality_EXCELLENT {
		t.Fatalf("bob sees himself as %v after %d updates, want EXCELLENT", q, n)
	}
}

// bobReceives reports whether the room's client has a subscribed remote
// track.
func bobReceives(r *lksdk.Room) bool {
	for _, p := range r.GetRemoteParticipants() {
		for _, pub := range p.TrackPublications() {
			if rp, ok := pub.(*lksdk.RemoteTrackPublication); ok && rp.TrackRemote() != nil {
				return true
			}
		}
	}
	return false
}
