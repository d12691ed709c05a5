package loadtest

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/loadtest/report"
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

// startRun starts a run of cfg in the background. It returns the
// participants, as soon as they exist, and stop, which ends the run (early
// if it is still going) and returns its report.
func startRun(t *testing.T, cfg *Config) (parts []*participant, stop func() *report.Report) {
	t.Helper()
	partsCh := make(chan []*participant, 1)
	cfg.started = func(ps []*participant) { partsCh <- ps }
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		rep *report.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, _, err := run(ctx, cfg)
		done <- result{rep, err}
	}()
	t.Cleanup(cancel)
	select {
	case parts = <-partsCh:
	case res := <-done:
		t.Fatalf("run: %v", res.err)
	}
	return parts, func() *report.Report {
		t.Helper()
		cancel()
		res := <-done
		if res.err != nil {
			t.Fatalf("run: %v", res.err)
		}
		return res.rep
	}
}

// trackOf returns p's first subscribed track of the kind, or nil.
func trackOf(p *participant, video bool) *trackStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, tr := range p.tracks {
		if tr.video == video {
			return tr
		}
	}
	return nil
}

// waitUntil polls cond every 50 ms until it holds, failing the test after
// within; it returns how long that took.
func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// With 5 % of the server's datagrams lost on the way to the subscribers,
// subscribers that NACK as browsers do (pion's NACK generator, several
// tries) get at least 95 % of the lost video packets back from the
// server's packet cache. The loss starts once every student receives the
// teacher's video (a lossy join is another matter: DTLS's retransmission
// backoff can hold it for seconds), and is counted by the server's RTP
// numbering: what was lost on the way, not the frames the server chose
// not to forward (its bandwidth allocation may thin a student's frame
// rate when the estimate dips).
func TestNACKRecoversDownlinkLoss(t *testing.T) {
	srv, relay := impairedServer(t, testnet.Impairment{})
	cfg := testConfig(srv, ScenarioClass)
	cfg.Students = 5
	// The medium layer (500 kbit/s, ~60 packets/s): enough packets to
	// count, and far enough below what the loopback carries that the
	// bandwidth allocator rarely moves the students off it, which would
	// leave the packets lost just before a switch unrepaired.
	cfg.Layers, _ = ParseLayerMix("medium=1")
	cfg.PionSubscribers = true
	cfg.withholdCandidates = true
	cfg.Duration, cfg.Ramp = 10*time.Second, time.Second

	// When every student has video: what the relay and each student's
	// video had counted, then the loss.
	type counts struct {
		forwarded, dropped int
		expected, received map[*trackStats]uint64
	}
	impaired := make(chan counts, 1)
	cfg.started = func(ps []*participant) {
		go func() {
			for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				c := counts{expected: map[*trackStats]uint64{}, received: map[*trackStats]uint64{}}
				for _, p := range ps[1:] {
					if v := trackOf(p, true); v != nil && v.packets.Load() > 30 {
						c.expected[v], c.received[v] = v.rtpExpected.Load(), v.rtpReceived.Load()
					}
				}
				if len(c.expected) == len(ps)-1 {
					f, d := relay.Counters()
					c.forwarded, c.dropped = int(f), int(d)
					relay.SetImpairment(testnet.Impairment{Loss: 0.05})
					impaired <- c
					return
				}
			}
			close(impaired)
		}()
	}
	// The whole run: publishers stop a moment before everyone leaves, so
	// that the repair of what was lost last has time to arrive.
	rep, _, err := run(context.Background(), &cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.Participants != 6 || rep.Failed != 0 {
		t.Fatalf("participants %d joined, %d failed (errors: %v)", rep.Participants, rep.Failed, rep.Errors)
	}
	c0, ok := <-impaired
	if !ok {
		t.Fatal("the students did not all receive the teacher's video within 8 s")
	}
	f, d := relay.Counters()
	forwarded, dropped := int(f)-c0.forwarded, int(d)-c0.dropped
	raw := float64(dropped) / float64(forwarded+dropped)
	t.Logf("relay, with the loss on: %d datagrams from the server, %d dropped (%.2f %%)", forwarded+dropped, dropped, 100*raw)
	if raw < 0.03 || raw > 0.07 {
		t.Fatalf("the relay dropped %.2f %% of the server's datagrams, want about 5 %%", 100*raw)
	}
	var expected, lost uint64
	for v, e0 := range c0.expected {
		e, missing := v.rtpExpected.Load()-e0, int64(v.rtpExpected.Load()-v.rtpReceived.Load())-int64(e0-c0.received[v])
		expected += e
		lost += uint64(max(0, missing))
	}
	if expected < 1500 {
		t.Fatalf("only %d video packets expected by the students while the loss was on", expected)
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
	parts, stop := startRun(t, &cfg)
	student := parts[1]
	video := func() *trackStats { return trackOf(student, true) }
	layer := func() int {
		if v := video(); v != nil && v.packets.Load() > 0 {
			return int(v.layerNow.Load())
		}
		return -1
	}
	waitLayer := func(want int, within time.Duration) time.Duration {
		t.Helper()
		return waitUntil(t, "the student on layer "+layerNames[want], within, func() bool { return layer() == want })
	}

	waitLayer(int(layerF), 10*time.Second)
	time.Sleep(2 * time.Second)
	relay.SetImpairment(testnet.Impairment{RateBitsPerSecond: 300_000, QueueDelay: 400 * time.Millisecond})
	took := waitLayer(int(layerQ), 2*time.Second)
	t.Logf("capped at 300 kbps: on the low layer after %v", took.Round(10*time.Millisecond))

	// The capped phase, after the fall: loss and layers.
	time.Sleep(time.Second)
	v := video()
	low := parts[0].pb.video[layerQ]
	e0, r0, s0, p0 := v.rtpExpected.Load(), v.rtpReceived.Load(), low.sent.packets.Load(), v.packets.Load()
	higher := 0
	for range 80 { // 8 s
		if layer() != int(layerQ) {
			higher++
		}
		time.Sleep(100 * time.Millisecond)
	}
	e1, r1, s1, p1 := v.rtpExpected.Load(), v.rtpReceived.Load(), low.sent.packets.Load(), v.packets.Load()
	// 300 kbit/s carries all of the low layer (150): its frame rate is
	// not thinned either, once the link has settled.
	if share := float64(p1-p0) / float64(s1-s0); share < 0.9 {
		t.Errorf("%.2f of the low layer's packets forwarded while capped, want all of them", share)
	}
	// Missing at the end of the window, less those missing at its start
	// (whose repair may land inside it).
	lost := float64(max(0, int64(e1-r1)-int64(e0-r0))) / float64(e1-e0)
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
	stop()
}

// A downlink too slow for even the low layer (80 kbps) pauses the video,
// and the subscriber is told (StreamStateUpdate PAUSED) while its audio
// keeps coming, all of it; when the link recovers the video resumes
// (ACTIVE). While paused, the server tries to resume now and then (every 8
// to 16 s), which is how it finds out that the link recovered.
func TestDownlinkTooSlowPausesVideo(t *testing.T) {
	srv, relay := impairedServer(t, testnet.Impairment{})
	cfg := testConfig(srv, ScenarioClass)
	cfg.Students = 1
	cfg.Layers, _ = ParseLayerMix("low=1")
	cfg.PionSubscribers = true
	cfg.withholdCandidates = true
	cfg.Duration, cfg.Ramp = 30*time.Second, 0
	parts, stop := startRun(t, &cfg)
	student := parts[1]
	waitUntil(t, "video", 10*time.Second, func() bool {
		v := trackOf(student, true)
		return v != nil && v.packets.Load() > 50
	})
	relay.SetImpairment(testnet.Impairment{RateBitsPerSecond: 80_000, QueueDelay: 400 * time.Millisecond})
	waitUntil(t, "StreamStateUpdate PAUSED", 5*time.Second, student.streamPaused.Load)
	time.Sleep(time.Second) // what was queued drains
	audio, video := trackOf(student, false), trackOf(student, true)
	a0, v0 := audio.packets.Load(), video.packets.Load()
	time.Sleep(3 * time.Second)
	a1, v1 := audio.packets.Load(), video.packets.Load()
	t.Logf("paused: %d video and %d audio packets in 3 s", v1-v0, a1-a0)
	// The low layer runs at about 30 packets/s. While paused nothing of it
	// is sent, repairs included, and no try at resuming comes for the
	// resume back-off (8 s): the audio (50 packets/s, about 60 kbit/s with
	// its headers) has the link to itself.
	if v1-v0 > 5 {
		t.Errorf("%d video packets arrived in 3 s while the video was paused", v1-v0)
	}
	if a1-a0 < 120 {
		t.Errorf("only %d audio packets in 3 s while the video was paused, want nearly all 150", a1-a0)
	}
	relay.SetImpairment(testnet.Impairment{})
	waitUntil(t, "StreamStateUpdate ACTIVE", 20*time.Second, func() bool { return !student.streamPaused.Load() })
	waitUntil(t, "video again", 5*time.Second, func() bool { return video.packets.Load() > v1+20 })
	stop()
}
