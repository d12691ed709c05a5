package codecs

import (
	"bytes"
	"testing"

	pioncodecs "github.com/pion/rtp/codecs"
)

// Fuzz targets. Their seeds run in every `go test`; explore further with e.g.
//
//	go test -run XXX -fuzz FuzzVP8Descriptor -fuzztime 60s ./sfu/codecs/

// vp8Oracle decides VP8 keyframes with pion's own descriptor parser.
func vp8Oracle(p []byte) bool {
	var pkt pioncodecs.VP8Packet
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
		var d VP8Descriptor
		if !ParseVP8Descriptor(p, &d) {
			return
		}
		if d.Size > len(p) || d.PicAt >= d.Size || d.TL0At >= d.Size {
			t.Fatalf("fields outside the descriptor: %+v, len %d", d, len(p))
		}
		out := RewriteVP8(make([]byte, len(p)), p, &d, pic, tl0)
		var g VP8Descriptor
		if !ParseVP8Descriptor(out, &g) || g.Size != d.Size || g.PicAt != d.PicAt || g.TL0At != d.TL0At || g.TID != d.TID {
			t.Fatalf("rewrite changed the layout: %+v -> %+v", d, g)
		}
		if d.PicAt != 0 && g.PicID != pic&d.picMask() || d.TL0At != 0 && g.TL0 != tl0 {
			t.Fatalf("rewrite wrote %d %d, want %d %d", g.PicID, g.TL0, pic&d.picMask(), tl0)
		}
		if !bytes.Equal(out[d.Size:], p[d.Size:]) {
			t.Fatal("rewrite changed the payload after the descriptor")
		}
		if pic%7 == 0 {
			m.Switch()
		}
		m.Forward(&d)
		m.Lookup(&d)
	})
}
