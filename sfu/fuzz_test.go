package sfu

import (
	"bytes"
	"testing"
	"time"

	"github.com/bayan-dev/bayan/sfu/codecs"
	"github.com/bayan-dev/bayan/sfu/packetcache"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Fuzz targets. Their seeds run in every `go test`; explore further with e.g.
//
//	go test -run XXX -fuzz FuzzReceiverForward -fuzztime 60s ./sfu/

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
		forwarded := valid && (!video || codecs.IsKeyframe(codec.MimeType, want.Payload))
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
