package sfu

import (
	"bytes"
	"testing"
	"time"

	"github.com/bayan-dev/bayan/sfu/packetcache"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// Fuzz targets. Their seeds run in every `go test`; explore further with e.g.
//
//	go test -run XXX -fuzz FuzzReceiverForward -fuzztime 60s ./sfu/

// vp8Oracle decides VP8 keyframes with pion's own descriptor parser.
func vp8Oracle(p []byte) bool {
	var pkt codecs.VP8Packet
	payload, err := pkt.Unmarshal(p)
	return err == nil && len(payload) > 0 && pkt.S == 1 && pkt.PID == 0 && payload[0]&0x01 == 0
}

var fuzzMimes = []string{"video/VP8", "video/H264", "video/vp8", "video/h264", "video/VP9", "audio/opus"}

func FuzzIsKeyframe(f *testing.F) {
	for _, tc := range vp8Cases {
		f.Add(uint8(0), tc.payload)
	}
	for _, tc := range h264Cases {
		f.Add(uint8(1), tc.payload)
	}
	f.Add(uint8(4), []byte{})
	f.Fuzz(func(t *testing.T, codec uint8, p []byte) {
		mime := fuzzMimes[int(codec)%len(fuzzMimes)]
		got := IsKeyframe(mime, p)
		if got != IsKeyframe(mime, p) {
			t.Fatal("not deterministic")
		}
		switch int(codec) % len(fuzzMimes) {
		case 0, 2: // VP8
			if want := vp8Oracle(p); got != want {
				t.Fatalf("IsKeyframe(VP8, % x) = %v, pion's parser says %v", p, got, want)
			}
		case 1, 3: // H.264
			if got && len(p) == 0 {
				t.Fatal("empty payload is a keyframe")
			}
			if got {
				if nal := p[0] & 0x1f; nal != 5 && nal != 7 && nal != 24 && nal != 28 {
					t.Fatalf("NAL type %d reported as keyframe", nal)
				}
			}
		default:
			if !got {
				t.Fatalf("%s: unparsed codecs must count as keyframes", mime)
			}
		}
		// More bytes never turn a keyframe into a non-keyframe: the decision
		// only depends on a prefix.
		if got && !IsKeyframe(mime, append(bytes.Clone(p), 0xff, 0x00)) {
			t.Fatalf("%s % x is a keyframe but not with bytes appended", mime, p)
		}
	})
}

// FuzzReceiverForward feeds arbitrary bytes to Receiver.forward with one
// bound down-track, then NACKs whatever came out.
func FuzzReceiverForward(f *testing.F) {
	mk := func(p *rtp.Packet) []byte {
		b, err := p.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	key := mk(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 5, Timestamp: 9, SSRC: 1, Marker: true}, Payload: vp8Key(40)})
	f.Add(key, true)
	f.Add(key, false)
	f.Add(mk(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 65535, Timestamp: 1, SSRC: 2, CSRC: []uint32{1, 2, 3}}, Payload: []byte{0xfc}}), false)
	ext := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 77, SSRC: 3}
	_ = ext.SetExtension(1, []byte{0xaa})
	_ = ext.SetExtension(3, []byte{1, 2, 3})
	f.Add(mk(&rtp.Packet{Header: ext, Payload: vp8Key(10)}), true)
	padded := mk(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 8}, Payload: []byte{1, 2, 3}})
	padded[0] |= 0x20
	f.Add(append(bytes.Clone(padded), 0, 3), false)   // valid padding
	f.Add(append(bytes.Clone(padded), 0, 0), false)   // zero padding length
	f.Add(append(bytes.Clone(padded), 0, 200), false) // padding longer than the payload
	f.Add(append(bytes.Clone(padded[:12]), 0, 2), false)
	f.Add([]byte{}, false)
	f.Add([]byte{0x80}, true)
	f.Add(key[:12], true)
	f.Add([]byte{0x9f, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, false) // 15 CSRCs announced, none present
	f.Add([]byte{0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0xff, 0xff}, false)

	f.Fuzz(func(t *testing.T, data []byte, video bool) {
		codec := opusCodec
		if video {
			codec = vp8Codec
		}
		r := newTestReceiver(codec, nil)
		r.cache = packetcache.New(4) // the default 1.5 MB per execution slows fuzzing down
		dt := NewDownTrack(r, "a", "b", nil)
		r.AddDownTrack(dt)
		w := &recordingWriter{}
		bindDownTrack(t, dt, testDownPT, testDownSSRC, w)

		pkt := bytes.Clone(data)
		var hdr rtp.Header
		r.forward(&hdr, pkt, testEpoch)
		// The same packet again: a duplicate maps to the same outgoing seq.
		r.forward(&hdr, bytes.Clone(data), testEpoch.Add(time.Millisecond))
		if !bytes.Equal(pkt, data) {
			t.Fatal("forward modified the packet")
		}

		// pion's parser is the oracle. Padding-only packets are dropped; an
		// empty payload without padding is forwarded as is.
		var want rtp.Packet
		valid := want.Unmarshal(bytes.Clone(data)) == nil && !(want.Padding && len(want.Payload) == 0)
		forwarded := valid && (!video || IsKeyframe(codec.MimeType, want.Payload))
		sent := w.sent()
		if !forwarded {
			if len(sent) != 0 {
				t.Fatalf("forwarded %d packets for input that should be dropped (valid=%v)", len(sent), valid)
			}
			return
		}
		if len(sent) != 2 {
			t.Fatalf("sent %d packets, want 2", len(sent))
		}
		for _, p := range sent {
			if p.hdr.SSRC != testDownSSRC || p.hdr.PayloadType != testDownPT || p.hdr.Version != 2 {
				t.Fatalf("sent ssrc=%#x pt=%d v=%d, want the down-track's", p.hdr.SSRC, p.hdr.PayloadType, p.hdr.Version)
			}
			if p.hdr.SequenceNumber != want.SequenceNumber || p.hdr.Timestamp != want.Timestamp || p.hdr.Marker != want.Marker {
				t.Fatalf("sent seq=%d ts=%d m=%v, want %d %d %v", p.hdr.SequenceNumber, p.hdr.Timestamp, p.hdr.Marker,
					want.SequenceNumber, want.Timestamp, want.Marker)
			}
			if p.hdr.Padding || len(p.hdr.CSRC) != 0 {
				t.Fatal("padding or CSRCs forwarded")
			}
			if !bytes.Equal(p.payload, want.Payload) {
				t.Fatalf("sent payload % x, want % x", p.payload, want.Payload)
			}
		}

		// A NACK is answered from the cache with the same packet (packets
		// larger than the cache slot are not cached).
		w.reset()
		dt.HandleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: sent[0].hdr.SequenceNumber, LostPackets: 0xffff}}}})
		rtx := w.sent()
		if len(data) > MaxPacketSize {
			if len(rtx) != 0 {
				t.Fatalf("retransmitted a packet too large to cache")
			}
			return
		}
		if len(rtx) != 1 {
			t.Fatalf("NACK answered with %d packets, want 1", len(rtx))
		}
		g, o := rtx[0].hdr, sent[0].hdr
		if g.SequenceNumber != o.SequenceNumber || g.Timestamp != o.Timestamp || g.SSRC != o.SSRC ||
			g.PayloadType != o.PayloadType || g.Marker != o.Marker || !bytes.Equal(rtx[0].payload, sent[0].payload) {
			t.Fatalf("retransmission %+v differs from the original %+v", g, o)
		}
	})
}

// An RTP header extension in the outgoing header must not survive from
// the incoming one (the subscriber negotiated its own extension IDs).
func TestForwardDropsIncomingExtensions(t *testing.T) {
	fx := newDownTrackFixture(t, opusCodec, false)
	var got *rtp.Header
	dt := fx.dt
	c := opusCodec
	c.PayloadType = testDownPT
	if _, err := dt.Bind(&fakeLocalContext{codecs: []webrtc.RTPCodecParameters{c}, ssrc: testDownSSRC,
		writer: writerFunc(func(h *rtp.Header, _ []byte) { got = h })}); err != nil {
		t.Fatal(err)
	}
	h := rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 1, SSRC: 1}
	if err := h.SetExtension(1, []byte{0xaa}); err != nil {
		t.Fatal(err)
	}
	fx.f.feedPacket(t, &rtp.Packet{Header: h, Payload: []byte{1}}, 0)
	if got == nil || got.Extension || len(got.Extensions) != 0 {
		t.Fatalf("outgoing header %+v carries the publisher's extensions", got)
	}
}

type writerFunc func(h *rtp.Header, payload []byte)

func (f writerFunc) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	f(h, payload)
	return len(payload), nil
}
func (f writerFunc) Write(b []byte) (int, error) { return len(b), nil }

// FuzzVP8Descriptor parses arbitrary payloads: no panic, fields inside the
// payload, and a rewrite keeps the descriptor's layout and the rest of the
// payload. The munger takes the same payloads without panicking.
func FuzzVP8Descriptor(f *testing.F) {
	f.Add([]byte{0x90, 0xf0, 0x80, 0x01, 0x09, 0x40, 0x00}, uint16(7), uint8(3))
	f.Add([]byte{0x80, 0x80, 0x80}, uint16(0), uint8(0))
	f.Add([]byte{0x10, 0x00}, uint16(1), uint8(1))
	m := NewVP8Munger()
	m.SetMaxTemporalLayer(1)
	f.Fuzz(func(t *testing.T, p []byte, pic uint16, tl0 uint8) {
		var d vp8Descriptor
		if !parseVP8Descriptor(p, &d) {
			return
		}
		if d.size > len(p) || d.picAt >= d.size || d.tl0At >= d.size {
			t.Fatalf("fields outside the descriptor: %+v, len %d", d, len(p))
		}
		out := rewriteVP8(make([]byte, len(p)), p, &d, pic, tl0)
		var g vp8Descriptor
		if !parseVP8Descriptor(out, &g) || g.size != d.size || g.picAt != d.picAt || g.tl0At != d.tl0At || g.tid != d.tid {
			t.Fatalf("rewrite changed the layout: %+v -> %+v", d, g)
		}
		if d.picAt != 0 && g.picID != pic&d.picMask() || d.tl0At != 0 && g.tl0 != tl0 {
			t.Fatalf("rewrite wrote %d %d, want %d %d", g.picID, g.tl0, pic&d.picMask(), tl0)
		}
		if !bytes.Equal(out[d.size:], p[d.size:]) {
			t.Fatal("rewrite changed the payload after the descriptor")
		}
		if pic%7 == 0 {
			m.Switch()
		}
		m.Forward(&d)
		m.Lookup(&d)
	})
}
