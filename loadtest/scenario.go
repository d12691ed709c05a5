package loadtest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/livekit/protocol/livekit"
)

// Scenarios: who joins, what each participant publishes and what it
// subscribes to.
//
//   - conference: --participants people, each publishing audio and video;
//     each subscribes to all audio and to --tiles videos at the low layer.
//   - class: a teacher (index 0) publishing video and audio, --students
//     students auto-subscribing with the --layers mix of qualities; the
//     first --stage students also publish audio and video.
//   - audio: --participants people publishing audio only, everyone hearing
//     everyone.
//
// Indexes are global and identities are "p-<index>", so shards (--shard
// i/n runs the indexes with index % n == i) never collide.

// Scenario names.
const (
	ScenarioConference = "conference"
	ScenarioClass      = "class"
	ScenarioAudio      = "audio"
)

// Scenarios lists the scenario names.
var Scenarios = []string{ScenarioConference, ScenarioClass, ScenarioAudio}

// LayerMix is the share of subscribers asking for each quality.
type LayerMix map[livekit.VideoQuality]float64

// ParseLayerMix reads a mix such as "low=0.5,medium=0.3,high=0.2"; the
// shares are normalised to sum to 1.
func ParseLayerMix(s string) (LayerMix, error) {
	mix := LayerMix{}
	var sum float64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("bad --layers entry %q: want name=share", part)
		}
		var q livekit.VideoQuality
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "low", "q":
			q = livekit.VideoQuality_LOW
		case "medium", "h":
			q = livekit.VideoQuality_MEDIUM
		case "high", "f":
			q = livekit.VideoQuality_HIGH
		default:
			return nil, fmt.Errorf("bad --layers entry %q: the layers are low, medium and high", part)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 {
			return nil, fmt.Errorf("bad --layers share %q", part)
		}
		mix[q] += f
		sum += f
	}
	if sum <= 0 {
		return nil, fmt.Errorf("bad --layers %q: no positive share", s)
	}
	for q := range mix {
		mix[q] /= sum
	}
	return mix, nil
}

// pick returns the quality for the i-th (0-based) of n subscribers: the
// shares are laid out in order low, medium, high, so any subset spread
// over the indexes (a shard) gets the mix too.
func (m LayerMix) pick(i, n int) livekit.VideoQuality {
	x := (float64(i) + 0.5) / float64(n)
	qs := []livekit.VideoQuality{livekit.VideoQuality_LOW, livekit.VideoQuality_MEDIUM, livekit.VideoQuality_HIGH}
	var acc float64
	for _, q := range qs {
		acc += m[q]
		if x < acc {
			return q
		}
	}
	for j := len(qs) - 1; j >= 0; j-- {
		if m[qs[j]] > 0 {
			return qs[j]
		}
	}
	return livekit.VideoQuality_HIGH
}

// String writes the mix back in --layers form.
func (m LayerMix) String() string {
	names := map[livekit.VideoQuality]string{livekit.VideoQuality_LOW: "low", livekit.VideoQuality_MEDIUM: "medium", livekit.VideoQuality_HIGH: "high"}
	var parts []string
	for q, f := range m {
		parts = append(parts, fmt.Sprintf("%s=%g", names[q], f))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// plan returns the participants of the scenario that belong to the
// configuration's shard, in join order.
func plan(cfg *Config) ([]participantSpec, error) {
	var all []participantSpec
	switch cfg.Scenario {
	case ScenarioConference:
		n := cfg.Participants
		for i := range n {
			// auto_subscribe=0: the participant subscribes explicitly.
			all = append(all, participantSpec{
				index: i, role: "peer", publishAudio: true, publishVideo: true, simulcast: cfg.Simulcast,
				tiles: max(cfg.Tiles, 0), total: n, quality: livekit.VideoQuality_LOW, expectMedia: n > 1,
			})
		}
	case ScenarioClass:
		all = append(all, participantSpec{
			index: 0, role: "teacher", publishAudio: true, publishVideo: true, simulcast: cfg.Simulcast,
			autoSubscribe: true, quality: livekit.VideoQuality_MEDIUM, expectMedia: cfg.Stage > 0,
		})
		for s := range cfg.Students {
			stage := s < cfg.Stage
			role := "student"
			if stage {
				role = "stage"
			}
			all = append(all, participantSpec{
				index: s + 1, role: role, publishAudio: stage, publishVideo: stage, simulcast: cfg.Simulcast,
				autoSubscribe: true, quality: cfg.Layers.pick(s, cfg.Students), expectMedia: true,
			})
		}
	case ScenarioAudio:
		n := cfg.Participants
		for i := range n {
			all = append(all, participantSpec{
				index: i, role: "peer", publishAudio: true, autoSubscribe: true, expectMedia: n > 1,
			})
		}
	default:
		return nil, fmt.Errorf("unknown scenario %q (want one of %s)", cfg.Scenario, strings.Join(Scenarios, ", "))
	}
	var mine []participantSpec
	for _, s := range all {
		if s.index%cfg.ShardCount != cfg.ShardIndex {
			continue
		}
		s.identity = identityFor(s.index)
		mine = append(mine, s)
	}
	return mine, nil
}
