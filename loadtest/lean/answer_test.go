package lean

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

const testOffer = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
	"a=group:BUNDLE 0 1 2 3\r\n" +
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n" +
	"a=ice-ufrag:srvU\r\na=ice-pwd:serverpasswordserverpass\r\na=setup:actpass\r\na=sctp-port:5000\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\n" +
	"a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtcp-fb:111 transport-cc\r\n" +
	"a=extmap:3 " + transportCCURI + "\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" +
	"a=msid:PA_1 TR_audio\r\na=ssrc:1111 cname:x\r\na=ssrc:1111 msid:PA_1 TR_audio\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=sendonly\r\n" +
	"a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 goog-remb\r\n" +
	"a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=extmap:3 " + transportCCURI + "\r\n" +
	"a=ssrc-group:FID 2222 3333\r\na=ssrc:2222 msid:PA_1 TR_video\r\na=ssrc:3333 msid:PA_1 TR_video\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 98\r\nc=IN IP4 0.0.0.0\r\na=mid:3\r\na=sendonly\r\n" +
	"a=rtpmap:98 H264/90000\r\na=ssrc:4444 msid:PA_1 TR_h264\r\n"

func TestAnswerOfferAcceptsOpusAndVP8(t *testing.T) {
	creds := credentials{ufrag: "myUf", pwd: "mypasswordmypasswordmypa", fingerprint: "AA:BB",
		candidate: netip.MustParseAddrPort("127.0.0.1:5555")}
	a, err := answerOffer(testOffer, creds)
	if err != nil {
		t.Fatal(err)
	}
	if a.remoteUfrag != "srvU" || a.remotePwd != "serverpasswordserverpass" || a.transportCC != 3 {
		t.Errorf("remote ufrag %q pwd %q transport-cc %d", a.remoteUfrag, a.remotePwd, a.transportCC)
	}
	want := []TrackDesc{{SSRC: 1111, ID: "TR_audio", Clock: 48000}, {SSRC: 2222, ID: "TR_video", Video: true, Clock: 90000}}
	if len(a.tracks) != len(want) {
		t.Fatalf("tracks %+v, want %+v", a.tracks, want)
	}
	for i := range want {
		if a.tracks[i] != want[i] {
			t.Errorf("track %d: %+v, want %+v", i, a.tracks[i], want[i])
		}
	}
	// The answer parses, keeps the offer's sections in order, receives
	// Opus and VP8 only, and rejects H.264.
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(a.sdp); err != nil {
		t.Fatalf("answer does not parse: %v\n%s", err, a.sdp)
	}
	if len(sd.MediaDescriptions) != 4 {
		t.Fatalf("%d sections in the answer", len(sd.MediaDescriptions))
	}
	if g, _ := sd.Attribute("group"); g != "BUNDLE 0 1 2" {
		t.Errorf("group %q", g)
	}
	for i, md := range sd.MediaDescriptions {
		mid, _ := md.Attribute("mid")
		if mid != string(rune('0'+i)) {
			t.Errorf("section %d has mid %q", i, mid)
		}
	}
	audio, video, h264 := sd.MediaDescriptions[1], sd.MediaDescriptions[2], sd.MediaDescriptions[3]
	if f := strings.Join(audio.MediaName.Formats, " "); f != "111" {
		t.Errorf("audio formats %q", f)
	}
	if f := strings.Join(video.MediaName.Formats, " "); f != "96" {
		t.Errorf("video formats %q", f)
	}
	if h264.MediaName.Port.Value != 0 {
		t.Error("the H.264 section was not rejected")
	}
	for _, md := range []*sdp.MediaDescription{audio, video} {
		if _, ok := md.Attribute("recvonly"); !ok {
			t.Errorf("%s is not recvonly", md.MediaName.Media)
		}
		if u, _ := md.Attribute("ice-ufrag"); u != "myUf" {
			t.Errorf("%s ufrag %q", md.MediaName.Media, u)
		}
		if c, _ := md.Attribute("candidate"); !strings.Contains(c, "127.0.0.1 5555 typ host") {
			t.Errorf("%s candidate %q", md.MediaName.Media, c)
		}
	}
	for _, attr := range video.Attributes {
		if attr.Key == "rtcp-fb" && strings.Contains(attr.Value, "goog-remb") {
			t.Error("the answer asks for REMB, which the lean subscriber never sends")
		}
	}
}

func TestAnswerOfferRejectsGarbage(t *testing.T) {
	if _, err := answerOffer("not an sdp", credentials{}); err == nil {
		t.Fatal("garbage accepted")
	}
}
