package codecs

import (
	"fmt"
	"testing"
)

type keyframeCase struct {
	name    string
	payload []byte
	want    bool
}

// VP8 payload descriptor (RFC 7741 section 4.2):
//
//	byte 0: X R N S R PID(3)       X=0x80 S=0x10
//	byte 1 (X): I L T K RSV(4)     I=0x80 L=0x40 T=0x20 K=0x10
//	I: M + 7 or 15 bit picture ID  M=0x80 means 15 bits (two bytes)
//	L: TL0PICIDX byte
//	T|K: TID/Y/KEYIDX byte (one byte for either or both)
//
// followed by the VP8 payload header whose bit 0 (P) is 0 for key frames.
var vp8Cases = []keyframeCase{
	{"no X key", []byte{0x10, 0x00, 0x00, 0x00}, true},
	{"no X key with start code", []byte{0x10, 0x50, 0x04, 0x00, 0x9d, 0x01, 0x2a}, true},
	{"no X inter", []byte{0x10, 0x01}, false},
	{"not start of partition", []byte{0x00, 0x00}, false},
	{"N bit set key", []byte{0x30, 0x00}, true},
	{"partition 1", []byte{0x11, 0x00}, false},
	{"partition 7", []byte{0x17, 0x00}, false},
	{"X, no optional fields, key", []byte{0x90, 0x00, 0x00}, true},
	{"X, no optional fields, inter", []byte{0x90, 0x00, 0x01}, false},
	{"I 7-bit key", []byte{0x90, 0x80, 0x05, 0x00}, true},
	{"I 7-bit inter", []byte{0x90, 0x80, 0x05, 0x01}, false},
	{"I 7-bit, odd picture id, key", []byte{0x90, 0x80, 0x7f, 0x00}, true},
	{"I 15-bit key", []byte{0x90, 0x80, 0x81, 0x23, 0x00}, true},
	{"I 15-bit inter", []byte{0x90, 0x80, 0x81, 0x23, 0x01}, false},
	// A parser that took the 15-bit id for a 7-bit one would read the
	// second id byte (0x00 here) as the VP8 header.
	{"I 15-bit inter, even low byte", []byte{0x90, 0x80, 0x80, 0x00, 0x01}, false},
	{"I 15-bit key, odd low byte", []byte{0x90, 0x80, 0xff, 0xff, 0x00}, true},
	{"L key", []byte{0x90, 0x40, 0x07, 0x00}, true},
	{"L inter, even TL0PICIDX", []byte{0x90, 0x40, 0x00, 0x01}, false},
	{"T key", []byte{0x90, 0x20, 0xe1, 0x00}, true},
	{"T inter", []byte{0x90, 0x20, 0x00, 0x01}, false},
	{"K key", []byte{0x90, 0x10, 0x1f, 0x00}, true},
	{"K inter", []byte{0x90, 0x10, 0x00, 0x01}, false},
	{"T and K share one byte, key", []byte{0x90, 0x30, 0x01, 0x00}, true},
	{"T and K share one byte, inter", []byte{0x90, 0x30, 0x00, 0x01}, false},
	{"I7 L T K key", []byte{0x90, 0xf0, 0x12, 0x34, 0x56, 0x00}, true},
	{"I7 L T K inter", []byte{0x90, 0xf0, 0x12, 0x34, 0x56, 0x01}, false},
	{"I15 L T K key", []byte{0x90, 0xf0, 0x92, 0x34, 0x56, 0x78, 0x00, 0xff}, true},
	{"I15 L T K inter", []byte{0x90, 0xf0, 0x92, 0x34, 0x56, 0x78, 0x01, 0xff}, false},
	{"I15 L T K, X on non-start", []byte{0x80, 0xf0, 0x92, 0x34, 0x56, 0x78, 0x00}, false},
	{"empty", []byte{}, false},
	{"nil", nil, false},
	{"descriptor only", []byte{0x10}, false},
	{"X without extension byte", []byte{0x90}, false},
	{"I without picture id", []byte{0x90, 0x80}, false},
	{"I 15-bit, second id byte missing", []byte{0x90, 0x80, 0x80}, false},
	{"I 15-bit, no VP8 header", []byte{0x90, 0x80, 0x80, 0x00}, false},
	{"L, no TL0PICIDX", []byte{0x90, 0x40}, false},
	{"L, no VP8 header", []byte{0x90, 0x40, 0x00}, false},
	{"all fields, no VP8 header", []byte{0x90, 0xf0, 0x92, 0x34, 0x56, 0x78}, false},
}

// H.264 RTP payloads (RFC 6184): NAL type in the low five bits of byte 0;
// 24 = STAP-A (16-bit size + NAL, repeated), 28 = FU-A (FU header in byte 1:
// S=0x80, E=0x40, type in the low five bits).
var h264Cases = []keyframeCase{
	{"IDR", []byte{0x65, 0x88, 0x84}, true},
	{"IDR, nal_ref_idc 0", []byte{0x05, 0x88}, true},
	{"SPS", []byte{0x67, 0x42, 0xc0, 0x1f}, true},
	{"PPS", []byte{0x68, 0xce, 0x3c, 0x80}, false},
	{"non-IDR slice", []byte{0x41, 0x9a}, false},
	{"SEI", []byte{0x06, 0x05}, false},
	{"IDR byte alone", []byte{0x65}, true},
	{"STAP-A SPS PPS IDR", []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x65, 0x88}, true},
	{"STAP-A SEI then IDR", []byte{0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x02, 0x65, 0x88}, true},
	{"STAP-A PPS and SEI only", []byte{0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x01, 0x06}, false},
	{"STAP-A one-byte SPS at the end", []byte{0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x01, 0x67}, true},
	{"STAP-A size past the end", []byte{0x78, 0x00, 0x10, 0x67}, false},
	{"STAP-A zero size", []byte{0x78, 0x00, 0x00, 0x67, 0x42}, false},
	{"STAP-A header only", []byte{0x78}, false},
	{"STAP-A half a size", []byte{0x78, 0x00}, false},
	{"STAP-A size, no NAL", []byte{0x78, 0x00, 0x01}, false},
	{"STAP-A second unit truncated", []byte{0x78, 0x00, 0x01, 0x06, 0x00, 0x05, 0x65}, false},
	{"FU-A start IDR", []byte{0x7c, 0x85, 0xb8, 0x00}, true},
	{"FU-A start IDR, header only", []byte{0x7c, 0x85}, true},
	{"FU-A middle IDR", []byte{0x7c, 0x05, 0x00}, false},
	{"FU-A end IDR", []byte{0x7c, 0x45, 0x00}, false},
	{"FU-A start non-IDR", []byte{0x5c, 0x81, 0x00}, false},
	{"FU-A without FU header", []byte{0x7c}, false},
	{"FU-B", []byte{0x7d, 0x85, 0x00, 0x00}, false},
	{"STAP-B", []byte{0x79, 0x00, 0x00, 0x00, 0x02, 0x65, 0x88}, false},
	{"empty", []byte{}, false},
	{"nil", nil, false},
}

func TestIsKeyframeVP8(t *testing.T) {
	for _, tc := range vp8Cases {
		for _, mime := range []string{"video/VP8", "video/vp8", "VIDEO/VP8"} {
			if got := IsKeyframe(mime, tc.payload); got != tc.want {
				t.Errorf("%s %s (% x): got %v, want %v", mime, tc.name, tc.payload, got, tc.want)
			}
		}
	}
}

func TestIsKeyframeH264(t *testing.T) {
	for _, tc := range h264Cases {
		for _, mime := range []string{"video/H264", "video/h264"} {
			if got := IsKeyframe(mime, tc.payload); got != tc.want {
				t.Errorf("%s %s (% x): got %v, want %v", mime, tc.name, tc.payload, got, tc.want)
			}
		}
	}
}

func TestIsKeyframeOtherCodecs(t *testing.T) {
	// Codecs Bayan does not parse are always treated as decodable.
	for _, mime := range []string{"video/VP9", "video/AV1", "audio/opus", ""} {
		for _, p := range [][]byte{nil, {0x00}, {0xff, 0x01}} {
			if !IsKeyframe(mime, p) {
				t.Errorf("IsKeyframe(%q, % x) = false, want true", mime, p)
			}
		}
	}
}

// Every prefix of every case, and every single-byte corruption of it, must
// be handled without panicking.
func TestIsKeyframeTruncatedNeverPanics(t *testing.T) {
	all := append(append([]keyframeCase{}, vp8Cases...), h264Cases...)
	for _, tc := range all {
		for _, mime := range []string{"video/VP8", "video/H264"} {
			for n := 0; n <= len(tc.payload); n++ {
				p := tc.payload[:n:n] // no spare capacity to read into
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Errorf("%s %s truncated to %d bytes: panic %v", mime, tc.name, n, r)
						}
					}()
					IsKeyframe(mime, p)
					for i := range p {
						for _, b := range []byte{0x00, 0xff, 0x80, 0x7f} {
							q := append([]byte(nil), p...)
							q[i] = b
							IsKeyframe(mime, q)
						}
					}
				}()
			}
		}
	}
}

func ExampleIsKeyframe() {
	fmt.Println(IsKeyframe("video/VP8", []byte{0x10, 0x00}))
	fmt.Println(IsKeyframe("video/H264", []byte{0x7c, 0x85}))
	fmt.Println(IsKeyframe("video/H264", []byte{0x41}))
	// Output:
	// true
	// true
	// false
}
