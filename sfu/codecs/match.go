package codecs

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// RTXPayloadType finds, among the negotiated codecs, the RTX payload type
// whose apt names the codec of payload type apt; ok is false when there is
// none, and retransmissions then go out on the media stream itself.
func RTXPayloadType(negotiated []webrtc.RTPCodecParameters, apt webrtc.PayloadType) (uint8, bool) {
	want := fmt.Sprintf("apt=%d", apt)
	for _, c := range negotiated {
		if strings.EqualFold(c.MimeType, webrtc.MimeTypeRTX) && strings.Contains(c.SDPFmtpLine, want) {
			for _, kv := range strings.Split(c.SDPFmtpLine, ";") {
				if strings.TrimSpace(kv) == want {
					return uint8(c.PayloadType), true
				}
			}
		}
	}
	return 0, false
}

// FmtpMatches reports whether a negotiated codec got can carry the stream of
// codec want, once their MIME types match: H.264 profiles must be the same;
// other codecs always match.
func FmtpMatches(want, got webrtc.RTPCodecParameters) bool {
	if !strings.EqualFold(want.MimeType, webrtc.MimeTypeH264) {
		return true
	}
	a, b := profileLevelID(want.SDPFmtpLine), profileLevelID(got.SDPFmtpLine)
	// The first four hex digits are profile_idc and the constraint flags;
	// the level may differ.
	return len(a) < 4 || len(b) < 4 || a[:4] == b[:4]
}

// profileLevelID returns the profile-level-id of an H.264 fmtp line, or "".
func profileLevelID(fmtp string) string {
	for _, kv := range strings.Split(fmtp, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && strings.EqualFold(k, "profile-level-id") {
			return strings.ToLower(v)
		}
	}
	return ""
}
