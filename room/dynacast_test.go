package room

import (
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/sfu"
)

// signalLog records what a participant is sent.
type signalLog struct {
	mu   sync.Mutex
	msgs []*livekit.SignalResponse
}

func (l *signalLog) Send(m *livekit.SignalResponse) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, m)
}

// lastQualities returns the layers the last SubscribedQualityUpdate
// enabled, and whether there was one.
func (l *signalLog) lastQualities() (enabled [3]bool, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.msgs) - 1; i >= 0; i-- {
		if u := l.msgs[i].GetSubscribedQualityUpdate(); u != nil {
			for _, q := range u.GetSubscribedQualities() {
				if q.GetQuality() <= livekit.VideoQuality_HIGH {
					enabled[q.GetQuality()] = q.GetEnabled()
				}
			}
			return enabled, true
		}
	}
	return enabled, false
}

// dynacastFixture is a room where alice publishes a simulcast camera,
// TR_cam, announced with the layers advertised, of which only arrived has
// arrived, and bob subscribes to it; sent records what alice is told.
// alice and bob are bare participants, with nothing for the room to
// close: they are taken out of it before it closes.
func dynacastFixture(t *testing.T, advertised []livekit.VideoQuality, arrived livekit.VideoQuality) (*Room, *PublishedTrack, *signalLog) {
	m := NewManager(nil, nil, nil, Config{}, nil)
	r := m.GetOrCreate("dynacast")
	sent := &signalLog{}
	bare := func(identity string, sink SignalSink) *Participant {
		return &Participant{room: r, identity: identity, log: r.log, info: &livekit.ParticipantInfo{Identity: identity}, sink: sink,
			pending: map[string]*livekit.TrackInfo{}, published: map[string]*PublishedTrack{}, subs: map[string]*subscription{}}
	}
	alice, bob := bare("alice", sent), bare("bob", nil)
	pt := simulcastTrack(arrived)
	pt.owner = alice
	pt.info = &livekit.TrackInfo{Sid: "TR_cam", Type: livekit.TrackType_VIDEO, Simulcast: true, MimeType: webrtc.MimeTypeVP8}
	for _, q := range advertised {
		pt.info.Layers = append(pt.info.Layers, &livekit.VideoLayer{Quality: q})
	}
	alice.published["TR_cam"] = pt
	bob.subs["TR_cam"] = newSubscription(pt, "alice|TR_cam", nil)
	r.mu.Lock()
	r.participants["alice"], r.participants["bob"] = alice, bob
	r.mu.Unlock()
	t.Cleanup(func() {
		r.mu.Lock()
		delete(r.participants, "alice")
		delete(r.participants, "bob")
		r.mu.Unlock()
		m.Close(livekit.DisconnectReason_ROOM_DELETED)
	})
	return r, pt, sent
}

// A layer the publisher advertised but whose packets have not arrived yet
// is never turned off: the server learns of a layer only from its packets,
// and a subscriber whose layer stops must have the next one to fall back
// to. Once every layer has arrived, only the watched one stays on.
func TestDynacastKeepsUnarrivedLayersOn(t *testing.T) {
	const low, med, high = livekit.VideoQuality_LOW, livekit.VideoQuality_MEDIUM, livekit.VideoQuality_HIGH
	// Only the high layer has arrived.
	r, pt, sent := dynacastFixture(t, []livekit.VideoQuality{low, med, high}, high)

	r.updateDynacast(pt)
	if got, ok := sent.lastQualities(); !ok || got != [3]bool{true, true, true} {
		t.Fatalf("before the low and medium layers arrived: enabled %v (sent %v), want all", got, ok)
	}
	for _, q := range []livekit.VideoQuality{low, med} {
		pt.addLayer(q, sfu.NewReceiverFromSource(nil, sfu.ReceiverParams{Kind: webrtc.RTPCodecTypeVideo}))
	}
	r.updateDynacast(pt)
	if got, _ := sent.lastQualities(); got != [3]bool{false, false, true} {
		t.Fatalf("every layer arrived, bob watches high: enabled %v, want only high", got)
	}
}

// qualityUpdates counts the SubscribedQualityUpdates sent.
func (l *signalLog) qualityUpdates() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if m.GetSubscribedQualityUpdate() != nil {
			n++
		}
	}
	return n
}

// A layer the publisher was told to send and that stops (or never starts)
// is asked for again, although what anybody watches has not changed: the
// first request may have been lost with a dropped signal connection.
func TestDeadLayerIsAskedForAgain(t *testing.T) {
	const high = livekit.VideoQuality_HIGH
	r, pt, sent := dynacastFixture(t, []livekit.VideoQuality{high}, high)

	r.updateDynacast(pt)
	r.updateDynacast(pt)
	if got, ok := sent.lastQualities(); !ok || got != [3]bool{false, false, true} || sent.qualityUpdates() != 1 {
		t.Fatalf("bob watches high: enabled %v, %d updates; want high alone, once", got, sent.qualityUpdates())
	}
	// No packet of the high layer comes: once the publisher has had its
	// time to start it, the layer is dead, and the publisher is asked again.
	now := time.Now()
	r.checkLayerLiveness(now)
	r.checkLayerLiveness(now.Add(sfu.LayerResumeTimeout + sfu.LayerCheckInterval))
	pt.mu.Lock()
	dead := pt.dead
	pt.mu.Unlock()
	if !dead[high] {
		t.Fatal("the silent high layer is not dead")
	}
	if got, _ := sent.lastQualities(); got != [3]bool{false, false, true} || sent.qualityUpdates() < 2 {
		t.Fatalf("after the layer died: enabled %v, %d updates; want high asked for again", got, sent.qualityUpdates())
	}
}

// A subscriber whose video the allocator paused for its downlink's sake
// keeps the lowest layer on: with every layer off the publisher's own
// uplink estimate falls to its audio's rate, and the video resumes as a
// thumbnail long after the subscriber's link has room again. A subscriber
// that disabled the video wants none of it.
func TestDynacastKeepsLowestLayerForBudgetPause(t *testing.T) {
	const low, med, high = livekit.VideoQuality_LOW, livekit.VideoQuality_MEDIUM, livekit.VideoQuality_HIGH
	r, pt, sent := dynacastFixture(t, []livekit.VideoQuality{low, med, high}, high)
	for _, q := range []livekit.VideoQuality{low, med} {
		pt.addLayer(q, sfu.NewReceiverFromSource(nil, sfu.ReceiverParams{Kind: webrtc.RTPCodecTypeVideo}))
	}
	s := r.Participant("bob").subs["TR_cam"]

	s.budgetPaused.Store(true)
	s.applyPause()
	if got, ok := sent.lastQualities(); !ok || got != [3]bool{true, false, false} {
		t.Fatalf("bob's video paused for his downlink: enabled %v (sent %v), want the low layer alone", got, ok)
	}
	s.disabled.Store(true)
	s.applyPause()
	if got, _ := sent.lastQualities(); got != [3]bool{} {
		t.Fatalf("bob disabled the video as well: enabled %v, want none", got)
	}
}
