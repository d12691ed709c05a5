package loadtest

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Config describes one load test run.
type Config struct {
	Scenario  string // conference, class or audio
	URL       string // the server's signaling URL, ws://host:7880
	APIKey    string
	APISecret string
	Room      string

	// Duration bounds the whole run, ramp included; participants join
	// evenly over Ramp.
	Duration time.Duration
	Ramp     time.Duration

	Participants int      // conference, audio
	Tiles        int      // conference: videos each participant watches
	Students     int      // class
	Stage        int      // class: students who also publish
	Layers       LayerMix // class: the qualities students ask for
	Simulcast    bool     // publish three VP8 encodings instead of one

	// ShardIndex/ShardCount: run only the participants whose index %
	// ShardCount == ShardIndex.
	ShardIndex, ShardCount int

	// MetricsURL is the server's Prometheus endpoint; empty skips the
	// server's figures.
	MetricsURL string

	// Progress receives a status line every second; nil for none.
	Progress io.Writer
	// Params are recorded in the report as they were given.
	Params map[string]string

	// JoinTimeout bounds one join (signaling, negotiation, ICE and DTLS);
	// 0 means 20 s.
	JoinTimeout time.Duration
	// LoopbackOnly gathers ICE candidates on loopback addresses only (tests,
	// or a server on the same machine).
	LoopbackOnly bool
	// PionSubscribers receives media with full pion peer connections
	// instead of the lean subscriber (see loadtest/lean), to compare the two.
	PionSubscribers bool
	// RedAudio offers microphones as Opus RED (RFC 2198) before plain Opus,
	// as LiveKit's web client does by default; they send what the answer
	// lists first. Without it only Opus is offered.
	RedAudio bool
	// SSRCSimulcast announces simulcast the older way, as SSRCs in an
	// a=ssrc-group:SIM line with no RIDs in the SDP or the packets (Chrome
	// with SDP munging, several native stacks).
	SSRCSimulcast bool

	// withholdCandidates (tests) keeps pion connections from trickling
	// their candidates: the server then learns each client's address from
	// its connectivity checks alone, so that a relay in between sees all
	// the traffic.
	withholdCandidates bool
	// started (tests) is called with the participants once they exist,
	// before any joins.
	started func([]*participant)
	// fps (tests), when set, gives the frame rate participant i asks for
	// in its track settings; 0 asks for no particular rate.
	fps func(i int) uint32
}

// ParseShard reads "i/n".
func ParseShard(s string) (index, count int, err error) {
	a, b, ok := strings.Cut(s, "/")
	if ok {
		index, err = strconv.Atoi(strings.TrimSpace(a))
		if err == nil {
			count, err = strconv.Atoi(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil || count < 1 || index < 0 || index >= count {
		return 0, 0, fmt.Errorf("bad --shard %q: want i/n with 0 <= i < n", s)
	}
	return index, count, nil
}

// check validates the configuration and fills in defaults.
func (c *Config) check() error {
	if _, err := wsBase(c.URL); err != nil {
		return err
	}
	if c.APIKey == "" || c.APISecret == "" {
		return errors.New("--api-key and --api-secret are required")
	}
	if c.Room == "" {
		return errors.New("--room is required")
	}
	if c.Duration <= 0 {
		return errors.New("--duration must be positive")
	}
	if c.Ramp < 0 || c.Ramp > c.Duration {
		return errors.New("--ramp must be between 0 and --duration")
	}
	if c.ShardCount == 0 {
		c.ShardCount = 1
	}
	if c.ShardIndex < 0 || c.ShardIndex >= c.ShardCount {
		return fmt.Errorf("bad shard %d/%d", c.ShardIndex, c.ShardCount)
	}
	switch c.Scenario {
	case ScenarioConference, ScenarioAudio:
		if c.Participants < 1 {
			return errors.New("--participants must be at least 1")
		}
	case ScenarioClass:
		if c.Students < 1 {
			return errors.New("--students must be at least 1")
		}
		if c.Stage < 0 || c.Stage > c.Students {
			return errors.New("--stage must be between 0 and --students")
		}
		if len(c.Layers) == 0 {
			c.Layers = LayerMix{}
			c.Layers[simulcastLayers[2].quality] = 1
		}
	default:
		return fmt.Errorf("unknown scenario %q (want one of %s)", c.Scenario, strings.Join(Scenarios, ", "))
	}
	if c.JoinTimeout <= 0 {
		c.JoinTimeout = 20 * time.Second
	}
	return nil
}
