package codecs

import (
	"bytes"
	"testing"

	"github.com/bayan-dev/bayan/sfu/codecs/codecstest"
)

// RewriteVP8 writes within the field's width, copies only when something
// changes, and never writes into its source.
func TestRewriteVP8(t *testing.T) {
	src := codecstest.VP8Frame{Pic: 0x1234, Wide: true, TL0: 5}.Payload(0)
	orig := bytes.Clone(src)
	var d VP8Descriptor
	ParseVP8Descriptor(src, &d)
	dst := make([]byte, 64)
	if got := RewriteVP8(dst, src, &d, 0x1234, 5); &got[0] != &src[0] {
		t.Fatal("unchanged ids made a copy")
	}
	got := RewriteVP8(dst, src, &d, 0x8001, 9) // 0x8001 wraps to 1 in 15 bits
	var g VP8Descriptor
	if !ParseVP8Descriptor(got, &g) || g.PicID != 1 || !g.Wide || g.TL0 != 9 || g.Size != d.Size {
		t.Fatalf("rewritten: %+v", g)
	}
	if !bytes.Equal(got[d.Size:], src[d.Size:]) || !bytes.Equal(src, orig) {
		t.Fatal("payload after the descriptor changed, or the source was written")
	}
	narrow := codecstest.VP8Frame{Pic: 3, TL0: 1}.Payload(0)
	ParseVP8Descriptor(narrow, &d)
	got = RewriteVP8(dst, narrow, &d, 130, 1)
	if !ParseVP8Descriptor(got, &g) || g.PicID != 2 || g.Wide {
		t.Fatalf("7-bit field: %+v, want id 130 mod 128", g)
	}
}

func TestParseVP8Descriptor(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    []byte
		want VP8Descriptor
		ok   bool
	}{
		{"empty", nil, VP8Descriptor{}, false},
		{"minimal key", []byte{0x10, 0x00}, VP8Descriptor{Size: 1, Start: true, Keyframe: true}, true},
		{"continuation", []byte{0x00, 0x00}, VP8Descriptor{Size: 1}, true},
		{"partition 1", []byte{0x11, 0x00}, VP8Descriptor{Size: 1}, true},
		{"7-bit id", []byte{0x90, 0x80, 0x55, 0x01}, VP8Descriptor{Size: 3, PicAt: 2, PicID: 0x55, Start: true}, true},
		{"15-bit id", []byte{0x90, 0x80, 0xab, 0xcd, 0x00}, VP8Descriptor{Size: 4, PicAt: 2, Wide: true, PicID: 0x2bcd, Start: true, Keyframe: true}, true},
		{"L and T", []byte{0x80, 0x60, 0x07, 0xa0, 0x01}, VP8Descriptor{Size: 4, TL0At: 2, TL0: 7, HasTID: true, TID: 2, Sync: true}, true},
		{"K only", []byte{0x80, 0x10, 0x1f, 0x01}, VP8Descriptor{Size: 3}, true},
		{"all", []byte{0x90, 0xf0, 0x80, 0x01, 0x09, 0x40, 0x00}, VP8Descriptor{Size: 6, PicAt: 2, Wide: true, PicID: 1, TL0At: 4, TL0: 9, HasTID: true, TID: 1, Start: true, Keyframe: true}, true},
		{"no extension byte", []byte{0x80}, VP8Descriptor{}, false},
		{"truncated 15-bit id", []byte{0x80, 0x80, 0x80}, VP8Descriptor{}, false},
		{"truncated TL0", []byte{0x80, 0x40}, VP8Descriptor{}, false},
		{"truncated TID", []byte{0x80, 0x60, 0x01}, VP8Descriptor{}, false},
	} {
		var d VP8Descriptor
		ok := ParseVP8Descriptor(tc.p, &d)
		if ok != tc.ok || ok && d != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tc.name, d, ok, tc.want, tc.ok)
		}
		if ok && d.Keyframe != vp8Oracle(tc.p) {
			t.Errorf("%s: keyframe %v, pion's parser says %v", tc.name, d.Keyframe, !d.Keyframe)
		}
	}
}
