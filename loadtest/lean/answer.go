package lean

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// transportCCURI is the transport-wide congestion control header extension.
const transportCCURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

// TrackDesc is one track the server's offer sends.
type TrackDesc struct {
	SSRC  uint32 // the media SSRC (not the retransmission one)
	ID    string // a=msid track id: the server names down-tracks by track sid
	Video bool   // a video track, else audio
	Clock int64  // RTP clock rate, Hz; 0 when the offer names none
}

// answer is what answering an offer produced.
type answer struct {
	sdp         string
	tracks      []TrackDesc
	remoteUfrag string
	remotePwd   string
	transportCC uint8 // negotiated extension id, 0 if none
}

// credentials are the lean subscriber's own ICE and DTLS parameters.
type credentials struct {
	ufrag, pwd  string
	fingerprint string // sha-256, colon-separated hex
	candidate   netip.AddrPort
}

// answerOffer accepts every Opus and VP8 section of a subscriber offer as
// receive-only and the data channel section (which it never uses), rejects
// the rest, and lists
// the tracks the accepted sections carry. It declares ICE lite: the lean
// subscriber only answers the server's connectivity checks, at the one
// candidate it lists.
func answerOffer(offer string, c credentials) (*answer, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return nil, fmt.Errorf("parse offer: %w", err)
	}
	a := &answer{}
	a.remoteUfrag, _ = sd.Attribute("ice-ufrag")
	a.remotePwd, _ = sd.Attribute("ice-pwd")

	var body strings.Builder
	var bundle []string
	for _, md := range sd.MediaDescriptions {
		mid, _ := md.Attribute("mid")
		if u, ok := md.Attribute("ice-ufrag"); ok {
			a.remoteUfrag = u
		}
		if p, ok := md.Attribute("ice-pwd"); ok {
			a.remotePwd = p
		}
		kind := md.MediaName.Media
		transport := func() {
			fmt.Fprintf(&body, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\na=setup:active\r\n",
				c.ufrag, c.pwd, c.fingerprint)
			fmt.Fprintf(&body, "a=candidate:1 1 udp 2130706431 %s %d typ host\r\na=end-of-candidates\r\n",
				c.candidate.Addr(), c.candidate.Port())
		}
		if kind == "application" {
			// Accepted so that the connection has a transport even before
			// any track, but never spoken: the server's SCTP packets are
			// read and dropped.
			bundle = append(bundle, mid)
			fmt.Fprintf(&body, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\n", mid)
			transport()
			body.WriteString("a=sctp-port:5000\r\na=max-message-size:262144\r\n")
			continue
		}
		pt, clock := -1, int64(0)
		if kind == "audio" || kind == "video" {
			want := map[string]string{"audio": "opus", "video": "vp8"}[kind]
			pt, clock = findCodec(md, want)
		}
		if pt < 0 {
			fmt.Fprintf(&body, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\n",
				kind, strings.Join(md.MediaName.Protos, "/"), firstFormat(md), mid)
			continue
		}
		bundle = append(bundle, mid)
		fmt.Fprintf(&body, "m=%s 9 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\na=rtcp-mux\r\n", kind, pt, mid)
		transport()
		for _, attr := range md.Attributes {
			switch attr.Key {
			case "rtpmap", "fmtp", "rtcp-fb":
				if strings.HasPrefix(attr.Value, strconv.Itoa(pt)+" ") {
					if attr.Key == "rtcp-fb" && !keepFeedback(attr.Value) {
						continue
					}
					fmt.Fprintf(&body, "a=%s:%s\r\n", attr.Key, attr.Value)
				}
			case "extmap":
				if f := strings.Fields(attr.Value); len(f) >= 2 && f[1] == transportCCURI {
					fmt.Fprintf(&body, "a=extmap:%s\r\n", attr.Value)
					if id, err := strconv.Atoi(f[0]); err == nil && id > 0 && id < 15 {
						a.transportCC = uint8(id)
					}
				}
			}
		}
		_, recvonly := md.Attribute("recvonly")
		_, inactive := md.Attribute("inactive")
		sends := !recvonly && !inactive
		if sends {
			body.WriteString("a=recvonly\r\n")
			if t, ok := offeredTrack(md); ok {
				t.Video, t.Clock = kind == "video", clock
				a.tracks = append(a.tracks, t)
			}
		} else {
			body.WriteString("a=inactive\r\n")
		}
	}
	var out strings.Builder
	out.WriteString("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\n")
	if len(bundle) > 0 {
		fmt.Fprintf(&out, "a=group:BUNDLE %s\r\n", strings.Join(bundle, " "))
	}
	out.WriteString("a=msid-semantic: WMS *\r\n")
	out.WriteString(body.String())
	a.sdp = out.String()
	return a, nil
}

// findCodec returns the payload type and clock rate of the named codec in
// a media section, or -1.
func findCodec(md *sdp.MediaDescription, name string) (int, int64) {
	for _, attr := range md.Attributes {
		if attr.Key != "rtpmap" {
			continue
		}
		f := strings.Fields(attr.Value)
		if len(f) != 2 {
			continue
		}
		enc := strings.Split(f[1], "/")
		if !strings.EqualFold(enc[0], name) || len(enc) < 2 {
			continue
		}
		pt, err1 := strconv.Atoi(f[0])
		clock, err2 := strconv.ParseInt(enc[1], 10, 64)
		if err1 == nil && err2 == nil {
			return pt, clock
		}
	}
	return -1, 0
}

// keepFeedback keeps the RTCP feedback the lean subscriber sends.
func keepFeedback(v string) bool {
	f := strings.Fields(v)
	if len(f) < 2 {
		return false
	}
	switch strings.Join(f[1:], " ") {
	case "nack", "nack pli", "transport-cc":
		return true
	}
	return false
}

func firstFormat(md *sdp.MediaDescription) string {
	if len(md.MediaName.Formats) > 0 {
		return md.MediaName.Formats[0]
	}
	return "0"
}

// offeredTrack returns the media SSRC (the first of an FID group, else the
// first listed) and track id of a section.
func offeredTrack(md *sdp.MediaDescription) (TrackDesc, bool) {
	var t TrackDesc
	if v, ok := md.Attribute("msid"); ok {
		if f := strings.Fields(v); len(f) == 2 {
			t.ID = f[1]
		}
	}
	for _, attr := range md.Attributes {
		switch attr.Key {
		case "ssrc-group":
			if f := strings.Fields(attr.Value); len(f) >= 2 && f[0] == "FID" {
				if n, err := strconv.ParseUint(f[1], 10, 32); err == nil {
					t.SSRC = uint32(n)
				}
			}
		case "ssrc":
			f := strings.Fields(attr.Value)
			if len(f) == 0 {
				continue
			}
			n, err := strconv.ParseUint(f[0], 10, 32)
			if err != nil {
				continue
			}
			if t.SSRC == 0 {
				t.SSRC = uint32(n)
			}
			if t.ID == "" && len(f) == 3 && strings.HasPrefix(f[1], "msid:") {
				t.ID = f[2]
			}
		}
	}
	return t, t.SSRC != 0 && t.ID != ""
}
