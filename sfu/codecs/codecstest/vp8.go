// Package codecstest builds codec payloads for the tests of the packages that parse and munge them.
package codecstest

// VP8Frame describes the packets of one VP8 frame for tests.
type VP8Frame struct {
	Pic  uint16 // PictureID
	Wide bool   // 15-bit PictureID
	TL0  uint8  // TL0PICIDX
	TID  uint8  // temporal layer
	Sync bool   // the Y bit
	Key  bool   // a keyframe
}

// Payload builds packet i of the frame: X, I, L and T set, filler after the
// VP8 payload header.
func (f VP8Frame) Payload(i int) []byte {
	p := []byte{0x80, 0xe0}
	if i == 0 {
		p[0] |= 0x10
	}
	if f.Wide {
		p = append(p, 0x80|byte(f.Pic>>8), byte(f.Pic))
	} else {
		p = append(p, byte(f.Pic&0x7f))
	}
	t := f.TID << 6
	if f.Sync {
		t |= 0x20
	}
	p = append(p, f.TL0, t)
	hdr := byte(0x01)
	if f.Key {
		hdr = 0x00
	}
	return append(p, hdr, 0xAA, 0xBB, byte(i))
}

// L1T3 is the frame of a three-layer stream at position i (the pattern of
// libvpx and the load tester: TIDs 0 2 1 2, all but the last synced).
func L1T3(i int) VP8Frame {
	pattern := [4]uint8{0, 2, 1, 2}
	return VP8Frame{
		Pic: uint16(5000 + i), Wide: true, TL0: uint8(i / 4),
		TID: pattern[i%4], Sync: i%4 != 3, Key: i == 0,
	}
}
