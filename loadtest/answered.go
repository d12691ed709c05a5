package loadtest

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// answeredCodec returns the media type ("audio/red", "audio/opus") of the
// codec an answer lists first in the m-section with the given mid: the one
// the answerer prefers to receive (RFC 3264 §6.1), and so the one to send.
// A server may put a codec first that the client offered second: LiveKit
// answers RED before Opus.
func answeredCodec(answer, mid string) (string, error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(answer); err != nil {
		return "", fmt.Errorf("parse answer: %w", err)
	}
	for _, m := range d.MediaDescriptions {
		if v, _ := m.Attribute(sdp.AttrKeyMID); v != mid {
			continue
		}
		if len(m.MediaName.Formats) == 0 {
			return "", fmt.Errorf("answer section %q has no payload types", mid)
		}
		pt := m.MediaName.Formats[0]
		for _, a := range m.Attributes {
			// a=rtpmap:<payload type> <name>/<clock rate>[/<channels>]
			ptField, rest, ok := strings.Cut(a.Value, " ")
			if a.Key != "rtpmap" || !ok || ptField != pt {
				continue
			}
			name, _, _ := strings.Cut(rest, "/")
			return m.MediaName.Media + "/" + name, nil
		}
		return "", fmt.Errorf("answer section %q: payload type %s has no rtpmap", mid, pt)
	}
	return "", fmt.Errorf("the answer has no section %q", mid)
}
