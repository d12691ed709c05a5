package sfu

import (
	"bytes"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// numberedPayload returns a VP8 payload (key or inter frame) whose bytes
// identify seq, so retransmissions can be matched to originals.
func numberedPayload(key bool, seq uint16, n int) []byte {
	var p []byte
	if key {
		p = vp8Key(n)
	} else {
		p = vp8Delta(n)
	}
	p[2], p[3] = byte(seq>>8), byte(seq)
	return p
}

// videoPacket is what the tests feed: a sequence number, a timestamp
// derived from it (30 fps), an arrival time and a payload.
type videoPacket struct {
	seq     uint16
	key     bool
	at      time.Duration
	payload []byte
}

func (p videoPacket) ts() uint32 { return 90000 + uint32(p.seq)*3000 }

func feedVideo(t *testing.T, f *packetFeeder, seq uint16, key bool, at time.Duration) videoPacket {
	t.Helper()
	p := videoPacket{seq: seq, key: key, at: at, payload: numberedPayload(key, seq, 300)}
	f.feed(t, p.seq, p.ts(), p.payload, p.at)
	return p
}

func checkSent(t *testing.T, got sentPacket, wantSeq uint16, wantTS uint32, wantPayload []byte) {
	t.Helper()
	h := got.hdr
	if h.Version != 2 || h.SSRC != testDownSSRC || h.PayloadType != testDownPT {
		t.Fatalf("sent header v=%d ssrc=%#x pt=%d; want v=2 ssrc=%#x pt=%d", h.Version, h.SSRC, h.PayloadType, uint32(testDownSSRC), testDownPT)
	}
	if h.SequenceNumber != wantSeq || h.Timestamp != wantTS {
		t.Fatalf("sent seq=%d ts=%d; want seq=%d ts=%d", h.SequenceNumber, h.Timestamp, wantSeq, wantTS)
	}
	if !bytes.Equal(got.payload, wantPayload) {
		t.Fatalf("sent payload (seq %d) differs from the one received", wantSeq)
	}
}

type downTrackFixture struct {
	r     *Receiver
	dt    *DownTrack
	w     *recordingWriter
	rtcp  *rtcpRecorder
	f     *packetFeeder
	stats *Stats
}

func newDownTrackFixture(t *testing.T, codec webrtc.RTPCodecParameters, bind bool) *downTrackFixture {
	t.Helper()
	fx := &downTrackFixture{w: &recordingWriter{}, rtcp: &rtcpRecorder{}, stats: &Stats{}}
	fx.r = newTestReceiver(codec, fx.rtcp.write)
	fx.dt = NewDownTrack(fx.r, "TR_sub", "PA_pub|TR_pub", fx.stats)
	fx.r.AddDownTrack(fx.dt)
	fx.f = newFeeder(fx.r)
	if bind {
		bindDownTrack(t, fx.dt, testDownPT, testDownSSRC, fx.w)
	}
	return fx
}

func TestDownTrackAccessors(t *testing.T) {
	fx := newDownTrackFixture(t, vp8Codec, false)
	dt := fx.dt
	if dt.ID() != "TR_sub" || dt.StreamID() != "PA_pub|TR_pub" || dt.RID() != "" {
		t.Fatalf("ids: %q %q %q", dt.ID(), dt.StreamID(), dt.RID())
	}
	if dt.Kind() != webrtc.RTPCodecTypeVideo || dt.Codec().MimeType != webrtc.MimeTypeVP8 || dt.Receiver() != fx.r {
		t.Fatalf("kind/codec/receiver: %v %v", dt.Kind(), dt.Codec())
	}
	if fx.r.DownTrackCount() != 1 {
		t.Fatalf("DownTrackCount = %d, want 1", fx.r.DownTrackCount())
	}
	dt.Close()
	dt.Close()
	if fx.r.DownTrackCount() != 0 {
		t.Fatalf("DownTrackCount after Close = %d, want 0", fx.r.DownTrackCount())
	}
	// A down-track created without stats shares the receiver's.
	if d := NewDownTrack(fx.r, "a", "b", nil); d.stats != fx.r.stats {
		t.Fatal("nil stats not defaulted to the receiver's")
	}
}

func TestDownTrackBindCodecMismatch(t *testing.T) {
	fx := newDownTrackFixture(t, vp8Codec, false)
	_, err := fx.dt.Bind(&fakeLocalContext{
		codecs: []webrtc.RTPCodecParameters{opusCodec, {RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000}, PayloadType: 98}},
		ssrc:   1, writer: fx.w,
	})
	if !errors.Is(err, ErrCodecNotNegotiated) {
		t.Fatalf("Bind without VP8 = %v, want ErrCodecNotNegotiated", err)
	}
	fx.f.feed(t, 1, 1, vp8Key(100), 0)
	if n := len(fx.w.sent()); n != 0 {
		t.Fatalf("unbound down-track wrote %d packets", n)
	}
}

func TestDownTrackBindH264Profile(t *testing.T) {
	h264 := func(fmtp string, pt webrtc.PayloadType) webrtc.RTPCodecParameters {
		return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: fmtp}, PayloadType: pt}
	}
	pub := h264("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", 125)
	r := newTestReceiver(pub, nil)
	dt := NewDownTrack(r, "a", "b", nil)
	got, err := dt.Bind(&fakeLocalContext{codecs: []webrtc.RTPCodecParameters{
		h264("packetization-mode=1;profile-level-id=640032", 123),
		h264("packetization-mode=1;profile-level-id=42001f", 108),
		h264("packetization-mode=1; profile-level-id=42E034", 127), // other level, same profile
	}, ssrc: 5, writer: nopWriter{}})
	if err != nil || got.PayloadType != 127 {
		t.Fatalf("Bind = %v (pt %d), want the constrained-baseline codec with pt 127", err, got.PayloadType)
	}
	dt2 := NewDownTrack(r, "a", "b", nil)
	if _, err := dt2.Bind(&fakeLocalContext{codecs: []webrtc.RTPCodecParameters{
		h264("profile-level-id=640032", 123),
	}, ssrc: 5, writer: nopWriter{}}); !errors.Is(err, ErrCodecNotNegotiated) {
		t.Fatalf("Bind with only High profile = %v, want ErrCodecNotNegotiated", err)
	}
}

func TestDownTrackVideoWaitsForKeyframe(t *testing.T) {
	fx := newDownTrackFixture(t, vp8Codec, false)

	// Nothing is written before Bind.
	feedVideo(t, fx.f, 1, true, 0)
	if fx.dt.PacketsSent() != 0 {
		t.Fatal("packets written before Bind")
	}
	got := bindDownTrack(t, fx.dt, testDownPT, testDownSSRC, fx.w)
	if got.PayloadType != testDownPT || got.MimeType != webrtc.MimeTypeVP8 {
		t.Fatalf("Bind returned %+v", got)
	}
	if fx.rtcp.count() != 1 {
		t.Fatalf("Bind sent %d PLIs, want 1", fx.rtcp.count())
	}

	// Inter frames and continuation packets wait for a keyframe.
	feedVideo(t, fx.f, 2, false, 33*time.Millisecond)
	feedVideo(t, fx.f, 3, false, 66*time.Millisecond)
	cont := videoPacket{seq: 4, payload: []byte{0x00, 0x00, 0xaa}}
	fx.f.feed(t, cont.seq, cont.ts(), cont.payload, 70*time.Millisecond)
	if n := len(fx.w.sent()); n != 0 {
		t.Fatalf("%d packets sent before the first keyframe", n)
	}

	key := feedVideo(t, fx.f, 5, true, 100*time.Millisecond)
	// The keyframe's second packet (S=0) and the following inter frame flow.
	tail := videoPacket{seq: 6, payload: []byte{0x00, 0x42, 0x43}}
	fx.f.feedPacket(t, &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, PayloadType: 96,
		SequenceNumber: tail.seq, Timestamp: key.ts(), SSRC: testPubSSRC}, Payload: tail.payload}, 101*time.Millisecond)
	next := feedVideo(t, fx.f, 7, false, 133*time.Millisecond)

	sent := fx.w.sent()
	if len(sent) != 3 {
		t.Fatalf("sent %d packets, want 3", len(sent))
	}
	checkSent(t, sent[0], 5, key.ts(), key.payload)
	checkSent(t, sent[1], 6, key.ts(), tail.payload)
	checkSent(t, sent[2], 7, next.ts(), next.payload)
	if sent[0].hdr.Marker || !sent[1].hdr.Marker || sent[2].hdr.Marker {
		t.Fatal("marker bits not carried over")
	}
	if fx.dt.PacketsSent() != 3 || fx.stats.PacketsOut.Load() != 3 {
		t.Fatalf("PacketsSent=%d stats.PacketsOut=%d, want 3", fx.dt.PacketsSent(), fx.stats.PacketsOut.Load())
	}
	if in := fx.r.stats.PacketsIn.Load(); in != 7 {
		t.Fatalf("receiver PacketsIn = %d, want 7", in)
	}
}

func TestDownTrackAudioDoesNotWait(t *testing.T) {
	fx := newDownTrackFixture(t, opusCodec, true)
	if fx.rtcp.count() != 0 {
		t.Fatal("audio Bind sent a PLI")
	}
	payload := []byte{0xfc, 0xff, 0xfe}
	fx.f.feed(t, 10, 960, payload, 0)
	sent := fx.w.sent()
	if len(sent) != 1 {
		t.Fatalf("sent %d packets, want 1", len(sent))
	}
	checkSent(t, sent[0], 10, 960, payload)
}

func TestDownTrackPauseResume(t *testing.T) {
	fx := newDownTrackFixture(t, vp8Codec, true)
	frame := 33 * time.Millisecond

	var fed []videoPacket
	for i := uint16(0); i < 5; i++ {
		fed = append(fed, feedVideo(t, fx.f, 100+i, i == 0, time.Duration(i)*frame))
	}
	last := fx.w.sent()[4].hdr

	fx.dt.SetPaused(true)
	fx.dt.SetPaused(true)
	if !fx.dt.Paused() {
		t.Fatal("Paused() = false after SetPaused(true)")
	}
	for i := uint16(5); i < 12; i++ {
		feedVideo(t, fx.f, 100+i, i == 8, time.Duration(i)*frame) // includes a keyframe
	}
	if n := len(fx.w.sent()); n != 5 {
		t.Fatalf("%d packets sent while paused", n-5)
	}
	// Nor are NACKs answered: the subscriber waits for the resume's keyframe.
	fx.dt.retransmit(last.SequenceNumber)
	if n := len(fx.w.sent()); n != 5 {
		t.Fatal("a NACK was answered while paused")
	}

	fx.r.lastPLI.Store(0) // let the resume's keyframe request through
	plis := fx.rtcp.count()
	fx.dt.SetPaused(false)
	if fx.dt.Paused() {
		t.Fatal("Paused() = true after SetPaused(false)")
	}
	if fx.rtcp.count() != plis+1 {
		t.Fatal("resuming video did not request a keyframe")
	}
	// Inter frames after resuming are held back until a keyframe.
	feedVideo(t, fx.f, 112, false, 12*frame)
	if n := len(fx.w.sent()); n != 5 {
		t.Fatal("inter frame sent right after resume")
	}
	keyAt := 13 * frame
	key := feedVideo(t, fx.f, 113, true, keyAt)
	fx.dt.SetPaused(false) // no-op while playing: must not restart the keyframe wait
	after := feedVideo(t, fx.f, 114, false, 14*frame)

	sent := fx.w.sent()
	if len(sent) != 7 {
		t.Fatalf("sent %d packets in total, want 7", len(sent))
	}
	// No gap: the keyframe continues right after the last packet before the
	// pause, and its timestamp advanced by the wall time in between.
	wantTS := last.Timestamp + uint32((keyAt-fed[4].at).Seconds()*90000)
	checkSent(t, sent[5], last.SequenceNumber+1, wantTS, key.payload)
	checkSent(t, sent[6], last.SequenceNumber+2, wantTS+(after.ts()-key.ts()), after.payload)
	for i := 1; i < len(sent); i++ {
		if d := sent[i].hdr.SequenceNumber - sent[i-1].hdr.SequenceNumber; d != 1 {
			t.Fatalf("outgoing seq jumps by %d between packets %d and %d", d, i-1, i)
		}
	}
}

func TestDownTrackAudioPauseResume(t *testing.T) {
	fx := newDownTrackFixture(t, opusCodec, true)
	p := []byte{1, 2, 3}
	for i := uint16(0); i < 3; i++ {
		fx.f.feed(t, 50+i, uint32(i)*960, p, time.Duration(i)*20*time.Millisecond)
	}
	fx.dt.SetPaused(true)
	for i := uint16(3); i < 50; i++ {
		fx.f.feed(t, 50+i, uint32(i)*960, p, time.Duration(i)*20*time.Millisecond)
	}
	fx.dt.SetPaused(false)
	if fx.rtcp.count() != 0 {
		t.Fatal("audio resume sent a PLI")
	}
	fx.f.feed(t, 100, 50*960, p, time.Second) // 960 ms after the last packet sent
	sent := fx.w.sent()
	if len(sent) != 4 {
		t.Fatalf("sent %d packets, want 4", len(sent))
	}
	checkSent(t, sent[3], 53, 2*960+48000*960/1000, p)
}

func TestDownTrackUnbindStopsForwarding(t *testing.T) {
	fx := newDownTrackFixture(t, opusCodec, true)
	fx.f.feed(t, 1, 0, []byte{1}, 0)
	if err := fx.dt.Unbind(nil); err != nil {
		t.Fatal(err)
	}
	fx.f.feed(t, 2, 960, []byte{2}, 20*time.Millisecond)
	if n := len(fx.w.sent()); n != 1 {
		t.Fatalf("sent %d packets, want 1 (none after Unbind)", n)
	}
}

func TestDownTrackWriteErrorCounted(t *testing.T) {
	fx := newDownTrackFixture(t, opusCodec, true)
	fx.w.err = errors.New("closed")
	fx.f.feed(t, 1, 0, []byte{1}, 0)
	if fx.stats.ForwardDropped.Load() != 1 || fx.dt.PacketsSent() != 0 {
		t.Fatalf("ForwardDropped=%d PacketsSent=%d, want 1 and 0", fx.stats.ForwardDropped.Load(), fx.dt.PacketsSent())
	}
}

func nackPkts(ssrc uint32, pairs ...rtcp.NackPair) []rtcp.Packet {
	return []rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: pairs}}
}

func TestDownTrackNACKRetransmits(t *testing.T) {
	fx := newDownTrackFixture(t, vp8Codec, true)
	frame := 33 * time.Millisecond

	// Epoch 1: in 1000..1004 -> out 1000..1004. Then a pause that skips
	// 1005..1009, so epoch 2 has a non-zero offset: in 1010 -> out 1005.
	for i := uint16(0); i < 5; i++ {
		feedVideo(t, fx.f, 1000+i, i == 0, time.Duration(i)*frame)
	}
	fx.dt.SetPaused(true)
	for i := uint16(5); i < 10; i++ {
		feedVideo(t, fx.f, 1000+i, false, time.Duration(i)*frame)
	}
	fx.dt.SetPaused(false)
	for i := uint16(10); i < 20; i++ {
		feedVideo(t, fx.f, 1000+i, i == 10, time.Duration(i)*frame)
	}
	sent := fx.w.sent()
	if len(sent) != 15 {
		t.Fatalf("sent %d packets, want 15", len(sent))
	}
	bySeq := map[uint16]sentPacket{}
	for _, p := range sent {
		bySeq[p.hdr.SequenceNumber] = p
	}
	fx.w.reset()

	// One NACK for out 1007 (in 1012), and one for 1010 plus 1011 and 1013
	// from the bitmask.
	fx.dt.HandleRTCP(nackPkts(testDownSSRC, rtcp.NackPair{PacketID: 1007}))
	fx.dt.HandleRTCP(nackPkts(testDownSSRC, rtcp.NackPair{PacketID: 1010, LostPackets: 0b101}))
	rtx := fx.w.sent()
	wantSeqs := []uint16{1007, 1010, 1011, 1013}
	if len(rtx) != len(wantSeqs) {
		t.Fatalf("%d retransmissions, want %d", len(rtx), len(wantSeqs))
	}
	for i, seq := range wantSeqs {
		orig := bySeq[seq]
		checkSent(t, rtx[i], seq, orig.hdr.Timestamp, orig.payload)
		if rtx[i].hdr.Marker != orig.hdr.Marker {
			t.Fatalf("retransmission of %d changed the marker bit", seq)
		}
	}
	if got := fx.stats.Retransmits.Load(); got != 4 {
		t.Fatalf("Retransmits = %d, want 4", got)
	}
	if got := fx.stats.NACKsIn.Load(); got != 4 {
		t.Fatalf("NACKsIn = %d, want 4", got)
	}

	// Packets of the previous epoch, not yet sent, or never sent are not
	// retransmitted: their outgoing numbers mean nothing in this epoch.
	fx.w.reset()
	fx.dt.HandleRTCP(nackPkts(testDownSSRC,
		rtcp.NackPair{PacketID: 1002},  // epoch 1
		rtcp.NackPair{PacketID: 1004},  // last of epoch 1
		rtcp.NackPair{PacketID: 1020},  // not sent yet
		rtcp.NackPair{PacketID: 60000}, // nonsense
	))
	if n := len(fx.w.sent()); n != 0 {
		t.Fatalf("%d bogus retransmissions", n)
	}
}

func rtxCodec(pt webrtc.PayloadType, fmtp string) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmtp}, PayloadType: pt}
}

// With RTX negotiated (RFC 4588), retransmissions go out on the RTX SSRC
// and payload type, with their own sequence numbers, and the original
// sequence number in front of the payload.
func TestDownTrackNACKRetransmitsOnRTX(t *testing.T) {
	const rtxSSRC, rtxPT = 0xBEEF, 101
	vp8 := vp8Codec
	vp8.PayloadType = testDownPT
	for _, tc := range []struct {
		name    string
		codecs  []webrtc.RTPCodecParameters
		rtxSSRC webrtc.SSRC
		wantRTX bool
	}{
		{"rtx", []webrtc.RTPCodecParameters{vp8, rtxCodec(rtxPT, "apt=100")}, rtxSSRC, true},
		{"rtx listed first", []webrtc.RTPCodecParameters{rtxCodec(rtxPT, "apt=100"), vp8}, rtxSSRC, true},
		{"rtx for another payload type", []webrtc.RTPCodecParameters{vp8, rtxCodec(rtxPT, "apt=1000"), rtxCodec(102, "apt=10")}, rtxSSRC, false},
		{"no rtx ssrc", []webrtc.RTPCodecParameters{vp8, rtxCodec(rtxPT, "apt=100")}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newDownTrackFixture(t, vp8Codec, false)
			got, err := fx.dt.Bind(&fakeLocalContext{codecs: tc.codecs, ssrc: testDownSSRC, rtxSSRC: tc.rtxSSRC, writer: fx.w})
			if err != nil || got.PayloadType != testDownPT {
				t.Fatalf("Bind = %+v, %v", got, err)
			}
			for i := uint16(0); i < 5; i++ {
				feedVideo(t, fx.f, 300+i, i == 0, time.Duration(i)*33*time.Millisecond)
			}
			orig := fx.w.sent()
			fx.w.reset()
			fx.dt.HandleRTCP(nackPkts(testDownSSRC, rtcp.NackPair{PacketID: 302, LostPackets: 0b11})) // 302, 303, 304
			rtx := fx.w.sent()
			if len(rtx) != 3 {
				t.Fatalf("%d retransmissions, want 3", len(rtx))
			}
			for i, p := range rtx {
				o := orig[2+i]
				if !tc.wantRTX {
					checkSent(t, p, o.hdr.SequenceNumber, o.hdr.Timestamp, o.payload)
					continue
				}
				h := p.hdr
				if h.SSRC != rtxSSRC || h.PayloadType != rtxPT || h.Timestamp != o.hdr.Timestamp {
					t.Fatalf("RTX packet ssrc=%#x pt=%d ts=%d; want %#x %d %d", h.SSRC, h.PayloadType, h.Timestamp, rtxSSRC, rtxPT, o.hdr.Timestamp)
				}
				if i > 0 && h.SequenceNumber != rtx[i-1].hdr.SequenceNumber+1 {
					t.Fatalf("RTX sequence numbers not consecutive: %d after %d", h.SequenceNumber, rtx[i-1].hdr.SequenceNumber)
				}
				osn := o.hdr.SequenceNumber
				if len(p.payload) != 2+len(o.payload) || p.payload[0] != byte(osn>>8) || p.payload[1] != byte(osn) ||
					!bytes.Equal(p.payload[2:], o.payload) {
					t.Fatalf("RTX payload for %d is not OSN + original payload", osn)
				}
			}
		})
	}
}

func TestDownTrackNACKPaddedPacket(t *testing.T) {
	fx := newDownTrackFixture(t, opusCodec, true)
	payload := []byte{0xde, 0xad, 0xbe, 0xef, 0x01}
	pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 7,
		Timestamp: 4800, SSRC: testPubSSRC}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	pkt[0] |= 0x20 // P bit
	pkt = append(pkt, 0, 0, 0, 4)
	var hdr rtp.Header
	fx.r.forward(&hdr, pkt, testEpoch)
	fx.dt.HandleRTCP(nackPkts(testDownSSRC, rtcp.NackPair{PacketID: 7}))
	sent := fx.w.sent()
	if len(sent) != 2 {
		t.Fatalf("sent %d packets, want original + retransmission", len(sent))
	}
	for _, p := range sent {
		checkSent(t, p, 7, 4800, payload)
		if p.hdr.Padding {
			t.Fatal("padding bit forwarded")
		}
	}

	// Padding-only probes and bad padding are not forwarded (nor cached).
	fx.w.reset()
	probe := append(append([]byte(nil), pkt[:12]...), 0, 0, 0, 4)
	probe[3] = 8 // seq 8
	fx.r.forward(&hdr, probe, testEpoch)
	bad := bytes.Clone(pkt)
	bad[3] = 9
	bad[len(bad)-1] = 0
	fx.r.forward(&hdr, bad, testEpoch)
	bad[len(bad)-1] = 200
	fx.r.forward(&hdr, bad, testEpoch)
	fx.dt.HandleRTCP(nackPkts(testDownSSRC, rtcp.NackPair{PacketID: 8, LostPackets: 1}))
	if n := len(fx.w.sent()); n != 0 {
		t.Fatalf("%d packets sent for padding-only or malformed input", n)
	}
}

func TestDownTrackNACKAfterEviction(t *testing.T) {
	fx := newDownTrackFixture(t, opusCodec, true) // audio cache: 128 packets
	for i := uint16(0); i < 200; i++ {
		fx.f.feed(t, i, uint32(i)*960, []byte{byte(i)}, 0)
	}
	fx.w.reset()
	fx.dt.HandleRTCP(nackPkts(testDownSSRC, rtcp.NackPair{PacketID: 5}, rtcp.NackPair{PacketID: 199}))
	sent := fx.w.sent()
	if len(sent) != 1 || sent[0].hdr.SequenceNumber != 199 {
		t.Fatalf("retransmitted %d packets, want only 199 (5 was evicted)", len(sent))
	}
}

func TestDownTrackPLIThrottled(t *testing.T) {
	fx := newDownTrackFixture(t, vp8Codec, true)
	if fx.rtcp.count() != 1 {
		t.Fatalf("Bind sent %d PLIs, want 1", fx.rtcp.count())
	}
	fx.rtcp.mu.Lock()
	pli, ok := fx.rtcp.pkts[0][0].(*rtcp.PictureLossIndication)
	fx.rtcp.mu.Unlock()
	if !ok || pli.MediaSSRC != testPubSSRC {
		t.Fatalf("sent %T %+v, want a PLI for the publisher's SSRC", pli, pli)
	}

	for i := 0; i < 10; i++ {
		fx.dt.HandleRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: testDownSSRC}})
		fx.dt.HandleRTCP([]rtcp.Packet{&rtcp.FullIntraRequest{MediaSSRC: testDownSSRC}})
	}
	if fx.rtcp.count() != 1 {
		t.Fatalf("%d PLIs sent within 500 ms, want 1", fx.rtcp.count())
	}
	if fx.stats.PLIsIn.Load() != 20 {
		t.Fatalf("PLIsIn = %d, want 20", fx.stats.PLIsIn.Load())
	}

	// Pretend 250 ms passed: still throttled.
	fx.r.lastPLI.Add(-int64(keyframeInterval / 2))
	fx.dt.HandleRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{}})
	if fx.rtcp.count() != 1 {
		t.Fatal("PLI forwarded 250 ms after the previous one")
	}
	// Pretend another 250 ms passed: one more PLI goes out, then throttled again.
	fx.r.lastPLI.Add(-int64(keyframeInterval / 2))
	for i := 0; i < 5; i++ {
		fx.dt.HandleRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{}})
	}
	if fx.rtcp.count() != 2 {
		t.Fatalf("%d PLIs after 500 ms, want 2", fx.rtcp.count())
	}
	if got := fx.r.stats.PLIsOut.Load(); got != 2 {
		t.Fatalf("PLIsOut = %d, want 2", got)
	}

	// Many subscribers asking at once: exactly one PLI.
	fx.r.lastPLI.Store(0)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				fx.dt.HandleRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{}})
			}
		}()
	}
	wg.Wait()
	if fx.rtcp.count() != 3 {
		t.Fatalf("%d PLIs after a concurrent burst, want 3", fx.rtcp.count())
	}
}

// A subscriber that starts waiting for a keyframe inside the PLI throttle
// window, after the keyframe the previous PLI produced has gone by, must
// still get one: the request has to be repeated while it waits.
func TestDownTrackKeyframeRequestRepeatsWhileWaiting(t *testing.T) {
	fx := newDownTrackFixture(t, vp8Codec, true) // first subscriber: PLI #1
	feedVideo(t, fx.f, 1, true, 0)               // ... answered by a keyframe
	feedVideo(t, fx.f, 2, false, 33*time.Millisecond)

	w2 := &recordingWriter{}
	dt2 := NewDownTrack(fx.r, "TR_sub2", "PA|TR", nil)
	fx.r.AddDownTrack(dt2)
	bindDownTrack(t, dt2, testDownPT, testDownSSRC+1, w2) // throttled: no PLI
	if fx.rtcp.count() != 1 {
		t.Fatalf("%d PLIs, want 1 (the second Bind is inside the throttle window)", fx.rtcp.count())
	}
	// Only inter frames follow; once the throttle window has passed (faked
	// by moving the last PLI back), the waiting down-track must ask again.
	fx.r.lastPLI.Add(-int64(keyframeInterval))
	for i := uint16(3); i < 10; i++ {
		feedVideo(t, fx.f, i, false, time.Duration(i)*33*time.Millisecond)
	}
	if len(w2.sent()) != 0 {
		t.Fatal("second down-track forwarded inter frames without a keyframe")
	}
	if fx.rtcp.count() < 2 {
		t.Fatal("no new PLI while a down-track waits for a keyframe")
	}
	if fx.rtcp.count() > 2 {
		t.Fatalf("%d PLIs: the repeat must respect the throttle", fx.rtcp.count())
	}
}

func TestReceiverRequestKeyFrameAudioOrNoWriter(t *testing.T) {
	rec := &rtcpRecorder{}
	if newTestReceiver(opusCodec, rec.write).RequestKeyFrame() || rec.count() != 0 {
		t.Fatal("audio receiver sent a PLI")
	}
	if newTestReceiver(vp8Codec, nil).RequestKeyFrame() {
		t.Fatal("receiver without WriteRTCP reported a PLI sent")
	}
}

// TestDownTrackConcurrent runs the read loop, RTCP handling and pausing at
// once (for -race) and checks that the distinct outgoing sequence numbers
// still form one gap-free run.
func TestDownTrackConcurrent(t *testing.T) {
	fx := newDownTrackFixture(t, vp8Codec, true)
	const packets = 3000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	toggle := make(chan struct{}, 1)
	wg.Add(2)
	go func() { // subscriber RTCP
		defer wg.Done()
		for i := uint16(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			fx.dt.HandleRTCP(append(nackPkts(testDownSSRC, rtcp.NackPair{PacketID: i % packets, LostPackets: 0xffff}),
				&rtcp.PictureLossIndication{}))
			runtime.Gosched()
		}
	}()
	go func() { // mute toggling, while packets keep flowing
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-toggle:
				fx.dt.SetPaused(true)
				runtime.Gosched()
				fx.dt.SetPaused(false)
			}
		}
	}()
	for i := 0; i < packets; i++ { // read loop
		feedVideo(t, fx.f, uint16(i), i%10 == 0, time.Duration(i)*time.Millisecond)
		if i%100 == 99 {
			select {
			case toggle <- struct{}{}:
			default:
			}
		}
	}
	close(stop)
	wg.Wait()

	seen := map[uint16]bool{}
	var hi uint16
	for _, p := range fx.w.sent() {
		s := p.hdr.SequenceNumber
		hi = max(hi, s)
		seen[s] = true
	}
	// The first 100 packets precede any pause: 0..99 went out unchanged.
	if len(seen) < 100 {
		t.Fatalf("only %d distinct packets sent", len(seen))
	}
	if want := int(hi) + 1; len(seen) != want {
		t.Errorf("outgoing seqs 0..%d: %d distinct, want %d (gap-free)", hi, len(seen), want)
	}
}

// TestDownTrackNudgesWhileAwaitingKeyframe: a down-track whose layer sends
// nothing (its PLI lost, its encoder not started) asks again by itself
// once it has waited NudgeAfter, then at most every NudgeAfter, and stops
// asking once a keyframe is forwarded or while it is paused.
func TestDownTrackNudgesWhileAwaitingKeyframe(t *testing.T) {
	fx := newDownTrackFixture(t, vp8Codec, true) // Bind: PLI #1
	now := time.Now()
	pastThrottle := func() { fx.r.lastPLI.Add(-int64(keyframeInterval)) }

	if waited, asked := fx.dt.NudgeKeyframe(now); waited != 0 || asked {
		t.Fatalf("first look: waited %v, asked %v; want 0, false", waited, asked)
	}
	pastThrottle()
	if _, asked := fx.dt.NudgeKeyframe(now.Add(NudgeAfter / 2)); asked || fx.rtcp.count() != 1 {
		t.Fatalf("after %v: asked %v, %d PLIs; want no new request yet", NudgeAfter/2, asked, fx.rtcp.count())
	}
	waited, asked := fx.dt.NudgeKeyframe(now.Add(NudgeAfter))
	if waited != NudgeAfter || !asked || fx.rtcp.count() != 2 {
		t.Fatalf("after %v without a packet: waited %v, asked %v, %d PLIs; want a second PLI", NudgeAfter, waited, asked, fx.rtcp.count())
	}
	pastThrottle()
	if _, asked := fx.dt.NudgeKeyframe(now.Add(NudgeAfter + NudgeAfter/2)); asked || fx.rtcp.count() != 2 {
		t.Fatalf("asked again %v after the last nudge: asked %v, %d PLIs", NudgeAfter/2, asked, fx.rtcp.count())
	}
	pastThrottle()
	if _, asked := fx.dt.NudgeKeyframe(now.Add(2 * NudgeAfter)); !asked || fx.rtcp.count() != 3 {
		t.Fatalf("%v on: asked %v, %d PLIs; want a third", 2*NudgeAfter, asked, fx.rtcp.count())
	}

	// Paused: not awaiting anything.
	fx.dt.SetPaused(true)
	pastThrottle()
	if waited, asked := fx.dt.NudgeKeyframe(now.Add(5 * NudgeAfter)); waited != 0 || asked {
		t.Fatalf("paused: waited %v, asked %v", waited, asked)
	}
	fx.dt.SetPaused(false) // asks once itself
	feedVideo(t, fx.f, 1, true, 0)
	if len(fx.w.sent()) != 1 {
		t.Fatalf("the keyframe was not forwarded: %d packets sent", len(fx.w.sent()))
	}
	pastThrottle()
	before := fx.rtcp.count()
	for i := range 4 {
		if waited, asked := fx.dt.NudgeKeyframe(now.Add(time.Duration(10+i) * NudgeAfter)); waited != 0 || asked {
			t.Fatalf("forwarding: waited %v, asked %v", waited, asked)
		}
	}
	if fx.rtcp.count() != before {
		t.Fatalf("%d PLIs while forwarding", fx.rtcp.count()-before)
	}
}
