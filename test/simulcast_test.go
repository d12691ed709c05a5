package test

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
	"github.com/bayan-dev/bayan/sfu/codecs"
)

// layerMagic marks each simulcast layer's payloads.
var layerMagic = map[livekit.VideoQuality][]byte{
	livekit.VideoQuality_LOW:    []byte("BAYAN-LQ"),
	livekit.VideoQuality_MEDIUM: []byte("BAYAN-LH"),
	livekit.VideoQuality_HIGH:   []byte("BAYAN-LF"),
}

// layerPacket is one received packet: its sequence number, the layer whose
// payload it carries, whether it starts a keyframe and when it arrived.
type layerPacket struct {
	seq   uint16
	layer livekit.VideoQuality
	key   bool
	at    time.Time
}

type layerLog struct {
	mu   sync.Mutex
	pkts []layerPacket
}

func (l *layerLog) read(track *webrtc.TrackRemote) {
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		q := livekit.VideoQuality_OFF
		for lq, m := range layerMagic {
			if bytes.Contains(pkt.Payload, m) {
				q = lq
			}
		}
		l.mu.Lock()
		l.pkts = append(l.pkts, layerPacket{seq: pkt.SequenceNumber, layer: q, key: codecs.IsKeyframe(webrtc.MimeTypeVP8, pkt.Payload), at: time.Now()})
		l.mu.Unlock()
	}
}

func (l *layerLog) snapshot() []layerPacket {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]layerPacket(nil), l.pkts...)
}

// tailLayer reports the layer of the last n packets if they all agree.
func (l *layerLog) tailLayer(n int) (livekit.VideoQuality, bool) {
	p := l.snapshot()
	if len(p) < n {
		return 0, false
	}
	q := p[len(p)-1].layer
	for _, x := range p[len(p)-n:] {
		if x.layer != q {
			return 0, false
		}
	}
	return q, true
}

// layerSamples produces one simulcast layer's frames: a keyframe every
// half second, each carrying the layer's magic and a counter. The SDK's
// write loop paces it and skips frames of layers dynacast turned off.
// While stopped is set it produces nothing, as a browser under CPU
// pressure stops encoding a layer. plis counts the PLIs the publisher got
// for the layer.
type layerSamples struct {
	q       livekit.VideoQuality
	i       uint32
	stopped atomic.Bool
	plis    atomic.Int32
}

func (l *layerSamples) NextSample(ctx context.Context) (media.Sample, error) {
	if err := ctx.Err(); err != nil {
		return media.Sample{}, err
	}
	// The write loop paces by the durations it is given: the time spent
	// stopped goes into the next frame's, so that it does not catch up in
	// a burst.
	var idle time.Duration
	for start := time.Now(); l.stopped.Load(); idle = time.Since(start) {
		select {
		case <-ctx.Done():
			return media.Sample{}, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	hdr := byte(0x11) // inter frame (P bit set)
	if l.i%15 == 0 {
		hdr = 0x10 // keyframe
	}
	data := append([]byte{hdr}, layerMagic[l.q]...)
	data = binary.BigEndian.AppendUint32(data, l.i)
	data = append(data, bytes.Repeat([]byte{0xAB}, 100*(int(l.q)+1))...)
	l.i++
	return media.Sample{Data: data, Duration: 33*time.Millisecond + idle}, nil
}

func (l *layerSamples) OnBind() error   { return nil }
func (l *layerSamples) OnUnbind() error { return nil }
func (l *layerSamples) Close() error    { return nil }

// publishSimulcast publishes a three-layer VP8 track and returns the
// layers' sample sources by quality.
func publishSimulcast(t *testing.T, r *lksdk.Room) map[livekit.VideoQuality]*layerSamples {
	t.Helper()
	providers := map[livekit.VideoQuality]*layerSamples{}
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	sizes := map[livekit.VideoQuality][2]uint32{
		livekit.VideoQuality_LOW: {320, 180}, livekit.VideoQuality_MEDIUM: {640, 360}, livekit.VideoQuality_HIGH: {1280, 720},
	}
	var tracks []*lksdk.LocalTrack
	for _, q := range []livekit.VideoQuality{livekit.VideoQuality_LOW, livekit.VideoQuality_MEDIUM, livekit.VideoQuality_HIGH} {
		provider := &layerSamples{q: q}
		var tr *lksdk.LocalTrack
		countPLIs := lksdk.WithRTCPHandler(func(p rtcp.Packet) {
			if pli, ok := p.(*rtcp.PictureLossIndication); ok && pli.MediaSSRC == uint32(tr.SSRC()) {
				provider.plis.Add(1)
			}
		})
		tr, err := lksdk.NewLocalTrack(codec, lksdk.WithSimulcast("cam", &livekit.VideoLayer{Quality: q, Width: sizes[q][0], Height: sizes[q][1]}), countPLIs)
		if err != nil {
			t.Fatal(err)
		}
		providers[q] = provider
		tr.OnBind(func() { _ = tr.StartWrite(provider, nil) })
		t.Cleanup(func() { _ = tr.Close() })
		tracks = append(tracks, tr)
	}
	if _, err := r.LocalParticipant.PublishSimulcastTrack(tracks, &lksdk.TrackPublicationOptions{Name: "cam"}); err != nil {
		t.Fatalf("publish simulcast: %v", err)
	}
	return providers
}

// A simulcast publisher's layers reach each subscriber as it asks: the high
// layer by default, the low one on request, and back, each switch on a
// keyframe with no gap in sequence numbers.
func TestSDKSimulcastLayerPerSubscriber(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)

	subscriber := func(name string) (*lksdk.Room, *layerLog, chan *lksdk.RemoteTrackPublication) {
		log := &layerLog{}
		pubs := make(chan *lksdk.RemoteTrackPublication, 1)
		cb := lksdk.NewRoomCallback()
		cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
			pubs <- pub
			go log.read(track)
		}
		r := testserver.Join(t, srv, testserver.Token(t, "simulcast", name, nil), cb)
		return r, log, pubs
	}
	bRoom, bLog, _ := subscriber("bob")
	_, cLog, cPubs := subscriber("carol")

	a := testserver.Join(t, srv, testserver.Token(t, "simulcast", "alice", nil), nil)
	publishSimulcast(t, a)

	testwait.For(t, "bob to get the high layer", 15*time.Second, func() bool {
		q, ok := bLog.tailLayer(30)
		return ok && q == livekit.VideoQuality_HIGH
	})
	var cPub *lksdk.RemoteTrackPublication
	select {
	case cPub = <-cPubs:
	case <-time.After(10 * time.Second):
		t.Fatal("carol was not subscribed")
	}
	testwait.For(t, "carol to get the high layer", 15*time.Second, func() bool {
		q, ok := cLog.tailLayer(30)
		return ok && q == livekit.VideoQuality_HIGH
	})
	if err := cPub.SetVideoQuality(livekit.VideoQuality_LOW); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "carol to move to the low layer", 10*time.Second, func() bool {
		q, ok := cLog.tailLayer(30)
		return ok && q == livekit.VideoQuality_LOW
	})
	if q, ok := bLog.tailLayer(30); !ok || q != livekit.VideoQuality_HIGH {
		t.Fatalf("bob left the high layer (%v) when carol asked for the low one", q)
	}
	if err := cPub.SetVideoQuality(livekit.VideoQuality_HIGH); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "carol to move back to the high layer", 10*time.Second, func() bool {
		q, ok := cLog.tailLayer(30)
		return ok && q == livekit.VideoQuality_HIGH
	})

	// Dynacast: with both subscribers on the low layer, alice is told that
	// nobody watches the others, and stops sending them.
	bPub := bRoom.GetParticipantByIdentity("alice").TrackPublications()[0].(*lksdk.RemoteTrackPublication)
	pkts := cLog.snapshot()
	if err := bPub.SetVideoQuality(livekit.VideoQuality_LOW); err != nil {
		t.Fatal(err)
	}
	if err := cPub.SetVideoQuality(livekit.VideoQuality_LOW); err != nil {
		t.Fatal(err)
	}
	track := srv.Rooms().Room("simulcast").Participant("alice").PublishedTracks()[0]
	testwait.For(t, "alice to stop sending the high layer", 3*time.Second, func() bool {
		before := track.LayerPackets()
		time.Sleep(300 * time.Millisecond)
		after := track.LayerPackets()
		return after[livekit.VideoQuality_HIGH] == before[livekit.VideoQuality_HIGH] &&
			after[livekit.VideoQuality_LOW] > before[livekit.VideoQuality_LOW]
	})
	// And when somebody wants it again, it comes back.
	if err := bPub.SetVideoQuality(livekit.VideoQuality_HIGH); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "bob back on the high layer", 5*time.Second, func() bool {
		q, ok := bLog.tailLayer(30)
		return ok && q == livekit.VideoQuality_HIGH
	})

	switches := 0
	for i := 1; i < len(pkts); i++ {
		if pkts[i].seq != pkts[i-1].seq+1 {
			t.Fatalf("sequence gap at packet %d: %d after %d", i, pkts[i].seq, pkts[i-1].seq)
		}
		if pkts[i].layer != pkts[i-1].layer {
			switches++
			if !pkts[i].key {
				t.Fatalf("switch to layer %v at packet %d does not start with a keyframe", pkts[i].layer, i)
			}
		}
	}
	if switches < 2 {
		t.Fatalf("%d layer switches seen, want at least 2", switches)
	}
}

// A subscriber that asks for the low layer as soon as it is subscribed
// (the Go SDK's SetVideoQuality in OnTrackSubscribed) gets no packet of a
// higher layer before the low one: a new down-track starts on the lowest
// layer and is raised only when asked, or by the allocator once the
// subscriber had time to ask. When it later asks for the high layer it
// gets it, and the switch asks the publisher for that layer's keyframe.
func TestSDKSubscriberAskingLowStartsOnLow(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)
	a := testserver.Join(t, srv, testserver.Token(t, "firstlayer", "alice", nil), nil)
	layers := publishSimulcast(t, a)
	testwait.For(t, "every layer of alice's camera to arrive", 15*time.Second, func() bool {
		p := srv.Rooms().Room("firstlayer").Participant("alice")
		if p == nil || len(p.PublishedTracks()) != 1 {
			return false
		}
		n := p.PublishedTracks()[0].LayerPackets()
		return n[livekit.VideoQuality_LOW] > 0 && n[livekit.VideoQuality_MEDIUM] > 0 && n[livekit.VideoQuality_HIGH] > 0
	})

	log := &layerLog{}
	pubs := make(chan *lksdk.RemoteTrackPublication, 1)
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
		if err := pub.SetVideoQuality(livekit.VideoQuality_LOW); err != nil {
			t.Errorf("SetVideoQuality: %v", err)
		}
		pubs <- pub
		go log.read(track)
	}
	testserver.Join(t, srv, testserver.Token(t, "firstlayer", "carol", nil), cb)
	var pub *lksdk.RemoteTrackPublication
	select {
	case pub = <-pubs:
	case <-time.After(15 * time.Second):
		t.Fatal("carol was not subscribed")
	}
	testwait.For(t, "carol to get the low layer", 15*time.Second, func() bool {
		q, ok := log.tailLayer(30)
		return ok && q == livekit.VideoQuality_LOW
	})
	for i, p := range log.snapshot() {
		if p.layer == livekit.VideoQuality_LOW {
			break
		}
		t.Fatalf("packet %d of layer %v came before the first packet of the low layer", i, p.layer)
	}

	plis := layers[livekit.VideoQuality_HIGH].plis.Load()
	if err := pub.SetVideoQuality(livekit.VideoQuality_HIGH); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "carol to move to the high layer", 10*time.Second, func() bool {
		q, ok := log.tailLayer(30)
		return ok && q == livekit.VideoQuality_HIGH
	})
	if got := layers[livekit.VideoQuality_HIGH].plis.Load(); got <= plis {
		t.Fatalf("alice got no PLI for the high layer when carol asked for it (%d before, %d after)", plis, got)
	}
}
