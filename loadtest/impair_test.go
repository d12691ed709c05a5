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
	cfg.Duration, cfg.Ramp = 8*time.Second, time.Second

	rep, parts, err := run(context.Background(), &cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.Participants != 4 || rep.Failed != 0 {
		t.Fatalf("participants %d joined, %d failed (errors: %v)", rep.Participants, rep.Failed, rep.Errors)
	}
	sent, dropped := counters()
	raw := float64(dropped) / float64(sent+dropped)
	t.Logf("relay: %d datagrams from the server, %d dropped (%.2f %%)", sent+dropped, dropped, 100*raw)
	if raw < 0.03 || raw > 0.07 {
		t.Fatalf("the relay dropped %.2f %% of the server's datagrams, want about 5 %%", 100*raw)
	}
	var expected, lost uint64
	for _, p := range parts[1:] {
		for _, tr := range p.tracks {
			if r := tr.result(); r.video {
				expected += r.expected
				lost += r.lost
			}
		}
	}
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
