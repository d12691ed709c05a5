package codecs

import (
	"bytes"
	"testing"
)

// redPayload builds an RFC 2198 payload: redundant blocks (oldest first),
// then the primary.
func redPayload(pt byte, redundant [][]byte, primary []byte) []byte {
	var out []byte
	for i, r := range redundant {
		offset := uint16(960 * (len(redundant) - i))
		out = append(out, 0x80|pt, byte(offset>>6), byte(offset<<2)|byte(len(r)>>8), byte(len(r)))
	}
	out = append(out, pt)
	for _, r := range redundant {
		out = append(out, r...)
	}
	return append(out, primary...)
}

func TestREDPrimary(t *testing.T) {
	primary := []byte("the newest opus frame")
	for n := range 3 {
		var red [][]byte
		for i := range n {
			red = append(red, bytes.Repeat([]byte{byte(i + 1)}, 40+300*i))
		}
		got, ok := REDPrimary(redPayload(111, red, primary))
		if !ok || !bytes.Equal(got, primary) {
			t.Errorf("%d redundant blocks: primary %q, %v", n, got, ok)
		}
	}
	for _, bad := range [][]byte{
		nil,
		{0x80 | 111, 0, 0},          // a redundant header cut short
		{0x80 | 111, 0, 0, 50, 111}, // a block longer than the payload
		{0x80 | 111, 0, 0, 1},       // no primary header
	} {
		if p, ok := REDPrimary(bad); ok {
			t.Errorf("% x: accepted, primary % x", bad, p)
		}
	}
}

func FuzzREDPrimary(f *testing.F) {
	f.Add(redPayload(111, [][]byte{{1, 2, 3}}, []byte{4, 5}))
	f.Add([]byte{0x80, 0, 0, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, ok := REDPrimary(b); ok && len(p) > len(b) {
			t.Fatalf("primary longer than the payload")
		}
	})
}

func TestWrapThenPrimary(t *testing.T) {
	prev, primary := bytes.Repeat([]byte{7}, 80), []byte("newest")
	for _, p := range [][]byte{nil, prev} {
		b := WrapRED(make([]byte, 0, 256), 111, p, 960, primary)
		got, ok := REDPrimary(b)
		if !ok || !bytes.Equal(got, primary) {
			t.Errorf("prev %d bytes: primary %q, %v", len(p), got, ok)
		}
		if want := len(primary) + 1 + len(p) + 4*min(1, len(p)); len(b) != want {
			t.Errorf("prev %d bytes: payload %d bytes, want %d", len(p), len(b), want)
		}
	}
}
