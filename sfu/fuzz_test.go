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
//	go test -run XXX -fuzz FuzzRewriter -fuzztime 60s ./sfu/

// rewriterOp is one 4-byte step of FuzzRewriter's input:
//
//	byte 0: flags  0x01 Switch before this packet
//	               0x02 big jump: seq moves by int16(byte1<<8|byte2)
//	                    (otherwise by int8(byte2): loss and reordering)
//	               0x04 the clock steps back 5 ms instead of forward
//	               0x08 timestamp jumps by an unrelated amount
//	byte 1, 2: sequence number step
//	byte 3: milliseconds since the previous packet
const rewriterOpSize = 4

// rewriterModel is what FuzzRewriter knows of the current epoch.
type rewriterModel struct {
	started        bool
	seqOff         uint16 // in - out
	tsOff          uint32
	first, highest uint16
	span           int    // highest - first, saturating at 32767
	lastOutSeq     uint16 // out seq/ts of the packet with the highest seq
	lastOutTS      uint32
	headEarliest   int64 // arrival times at which the highest packet was seen
	headLatest     int64
}

func step(elapsed int64, clockRate uint32) uint32 {
	if elapsed < 0 {
		elapsed = 0
	}
	s := uint32(uint64(elapsed) * uint64(clockRate) / 1e9)
	return max(s, 1)
}

func FuzzRewriter(f *testing.F) {
	op := func(flags, a, b, dt byte) []byte { return []byte{flags, a, b, dt} }
	cat := func(ops ...[]byte) []byte { return bytes.Join(ops, nil) }
	steady := bytes.Repeat(op(0, 0, 1, 33), 20)
	f.Add(uint16(0), uint32(0), false, steady)
	f.Add(uint16(65530), uint32(0xfffff000), false, steady) // both wrap
	f.Add(uint16(100), uint32(1), true, cat(op(0, 0, 1, 20), op(0, 0, 2, 20), op(0, 0, 0xff, 20), op(0, 0, 2, 20)))
	f.Add(uint16(1000), uint32(5), false, cat(steady[:20], op(1, 0x40, 0x00, 250), steady[:20], op(1|2, 0x90, 0x00, 0), op(4, 0, 1, 0)))
	f.Add(uint16(7), uint32(7), false, cat(op(0, 0, 1, 1), op(0, 0, 0xfb, 1), op(1, 0, 0xfe, 1), op(0, 0, 0xfe, 1)))
	f.Add(uint16(1), uint32(2), true, cat(op(1, 0, 1, 0), op(1, 0, 1, 0), op(1|8, 0x12, 0x34, 0xff), op(2, 0x7f, 0xff, 1), op(2, 0x7f, 0xff, 1), op(2, 0x80, 0x00, 1)))
	// A duplicate of the first packet, then a switch.
	f.Add(uint16(50), uint32(0), false, cat(op(1, 0, 1, 10), op(0, 0, 1, 10), op(0, 0, 0xff, 10), op(1, 0, 5, 10)))

	f.Fuzz(func(t *testing.T, seq uint16, ts uint32, audio bool, ops []byte) {
		clock := uint32(90000)
		if audio {
			clock = 48000
		}
		r := NewRewriter(clock)
		var m rewriterModel
		pendingSwitch := false
		now := int64(1e12)
		for i := 0; i+rewriterOpSize <= len(ops); i += rewriterOpSize {
			flags, a, b, dt := ops[i], ops[i+1], ops[i+2], ops[i+3]
			if flags&0x01 != 0 {
				r.Switch()
				pendingSwitch = true
			}
			var d int16
			if flags&0x02 != 0 {
				d = int16(uint16(a)<<8 | uint16(b))
			} else {
				d = int16(int8(b))
			}
			seq += uint16(d)
			ts += uint32(int32(d) * int32(clock/30))
			if flags&0x08 != 0 {
				ts += uint32(a)<<24 | uint32(b)<<8
			}
			if flags&0x04 != 0 {
				now -= 5 * ms
			} else {
				now += int64(dt) * ms
			}

			outSeq, outTS, ok := r.Rewrite(seq, ts, now)

			switch {
			case !m.started || pendingSwitch:
				if !ok {
					t.Fatalf("op %d: first packet of an epoch (seq %d) dropped", i/rewriterOpSize, seq)
				}
				if m.started {
					if outSeq != m.lastOutSeq+1 {
						t.Fatalf("op %d: seq after Switch = %d, want %d", i/rewriterOpSize, outSeq, m.lastOutSeq+1)
					}
					// The clock may step back, so either arrival may be the later.
					lo, hi := step(now-m.headLatest, clock), step(now-m.headEarliest, clock)
					lo, hi = min(lo, hi), max(lo, hi)
					if got := outTS - m.lastOutTS; got < lo || got > hi {
						t.Fatalf("op %d: ts advanced by %d across Switch, want %d..%d", i/rewriterOpSize, got, lo, hi)
					}
				}
				m = rewriterModel{started: true, seqOff: seq - outSeq, tsOff: ts - outTS,
					first: seq, highest: seq, lastOutSeq: outSeq, lastOutTS: outTS,
					headEarliest: now, headLatest: now}
				pendingSwitch = false
			default:
				d := int16(seq - m.highest)
				newer := d > 0
				behind := int(m.highest - seq) // how far seq lies behind the newest packet
				switch {
				case newer:
					if !ok {
						t.Fatalf("op %d: packet %d, newer than %d, dropped", i/rewriterOpSize, seq, m.highest)
					}
				case !newer && behind <= m.span:
					if !ok {
						t.Fatalf("op %d: packet %d within the epoch [%d, %d] dropped", i/rewriterOpSize, seq, m.first, m.highest)
					}
				case !newer && behind <= 1<<15:
					if ok {
						t.Fatalf("op %d: packet %d older than the epoch's first %d forwarded as %d", i/rewriterOpSize, seq, m.first, outSeq)
					}
				}
				if !ok {
					continue
				}
				if seq-outSeq != m.seqOff || ts-outTS != m.tsOff {
					t.Fatalf("op %d: in %d/%d -> out %d/%d: offsets %d/%d, want the epoch's %d/%d",
						i/rewriterOpSize, seq, ts, outSeq, outTS, seq-outSeq, ts-outTS, m.seqOff, m.tsOff)
				}
				switch {
				case newer:
					m.span = min(m.span+int(d), 1<<15-1)
					m.highest, m.lastOutSeq, m.lastOutTS = seq, outSeq, outTS
					m.headEarliest, m.headLatest = now, now
				case seq == m.highest:
					m.headLatest = now
				}
			}
			if ok {
				if in, ok2 := r.IncomingSeq(outSeq); !ok2 || in != seq {
					t.Fatalf("op %d: IncomingSeq(%d) = %d, %v; want %d", i/rewriterOpSize, outSeq, in, ok2, seq)
				}
				if s, ts2, ok2 := r.Map(seq, ts); !ok2 || s != outSeq || ts2 != outTS {
					t.Fatalf("op %d: Map(%d) = %d/%d, %v; want %d/%d", i/rewriterOpSize, seq, s, ts2, ok2, outSeq, outTS)
				}
			}
		}
	})
}

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
