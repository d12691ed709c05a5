package sfu

import (
	"strings"

	"github.com/bayan-dev/bayan/internal/red"
)

// Opus RED (RFC 2198, "audio/red"): a publisher that negotiated it sends
// each audio packet with copies of the previous ones, so that a lost packet
// is rebuilt from the next. A subscriber that negotiated RED gets the
// packets as they are; one that did not gets the primary encoding alone,
// as plain Opus.

// MimeTypeRED is the media type of RFC 2198 redundant audio.
const MimeTypeRED = "audio/red"

func isRED(mime string) bool { return strings.EqualFold(mime, MimeTypeRED) }

// redPrimary is red.Primary.
func redPrimary(payload []byte) ([]byte, bool) { return red.Primary(payload) }
