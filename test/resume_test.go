package test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
)

// cutProxy forwards TCP connections to target and can cut them all at once,
// as a flaky network cuts a WebSocket.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(func() { _ = ln.Close(); p.cut() })
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
		go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
	}
}

// cut closes every connection made so far.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) url() string { return "ws://" + p.ln.Addr().String() }

func TestSDKResumeAfterWebSocketCut(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)
	proxy := newCutProxy(t, srv.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	audio := &counterLog{intact: true}
	var mu sync.Mutex
	var aLeft bool
	bCB := lksdk.NewRoomCallback()
	bCB.OnTrackSubscribed = func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
		go readTrack(track, audio, audioMagic)
	}
	bCB.OnParticipantDisconnected = func(rp *lksdk.RemoteParticipant) {
		mu.Lock()
		aLeft = aLeft || rp.Identity() == "alice"
		mu.Unlock()
	}
	testserver.Join(t, srv, testserver.Token(t, "resume", "bob", nil), bCB)

	reconnected := make(chan struct{}, 1)
	aCB := lksdk.NewRoomCallback()
	aCB.OnReconnected = func() { reconnected <- struct{}{} }
	a, err := lksdk.ConnectToRoomWithToken(proxy.url(), testserver.Token(t, "resume", "alice", nil), aCB)
	if err != nil {
		t.Fatalf("alice connect: %v", err)
	}
	defer a.Disconnect()
	publishCounted(ctx, t, a, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", audioMagic, 20*time.Millisecond)

	testwait.For(t, "bob to receive alice's audio", 10*time.Second, func() bool {
		c, _ := audio.snapshot()
		return len(c) >= 50
	})
	sidBefore := srv.Rooms().Room("resume").Participant("alice").SID()

	proxy.cut()
	select {
	case <-reconnected:
	case <-time.After(15 * time.Second):
		t.Fatal("alice did not resume within 15s")
	}
	before, _ := audio.snapshot()
	testwait.For(t, "bob to keep receiving after the resume", 10*time.Second, func() bool {
		c, _ := audio.snapshot()
		return len(c) >= len(before)+100
	})
	counts, intact := audio.snapshot()
	checkInOrder(t, "audio across resume", counts, intact, len(before)+100)

	p := srv.Rooms().Room("resume").Participant("alice")
	if p == nil || p.SID() != sidBefore {
		t.Fatalf("alice rejoined instead of resuming (sid before %s)", sidBefore)
	}
	if got := srv.Signaling().Counters().Resumes(); got != 1 {
		t.Fatalf("resumes = %d, want 1", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if aLeft {
		t.Fatal("bob saw alice leave during a resume")
	}
}
