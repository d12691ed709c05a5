package loadtest

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/sfu/codecs"
)

func TestVP8PacketsParse(t *testing.T) {
	for _, spec := range append([]layerSpec{singleLayer}, simulcastLayers...) {
		e := newVP8Encoder(spec, 7, 12345)
		var seq int
		tids := []uint8{}
		for frame := range 8 {
			key := frame == 0 || frame == 5
			e.startFrame(key, time.Unix(0, 1e9+int64(frame)))
			pid := e.pictureID
			first := true
			for {
				payload, last := e.nextPacket()
				if len(payload) > maxPayload {
					t.Fatalf("%s: payload of %d bytes", spec.rid, len(payload))
				}
				if got := codecs.IsKeyframe("video/VP8", payload); got != (key && first) {
					t.Fatalf("%s frame %d: IsKeyframe = %v on first=%v", spec.rid, frame, got, first)
				}
				if start := payload[0]&0x10 != 0; start != first {
					t.Fatalf("S bit %v on first=%v", start, first)
				}
				if got := uint16(payload[2]&0x7f)<<8 | uint16(payload[3]); got != pid || payload[2]&0x80 == 0 {
					t.Fatalf("picture id %d, want %d (15-bit)", got, pid)
				}
				if first {
					tids = append(tids, payload[5]>>6)
				}
				off := vp8MediaOffset(payload)
				var h mediaHeader
				if off < 0 || !parseMediaHeader(payload[off:], &h) {
					t.Fatalf("%s frame %d: no media header at %d", spec.rid, frame, off)
				}
				if h.publisher != 7 || h.layer != spec.id || int(h.seq) != seq || h.sendTime != 1e9+int64(frame) || (h.flags&flagKeyframe != 0) != key {
					t.Fatalf("media header %+v", h)
				}
				seq++
				first = false
				if last {
					break
				}
			}
		}
		// Keyframes at frames 0 and 5 restart the pattern 0,2,1,2.
		if got := fmtTIDs(tids); got != "02120021" {
			t.Errorf("%s: TIDs %s, want 0,2,1,2 restarting at keyframes", spec.rid, got)
		}
	}
}

func fmtTIDs(t []uint8) string {
	var b strings.Builder
	for _, x := range t {
		b.WriteByte('0' + x)
	}
	return b.String()
}

func TestVP8Bitrate(t *testing.T) {
	for _, spec := range simulcastLayers {
		e := newVP8Encoder(spec, 1, 99)
		var bytes int
		frames := gopFrames * 10
		for f := range frames {
			e.startFrame(f%gopFrames == 0, time.Now())
			for {
				p, last := e.nextPacket()
				bytes += len(p)
				if last {
					break
				}
			}
		}
		got := float64(bytes) * 8 * videoFPS / float64(frames)
		if math.Abs(got-float64(spec.bitrate)) > 0.05*float64(spec.bitrate) {
			t.Errorf("layer %s: %.0f bps, want %d", spec.rid, got, spec.bitrate)
		}
	}
}

func TestAudioPayload(t *testing.T) {
	e := newAudioEncoder(3, 5)
	for i := range 100 {
		p, level := e.next(time.Unix(0, int64(i)))
		if len(p) < 60 || len(p) > 100 {
			t.Fatalf("audio payload of %d bytes", len(p))
		}
		if level&0x80 == 0 || level&0x7f < 30 || level&0x7f > 50 {
			t.Fatalf("level byte %#x", level)
		}
		var h mediaHeader
		if !parseMediaHeader(p, &h) || h.layer != layerAudio || h.seq != uint32(i) || h.publisher != 3 {
			t.Fatalf("header %+v", h)
		}
	}
}

func TestLayerMix(t *testing.T) {
	m, err := ParseLayerMix("low=0.5, medium=0.3,high=0.2")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[livekit.VideoQuality]int{}
	for i := range 100 {
		counts[m.pick(i, 100)]++
	}
	if counts[livekit.VideoQuality_LOW] != 50 || counts[livekit.VideoQuality_MEDIUM] != 30 || counts[livekit.VideoQuality_HIGH] != 20 {
		t.Errorf("mix over 100: %v", counts)
	}
	if m, _ := ParseLayerMix("high=2"); m.pick(0, 3) != livekit.VideoQuality_HIGH {
		t.Error("high only")
	}
	for _, bad := range []string{"", "low", "ultra=1", "low=-1", "low=0"} {
		if _, err := ParseLayerMix(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestShardsSplitParticipants(t *testing.T) {
	if _, _, err := ParseShard("2/2"); err == nil {
		t.Error("2/2 accepted")
	}
	seen := map[string]bool{}
	for i := range 3 {
		cfg := &Config{Scenario: ScenarioClass, Students: 10, Stage: 2, Layers: LayerMix{livekit.VideoQuality_LOW: 1}, ShardIndex: i, ShardCount: 3}
		specs, err := plan(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range specs {
			if seen[s.identity] || s.index%3 != i {
				t.Errorf("shard %d: %s", i, s.identity)
			}
			seen[s.identity] = true
			if (s.index == 0) != (s.role == "teacher") || (s.role == "stage") != (s.index >= 1 && s.index <= 2) {
				t.Errorf("%s is %s", s.identity, s.role)
			}
		}
	}
	if len(seen) != 11 {
		t.Errorf("%d participants over the shards, want 11", len(seen))
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP process_cpu_seconds_total x
process_cpu_seconds_total 12.5
process_resident_memory_bytes 1.048576e+08
bayan_packets_out_total 1000
bayan_packets_in_total 100
bayan_forward_delay_seconds_bucket{le="0.001"} 90
bayan_forward_delay_seconds_bucket{le="0.01"} 100
bayan_forward_delay_seconds_bucket{le="+Inf"} 100
bayan_forward_delay_seconds_count 100
`
	s, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if s.cpuSeconds != 12.5 || s.rssBytes != 1<<20*100 || s.packetsOut != 1000 || s.packetsIn != 100 || len(s.delay) != 3 {
		t.Fatalf("%+v", s)
	}
	zero := map[float64]float64{}
	if got := histogramQuantile(0.5, zero, s.delay); math.Abs(got-0.001*50/90) > 1e-9 {
		t.Errorf("p50 %v", got)
	}
	if got := histogramQuantile(0.99, zero, s.delay); got <= 0.001 || got > 0.01 {
		t.Errorf("p99 %v", got)
	}
	if _, err := parseMetrics(strings.NewReader("<html>not metrics</html>")); err == nil {
		t.Error("HTML accepted as metrics")
	}
}

func TestVideoTrackIDs(t *testing.T) {
	sdp := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=msid:PA_1|TR_a TR_a\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=msid:PA_1|TR_v TR_v\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	if got := videoTrackIDs(sdp); len(got) != 1 || got[0] != "TR_v" {
		t.Fatalf("video track ids %v", got)
	}
}

func TestHotPathsDoNotAllocate(t *testing.T) {
	e := newVP8Encoder(simulcastLayers[2], 1, 1)
	now := time.Now()
	send := testing.AllocsPerRun(100, func() {
		e.startFrame(false, now)
		for {
			if _, last := e.nextPacket(); last {
				break
			}
		}
	})
	if send != 0 {
		t.Errorf("packetizing a frame allocates %.1f times", send)
	}

	// An RTP packet as a subscriber reads it: header, one extension, the
	// VP8 payload with its media header.
	var pkt [1500]byte
	pkt[0], pkt[1] = 0x90, 96 // V=2, X=1
	pkt[12], pkt[13], pkt[15] = 0xbe, 0xde, 1
	pkt[16] = 0x10 // one-byte extension id 1, 1 byte
	e.startFrame(true, now)
	payload, _ := e.nextPacket()
	n := 20 + copy(pkt[20:], payload)
	p := &participant{}
	tr := &trackStats{video: true, clock: 90000}
	var seq uint16
	recv := testing.AllocsPerRun(1000, func() {
		seq++
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		tr.onPacket(p, pkt[:n], time.Now().UnixNano())
	})
	if recv != 0 {
		t.Errorf("accounting a received packet allocates %.1f times", recv)
	}
	if tr.packets.Load() == 0 || tr.foreign != 0 {
		t.Fatalf("packets %d, foreign %d", tr.packets.Load(), tr.foreign)
	}
}

// A student whose audio track brings packets without a media header (what
// LiveKit forwarded when the microphone was answered RED and sent Opus) has
// not received the teacher's audio; with real audio packets it has.
func TestTeacherMediaWantsMediaHeaders(t *testing.T) {
	rtpPacket := func(pt byte, seq uint16, payload []byte) []byte {
		b := make([]byte, 12, 12+len(payload))
		b[0], b[1], b[2], b[3] = 0x80, pt, byte(seq>>8), byte(seq)
		return append(b, payload...)
	}
	now := time.Now()
	p := newParticipant(nil, participantSpec{identity: "p-1", role: "student"})
	p.joined.Store(true)
	video := &trackStats{video: true, clock: 90000}
	audio := &trackStats{clock: 48000}
	p.tracks = []*trackStats{video, audio}
	e := newVP8Encoder(simulcastLayers[0], 0, 1)
	for i := range 10 {
		e.startFrame(i == 0, now)
		for seq := uint16(i * 100); ; seq++ {
			payload, last := e.nextPacket()
			video.onPacket(p, rtpPacket(96, seq, payload), now.UnixNano())
			if last {
				break
			}
		}
	}
	garbage := make([]byte, 80)
	for i := range garbage {
		garbage[i] = 0xfc
	}
	for seq := range uint16(10) {
		audio.onPacket(p, rtpPacket(111, seq, garbage), now.UnixNano())
	}
	if tm := teacherMedia([]*participant{p}); tm.Received != 0 || len(tm.Missing) != 1 {
		t.Fatalf("audio without media headers: %+v, want the student missing", tm)
	}
	a := newAudioEncoder(0, 5)
	for seq := uint16(10); seq < 20; seq++ {
		payload, _ := a.next(now)
		audio.onPacket(p, rtpPacket(111, seq, payload), now.UnixNano())
	}
	if tm := teacherMedia([]*participant{p}); tm.Received != 1 {
		t.Fatalf("with the teacher's audio: %+v, want it received", tm)
	}
}
