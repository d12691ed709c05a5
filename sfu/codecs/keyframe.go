package codecs

import "strings"

// IsKeyframe reports whether an RTP payload of the given codec starts a
// keyframe, so a down-track can begin (or resume) forwarding on a picture the
// subscriber can decode. For codecs it cannot parse it returns true: better a
// few undecodable frames than a stream that never starts.
func IsKeyframe(mimeType string, payload []byte) bool {
	switch {
	case strings.EqualFold(mimeType, "video/VP8"):
		return isVP8Keyframe(payload)
	case strings.EqualFold(mimeType, "video/H264"):
		return isH264Keyframe(payload)
	default:
		return true
	}
}

// isVP8Keyframe reads the VP8 payload descriptor (RFC 7741 section 4.2) and
// the first byte of the VP8 payload header.
func isVP8Keyframe(p []byte) bool {
	var d VP8Descriptor
	return ParseVP8Descriptor(p, &d) && d.Keyframe
}

// isH264Keyframe looks for an IDR slice or a sequence parameter set in a
// single NAL unit, a STAP-A aggregate or the first fragment of an FU-A.
func isH264Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch nal := p[0] & 0x1f; {
	case nal == 5 || nal == 7:
		return true
	case nal == 24: // STAP-A
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			i += 2
			if size == 0 || i+size > len(p) {
				return false
			}
			if t := p[i] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += size
		}
	case nal == 28: // FU-A
		return len(p) > 1 && p[1]&0x80 != 0 && (p[1]&0x1f == 5 || p[1]&0x1f == 7)
	}
	return false
}
