package codecs

import (
	"testing"

	"github.com/bayan-dev/bayan/sfu/codecs/codecstest"
)

// mungeFrame passes every packet of f through m and returns the ids of the
func mungeFrame(t *testing.T, m *VP8Munger, f codecstest.VP8Frame) (pic uint16, tl0 uint8, ok bool) {
	t.Helper()
	for i := 0; i < 2; i++ {
		var d VP8Descriptor
		if !ParseVP8Descriptor(f.Payload(i), &d) {
			t.Fatal("unparsable test payload")
		}
		p, l, o := m.Forward(&d)
		if i == 0 {
			pic, tl0, ok = p, l, o
		} else if o != ok || o && (p != pic || l != tl0) {
			t.Fatalf("frame %+v: packets went different ways", f)
		}
	}
	return pic, tl0, ok
}

// Across a switch to a layer with its own numbering, PictureID and
// TL0PICIDX continue from the last ones sent, wrapping at 15 bits.
func TestVP8MungerContinuesAcrossSwitch(t *testing.T) {
	m := NewVP8Munger()
	var pic uint16
	var tl0 uint8
	for i := 0; i < 4; i++ {
		var ok bool
		pic, tl0, ok = mungeFrame(t, m, codecstest.VP8Frame{Pic: 0x7ffd + uint16(i), Wide: true, TL0: 200 + uint8(i), Key: i == 0})
		if !ok || pic&0x7fff != (0x7ffd+uint16(i))&0x7fff || tl0 != 200+uint8(i) {
			t.Fatalf("first epoch changed ids: %d %d %v", pic, tl0, ok)
		}
	}
	m.Switch()
	for i := 0; i < 3; i++ {
		p, l, ok := mungeFrame(t, m, codecstest.VP8Frame{Pic: 17 + uint16(i), Wide: true, TL0: 90 + uint8(i), Key: i == 0})
		if !ok || p&0x7fff != (pic+1+uint16(i))&0x7fff || l != tl0+1+uint8(i) {
			t.Fatalf("frame %d after the switch: id %d tl0 %d; want %d %d", i, p&0x7fff, l, (pic+1+uint16(i))&0x7fff, tl0+1+uint8(i))
		}
	}
	// A layer with 7-bit ids continues modulo 128.
	m.Switch()
	p, _, _ := mungeFrame(t, m, codecstest.VP8Frame{Pic: 100, TL0: 1, Key: true})
	if p&0x7f != (pic+4)&0x7f {
		t.Fatalf("7-bit layer: id %d, want %d", p&0x7f, (pic+4)&0x7f)
	}
}

// With max layer 0 only layer-0 frames go out, with consecutive ids;
// raising the max waits for a synced frame of the next layer.
func TestVP8MungerThinsTemporalLayers(t *testing.T) {
	m := NewVP8Munger()
	m.SetMaxTemporalLayer(0)
	var last uint16
	var lastTL0 uint8
	n := 0
	for i := 0; i < 16; i++ {
		f := codecstest.L1T3(i)
		p, l, ok := mungeFrame(t, m, f)
		if ok != (f.TID == 0) {
			t.Fatalf("frame %d (tid %d): forwarded=%v", i, f.TID, ok)
		}
		if ok && n > 0 && (p != last+1 || l != lastTL0+1) {
			t.Fatalf("frame %d: id %d tl0 %d after %d %d", i, p, l, last, lastTL0)
		}
		if ok {
			last, lastTL0, n = p, l, n+1
		}
	}
	// Up to all layers, from frame 16 (tid 0): 17 (tid 2, synced) is not
	// safe yet, 18 (tid 1, synced) lifts to 1, 19 (tid 2, not synced) is
	// still dropped, 21 (tid 2, synced) lifts to 2.
	m.SetMaxTemporalLayer(-1)
	want := map[int]bool{16: true, 17: false, 18: true, 19: false, 20: true, 21: true, 22: true, 23: true}
	for i := 16; i < 24; i++ {
		p, _, ok := mungeFrame(t, m, codecstest.L1T3(i))
		if ok != want[i] {
			t.Fatalf("frame %d: forwarded=%v, want %v", i, ok, want[i])
		}
		if ok && p != last+1 {
			t.Fatalf("frame %d: id %d after %d", i, p, last)
		}
		if ok {
			last = p
		}
	}
	// Down again to layer 1 at any frame.
	m.SetMaxTemporalLayer(1)
	if _, _, ok := mungeFrame(t, m, codecstest.L1T3(25)); ok {
		t.Fatal("a layer-2 frame went out after lowering the max to 1")
	}
}
