package loadtest

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/sfu/codecs"
)

// An answer's audio section as LiveKit v1.13.5 writes it to a client that
// offered Opus and RED, and as Bayan writes it.
const (
	answerREDFirst = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 63 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n" +
		"a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\na=rtpmap:111 opus/48000/2\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\n"
	answerOpusFirst = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n" +
		"a=rtpmap:111 opus/48000/2\r\na=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n"
)

func TestAnsweredCodec(t *testing.T) {
	for _, c := range []struct {
		answer, mid, want string
	}{
		{answerREDFirst, "0", "audio/red"},
		{answerREDFirst, "1", "video/VP8"},
		{answerOpusFirst, "0", "audio/opus"},
	} {
		got, err := answeredCodec(c.answer, c.mid)
		if err != nil || got != c.want {
			t.Errorf("mid %s of %.60q: %q, %v; want %q", c.mid, c.answer, got, err, c.want)
		}
	}
	if got, err := answeredCodec(answerOpusFirst, "1"); err == nil {
		t.Errorf("no section 1: got %q, want an error", got)
	}
	noRtpmap := strings.Replace(answerOpusFirst, "a=rtpmap:111 opus/48000/2\r\n", "", 1)
	if got, err := answeredCodec(noRtpmap, "0"); err == nil {
		t.Errorf("no rtpmap for the first payload type: got %q, want an error", got)
	}
}

// preferRED rewrites an offer's audio m-line to list RED (payload type 63)
// first, as LiveKit does to a publisher's offer before answering it.
func preferRED(offer string) string {
	return regexp.MustCompile(`(m=audio \S+ \S+) 111 63`).ReplaceAllString(offer, "$1 63 111")
}

// withoutRED takes RED out of an offer, as a server without RED answers.
func withoutRED(offer string) string {
	offer = strings.Replace(offer, " 111 63\r\n", " 111\r\n", 1)
	offer = strings.Replace(offer, " 63 111\r\n", " 111\r\n", 1)
	return regexp.MustCompile(`a=(rtpmap|fmtp):63 [^\r]*\r\n`).ReplaceAllString(offer, "")
}

// The microphone sends the codec the answer lists first, whatever the
// answerer put there: against an answerer that prefers RED (LiveKit) plain
// Opus without --red and RED with it; against one without RED, Opus even
// with --red. The packets arrive with the answered payload type, and RED
// packets carry a primary encoding.
func TestMicrophoneSendsTheAnsweredCodec(t *testing.T) {
	for _, c := range []struct {
		name    string
		red     bool
		answer  func(offer string) string // the offer as the answerer takes it
		wantRED bool
	}{
		{"no --red, answerer prefers RED", false, preferRED, false},
		{"--red, answerer prefers RED", true, preferRED, true},
		{"--red, answerer without RED", true, withoutRED, false},
		{"--red, answerer keeps the order", true, func(s string) string { return s }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			pt, payload := publishAudioTo(t, c.red, c.answer)
			if gotRED := pt == 63; gotRED != c.wantRED {
				t.Fatalf("payload type %d, want RED %v", pt, c.wantRED)
			}
			if c.wantRED {
				if _, ok := codecs.REDPrimary(payload); !ok {
					t.Fatalf("a RED packet without a primary encoding: % x", payload)
				}
			}
		})
	}
}

// publishAudioTo negotiates a microphone-only publisher with a pion
// answerer that takes the offer as rewrite makes it, checks that the
// answer's first audio codec is what arrives, and returns the first audio
// packet's payload type and payload.
func publishAudioTo(t *testing.T, redAudio bool, rewrite func(string) string) (uint8, []byte) {
	t.Helper()
	api, err := newAPI(&rtcpCounters{}, true)
	if err != nil {
		t.Fatal(err)
	}
	p := newParticipant(nil, participantSpec{identity: "p-0", publishAudio: true, redAudio: redAudio})
	pub, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	answerer, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer func() {
		cancel()
		_ = pub.Close()
		_ = answerer.Close()
		p.wg.Wait()
	}()
	type packet struct {
		pt      uint8
		payload []byte
	}
	got := make(chan packet, 1)
	answerer.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		var pkt rtp.Packet
		for {
			if err := readPacket(tr, &pkt); err != nil {
				return
			}
			if len(pkt.Payload) > 0 {
				got <- packet{pkt.PayloadType, append([]byte(nil), pkt.Payload...)}
				return
			}
		}
	})

	if err := p.pb.addTracks(p, pub); err != nil {
		t.Fatal(err)
	}
	offer := localDescription(t, pub, func() (webrtc.SessionDescription, error) { return pub.CreateOffer(nil) })
	if err := answerer.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: rewrite(offer)}); err != nil {
		t.Fatal(err)
	}
	answer := localDescription(t, answerer, func() (webrtc.SessionDescription, error) { return answerer.CreateAnswer(nil) })
	if err := pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	if err := p.pb.negotiated(answer); err != nil {
		t.Fatal(err)
	}
	want, err := answeredCodec(answer, p.pb.audioTr.Mid())
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	p.goTracked(func() { p.pb.run(ctx, stop) })
	defer close(stop)
	select {
	case pkt := <-got:
		if isRED := pkt.pt == 63; isRED != strings.EqualFold(want, "audio/red") {
			t.Fatalf("answered %s, received payload type %d", want, pkt.pt)
		}
		return pkt.pt, pkt.payload
	case <-ctx.Done():
		t.Fatal("no audio packet within 15 s")
	}
	return 0, nil
}

// readPacket reads one RTP packet from a remote track.
func readPacket(tr *webrtc.TrackRemote, pkt *rtp.Packet) error {
	buf := make([]byte, 1500)
	n, _, err := tr.Read(buf)
	if err != nil {
		return err
	}
	return pkt.Unmarshal(buf[:n])
}

// localDescription sets the description create makes as pc's local one
// and returns it with its candidates, once gathering is complete.
func localDescription(t *testing.T, pc *webrtc.PeerConnection, create func() (webrtc.SessionDescription, error)) string {
	t.Helper()
	d, err := create()
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(d); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		t.Fatal("ICE gathering not complete within 10 s")
	}
	return pc.LocalDescription().SDP
}
