package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/loadtest/lean"
	"github.com/bayan-dev/bayan/loadtest/report"
)

// drainTime is how long subscribers keep receiving after publishers stop:
// packets in flight arrive and lost ones are NACKed and resent.
const drainTime = 500 * time.Millisecond

// runEnv is what all participants of a run share.
type runEnv struct {
	cfg  *Config
	api  *webrtc.API
	cert webrtc.Certificate
	// The lean subscribers' DTLS certificate and its SDP fingerprint.
	leanIdentity lean.Identity
	// serverHost is the signaling URL's host, toward which lean
	// subscribers open their sockets.
	serverHost string
	http       *http.Client
	rtcp       rtcpCounters
	// stopMedia is closed when publishers stop sending, a moment before
	// participants leave, so that what is in flight (and its repair)
	// arrives.
	stopMedia chan struct{}

	mu       sync.Mutex
	errCount map[string]int
	errOrder []string
}

func newEnv(cfg *Config) (*runEnv, error) {
	e := &runEnv{cfg: cfg, errCount: map[string]int{}, stopMedia: make(chan struct{})}
	var err error
	if e.api, err = newAPI(&e.rtcp, cfg.LoopbackOnly); err != nil {
		return nil, err
	}
	if e.cert, err = newCertificate(); err != nil {
		return nil, fmt.Errorf("DTLS certificate: %w", err)
	}
	if e.leanIdentity, err = lean.NewIdentity(); err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %w", cfg.URL, err)
	}
	e.serverHost = u.Hostname()
	// No keep-alive: no idle connection (and its goroutines) outlives a
	// request, and a failed WebSocket handshake leaves nothing behind.
	e.http = &http.Client{Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DisableKeepAlives:   true,
		TLSHandshakeTimeout: 10 * time.Second,
	}}
	return e, nil
}

// token mints a participant's access token.
func (e *runEnv) token(spec *participantSpec) (string, error) {
	g := &auth.VideoGrant{RoomJoin: true, Room: e.cfg.Room}
	g.SetCanPublish(spec.publishes())
	g.SetCanSubscribe(true)
	return auth.NewAccessToken(e.cfg.APIKey, e.cfg.APISecret).
		SetIdentity(spec.identity).
		SetName(spec.identity + " (" + spec.role + ")").
		SetVideoGrant(g).
		SetValidFor(e.cfg.Duration + time.Hour).
		ToJWT()
}

// recordError keeps an error for the report; repeats are counted.
func (e *runEnv) recordError(msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.errCount[msg] == 0 {
		e.errOrder = append(e.errOrder, msg)
	}
	e.errCount[msg]++
}

func (e *runEnv) errors() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, m := range e.errOrder {
		if n := e.errCount[m]; n > 1 {
			m = fmt.Sprintf("%s (x%d)", m, n)
		}
		out = append(out, m)
	}
	return out
}

// Run runs a load test until cfg.Duration has passed or ctx ends, and
// returns its report. It fails fast, with an error saying why, when the
// first participant cannot join (wrong URL, bad key).
func Run(ctx context.Context, cfg Config) (*report.Report, error) {
	r, _, err := run(ctx, &cfg)
	return r, err
}

// liveTotals is the state of the run summed over participants.
type liveTotals struct {
	joined             int
	tracks             int
	bytesIn, bytesOut  uint64
	expected, received uint64
	delays             report.Snapshot
}

func (t *liveTotals) lossPercent() float64 {
	if t.expected == 0 || t.received >= t.expected {
		return 0
	}
	return float64(t.expected-t.received) * 100 / float64(t.expected)
}

// sampler takes a sample every second: the progress line, the timeline,
// and at the start of the steady part the "before" figures.
type sampler struct {
	cfg      *Config
	env      *runEnv
	parts    []*participant
	start    time.Time
	steadyAt time.Time

	prev       liveTotals
	prevAt     time.Time
	timeline   []report.Sample
	maxGorout  int
	steady     bool
	srvSteady  *serverSample
	cpuSteady  time.Duration
	steadyWall time.Time
	trackSecs  float64 // subscribed tracks × seconds in the steady part
}

func (s *sampler) totals() liveTotals {
	var t liveTotals
	for _, p := range s.parts {
		if p.joined.Load() {
			t.joined++
		}
		p.snapshot(&t)
	}
	return t
}

// takeSteady records where the steady part starts.
func (s *sampler) takeSteady(ctx context.Context, now time.Time) {
	s.steady = true
	s.steadyWall = now
	s.cpuSteady = processCPU()
	if s.cfg.MetricsURL != "" {
		if sm, err := scrape(ctx, s.env.http, s.cfg.MetricsURL); err == nil {
			s.srvSteady = sm
		} else {
			s.env.recordError(fmt.Sprintf("metrics: %v", err))
		}
	}
}

func (s *sampler) sample(ctx context.Context, now time.Time, total int) {
	cur := s.totals()
	dt := now.Sub(s.prevAt).Seconds()
	if dt <= 0 {
		dt = 1
	}
	delays := cur.delays.Minus(&s.prev.delays)
	smp := report.Sample{
		T:           math.Round(now.Sub(s.start).Seconds()*10) / 10,
		Joined:      cur.joined,
		Tracks:      cur.tracks,
		MbpsIn:      float64(cur.bytesIn-s.prev.bytesIn) * 8 / 1e6 / dt,
		MbpsOut:     float64(cur.bytesOut-s.prev.bytesOut) * 8 / 1e6 / dt,
		LossPercent: cur.lossPercent(),
		DelayP50Ms:  delays.Quantile(0.50) / 1000,
		DelayP99Ms:  delays.Quantile(0.99) / 1000,
	}
	if s.steady {
		s.trackSecs += float64(cur.tracks) * dt
	}
	s.timeline = append(s.timeline, smp)
	s.maxGorout = max(s.maxGorout, runtime.NumGoroutine())
	s.prev, s.prevAt = cur, now
	if s.cfg.Progress != nil {
		fmt.Fprintf(s.cfg.Progress, "[%5.1fs] joined %d/%d  tracks %d  in %.2f Mbps  out %.2f Mbps  loss %.2f%%  delay p50 %.2f ms p99 %.2f ms\n",
			smp.T, smp.Joined, total, smp.Tracks, smp.MbpsIn, smp.MbpsOut, smp.LossPercent, smp.DelayP50Ms, smp.DelayP99Ms)
	}
	if !s.steady && !now.Before(s.steadyAt) {
		s.takeSteady(ctx, now)
	}
}

// run is Run, also returning the participants for tests to inspect.
func run(ctx context.Context, cfg *Config) (*report.Report, []*participant, error) {
	if err := cfg.check(); err != nil {
		return nil, nil, err
	}
	specs, err := plan(cfg)
	if err != nil {
		return nil, nil, err
	}
	if len(specs) == 0 {
		return nil, nil, fmt.Errorf("shard %d/%d has no participants", cfg.ShardIndex, cfg.ShardCount)
	}
	env, err := newEnv(cfg)
	if err != nil {
		return nil, nil, err
	}
	defer env.http.CloseIdleConnections()

	start := time.Now()
	var srvFirst *serverSample
	if cfg.MetricsURL != "" {
		if srvFirst, err = scrape(ctx, env.http, cfg.MetricsURL); err != nil {
			env.recordError(fmt.Sprintf("metrics not available, server figures left out: %v", err))
			cfg.MetricsURL = ""
		}
	}
	cpuStart := processCPU()

	// runCtx times the run; partCtx ends the participants, after the final
	// figures are taken.
	runCtx, cancelRun := context.WithTimeout(ctx, cfg.Duration)
	defer cancelRun()
	partCtx, cancelParts := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelParts()

	parts := make([]*participant, len(specs))
	for i := range specs {
		specs[i].redAudio = cfg.RedAudio
		specs[i].ssrcSimulcast = cfg.SSRCSimulcast && specs[i].simulcast
		parts[i] = newParticipant(env, specs[i])
	}
	if cfg.started != nil {
		cfg.started(parts)
	}
	var (
		wg        sync.WaitGroup
		fatal     error
		fatalMu   sync.Mutex
		attempted atomic.Int64
	)
	for i, p := range parts {
		var delay time.Duration
		if len(parts) > 1 {
			delay = cfg.Ramp * time.Duration(i) / time.Duration(len(parts))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if delay > 0 {
				t := time.NewTimer(delay)
				select {
				case <-t.C:
				case <-runCtx.Done():
					t.Stop()
					return
				}
			}
			if runCtx.Err() != nil {
				return
			}
			attempted.Add(1)
			err := p.run(partCtx)
			if err == nil {
				return
			}
			if i == 0 && runCtx.Err() == nil {
				// The first join failing means the rest will fail the same
				// way: stop the run and say why.
				fatalMu.Lock()
				fatal = explainJoinError(ctx, env, &p.spec, err)
				fatalMu.Unlock()
				cancelRun()
				cancelParts()
				return
			}
			if runCtx.Err() == nil || p.joinStart.IsZero() {
				env.recordError(stripIdentity(err, p.spec.identity))
			}
		}()
	}

	// Sample once a second until the run ends.
	smp := &sampler{cfg: cfg, env: env, parts: parts, start: start, prevAt: start, steadyAt: start.Add(cfg.Ramp)}
	if cfg.Duration-cfg.Ramp < 2*time.Second {
		// No steady part worth the name: measure the whole run.
		smp.steadyAt = start
		smp.steady, smp.steadyWall, smp.cpuSteady, smp.srvSteady = true, start, cpuStart, srvFirst
	}
	tick := time.NewTicker(time.Second)
loop:
	for {
		select {
		case <-runCtx.Done():
			break loop
		case now := <-tick.C:
			smp.sample(runCtx, now, len(parts))
		}
	}
	tick.Stop()
	end := time.Now()
	fatalMu.Lock()
	f := fatal
	fatalMu.Unlock()
	if f != nil {
		cancelParts()
		wg.Wait()
		return nil, parts, f
	}
	if end.Sub(smp.prevAt) > 200*time.Millisecond {
		smp.sample(context.Background(), end, len(parts))
	}
	if !smp.steady {
		// Interrupted during the ramp: measure the whole run.
		smp.steady, smp.steadyWall, smp.cpuSteady, smp.srvSteady = true, start, cpuStart, srvFirst
	}
	var srvEnd *serverSample
	if cfg.MetricsURL != "" && smp.srvSteady != nil {
		if srvEnd, err = scrape(context.Background(), env.http, cfg.MetricsURL); err != nil {
			env.recordError(fmt.Sprintf("metrics: %v", err))
		}
	}
	cpuEnd := processCPU()

	close(env.stopMedia)
	time.Sleep(drainTime)
	cancelParts()
	wg.Wait()

	rep := buildReport(cfg, env, parts, start, end)
	rep.Timeline = smp.timeline
	if rep.Timeline == nil {
		rep.Timeline = []report.Sample{}
	}
	if failed := int(attempted.Load()) - rep.Participants; failed > rep.Failed {
		rep.Failed = failed
	}
	if srvFirst != nil && smp.srvSteady != nil && srvEnd != nil {
		rep.Server = serverUsage(srvFirst, smp.srvSteady, srvEnd, rep.Participants)
	}
	if wall := end.Sub(smp.steadyWall).Seconds(); wall > 0 {
		cpu := (cpuEnd - smp.cpuSteady).Seconds()
		rep.Client.CPUCores = cpu / wall
		if smp.trackSecs > 0 {
			rep.Client.CPUMicrosPerSubscriber = cpu * 1e6 / smp.trackSecs
		}
	}
	rep.Client.Goroutines = smp.maxGorout
	rep.Errors = env.errors()
	if rep.Participants == 0 {
		return rep, parts, errors.New("no participant could join: " + firstOr(rep.Errors, "the run ended first"))
	}
	return rep, parts, nil
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// stripIdentity removes a participant's name from its error, so that the
// same failure of many participants is reported once, counted.
func stripIdentity(err error, identity string) string {
	msg := err.Error()
	prefix := "join " + identity + ": "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return "join: " + msg[len(prefix):]
	}
	return msg
}

// explainJoinError turns the first participant's failed join into an error
// that says what to fix: /rtc/validate gives the server's reason for a
// refused token, a connection error says the URL is wrong.
func explainJoinError(ctx context.Context, env *runEnv, spec *participantSpec, err error) error {
	var je *joinError
	if !errors.As(err, &je) {
		return fmt.Errorf("first participant could not join: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	token, terr := env.token(spec)
	if terr != nil {
		return terr
	}
	verr := validateToken(ctx, env.http, env.cfg.URL, token)
	var vje *joinError
	switch {
	case verr == nil:
		return fmt.Errorf("first participant could not join %s (the token validates): %w", env.cfg.URL, err)
	case errors.As(verr, &vje) && vje.status != 0:
		return fmt.Errorf("server refused the join (check --api-key/--api-secret and --url): /rtc/validate: %w", verr)
	default:
		return fmt.Errorf("cannot reach the server at %s: %w", env.cfg.URL, err)
	}
}

// percentiles of samples (sorted in place), nearest rank.
func percentiles(v []float64) report.Percentiles {
	if len(v) == 0 {
		return report.Percentiles{}
	}
	sort.Float64s(v)
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(v)))) - 1
		return v[min(max(i, 0), len(v)-1)]
	}
	return report.Percentiles{Count: len(v), P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: v[len(v)-1]}
}

func summary(v []float64) report.Summary {
	if len(v) == 0 {
		return report.Summary{}
	}
	sort.Float64s(v)
	var sum float64
	for _, x := range v {
		sum += x
	}
	return report.Summary{Min: v[0], P50: v[(len(v)-1)/2], Mean: sum / float64(len(v)), Max: v[len(v)-1]}
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// minLayerSeconds is how long a track must have received a layer for its
// bitrate on that layer to count: a few frames' burst says nothing.
const minLayerSeconds = 0.5

// buildReport assembles the figures of the finished run; every goroutine
// of the participants has ended.
func buildReport(cfg *Config, env *runEnv, parts []*participant, start, end time.Time) *report.Report {
	rep := &report.Report{
		Scenario: cfg.Scenario,
		URL:      cfg.URL,
		Started:  start,
		Duration: report.Seconds(end.Sub(start).Seconds()),
		Params:   cfg.Params,
		Shard:    fmt.Sprintf("%d/%d", cfg.ShardIndex, cfg.ShardCount),
		Layers:   map[string]report.LayerStats{},
	}
	if rep.Params == nil {
		rep.Params = map[string]string{}
	}
	var (
		joinMs, firstMs, subKbps, jitters []float64
		layerSent, layerRecv              [numLayers][]float64
		expected, lost                    uint64
		delays                            report.Snapshot
		maxDelay                          int64
	)
	for _, p := range parts {
		if !p.joined.Load() {
			continue
		}
		rep.Participants++
		joinMs = append(joinMs, float64(p.joinDur)/1e6)
		if pb := p.pb; pb != nil {
			rep.Publishers++
			if !pb.started.IsZero() {
				rep.SentKbps += kbps(pb.totalBytes(), pb.stopped.Sub(pb.started).Seconds())
			}
			// A layer's rate counts where it was sent long enough to mean
			// something (dynacast may have paused it all along).
			for _, l := range pb.video {
				if l.sent.activeSeconds() >= minLayerSeconds {
					layerSent[l.spec.id] = append(layerSent[l.spec.id], l.sent.kbps())
				}
			}
			if a := pb.audio; a != nil && a.sent.activeSeconds() >= minLayerSeconds {
				layerSent[layerAudio] = append(layerSent[layerAudio], a.sent.kbps())
			}
		}
		if p.spec.expectMedia {
			rep.Subscribers++
		}
		p.delays.AddTo(&delays)
		maxDelay = max(maxDelay, p.maxDelay.Load())
		var bytes uint64
		var last time.Time
		for _, t := range p.tracks {
			r := t.result()
			if r.packets == 0 {
				continue
			}
			rep.TracksSubscribed++
			bytes += r.bytes
			if r.last.After(last) {
				last = r.last
			}
			expected += r.expected
			lost += r.lost
			jitters = append(jitters, r.jitterMs)
			for l := range numLayers {
				if r.layerBytes[l] > 0 && r.layerSeconds[l] >= minLayerSeconds {
					layerRecv[l] = append(layerRecv[l], r.layerKbps[l])
				}
			}
		}
		if fm := p.firstMedia.Load(); fm != 0 {
			first := time.Unix(0, fm)
			firstMs = append(firstMs, float64(first.Sub(p.joinStart))/1e6)
			if p.spec.expectMedia {
				k := kbps(bytes, last.Sub(first).Seconds())
				subKbps = append(subKbps, k)
				rep.ReceivedKbps += k
			}
		} else if p.spec.expectMedia {
			subKbps = append(subKbps, 0)
		}
		p.mu.Lock()
		if p.lost != nil {
			env.recordError("session ended early: " + p.lost.Error())
		}
		p.mu.Unlock()
	}
	rep.JoinMs = percentiles(joinMs)
	rep.FirstMediaMs = percentiles(firstMs)
	rep.PerSubscriberKbps = summary(subKbps)
	rep.JitterMs = mean(jitters)
	if expected > 0 {
		rep.LossPercent = float64(lost) * 100 / float64(expected)
	}
	if n := delays.Count(); n > 0 {
		rep.DelayMs = report.Percentiles{
			Count: int(n),
			P50:   delays.Quantile(0.50) / 1000,
			P95:   delays.Quantile(0.95) / 1000,
			P99:   delays.Quantile(0.99) / 1000,
			Max:   float64(maxDelay) / 1e6,
		}
	}
	for l := range numLayers {
		if len(layerSent[l]) == 0 && len(layerRecv[l]) == 0 {
			continue
		}
		rep.Layers[layerNames[l]] = report.LayerStats{
			SentKbps:     mean(layerSent[l]),
			ReceivedKbps: mean(layerRecv[l]),
			Subscribers:  len(layerRecv[l]),
		}
	}
	rep.Signal = signalStats(parts)
	rep.TeacherMedia = teacherMedia(parts)
	rep.NACKsSent = env.rtcp.nacks.Load()
	rep.PLIsSent = env.rtcp.plis.Load()
	return rep
}
