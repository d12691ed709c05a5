package loadtest

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/loadtest/report"
	"github.com/bayan-dev/bayan/server"
)

// These tests run the load tester against an in-process node. The node
// offers loopback candidates only and the synthetic clients gather on
// loopback only, so no network namespace is needed and nothing leaves lo.

func testConfig(srv *server.Server, scenario string) Config {
	cfg := Config{
		Scenario:     scenario,
		URL:          srv.URL(),
		APIKey:       testserver.Key,
		APISecret:    testserver.Secret,
		Room:         "lt-" + scenario,
		Duration:     4 * time.Second,
		Ramp:         time.Second,
		Simulcast:    true,
		MetricsURL:   srv.HTTPURL() + "/metrics",
		LoopbackOnly: true,
		JoinTimeout:  10 * time.Second,
	}
	if testing.Verbose() {
		cfg.Progress = os.Stderr
	}
	return cfg
}

func TestClassReceivesTeacher(t *testing.T) { testClassReceivesTeacher(t, false) }

// TestClassReceivesSSRCSimulcast is the same class with the teacher's
// encodings announced by SSRC (a=ssrc-group:SIM) and no RIDs anywhere:
// every student still gets the layer it asked for.
func TestClassReceivesSSRCSimulcast(t *testing.T) { testClassReceivesTeacher(t, true) }

func testClassReceivesTeacher(t *testing.T, ssrcSimulcast bool) {
	srv := testserver.Start(t, nil)
	cfg := testConfig(srv, ScenarioClass)
	cfg.SSRCSimulcast = ssrcSimulcast
	cfg.Students = 20
	cfg.Layers, _ = ParseLayerMix("low=0.5,medium=0.3,high=0.2")
	cfg.Params = map[string]string{"students": "20"}

	rep, parts, err := run(context.Background(), &cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if testing.Verbose() {
		_ = report.WriteSummary(os.Stderr, rep)
	}
	if rep.Participants != 21 || rep.Failed != 0 {
		t.Fatalf("participants %d joined, %d failed; want 21, 0 (errors: %v)", rep.Participants, rep.Failed, rep.Errors)
	}
	if len(rep.Errors) > 0 {
		t.Errorf("errors: %v", rep.Errors)
	}

	// What the teacher sent, by layer.
	teacher := parts[0]
	if teacher.spec.role != "teacher" || teacher.pb == nil || len(teacher.pb.video) != 3 {
		t.Fatalf("participant 0 is not a simulcast teacher: %+v", teacher.spec)
	}
	sent := map[int]float64{}
	for _, l := range teacher.pb.video {
		sent[int(l.spec.id)] = l.sent.kbps()
		want := float64(l.spec.bitrate) / 1000
		// Keyframes asked for by joining students (PLI) come on top.
		if k := sent[int(l.spec.id)]; k < 0.85*want || k > 1.4*want {
			t.Errorf("teacher layer %s sent %.0f kbps, want about %.0f", layerNames[l.spec.id], k, want)
		}
	}

	for _, p := range parts[1:] {
		var audio, video *trackResult
		for _, tr := range p.tracks {
			r := tr.result()
			if r.video {
				video = &r
			} else {
				audio = &r
			}
		}
		id := p.spec.identity
		if audio == nil || audio.packets == 0 || video == nil || video.packets == 0 {
			t.Errorf("%s: did not receive the teacher's audio and video (%d tracks)", id, len(p.tracks))
			continue
		}
		for _, r := range []*trackResult{audio, video} {
			if r.publisher != 0 {
				t.Errorf("%s: track %s carries publisher %d, want the teacher (0)", id, r.sid, r.publisher)
			}
			if r.lost != 0 || r.expected == 0 {
				t.Errorf("%s: track %s lost %d of %d packets on loopback", id, r.sid, r.lost, r.expected)
			}
			if r.foreignPackets != 0 {
				t.Errorf("%s: %d packets without a media header", id, r.foreignPackets)
			}
		}
		if audio.finalLayer != int(layerAudio) {
			t.Errorf("%s: audio track carries layer %d", id, audio.finalLayer)
		}
		// The layer the student settled on (the server starts a new
		// subscriber on the low layer and raises it as it asks).
		l := video.finalLayer
		if l < int(layerQ) || l > int(layerF) {
			t.Errorf("%s: video on layer %d, not a simulcast layer", id, l)
			continue
		}
		if want := p.spec.quality; simulcastLayers[l].quality != want {
			t.Errorf("%s: receives layer %s, asked for %s", id, layerNames[l], want)
		}
		if got, want := video.finalKbps, sent[l]; got < 0.8*want || got > 1.2*want {
			t.Errorf("%s: received %.0f kbps on layer %s (%.1fs), the teacher sent %.0f kbps", id, got, layerNames[l], video.layerSeconds[l], want)
		}
	}

	if rep.LossPercent != 0 {
		t.Errorf("loss %.3f%%, want 0 on loopback", rep.LossPercent)
	}
	if rep.TracksSubscribed != 40 {
		t.Errorf("tracks subscribed %d, want 40", rep.TracksSubscribed)
	}
	if rep.DelayMs.Count == 0 || rep.DelayMs.P50 <= 0 || rep.DelayMs.P99 <= 0 || rep.DelayMs.Max < rep.DelayMs.P99/2 {
		t.Errorf("delay figures missing: %+v", rep.DelayMs)
	}
	if rep.JoinMs.Count != 21 || rep.FirstMediaMs.Count != 20 {
		t.Errorf("join %+v, first media %+v", rep.JoinMs, rep.FirstMediaMs)
	}
	if rep.PerSubscriberKbps.Min <= 0 {
		t.Errorf("a student received nothing: %+v", rep.PerSubscriberKbps)
	}
	if rep.Layers["audio"].Subscribers != 20 {
		t.Errorf("layers: %+v", rep.Layers)
	}
	if rep.Server == nil || rep.Server.PacketsOutPerSecond <= 0 || rep.Server.CPUCores <= 0 {
		t.Errorf("server figures: %+v", rep.Server)
	}
	if tm := rep.TeacherMedia; tm.Students != 20 || tm.Received != 20 {
		t.Errorf("teacher's media: %+v", tm)
	}
	st := rep.Signal.ByRole["student"]
	if st.Participants != 20 || st.ByType["join"] != 1 || st.ByType["offer"] < 1 || st.Mean < st.ByType["update"] {
		t.Errorf("students' signaling: %+v", st)
	}
	if rep.Server != nil && (rep.Server.SignalMessagesByType["join"] != 1 || rep.Server.SignalMessagesPerParticipant < 3) {
		t.Errorf("server's signaling per participant: %.1f %v", rep.Server.SignalMessagesPerParticipant, rep.Server.SignalMessagesByType)
	}
	if rep.Client.CPUCores <= 0 || rep.Client.CPUMicrosPerSubscriber <= 0 || rep.Client.Goroutines == 0 {
		t.Errorf("client figures: %+v", rep.Client)
	}
	if len(rep.Timeline) < 3 {
		t.Errorf("timeline has %d samples", len(rep.Timeline))
	}

	// The JSON report holds every field of report.Report.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	checkJSONFields(t, "report", reflect.TypeFor[report.Report](), m)
}

// checkJSONFields requires every JSON field of typ in m, recursing into
// structs and the elements of maps and slices of structs. Only omitempty
// fields may be missing, and only when empty (errors).
func checkJSONFields(t *testing.T, path string, typ reflect.Type, m map[string]any) {
	t.Helper()
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		v, ok := m[name]
		if !ok {
			if strings.Contains(opts, "omitempty") && name == "errors" {
				continue
			}
			t.Errorf("%s: JSON has no %q", path, name)
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]():
			sub, ok := v.(map[string]any)
			if !ok {
				t.Errorf("%s.%s: not an object", path, name)
				continue
			}
			checkJSONFields(t, path+"."+name, ft, sub)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			arr, _ := v.([]any)
			if len(arr) == 0 {
				t.Errorf("%s.%s: empty", path, name)
			}
			for _, e := range arr {
				sub, _ := e.(map[string]any)
				checkJSONFields(t, path+"."+name+"[]", ft.Elem(), sub)
			}
		case ft.Kind() == reflect.Map && ft.Elem().Kind() == reflect.Struct:
			obj, _ := v.(map[string]any)
			if len(obj) == 0 {
				t.Errorf("%s.%s: empty", path, name)
			}
			for k, e := range obj {
				sub, _ := e.(map[string]any)
				checkJSONFields(t, path+"."+name+"."+k, ft.Elem(), sub)
			}
		}
	}
}

// runFails runs cfg, which must fail within limit with an error mentioning
// every one of want.
func runFails(t *testing.T, cfg Config, limit time.Duration, want ...string) {
	t.Helper()
	start := time.Now()
	rep, err := Run(context.Background(), cfg)
	took := time.Since(start)
	if err == nil {
		t.Fatalf("run succeeded (%d joined), want an error", rep.Participants)
	}
	if took > limit {
		t.Errorf("failing took %v, want under %v", took, limit)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	t.Logf("failed in %v: %v", took.Round(time.Millisecond), err)
}

func TestWrongURLFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there any more
	cfg := Config{
		Scenario: ScenarioAudio, URL: "ws://" + addr, APIKey: "k", APISecret: "s", Room: "r",
		Duration: 30 * time.Second, Ramp: 10 * time.Second, Participants: 5, LoopbackOnly: true,
	}
	runFails(t, cfg, 5*time.Second, "cannot reach", addr)
}

func TestBadKeyFailsFast(t *testing.T) {
	srv := testserver.Start(t, nil)
	cfg := testConfig(srv, ScenarioAudio)
	cfg.Participants = 5
	cfg.Duration, cfg.Ramp = 30*time.Second, 10*time.Second
	cfg.APISecret = "not-the-secret-not-the-secret-not"
	runFails(t, cfg, 5*time.Second, "HTTP 401", "/rtc/validate")

	cfg = testConfig(srv, ScenarioAudio)
	cfg.Participants = 5
	cfg.Duration, cfg.Ramp = 30*time.Second, 10*time.Second
	cfg.APIKey = "unknown"
	runFails(t, cfg, 5*time.Second, "HTTP 401")
}

func TestNotABayanServerFailsFast(t *testing.T) {
	srv := testserver.Start(t, nil)
	cfg := testConfig(srv, ScenarioAudio)
	cfg.Participants = 3
	cfg.URL = srv.URL() + "/nowhere"
	runFails(t, cfg, 5*time.Second, "HTTP 404")
}

func TestNoGoroutineLeft(t *testing.T) {
	opts := []goleak.Option{goleak.IgnoreCurrent()}
	srv := testserver.Start(t, nil)
	cfg := testConfig(srv, ScenarioConference)
	cfg.Participants, cfg.Tiles = 4, 2
	cfg.Duration, cfg.Ramp = 2500*time.Millisecond, 500*time.Millisecond
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.Participants != 4 || rep.TracksSubscribed == 0 {
		t.Fatalf("%d joined, %d tracks received", rep.Participants, rep.TracksSubscribed)
	}
	// Each participant hears 3 others and watches 2 videos.
	if rep.TracksSubscribed != 4*(3+2) {
		t.Errorf("tracks subscribed %d, want 20", rep.TracksSubscribed)
	}
	// Stop the node first: what remains is the load tester's.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Logf("close server: %v", err)
	}
	goleak.VerifyNone(t, opts...)
}

// A teacher publishing Opus RED reaches a student who negotiated RED (pion
// subscriber: the packets as sent) and one who did not (lean subscriber,
// Opus only: the server forwards the primary encoding), both intact.
func TestREDAudioReachesBothKindsOfSubscriber(t *testing.T) {
	for _, pionSubs := range []bool{true, false} {
		srv := testserver.Start(t, nil)
		cfg := testConfig(srv, ScenarioClass)
		cfg.Students = 2
		cfg.RedAudio = true
		cfg.PionSubscribers = pionSubs
		rep, parts, err := run(context.Background(), &cfg)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		if rep.Participants != 3 || rep.Failed != 0 {
			t.Fatalf("participants %d joined, %d failed (errors %v)", rep.Participants, rep.Failed, rep.Errors)
		}
		for _, p := range parts[1:] {
			var audio *trackResult
			red := false
			for _, tr := range p.tracks {
				if r := tr.result(); !r.video {
					audio, red = &r, tr.red
				}
			}
			if audio == nil || audio.packets < 100 {
				t.Fatalf("pion subscribers %v, %s: no audio", pionSubs, p.spec.identity)
			}
			if red != pionSubs {
				t.Errorf("pion subscribers %v, %s: RED negotiated %v", pionSubs, p.spec.identity, red)
			}
			if audio.foreignPackets != 0 || audio.lost != 0 || audio.publisher != 0 {
				t.Errorf("pion subscribers %v, %s: %d packets not Opus from the teacher, %d lost of %d",
					pionSubs, p.spec.identity, audio.foreignPackets, audio.lost, audio.expected)
			}
			if k := audio.layerKbps[layerAudio]; k < 25 || k > 45 {
				t.Errorf("pion subscribers %v, %s: audio at %.1f kbps, want the primary's ~32 (RED doubles it)", pionSubs, p.spec.identity, k)
			}
		}
	}
}

// Without --red the teacher's microphone reaches a student with a full
// pion connection (which could take RED) as plain Opus, intact.
func TestOpusAudioReachesPionSubscriber(t *testing.T) {
	srv := testserver.Start(t, nil)
	cfg := testConfig(srv, ScenarioClass)
	cfg.Students = 1
	cfg.PionSubscribers = true
	rep, parts, err := run(context.Background(), &cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.Participants != 2 || rep.Failed != 0 {
		t.Fatalf("participants %d joined, %d failed (errors %v)", rep.Participants, rep.Failed, rep.Errors)
	}
	var audio *trackResult
	red := false
	for _, tr := range parts[1].tracks {
		if r := tr.result(); !r.video {
			audio, red = &r, tr.red
		}
	}
	if audio == nil || audio.packets < 100 {
		t.Fatalf("no audio: %+v", audio)
	}
	if red {
		t.Errorf("RED negotiated without --red")
	}
	if audio.foreignPackets != 0 || audio.lost != 0 || audio.publisher != 0 {
		t.Errorf("%d packets not Opus from the teacher, %d lost of %d", audio.foreignPackets, audio.lost, audio.expected)
	}
}
