package test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
)

// publishLevel publishes a microphone whose packets carry the audio level
// (dBov, 0 loudest, 127 silence) that level holds. sending, if not nil,
// is told the level of each packet as it is sent.
func publishLevel(ctx context.Context, t *testing.T, r *lksdk.Room, level *atomic.Uint32, sending func(level uint8)) {
	t.Helper()
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	publishSamples(ctx, t, r, opus, "mic", 20*time.Millisecond, func(uint32) ([]byte, *lksdk.SampleWriteOptions) {
		l := uint8(level.Load())
		if sending != nil {
			sending(l)
		}
		return make([]byte, 80), &lksdk.SampleWriteOptions{AudioLevel: &l}
	})
}

// The participant who talks is announced as the active speaker, and the
// stage moves when someone else takes over.
func TestSDKActiveSpeakers(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	var speakers []string
	cb := lksdk.NewRoomCallback()
	cb.OnActiveSpeakersChanged = func(ps []lksdk.Participant) {
		mu.Lock()
		defer mu.Unlock()
		speakers = speakers[:0]
		for _, p := range ps {
			speakers = append(speakers, p.Identity())
		}
	}
	current := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), speakers...)
	}
	testserver.Join(t, srv, testserver.Token(t, "talk", "bob", nil), cb)

	var aliceLevel, carolLevel atomic.Uint32
	aliceLevel.Store(15)  // talking
	carolLevel.Store(127) // silent
	for name, level := range map[string]*atomic.Uint32{"alice": &aliceLevel, "carol": &carolLevel} {
		r := testserver.Join(t, srv, testserver.Token(t, "talk", name, nil), nil)
		publishLevel(ctx, t, r, level, nil)
	}

	testwait.For(t, "alice to be the only speaker", 10*time.Second, func() bool {
		s := current()
		return len(s) == 1 && s[0] == "alice"
	})
	// A short loud burst from carol (a cough) does not make her a speaker.
	carolLevel.Store(10)
	time.Sleep(60 * time.Millisecond)
	carolLevel.Store(127)
	time.Sleep(time.Second)
	if s := current(); len(s) != 1 || s[0] != "alice" {
		t.Fatalf("after carol's cough the speakers are %v", s)
	}
	// Carol takes over.
	aliceLevel.Store(127)
	carolLevel.Store(12)
	testwait.For(t, "carol to take the stage", 10*time.Second, func() bool {
		s := current()
		return len(s) == 1 && s[0] == "carol"
	})
}
