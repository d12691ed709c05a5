package test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
)

var (
	audioMagic = []byte("BAYAN-AUD")
	videoMagic = []byte("BAYAN-VID")
)

// publishSamples publishes a sample track and, until ctx ends, writes the
// frame next makes for each tick of every (next gets the frame's index).
func publishSamples(ctx context.Context, t *testing.T, r *lksdk.Room, c webrtc.RTPCodecCapability, name string,
	every time.Duration, next func(i uint32) ([]byte, *lksdk.SampleWriteOptions)) *lksdk.LocalTrackPublication {
	t.Helper()
	track, err := lksdk.NewLocalSampleTrack(c)
	if err != nil {
		t.Fatalf("new track: %v", err)
	}
	pub, err := r.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{Name: name})
	if err != nil {
		t.Fatalf("publish %s: %v", name, err)
	}
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := uint32(0); ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			data, opts := next(i)
			_ = track.WriteSample(media.Sample{Data: data, Duration: every}, opts)
		}
	}()
	return pub
}

// vp8Intra starts a frame that VP8 reads as an intra frame (P bit clear),
// so a subscriber can start at any sample; Opus does not care.
var vp8Intra = []byte{0x10}

// countedFrame is prefix, magic, the counter i and 200 filler bytes.
func countedFrame(prefix, magic []byte, i uint32) []byte {
	data := append(append([]byte(nil), prefix...), magic...)
	data = binary.BigEndian.AppendUint32(data, i)
	return append(data, bytes.Repeat([]byte{0xAB}, 200)...)
}

// publishCounted publishes a track whose samples carry magic and an
// increasing counter until ctx ends.
func publishCounted(ctx context.Context, t *testing.T, r *lksdk.Room, c webrtc.RTPCodecCapability, name string, magic []byte, every time.Duration) *lksdk.LocalTrackPublication {
	t.Helper()
	return publishSamples(ctx, t, r, c, name, every, func(i uint32) ([]byte, *lksdk.SampleWriteOptions) {
		return countedFrame(vp8Intra, magic, i), nil
	})
}

// counterLog records the counters found in received RTP payloads, keyed by
// RTP sequence number: retransmissions may arrive late, and order is judged
// by sequence number, as a receiver's jitter buffer does.
type counterLog struct {
	mu      sync.Mutex
	bySeq   map[int64]uint32 // extended sequence number → counter
	lastExt int64
	started bool
	intact  bool
	// hex: the counter is written as 8 hexadecimal digits, not 4 binary
	// bytes: in an H.264 access unit, binary counters such as 1 or 256
	// contain a start code (00 00 01) at which the payloader splits the
	// frame.
	hex bool
}

func (l *counterLog) add(seq uint16, payload, magic []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bySeq == nil {
		l.bySeq = map[int64]uint32{}
	}
	var ext int64
	if l.started {
		ext = l.lastExt + int64(int16(seq-uint16(l.lastExt)))
	} else {
		ext, l.started = int64(seq)+1<<20, true
	}
	if ext > l.lastExt {
		l.lastExt = ext
	}
	width := 4
	if l.hex {
		width = 8
	}
	i := bytes.Index(payload, magic)
	if i < 0 || len(payload) < i+len(magic)+width+200 {
		l.intact = false
		return
	}
	tail := payload[i+len(magic)+width:]
	if !bytes.Equal(tail[:200], bytes.Repeat([]byte{0xAB}, 200)) {
		l.intact = false
	}
	counter := payload[i+len(magic) : i+len(magic)+width]
	if !l.hex {
		l.bySeq[ext] = binary.BigEndian.Uint32(counter)
		return
	}
	n, err := strconv.ParseUint(string(counter), 16, 32)
	if err != nil {
		l.intact = false
		return
	}
	l.bySeq[ext] = uint32(n)
}

func (l *counterLog) sortedSeqs() []int64 {
	seqs := make([]int64, 0, len(l.bySeq))
	for s := range l.bySeq {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	return seqs
}

// snapshot returns the counters in sequence number order, and whether every
// payload arrived intact.
func (l *counterLog) snapshot() ([]uint32, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]uint32, 0, len(l.bySeq))
	for _, s := range l.sortedSeqs() {
		out = append(out, l.bySeq[s])
	}
	return out, l.intact
}

// seqGaps returns how many sequence numbers are missing between the first
// and the last received, and how many packets arrived.
func (l *counterLog) seqGaps() (gaps, total int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seqs := l.sortedSeqs()
	for i := 1; i < len(seqs); i++ {
		gaps += int(seqs[i] - seqs[i-1] - 1)
	}
	return gaps, len(seqs)
}

func readTrack(track *webrtc.TrackRemote, log *counterLog, magic []byte) {
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		log.add(pkt.SequenceNumber, pkt.Payload, magic)
	}
}

func checkInOrder(t *testing.T, name string, counts []uint32, intact bool, min int) {
	t.Helper()
	if len(counts) < min {
		t.Fatalf("%s: received %d samples, want at least %d", name, len(counts), min)
	}
	if !intact {
		t.Fatalf("%s: a payload arrived altered", name)
	}
	for i := 1; i < len(counts); i++ {
		if counts[i] <= counts[i-1] {
			t.Fatalf("%s: counter %d after %d: out of order", name, counts[i], counts[i-1])
		}
	}
	span := int(counts[len(counts)-1]-counts[0]) + 1
	if len(counts)*100 < span*95 {
		t.Fatalf("%s: %d of %d samples arrived", name, len(counts), span)
	}
}

func TestSDKPublishSubscribeDataMuteLeave(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var audioLog, videoLog = &counterLog{intact: true}, &counterLog{intact: true}
	var mu sync.Mutex
	var bData, cData []string
	var muted, aLeft bool

	bCB := lksdk.NewRoomCallback()
	bCB.OnTrackSubscribed = func(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		if track.Kind() == webrtc.RTPCodecTypeAudio {
			go readTrack(track, audioLog, audioMagic)
		} else {
			go readTrack(track, videoLog, videoMagic)
		}
	}
	bCB.OnDataPacket = func(d lksdk.DataPacket, p lksdk.DataReceiveParams) {
		if u, ok := d.(*lksdk.UserDataPacket); ok {
			mu.Lock()
			bData = append(bData, p.SenderIdentity+":"+string(u.Payload))
			mu.Unlock()
		}
	}
	bCB.OnTrackMuted = func(pub lksdk.TrackPublication, p lksdk.Participant) {
		if p.Identity() == "alice" {
			mu.Lock()
			muted = true
			mu.Unlock()
		}
	}
	bCB.OnParticipantDisconnected = func(rp *lksdk.RemoteParticipant) {
		if rp.Identity() == "alice" {
			mu.Lock()
			aLeft = true
			mu.Unlock()
		}
	}
	testserver.Join(t, srv, testserver.Token(t, "r1", "bob", nil), bCB)

	cCB := lksdk.NewRoomCallback()
	cCB.OnDataPacket = func(d lksdk.DataPacket, p lksdk.DataReceiveParams) {
		if u, ok := d.(*lksdk.UserDataPacket); ok {
			mu.Lock()
			cData = append(cData, p.SenderIdentity+":"+string(u.Payload))
			mu.Unlock()
		}
	}
	testserver.Join(t, srv, testserver.Token(t, "r1", "carol", nil), cCB)

	a := testserver.Join(t, srv, testserver.Token(t, "r1", "alice", nil), nil)

	publishCounted(ctx, t, a, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", audioMagic, 20*time.Millisecond)
	vpub := publishCounted(ctx, t, a, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", videoMagic, 33*time.Millisecond)

	testwait.For(t, "bob to receive 100 audio and 60 video samples", 15*time.Second, func() bool {
		ac, _ := audioLog.snapshot()
		vc, _ := videoLog.snapshot()
		return len(ac) >= 100 && len(vc) >= 60
	})
	ac, aok := audioLog.snapshot()
	checkInOrder(t, "audio", ac, aok, 100)
	vc, vok := videoLog.snapshot()
	checkInOrder(t, "video", vc, vok, 60)

	// Data: to everyone, then to carol only.
	if err := a.LocalParticipant.PublishDataPacket(lksdk.UserData([]byte("hello all")), lksdk.WithDataPublishReliable(true)); err != nil {
		t.Fatalf("publish data: %v", err)
	}
	if err := a.LocalParticipant.PublishDataPacket(lksdk.UserData([]byte("for carol")), lksdk.WithDataPublishReliable(true),
		lksdk.WithDataPublishDestination([]string{"carol"})); err != nil {
		t.Fatalf("publish data: %v", err)
	}
	if err := a.LocalParticipant.PublishDataPacket(lksdk.UserData([]byte("lossy for bob")), lksdk.WithDataPublishReliable(false),
		lksdk.WithDataPublishDestination([]string{"bob"})); err != nil {
		t.Fatalf("publish lossy data: %v", err)
	}
	testwait.For(t, "data to arrive", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(cData) >= 2 && len(bData) >= 2
	})
	time.Sleep(300 * time.Millisecond) // would a misrouted packet still reach bob?
	mu.Lock()
	// Two data channels keep no order between each other.
	slices.Sort(bData)
	if len(bData) != 2 || bData[0] != "alice:hello all" || bData[1] != "alice:lossy for bob" {
		t.Errorf("bob got %q, want alice's broadcast and her lossy packet", bData)
	}
	if len(cData) != 2 || cData[1] != "alice:for carol" {
		t.Errorf("carol got %q", cData)
	}
	mu.Unlock()

	checkMetrics(t, srv.HTTPURL()+"/metrics", map[string]func(float64) bool{
		"bayan_participants":                   func(v float64) bool { return v == 3 },
		`bayan_published_tracks{kind="audio"}`: func(v float64) bool { return v == 1 },
		`bayan_published_tracks{kind="video"}`: func(v float64) bool { return v == 1 },
		"bayan_subscribed_tracks":              func(v float64) bool { return v == 4 },
		"bayan_packets_in_total":               func(v float64) bool { return v >= 160 },
		"bayan_packets_out_total":              func(v float64) bool { return v >= 160 },
		"bayan_forward_delay_seconds_count":    func(v float64) bool { return v >= 160 },
		"bayan_rooms":                          func(v float64) bool { return v == 1 },
	})

	vpub.SetMuted(true)
	testwait.For(t, "bob to see alice's video muted", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return muted
	})

	a.Disconnect()
	testwait.For(t, "bob to see alice leave", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return aLeft
	})
}

// checkMetrics scrapes a Prometheus endpoint and checks the named samples
// (name plus labels, as in the text format).
func checkMetrics(t *testing.T, url string, want map[string]func(float64) bool) {
	t.Helper()
	checkMetricsWith(t, http.DefaultClient, url, want)
}

// checkMetricsWith is checkMetrics scraping with client.
func checkMetricsWith(t *testing.T, client *http.Client, url string, want map[string]func(float64) bool) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	got := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		got[line[:i]] = v
	}
	for name, ok := range want {
		v, found := got[name]
		if !found {
			t.Errorf("metric %s missing", name)
		} else if !ok(v) {
			t.Errorf("metric %s = %v", name, v)
		}
	}
}

// H.264 goes through like VP8: the subscriber starts on an IDR picture.
func TestSDKH264(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	video := &counterLog{intact: true, hex: true}
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
		go readTrack(track, video, videoMagic)
	}
	testserver.Join(t, srv, testserver.Token(t, "h264", "bob", nil), cb)
	a := testserver.Join(t, srv, testserver.Token(t, "h264", "alice", nil), nil)
	h264 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	// Each sample is one Annex B access unit: an IDR slice (NAL type 5).
	idr := []byte{0, 0, 0, 1, 0x65}
	publishSamples(ctx, t, a, h264, "cam", 33*time.Millisecond, func(i uint32) ([]byte, *lksdk.SampleWriteOptions) {
		data := append(append([]byte(nil), idr...), videoMagic...)
		data = fmt.Appendf(data, "%08x", i)
		return append(data, bytes.Repeat([]byte{0xAB}, 200)...), nil
	})
	testwait.For(t, "H.264 to arrive", 15*time.Second, func() bool {
		c, _ := video.snapshot()
		return len(c) >= 60
	})
	c, ok := video.snapshot()
	checkInOrder(t, "h264", c, ok, 60)
}
