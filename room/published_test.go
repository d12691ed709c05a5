package room

import (
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/sfu"
)

// simulcastTrack returns a published simulcast track with a receiver (fed
// by nothing) for each of the given qualities.
func simulcastTrack(qs ...livekit.VideoQuality) *PublishedTrack {
	pt := &PublishedTrack{info: &livekit.TrackInfo{Simulcast: true}}
	for _, q := range qs {
		r := sfu.NewReceiverFromSource(nil, sfu.ReceiverParams{Kind: webrtc.RTPCodecTypeVideo})
		pt.layers[q] = r
		if pt.receiver == nil {
			pt.receiver = r
		}
	}
	return pt
}

// layerFor passes over dead layers, preferring the next lower one, then a
// higher one, and ignores deadness when every layer is dead; askedLayer
// never does.
func TestLayerForSkipsDeadLayers(t *testing.T) {
	const low, med, high = livekit.VideoQuality_LOW, livekit.VideoQuality_MEDIUM, livekit.VideoQuality_HIGH
	pt := simulcastTrack(low, med, high)
	cases := []struct {
		dead [3]bool
		want livekit.VideoQuality
		ask  livekit.VideoQuality
	}{
		{[3]bool{}, high, high},
		{[3]bool{false, false, true}, med, high},
		{[3]bool{false, true, true}, low, high},
		{[3]bool{true, false, false}, med, low},
		{[3]bool{true, true, false}, high, low},
		{[3]bool{false, true, false}, low, med},
		{[3]bool{true, true, true}, med, med},
	}
	for _, c := range cases {
		pt.dead = c.dead
		if got := pt.layerFor(c.ask); got != pt.layers[c.want] {
			t.Errorf("dead %v, asking %v: got layer %v, want %v", c.dead, c.ask, layerIndex(pt, got), c.want)
		}
		if got := pt.askedLayer(c.ask); got != pt.layers[c.ask] {
			t.Errorf("dead %v: askedLayer(%v) = %v", c.dead, c.ask, layerIndex(pt, got))
		}
	}
}

func layerIndex(pt *PublishedTrack, r *sfu.Receiver) int {
	for q, l := range pt.layers {
		if l == r {
			return q
		}
	}
	return -1
}

// observeLayers expects every layer before dynacast has said anything and
// afterwards only those dynacast enabled: a silent layer nobody watches is
// not dead.
func TestObserveLayersExpectsWhatDynacastAsked(t *testing.T) {
	pt := simulcastTrack(livekit.VideoQuality_LOW, livekit.VideoQuality_MEDIUM, livekit.VideoQuality_HIGH)
	now := time.Unix(1000, 0)
	observe := func(n int) [3]bool {
		var dead [3]bool
		for range n {
			now = now.Add(sfu.LayerCheckInterval)
			dead, _, _ = pt.observeLayers(now)
		}
		return dead
	}
	// Nothing arrives on any layer (the receivers read nothing): layers
	// expected from the start get the resume timeout, as a publisher
	// starting them needs.
	if dead := observe(1 + int(sfu.LayerResumeTimeout/sfu.LayerCheckInterval)); dead != [3]bool{true, true, true} {
		t.Fatalf("before dynacast: dead = %v, want all", dead)
	}
	pt.dynacast, pt.dynacastSent = [3]bool{true, false, false}, true
	if dead := observe(1); dead != [3]bool{true, false, false} {
		t.Fatalf("only low asked for: dead = %v, want only low", dead)
	}
	pt.info.Simulcast = false
	if dead, changed, died := pt.observeLayers(now.Add(time.Second)); dead != [3]bool{} || changed || died {
		t.Fatalf("without simulcast: dead %v, changed %v, died %v", dead, changed, died)
	}
}
