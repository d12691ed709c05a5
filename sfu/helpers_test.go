package sfu

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Shared fakes and builders for the sfu tests and benchmarks.

var (
	vp8Codec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		PayloadType:        96,
	}
	opusCodec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
		PayloadType:        111,
	}
	// testEpoch is the fixed wall-clock origin handed to forward and Rewrite.
	testEpoch = time.Unix(1_700_000_000, 0)
)

// VP8 payloads: a descriptor with S=1, PID=0 followed by a VP8 payload
// header whose P bit says key (0) or inter (1) frame.
func vp8Key(n int) []byte {
	p := make([]byte, n)
	p[0], p[1] = 0x10, 0x00
	for i := 2; i < n; i++ {
		p[i] = byte(i)
	}
	return p
}

func vp8Delta(n int) []byte {
	p := vp8Key(n)
	p[1] = 0x01
	return p
}

// sentPacket is a copy of what a DownTrack handed to its writer.
type sentPacket struct {
	hdr     rtp.Header
	payload []byte
}

// recordingWriter is a webrtc.TrackLocalWriter that keeps copies of
// everything written to it.
type recordingWriter struct {
	mu   sync.Mutex
	pkts []sentPacket
	err  error // returned by WriteRTP when set
}

func (w *recordingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	c := *h
	c.Extensions = nil
	c.CSRC = nil
	w.pkts = append(w.pkts, sentPacket{hdr: c, payload: bytes.Clone(payload)})
	return h.MarshalSize() + len(payload), nil
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil {
		return 0, err
	}
	return w.WriteRTP(&p.Header, p.Payload)
}

func (w *recordingWriter) sent() []sentPacket {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]sentPacket(nil), w.pkts...)
}

func (w *recordingWriter) reset() {
	w.mu.Lock()
	w.pkts = nil
	w.mu.Unlock()
}

// nopWriter discards everything: it measures Bayan's own cost.
type nopWriter struct{}

func (nopWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) { return len(payload) + 12, nil }
func (nopWriter) Write(b []byte) (int, error)                         { return len(b), nil }

// fakeLocalContext is the webrtc.TrackLocalContext pion would pass to Bind.
type fakeLocalContext struct {
	codecs  []webrtc.RTPCodecParameters
	ssrc    webrtc.SSRC
	rtxSSRC webrtc.SSRC // 0: no retransmission stream
	writer  webrtc.TrackLocalWriter
}

func (c *fakeLocalContext) CodecParameters() []webrtc.RTPCodecParameters { return c.codecs }
func (c *fakeLocalContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter {
	return nil
}
func (c *fakeLocalContext) SSRC() webrtc.SSRC                       { return c.ssrc }
func (c *fakeLocalContext) SSRCRetransmission() webrtc.SSRC         { return c.rtxSSRC }
func (c *fakeLocalContext) SSRCForwardErrorCorrection() webrtc.SSRC { return 0 }
func (c *fakeLocalContext) WriteStream() webrtc.TrackLocalWriter    { return c.writer }
func (c *fakeLocalContext) ID() string                              { return "fake" }
func (c *fakeLocalContext) RTCPReader() interceptor.RTCPReader      { return nil }

// rtcpRecorder counts what a Receiver sends to its publisher.
type rtcpRecorder struct {
	mu   sync.Mutex
	pkts [][]rtcp.Packet
}

func (r *rtcpRecorder) write(p []rtcp.Packet) error {
	r.mu.Lock()
	r.pkts = append(r.pkts, p)
	r.mu.Unlock()
	return nil
}

func (r *rtcpRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pkts)
}

// Down-track parameters used when binding in tests.
const (
	testDownSSRC = 0xD0D0CAFE
	testDownPT   = 100
	testPubSSRC  = 0x12345678
)

func newTestReceiver(codec webrtc.RTPCodecParameters, writeRTCP func([]rtcp.Packet) error) *Receiver {
	kind := webrtc.RTPCodecTypeVideo
	if codec.MimeType == webrtc.MimeTypeOpus {
		kind = webrtc.RTPCodecTypeAudio
	}
	return NewReceiverFromSource(nil, ReceiverParams{
		Kind:      kind,
		Codec:     codec,
		SSRC:      testPubSSRC,
		WriteRTCP: writeRTCP,
	})
}

// bindDownTrack binds dt as pion would, with the receiver's codec under
// payload type pt, and returns the codec Bind chose.
func bindDownTrack(tb testing.TB, dt *DownTrack, pt webrtc.PayloadType, ssrc webrtc.SSRC, w webrtc.TrackLocalWriter) webrtc.RTPCodecParameters {
	tb.Helper()
	c := dt.Receiver().Codec()
	c.PayloadType = pt
	got, err := dt.Bind(&fakeLocalContext{codecs: []webrtc.RTPCodecParameters{c}, ssrc: ssrc, writer: w})
	if err != nil {
		tb.Fatalf("Bind: %v", err)
	}
	return got
}

// packetFeeder marshals RTP packets and passes them to Receiver.forward the
// way the read loop does, with one reused header.
type packetFeeder struct {
	r   *Receiver
	hdr rtp.Header
	buf []byte
}

func newFeeder(r *Receiver) *packetFeeder {
	return &packetFeeder{r: r, buf: make([]byte, MaxPacketSize)}
}

// feed sends one packet with the given sequence number, timestamp and
// payload that arrived at testEpoch+at.
func (f *packetFeeder) feed(tb testing.TB, seq uint16, ts uint32, payload []byte, at time.Duration) {
	tb.Helper()
	f.feedPacket(tb, &rtp.Packet{
		Header: rtp.Header{
			Version: 2, PayloadType: uint8(f.r.codec.PayloadType),
			SequenceNumber: seq, Timestamp: ts, SSRC: testPubSSRC,
		},
		Payload: payload,
	}, at)
}

func (f *packetFeeder) feedPacket(tb testing.TB, p *rtp.Packet, at time.Duration) {
	tb.Helper()
	n, err := p.MarshalTo(f.buf)
	if err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	f.r.forward(&f.hdr, f.buf[:n], testEpoch.Add(at))
}
