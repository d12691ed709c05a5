package loadtest

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/server"
)

// impairedServer starts a node whose clients reach its ICE port through a
// testnet.Relay at 127.0.0.2 (the node offers that address), which impairs
// everything the node sends them.
func impairedServer(t *testing.T, imp testnet.Impairment) (*server.Server, *testnet.Relay) {
	srv := testserver.Start(t, func(c *server.Config) {
		c.NodeIPs = []string{"127.0.0.2"}
		c.TCPAddr = ""
	})
	port := uint16(srv.UDPPort())
	relay := testnet.NewRelay(t, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), port).String(),
		netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port), imp, 1)
	return srv, relay
}

// With 5 % of the server's datagrams lost on the way to the subscribers,
// subscribers that NACK as browsers do (pion's NACK generator, several
// tries) get at least 95 % of the lost video packets back from the
// server's packet cache.
func TestNACKRecoversDownlinkLoss(t *testing.T) {
	srv, relay := impairedServer(t, testnet.Impairment{Loss: 0.05})
	counters := func() (int, int) {
		f, d := relay.Counters()
		return int(f), int(d)
	}
	cfg := testConfig(srv, ScenarioClass)
	cfg.Students = 3
	cfg.Layers, _ = ParseLayerMix("high=1")
	cfg.PionSubscribers = true
	cfg.withholdCandidates = true
	cfg.Duration, cfg.Ramp = 9*time.Second, time.Second
	partsCh := make(chan []*participant, 1)
	cfg.started = func(ps []*participant) { partsCh <- ps }
	type result struct {
		rep *Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, _, err := run(context.Background(), &cfg)
		done <- result{rep, err}
	}()
	parts := <-partsCh
	// Count over a window in the steady part: packets lost in the last
	// moments of a run have no time left to be repaired.
	videoCounts := func() (expected, received uint64) {
		for _, p := range parts[1:] {
			p.mu.Lock()
			for _, tr := range p.tracks {
				if tr.video {
					expected += tr.expected.Load()
					received += tr.received.Load()
				}
			}
			p.mu.Unlock()
		}
		return expected, received
	}
	time.Sleep(3 * time.Second)
	e0, r0 := videoCounts()
	s0, d0 := counters()
	time.Sleep(5 * time.Second)
	e1, r1 := videoCounts()
	s1, d1 := counters()
	res := <-done
	if res.err != nil {
		t.Fatalf("run: %v", res.err)
	}
	rep := res.rep
	if rep.Participants != 4 || rep.Failed != 0 {
		t.Fatalf("participants %d joined, %d failed (errors: %v)", rep.Participants, rep.Failed, rep.Errors)
	}
	sent, dropped := s1-s0, d1-d0
	raw := float64(dropped) / float64(sent+dropped)
	t.Logf("relay, 5 s: %d datagrams from the server, %d dropped (%.2f %%)", sent+dropped, dropped, 100*raw)
	if raw < 0.03 || raw > 0.07 {
		t.Fatalf("the relay dropped %.2f %% of the server's datagrams, want about 5 %%", 100*raw)
	}
	// Missing packets at the end of the window, less those missing at its
	// start (whose repair may land inside it).
	expected, lost := e1-e0, uint64(max(0, int64(e1-r1)-int64(e0-r0)))
	if expected < 1000 {
		t.Fatalf("only %d video packets expected by the students", expected)
	}
	residual := float64(lost) / float64(expected)
	recovered := 1 - residual/raw
	t.Logf("video: %d packets expected, %d never arrived (%.3f %%): %.1f %% of the lost packets recovered; %d NACKed",
		expected, lost, 100*residual, 100*recovered, rep.NACKsSent)
	if rep.NACKsSent == 0 {
		t.Error("no NACKs sent despite the loss")
	}
	if recovered < 0.95 {
		t.Errorf("%.1f %% of the lost video packets recovered, want at least 95 %%", 100*recovered)
	}
}

// A student whose downlink is capped at 300 kbps (one teacher sending 150,
// 500 and 1700 kbps layers) falls to the low layer within 2 s and stays
// there losing under 2 % of its video; once the cap is lifted it is back on
// the high layer within 10 s. The server learns the link only from the
// student's transport-wide congestion control feedback.
func TestDownlinkCapMovesSubscriberToLowLayer(t *testing.T) {
	srv, relay := impairedServer(t, testnet.Impairment{})
	cfg := testConfig(srv, ScenarioClass)
	cfg.Students = 1
	cfg.Layers, _ = ParseLayerMix("high=1")
	cfg.PionSubscribers = true
	cfg.withholdCandidates = true
	cfg.Duration, cfg.Ramp = 40*time.Second, 0
	partsCh := make(chan []*participant, 1)
	cfg.started = func(ps []*participant) { partsCh <- ps }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, _, err := run(ctx, &cfg)
		done <- err
	}()
	parts := <-partsCh
	student := parts[1]
	video := func() *trackStats {
		student.mu.Lock()
		defer student.mu.Unlock()
		for _, tr := range student.tracks {
			if tr.video {
				return tr
			}
		}
		return nil
	}
	layer := func() int {
		if v := video(); v != nil && v.packets.Load() > 0 {
			return int(v.layerNow.Load())
		}
		return -1
	}
	waitLayer := func(want int, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < within {
			if layer() == want {
				return time.Since(start)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("the student did not get layer %s within %v (on %d)", layerNames[want], within, layer())
		return 0
	}

	waitLayer(int(layerF), 10*time.Second)
	time.Sleep(2 * time.Second)
	relay.SetImpairment(testnet.Impairment{RateBitsPerSecond: 300_000, QueueDelay: 400 * time.Millisecond})
	took := waitLayer(int(layerQ), 2*time.Second)
	t.Logf("capped at 300 kbps: on the low layer after %v", took.Round(10*time.Millisecond))

	// The capped phase, after the fall: loss and layers.
	time.Sleep(time.Second)
	v := video()
	e0, r0 := v.expected.Load(), v.received.Load()
	higher := 0
	for range 80 { // 8 s
		if layer() != int(layerQ) {
			higher++
		}
		time.Sleep(100 * time.Millisecond)
	}
	e1, r1 := v.expected.Load(), v.received.Load()
	lost := float64((e1-e0)-(r1-r0)) / float64(e1-e0)
	t.Logf("8 s capped: %d video packets expected, %.2f %% lost; %d of 80 samples above the low layer", e1-e0, 100*lost, higher)
	if lost >= 0.02 {
		t.Errorf("lost %.2f %% of the video while capped, want under 2 %%", 100*lost)
	}
	if higher > 8 {
		t.Errorf("above the low layer in %d of 80 samples while capped", higher)
	}
	// And the video kept coming: about 19 packets/s on the low layer.
	if e1-e0 < 100 {
		t.Errorf("only %d video packets in 8 s capped: the video was paused, not on the low layer", e1-e0)
	}

	relay.SetImpairment(testnet.Impairment{})
	took = waitLayer(int(layerF), 10*time.Second)
	t.Logf("cap lifted: back on the high layer after %v", took.Round(10*time.Millisecond))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// A downlink too slow for even the low layer (80 kbps) pauses the video,
// and the subscriber is told (StreamStateUpdate PAUSED) while its audio
// keeps coming; when the link recovers the video resumes (ACTIVE). While
// paused, the server tries to resume now and then (every 8 to 16 s), which
// is how it finds out that the link recovered.
func TestDownlinkTooSlowPausesVideo(t *testing.T) {
	srv, relay := impairedServer(t, testnet.Impairment{})
	cfg := testConfig(srv, ScenarioClass)
	cfg.Students = 1
	cfg.Layers, _ = ParseLayerMix("low=1")
	cfg.PionSubscribers = true
	cfg.withholdCandidates = true
	cfg.Duration, cfg.Ramp = 30*time.Second, 0
	partsCh := make(chan []*participant, 1)
	cfg.started = func(ps []*participant) { partsCh <- ps }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, _, err := run(ctx, &cfg)
		done <- err
	}()
	student := (<-partsCh)[1]
	tracks := func() (audio, video *trackStats) {
		student.mu.Lock()
		defer student.mu.Unlock()
		for _, tr := range student.tracks {
			if tr.video {
				video = tr
			} else {
				audio = tr
			}
		}
		return audio, video
	}
	waitUntil := func(what string, within time.Duration, cond func() bool) {
		t.Helper()
		for start := time.Now(); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Since(start) > within {
				t.Fatalf("timed out after %v waiting for %s", within, what)
			}
		}
	}
	waitUntil("video", 10*time.Second, func() bool {
		_, v := tracks()
		return v != nil && v.packets.Load() > 50
	})
	relay.SetImpairment(testnet.Impairment{RateBitsPerSecond: 80_000, QueueDelay: 400 * time.Millisecond})
	waitUntil("StreamStateUpdate PAUSED", 5*time.Second, student.streamPaused.Load)
	time.Sleep(time.Second) // what was queued drains
	audio, video := tracks()
	a0, v0 := audio.packets.Load(), video.packets.Load()
	time.Sleep(3 * time.Second)
	a1, v1 := audio.packets.Load(), video.packets.Load()
	t.Logf("paused: %d video and %d audio packets in 3 s", v1-v0, a1-a0)
	// The low layer runs at about 30 packets/s; while paused, at most a
	// try at resuming (a keyframe, withdrawn when the queue grows) gets out.
	if v1-v0 > 30 {
		t.Errorf("%d video packets arrived in 3 s while the video was paused", v1-v0)
	}
	if a1-a0 < 75 {
		t.Errorf("only %d audio packets in 3 s while the video was paused", a1-a0)
	}
	relay.SetImpairment(testnet.Impairment{})
	waitUntil("StreamStateUpdate ACTIVE", 20*time.Second, func() bool { return !student.streamPaused.Load() })
	waitUntil("video again", 5*time.Second, func() bool { return video.packets.Load() > v1+20 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
