package loadtest

import (
	"context"
	"testing"
	"time"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
)

// A student asking for 15 fps gets the teacher's temporal layers 0 and 1
// only: about half the video packets of a student asking for no particular
// rate, with no gaps in the server's sequence numbers (the subscribers'
// NACK generators find nothing to ask for on loopback).
func TestSubscriberFrameRateThinsTemporalLayers(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)
	cfg := testConfig(srv, ScenarioClass)
	cfg.Students = 2
	cfg.Layers, _ = ParseLayerMix("high=1")
	cfg.Duration, cfg.Ramp = 6*time.Second, time.Second
	cfg.PionSubscribers = true
	// Participant 0 is the teacher; student 1 asks for 15 fps.
	cfg.fps = func(i int) uint32 {
		if i == 1 {
			return 15
		}
		return 0
	}
	rep, parts, err := run(context.Background(), &cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.Participants != 3 || rep.Failed != 0 {
		t.Fatalf("participants %d joined, %d failed (errors: %v)", rep.Participants, rep.Failed, rep.Errors)
	}
	var got [2]trackResult
	for i, p := range parts[1:] {
		for _, tr := range p.tracks {
			if r := tr.result(); r.video {
				got[i] = r
			}
		}
	}
	thin, full := got[0], got[1]
	// lost counts from the publisher's own numbering: for the thinned
	// student it is the packets of the frames left out.
	t.Logf("15 fps: %d packets (%d not forwarded); all: %d packets (%d lost); %d NACKs", thin.packets, thin.lost, full.packets, full.lost, rep.NACKsSent)
	if full.packets < 200 {
		t.Fatalf("only %d video packets reached the full-rate student", full.packets)
	}
	// Keyframes are larger and all go out, so the ratio lies above half.
	ratio := float64(thin.packets) / float64(full.packets)
	if ratio < 0.35 || ratio > 0.75 {
		t.Errorf("the 15 fps student got %.2f of the packets, want about half", ratio)
	}
	if rep.NACKsSent != 0 {
		t.Errorf("%d NACKs sent on loopback: gaps in the forwarded sequence", rep.NACKsSent)
	}
}
