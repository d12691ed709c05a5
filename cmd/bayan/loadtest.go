package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bayan-dev/bayan/loadtest"
	"github.com/bayan-dev/bayan/loadtest/report"
)

// loadtestOptions are the flags of `loadtest`.
type loadtestOptions struct {
	url, apiKey, apiSecret, room string
	duration, ramp               time.Duration
	participants, tiles          int
	students, stage              int
	layers                       string
	simulcast                    bool
	shard                        string
	metricsURL                   string
	out, html                    string
	cpuprofile                   string
	pionSubscribers              bool
	redAudio                     bool
	ssrcSimulcast                bool
}

// Default participant counts by scenario, when --participants is not given.
var defaultParticipants = map[string]int{loadtest.ScenarioConference: 302, loadtest.ScenarioAudio: 100}

func (a *app) loadtestCmd() *cobra.Command {
	var o loadtestOptions
	cmd := &cobra.Command{
		Use:   "loadtest <conference|class|audio>",
		Short: "Load a server with synthetic participants and report what they received",
		Long: "Join synthetic participants that publish synthetic VP8 (simulcast) and Opus-sized media and\n" +
			"measure what they receive: join time, time to first media, bitrate, loss, jitter and end-to-end\n" +
			"delay, with the server's CPU and memory read from its /metrics.\n\n" +
			"Scenarios:\n" +
			"  conference  --participants people publish audio and video; each watches --tiles videos at the\n" +
			"              low layer and hears everyone\n" +
			"  class       a teacher publishes; --students watch with the --layers mix of qualities;\n" +
			"              the first --stage students publish too\n" +
			"  audio       --participants people publish audio; everyone hears everyone\n\n" +
			"A progress line goes to standard error every second, the summary to standard output.\n" +
			"--shard i/n runs part of the participants, so several machines can share one test.",
		Example: "  bayan loadtest class --url ws://127.0.0.1:7880 --api-key devkey --api-secret secret --students 50\n" +
			"  bayan loadtest conference --participants 50 --tiles 9 --duration 1m --ramp 20s --out report.json",
		Args:      cobra.ExactArgs(1),
		ValidArgs: loadtest.Scenarios,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runLoadtest(cmd, args[0], &o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.url, "url", "ws://127.0.0.1:7880", "server signaling URL")
	fs.StringVar(&o.apiKey, "api-key", "devkey", "API key to mint tokens with")
	fs.StringVar(&o.apiSecret, "api-secret", "secret", "secret of --api-key")
	fs.StringVar(&o.room, "room", "loadtest", "room to join")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "length of the run, ramp included")
	fs.DurationVar(&o.ramp, "ramp", 5*time.Second, "participants join evenly over this time")
	fs.IntVar(&o.participants, "participants", 0, "participants (conference: 302, audio: 100)")
	fs.IntVar(&o.tiles, "tiles", 25, "conference: videos each participant watches")
	fs.IntVar(&o.students, "students", 50, "class: students")
	fs.IntVar(&o.stage, "stage", 0, "class: students who also publish audio and video")
	fs.StringVar(&o.layers, "layers", "low=0.5,medium=0.3,high=0.2", "class: share of students asking for each quality")
	fs.BoolVar(&o.simulcast, "simulcast", true, "publish three VP8 simulcast layers (false: one 1280x720 stream)")
	fs.StringVar(&o.shard, "shard", "0/1", "run the participants with index % n == i (i/n)")
	fs.StringVar(&o.metricsURL, "metrics-url", "", "server Prometheus metrics (default: the --url host's /metrics; \"\" to skip)")
	fs.StringVar(&o.out, "out", "", "write the report as JSON to this file")
	fs.StringVar(&o.html, "html", "", "write the report as an HTML page to this file")
	fs.BoolVar(&o.redAudio, "red", false, "offer microphones as Opus RED (RFC 2198) before Opus, as LiveKit's web client does; they send what the server answers first")
	fs.BoolVar(&o.ssrcSimulcast, "ssrc-simulcast", false, "announce simulcast encodings by SSRC (a=ssrc-group:SIM) instead of by RID")
	fs.BoolVar(&o.pionSubscribers, "pion-subscribers", false, "receive with full pion peer connections instead of the lean subscriber (costs the load tester more CPU)")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the load tester to this file (go tool pprof)")
	return cmd
}

func (a *app) runLoadtest(cmd *cobra.Command, scenario string, o *loadtestOptions) error {
	fs := cmd.Flags()
	cfg := loadtest.Config{
		Scenario:        scenario,
		URL:             o.url,
		APIKey:          o.apiKey,
		APISecret:       o.apiSecret,
		Room:            o.room,
		Duration:        o.duration,
		Ramp:            o.ramp,
		Tiles:           o.tiles,
		Students:        o.students,
		Stage:           o.stage,
		Simulcast:       o.simulcast,
		PionSubscribers: o.pionSubscribers,
		RedAudio:        o.redAudio,
		SSRCSimulcast:   o.ssrcSimulcast,
		Progress:        a.stderr,
		Params:          map[string]string{},
	}
	cfg.Participants = o.participants
	if !fs.Changed("participants") {
		cfg.Participants = defaultParticipants[scenario]
	}
	var err error
	if cfg.Layers, err = loadtest.ParseLayerMix(o.layers); err != nil {
		return err
	}
	if cfg.ShardIndex, cfg.ShardCount, err = loadtest.ParseShard(o.shard); err != nil {
		return err
	}
	cfg.MetricsURL = o.metricsURL
	if !fs.Changed("metrics-url") {
		if cfg.MetricsURL, err = loadtest.DefaultMetricsURL(o.url); err != nil {
			return err
		}
	}
	// The report records the flags that shaped the run (never the secret).
	cfg.Params["scenario"] = scenario
	fs.VisitAll(func(f *pflag.Flag) {
		if !scenarioFlag(scenario, f.Name) {
			return
		}
		cfg.Params[f.Name] = f.Value.String()
	})
	if scenarioFlag(scenario, "participants") {
		cfg.Params["participants"] = fmt.Sprint(cfg.Participants)
	}
	cfg.Params["metrics-url"] = cfg.MetricsURL

	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := loadtest.Run(ctx, cfg)
	if rep == nil {
		return err
	}
	if werr := report.WriteSummary(a.stdout, rep); werr != nil && err == nil {
		err = werr
	}
	if tm := rep.TeacherMedia; tm.Received < tm.Students && err == nil {
		err = fmt.Errorf("%d of %d students did not receive the teacher's media", tm.Students-tm.Received, tm.Students)
	}
	if o.out != "" {
		if werr := writeFileWith(o.out, func(f *os.File) error {
			enc := json.NewEncoder(f)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	if o.html != "" {
		if werr := writeFileWith(o.html, func(f *os.File) error { return report.WriteHTML(f, rep) }); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	return err
}

// scenarioFlag reports whether a flag shapes runs of scenario (and so
// belongs in the report's parameters).
func scenarioFlag(scenario, flag string) bool {
	switch flag {
	case "api-secret", "out", "html", "cpuprofile", "help":
		return false
	case "participants", "tiles":
		return scenario != loadtest.ScenarioClass && (flag != "tiles" || scenario == loadtest.ScenarioConference)
	case "students", "stage", "layers":
		return scenario == loadtest.ScenarioClass
	case "simulcast":
		return scenario != loadtest.ScenarioAudio
	}
	return true
}

// writeFileWith creates path and fills it with write.
func writeFileWith(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
