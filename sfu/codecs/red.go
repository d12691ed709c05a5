package codecs

import "strings"

// Opus RED (RFC 2198, "audio/red"): a publisher that negotiated it sends
// each audio packet with copies of the previous ones, so that a lost packet
// is rebuilt from the next. A subscriber that negotiated RED gets the
// packets as they are; one that did not gets the primary encoding alone,
// as plain Opus.

// MimeTypeRED is the media type of RFC 2198 redundant audio.
const MimeTypeRED = "audio/red"

// IsRED reports whether mime is RFC 2198 redundant audio.
func IsRED(mime string) bool { return strings.EqualFold(mime, MimeTypeRED) }

// REDPrimary returns the primary (newest) encoding of a RED payload: after
// the 4-byte headers of the redundant blocks and the 1-byte header of the
// primary, past the redundant blocks' data. ok is false for a malformed
// payload. It allocates nothing and does not modify payload.
func REDPrimary(payload []byte) (primary []byte, ok bool) {
	off, skip := 0, 0
	for {
		if off >= len(payload) {
			return nil, false
		}
		if payload[off]&0x80 == 0 { // F = 0: the primary's header, the last
			off++
			break
		}
		if off+4 > len(payload) {
			return nil, false
		}
		skip += int(payload[off+2]&0x03)<<8 | int(payload[off+3])
		off += 4
	}
	if off+skip > len(payload) {
		return nil, false
	}
	return payload[off+skip:], true
}

// WrapRED writes into dst a RED payload of one redundant block (prev, sent
// tsOffset RTP units before) and the primary encoding, both of payload type
// pt, and returns it; with no prev it carries the primary alone. It
// allocates nothing when dst is large enough.
func WrapRED(dst []byte, pt byte, prev []byte, tsOffset uint16, primary []byte) []byte {
	dst = dst[:0]
	if len(prev) > 0 && len(prev) < 1<<10 && tsOffset < 1<<14 {
		dst = append(dst, 0x80|pt, byte(tsOffset>>6), byte(tsOffset<<2)|byte(len(prev)>>8), byte(len(prev)))
	} else {
		prev = nil
	}
	dst = append(dst, pt&0x7f)
	dst = append(dst, prev...)
	return append(dst, primary...)
}
