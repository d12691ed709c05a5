package sfu

import (
	"github.com/bayan-dev/bayan/sfu/codecs"
	"github.com/pion/rtp"
)

// packet is one incoming RTP packet as its Receiver parsed it, once for all
// the down-tracks it fans out to: they read it and never change it.
type packet struct {
	hdr      *rtp.Header
	payload  []byte // after the header, without padding
	arrival  int64  // Unix ns
	keyframe bool   // a subscriber can start decoding here; always for audio
	hasVP8   bool   // vp8 holds the payload's VP8 descriptor
	vp8      codecs.VP8Descriptor
}

// rtpPayload returns the payload of an RTP packet whose header is hlen bytes
// long, without the padding its header announced (padded); ok is false when
// the padding length is malformed.
func rtpPayload(pkt []byte, hlen int, padded bool) (payload []byte, ok bool) {
	payload = pkt[hlen:]
	if !padded {
		return payload, true
	}
	pad := int(pkt[len(pkt)-1])
	if pad == 0 || pad > len(payload) {
		return nil, false
	}
	return payload[:len(payload)-pad], true
}
