package sfu

import (
	"bytes"
	"testing"
	"time"
)

// vp8Frame describes the packets of one VP8 frame for tests.
type vp8Frame struct {
	pic  uint16
	wide bool // 15-bit PictureID
	tl0  uint8
	tid  uint8
	sync bool
	key  bool
}

// payload builds packet i of the frame: X, I, L and T set, filler after the
// VP8 payload header.
func (f vp8Frame) payload(i int) []byte {
	p := []byte{0x80, 0xe0}
	if i == 0 {
		p[0] |= 0x10
	}
	if f.wide {
		p = append(p, 0x80|byte(f.pic>>8), byte(f.pic))
	} else {
		p = append(p, byte(f.pic&0x7f))
	}
	t := f.tid << 6
	if f.sync {
		t |= 0x20
	}
	p = append(p, f.tl0, t)
	hdr := byte(0x01)
	if f.key {
		hdr = 0x00
	}
	return append(p, hdr, 0xAA, 0xBB, byte(i))
}

func TestParseVP8Descriptor(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    []byte
		want vp8Descriptor
		ok   bool
	}{
		{"empty", nil, vp8Descriptor{}, false},
		{"minimal key", []byte{0x10, 0x00}, vp8Descriptor{size: 1, start: true, keyframe: true}, true},
		{"continuation", []byte{0x00, 0x00}, vp8Descriptor{size: 1}, true},
		{"partition 1", []byte{0x11, 0x00}, vp8Descriptor{size: 1}, true},
		{"7-bit id", []byte{0x90, 0x80, 0x55, 0x01}, vp8Descriptor{size: 3, picAt: 2, picID: 0x55, start: true}, true},
		{"15-bit id", []byte{0x90, 0x80, 0xab, 0xcd, 0x00}, vp8Descriptor{size: 4, picAt: 2, wide: true, picID: 0x2bcd, start: true, keyframe: true}, true},
		{"L and T", []byte{0x80, 0x60, 0x07, 0xa0, 0x01}, vp8Descriptor{size: 4, tl0At: 2, tl0: 7, hasTID: true, tid: 2, sync: true}, true},
		{"K only", []byte{0x80, 0x10, 0x1f, 0x01}, vp8Descriptor{size: 3}, true},
		{"all", []byte{0x90, 0xf0, 0x80, 0x01, 0x09, 0x40, 0x00}, vp8Descriptor{size: 6, picAt: 2, wide: true, picID: 1, tl0At: 4, tl0: 9, hasTID: true, tid: 1, start: true, keyframe: true}, true},
		{"no extension byte", []byte{0x80}, vp8Descriptor{}, false},
		{"truncated 15-bit id", []byte{0x80, 0x80, 0x80}, vp8Descriptor{}, false},
		{"truncated TL0", []byte{0x80, 0x40}, vp8Descriptor{}, false},
		{"truncated TID", []byte{0x80, 0x60, 0x01}, vp8Descriptor{}, false},
	} {
		var d vp8Descriptor
		ok := parseVP8Descriptor(tc.p, &d)
		if ok != tc.ok || ok && d != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tc.name, d, ok, tc.want, tc.ok)
		}
		if ok && d.keyframe != isVP8Keyframe(tc.p) {
			t.Errorf("%s: keyframe %v, isVP8Keyframe says %v", tc.name, d.keyframe, !d.keyframe)
		}
	}
}

// rewriteVP8 writes within the field's width, copies only when something
// changes, and never writes into its source.
func TestRewriteVP8(t *testing.T) {
	src := vp8Frame{pic: 0x1234, wide: true, tl0: 5}.payload(0)
	orig := bytes.Clone(src)
	var d vp8Descriptor
	parseVP8Descriptor(src, &d)
	dst := make([]byte, 64)
	if got := rewriteVP8(dst, src, &d, 0x1234, 5); &got[0] != &src[0] {
		t.Fatal("unchanged ids made a copy")
	}
	got := rewriteVP8(dst, src, &d, 0x8001, 9) // 0x8001 wraps to 1 in 15 bits
	var g vp8Descriptor
	if !parseVP8Descriptor(got, &g) || g.picID != 1 || !g.wide || g.tl0 != 9 || g.size != d.size {
		t.Fatalf("rewritten: %+v", g)
	}
	if !bytes.Equal(got[d.size:], src[d.size:]) || !bytes.Equal(src, orig) {
		t.Fatal("payload after the descriptor changed, or the source was written")
	}
	narrow := vp8Frame{pic: 3, tl0: 1}.payload(0)
	parseVP8Descriptor(narrow, &d)
	got = rewriteVP8(dst, narrow, &d, 130, 1)
	if !parseVP8Descriptor(got, &g) || g.picID != 2 || g.wide {
		t.Fatalf("7-bit field: %+v, want id 130 mod 128", g)
	}
}

// mungeFrame passes every packet of f through m and returns the ids of the
// first and whether it was forwarded.
func mungeFrame(t *testing.T, m *VP8Munger, f vp8Frame) (pic uint16, tl0 uint8, ok bool) {
	t.Helper()
	for i := 0; i < 2; i++ {
		var d vp8Descriptor
		if !parseVP8Descriptor(f.payload(i), &d) {
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
		pic, tl0, ok = mungeFrame(t, m, vp8Frame{pic: 0x7ffd + uint16(i), wide: true, tl0: 200 + uint8(i), key: i == 0})
		if !ok || pic&0x7fff != (0x7ffd+uint16(i))&0x7fff || tl0 != 200+uint8(i) {
			t.Fatalf("first epoch changed ids: %d %d %v", pic, tl0, ok)
		}
	}
	m.Switch()
	for i := 0; i < 3; i++ {
		p, l, ok := mungeFrame(t, m, vp8Frame{pic: 17 + uint16(i), wide: true, tl0: 90 + uint8(i), key: i == 0})
		if !ok || p&0x7fff != (pic+1+uint16(i))&0x7fff || l != tl0+1+uint8(i) {
			t.Fatalf("frame %d after the switch: id %d tl0 %d; want %d %d", i, p&0x7fff, l, (pic+1+uint16(i))&0x7fff, tl0+1+uint8(i))
		}
	}
	// A layer with 7-bit ids continues modulo 128.
	m.Switch()
	p, _, _ := mungeFrame(t, m, vp8Frame{pic: 100, tl0: 1, key: true})
	if p&0x7f != (pic+4)&0x7f {
		t.Fatalf("7-bit layer: id %d, want %d", p&0x7f, (pic+4)&0x7f)
	}
}

// l1t3 is the frame of a three-layer stream at position i (the pattern of
// libvpx and the load tester: TIDs 0 2 1 2, all but the last synced).
func l1t3(i int) vp8Frame {
	pattern := [4]uint8{0, 2, 1, 2}
	return vp8Frame{
		pic: uint16(5000 + i), wide: true, tl0: uint8(i / 4),
		tid: pattern[i%4], sync: i%4 != 3, key: i == 0,
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
		f := l1t3(i)
		p, l, ok := mungeFrame(t, m, f)
		if ok != (f.tid == 0) {
			t.Fatalf("frame %d (tid %d): forwarded=%v", i, f.tid, ok)
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
		p, _, ok := mungeFrame(t, m, l1t3(i))
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
	if _, _, ok := mungeFrame(t, m, l1t3(25)); ok {
		t.Fatal("a layer-2 frame went out after lowering the max to 1")
	}
}

// The down-track thins layers with continuous sequence numbers, PictureIDs
// and TL0PICIDX, and answers a NACK after drops with the very packet sent.
func TestDownTrackDropsTemporalLayers(t *testing.T) {
	r := newTestReceiver(vp8Codec, nil)
	dt := NewDownTrack(r, "TR_x", "PA_x|TR_x", nil)
	r.AddDownTrack(dt)
	w := &recordingWriter{}
	bindDownTrack(t, dt, testDownPT, testDownSSRC, w)
	dt.SetMaxTemporalLayer(0)
	feed := newFeeder(r)
	seq := uint16(65500) // wraps on the way
	for i := 0; i < 40; i++ {
		f := l1t3(i)
		for p := 0; p < 2; p++ {
			feed.feed(t, seq, uint32(i*3000), f.payload(p), time.Duration(i)*33*time.Millisecond)
			seq++
		}
	}
	sent := w.sent()
	if len(sent) != 20 {
		t.Fatalf("sent %d packets, want the 2 of each of 10 layer-0 frames", len(sent))
	}
	var prev vp8Descriptor
	for i, p := range sent {
		var d vp8Descriptor
		if !parseVP8Descriptor(p.payload, &d) || d.tid != 0 {
			t.Fatalf("packet %d: %+v", i, d)
		}
		if i > 0 && p.hdr.SequenceNumber != sent[i-1].hdr.SequenceNumber+1 {
			t.Fatalf("packet %d: seq %d after %d", i, p.hdr.SequenceNumber, sent[i-1].hdr.SequenceNumber)
		}
		if i%2 == 1 && (d.picID != prev.picID || d.tl0 != prev.tl0) {
			t.Fatalf("packet %d: ids differ within a frame", i)
		}
		if i%2 == 0 && i > 0 && (d.picID != prev.picID+1 || d.tl0 != prev.tl0+1) {
			t.Fatalf("packet %d: id %d tl0 %d after %d %d", i, d.picID, d.tl0, prev.picID, prev.tl0)
		}
		prev = d
	}
	for _, i := range []int{19, 14, 12} { // still in the 32-slot cache
		dt.retransmit(sent[i].hdr.SequenceNumber)
		again := w.sent()
		got := again[len(again)-1]
		if got.hdr.SequenceNumber != sent[i].hdr.SequenceNumber || !bytes.Equal(got.payload, sent[i].payload) {
			t.Fatalf("NACK for packet %d resent seq %d %x, want %d %x", i, got.hdr.SequenceNumber, got.payload, sent[i].hdr.SequenceNumber, sent[i].payload)
		}
	}
}
