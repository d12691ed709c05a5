package codecs

// VP8Descriptor says where the fields of a VP8 payload descriptor (RFC 7741
// section 4.2) sit in a payload and what they hold. Offsets are 0 for fields
// the descriptor does not carry (no field can sit at offset 0).
type VP8Descriptor struct {
	Size     int    // bytes before the VP8 payload header
	PicAt    int    // offset of the PictureID field (I=1)
	Wide     bool   // the PictureID field is 15 bits (M=1), not 7
	PicID    uint16 // PictureID, 7 or 15 bits
	TL0At    int    // offset of TL0PICIDX (L=1)
	TL0      uint8  // TL0PICIDX: counts the frames of temporal layer 0
	HasTID   bool   // T=1: TID and Sync are valid
	TID      uint8  // temporal layer of the frame
	Sync     bool   // Y: the frame depends only on frames of layer 0
	Start    bool   // S=1 and PID=0: the packet starts a frame
	Keyframe bool   // the packet starts a keyframe
}

// ParseVP8Descriptor reads the descriptor at the start of a VP8 RTP payload
// into d. It reports false, leaving d undefined, when the payload is too
// short to hold the descriptor it announces.
func ParseVP8Descriptor(p []byte, d *VP8Descriptor) bool {
	*d = VP8Descriptor{}
	if len(p) < 1 {
		return false
	}
	d.Start = p[0]&0x10 != 0 && p[0]&0x07 == 0
	i := 1
	if p[0]&0x80 != 0 { // X: an extension byte follows
		if len(p) < 2 {
			return false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // I: PictureID
			if len(p) <= i {
				return false
			}
			d.PicAt = i
			if p[i]&0x80 != 0 { // M: 15 bits
				if len(p) <= i+1 {
					return false
				}
				d.Wide = true
				d.PicID = uint16(p[i]&0x7f)<<8 | uint16(p[i+1])
				i += 2
			} else {
				d.PicID = uint16(p[i])
				i++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			if len(p) <= i {
				return false
			}
			d.TL0At, d.TL0 = i, p[i]
			i++
		}
		if x&0x30 != 0 { // T or K: one byte holds TID, Y and KEYIDX
			if len(p) <= i {
				return false
			}
			if x&0x20 != 0 {
				d.HasTID = true
				d.TID = p[i] >> 6
				d.Sync = p[i]&0x20 != 0
			}
			i++
		}
	}
	d.Size = i
	d.Keyframe = d.Start && len(p) > i && p[i]&0x01 == 0
	return true
}

// picMask is the largest PictureID the descriptor's field can hold.
func (d *VP8Descriptor) picMask() uint16 {
	if d.Wide {
		return 0x7fff
	}
	return 0x7f
}

// picDiff is how many pictures the descriptor's PictureID lies after id
// (negative: before it), modulo the width of its field.
func (d *VP8Descriptor) picDiff(id uint16) int16 {
	m := d.picMask()
	diff := (d.PicID - id) & m
	if diff > m/2 {
		return int16(diff) - int16(m) - 1
	}
	return int16(diff)
}

// RewriteVP8 returns the payload src with the descriptor's PictureID set to
// pic (modulo its field's width) and TL0PICIDX to tl0: src itself when they
// are unchanged, else a copy in dst (which may be src). The descriptor keeps
// its size, so nothing after it moves.
func RewriteVP8(dst, src []byte, d *VP8Descriptor, pic uint16, tl0 uint8) []byte {
	pic &= d.picMask()
	if (d.PicAt == 0 || pic == d.PicID) && (d.TL0At == 0 || tl0 == d.TL0) {
		return src
	}
	out := dst[:copy(dst, src)]
	if d.PicAt != 0 {
		if d.Wide {
			out[d.PicAt] = 0x80 | byte(pic>>8)
			out[d.PicAt+1] = byte(pic)
		} else {
			out[d.PicAt] = byte(pic)
		}
	}
	if d.TL0At != 0 {
		out[d.TL0At] = tl0
	}
	return out
}
