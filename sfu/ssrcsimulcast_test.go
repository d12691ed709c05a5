package sfu

import (
	"strings"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// chromeSIMOffer is the video section of an offer as Chrome makes it with
// SSRC-based simulcast (three layers, each with an RTX stream), plus audio.
const chromeSIMOffer = "v=0\r\n" +
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"t=0 0\r\n" +
	"a=group:BUNDLE 0 1\r\n" +
	"a=msid-semantic: WMS stream\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:abcd\r\n" +
	"a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
	"a=setup:actpass\r\n" +
	"a=mid:0\r\n" +
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" +
	"a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n" +
	"a=sendonly\r\n" +
	"a=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\n" +
	"a=ssrc:5000 cname:c\r\n" +
	"a=ssrc:5000 msid:stream mic\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:abcd\r\n" +
	"a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
	"a=setup:actpass\r\n" +
	"a=mid:1\r\n" +
	"a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n" +
	"a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n" +
	"a=sendonly\r\n" +
	"a=rtcp-mux\r\n" +
	"a=rtpmap:96 VP8/90000\r\n" +
	"a=rtcp-fb:96 nack\r\n" +
	"a=rtcp-fb:96 nack pli\r\n" +
	"a=rtpmap:97 rtx/90000\r\n" +
	"a=fmtp:97 apt=96\r\n" +
	"a=ssrc-group:FID 1001 2001\r\n" +
	"a=ssrc-group:FID 1002 2002\r\n" +
	"a=ssrc-group:FID 1003 2003\r\n" +
	"a=ssrc-group:SIM 1001 1002 1003\r\n" +
	"a=ssrc:1001 cname:c\r\n" +
	"a=ssrc:1001 msid:stream cam\r\n" +
	"a=ssrc:2001 cname:c\r\n" +
	"a=ssrc:1002 cname:c\r\n" +
	"a=ssrc:2002 cname:c\r\n" +
	"a=ssrc:1003 cname:c\r\n" +
	"a=ssrc:2003 cname:c\r\n"

func TestRewriteSSRCSimulcast(t *testing.T) {
	out, tbl, err := rewriteSSRCSimulcast(chromeSIMOffer)
	if err != nil || tbl == nil {
		t.Fatalf("rewrite: %v (table %v)", err, tbl)
	}
	video := out[strings.Index(out, "m=video"):]
	for _, want := range []string{
		"a=rid:q send", "a=rid:h send", "a=rid:f send", "a=simulcast:send q;h;f",
		"a=msid:stream cam",
		"a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid", // kept, not added twice
		"a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
		"a=extmap:5 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
	} {
		if !strings.Contains(video, want+"\r\n") {
			t.Errorf("rewritten video section lacks %q:\n%s", want, video)
		}
	}
	if strings.Contains(video, "a=ssrc") {
		t.Errorf("ssrc lines left in the video section:\n%s", video)
	}
	if !strings.Contains(out, "a=ssrc:5000 msid:stream mic") {
		t.Error("the audio section was touched")
	}
	if tbl.midID != 4 || tbl.ridID != 2 || tbl.rsidID != 5 {
		t.Errorf("ids mid %d rid %d rsid %d, want 4 2 5", tbl.midID, tbl.ridID, tbl.rsidID)
	}
	want := map[uint32]simStream{
		1001: {"1", "q", false}, 1002: {"1", "h", false}, 1003: {"1", "f", false},
		2001: {"1", "q", true}, 2002: {"1", "h", true}, 2003: {"1", "f", true},
	}
	if len(tbl.streams) != len(want) {
		t.Fatalf("streams %v, want %v", tbl.streams, want)
	}
	for ssrc, s := range want {
		if tbl.streams[ssrc] != s {
			t.Errorf("ssrc %d: %+v, want %+v", ssrc, tbl.streams[ssrc], s)
		}
	}

	answer := strings.ReplaceAll(strings.ReplaceAll(video, "a=rid:q send", "a=rid:q recv"), "send q;h;f", "recv q;h;f")
	answer = strings.ReplaceAll(answer, "a=sendonly", "a=recvonly")
	restored, err := tbl.restoreAnswer(out[:strings.Index(out, "m=video")] + answer)
	if err != nil {
		t.Fatal(err)
	}
	rv := restored[strings.Index(restored, "m=video"):]
	for _, gone := range []string{"a=rid:", "a=simulcast:", "rtp-stream-id"} {
		if strings.Contains(rv, gone) {
			t.Errorf("restored answer still has %q:\n%s", gone, rv)
		}
	}
	if !strings.Contains(rv, "urn:ietf:params:rtp-hdrext:sdes:mid") {
		t.Error("restored answer lost the client's own MID extension")
	}
}

func TestRewriteLeavesOtherOffersAlone(t *testing.T) {
	ridOffer := strings.Replace(chromeSIMOffer, "a=ssrc-group:SIM 1001 1002 1003\r\n", "a=rid:q send\r\na=ssrc-group:SIM 1001 1002 1003\r\n", 1)
	for name, raw := range map[string]string{
		"no SIM group": strings.Replace(chromeSIMOffer, "a=ssrc-group:SIM 1001 1002 1003\r\n", "", 1),
		"rid-based":    ridOffer,
		"one layer":    strings.Replace(chromeSIMOffer, "SIM 1001 1002 1003", "SIM 1001", 1),
	} {
		out, tbl, err := rewriteSSRCSimulcast(raw)
		if err != nil || tbl != nil || out != raw {
			t.Errorf("%s: rewritten (table %v, err %v)", name, tbl, err)
		}
	}
	if _, _, err := rewriteSSRCSimulcast("a=ssrc-group:SIM garbage"); err == nil {
		t.Error("garbage with a SIM group: no error")
	}
}

// TestStreamTaggerTagsFirstPackets checks the tags on packets with and
// without extensions of their own, and that tagging stops after the probe.
func TestStreamTaggerTagsFirstPackets(t *testing.T) {
	payload := []byte{0x10, 0x00, 0x9d, 0x01, 0x2a, 1, 2, 3}
	plain := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 7, Timestamp: 9, SSRC: 1002}, Payload: payload}
	withExt := plain
	withExt.Header.Extensions = nil
	if err := withExt.Header.SetExtension(3, []byte{0, 1}); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]rtp.Packet{"plain": plain, "own extensions": withExt} {
		raw, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		src := &fixedReader{pkt: raw}
		s := &streamTagger{next: src, midID: 4, mid: []byte("1"), ridID: 2, rid: []byte("h")}
		buf := make([]byte, 1500)
		for i := range tagPackets + 2 {
			n, _, err := s.Read(buf, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got rtp.Packet
			if err := got.Unmarshal(buf[:n]); err != nil {
				t.Fatalf("%s: tagged packet does not parse: %v", name, err)
			}
			if got.SequenceNumber != 7 || string(got.Payload) != string(payload) {
				t.Fatalf("%s: packet changed: %+v", name, got)
			}
			tagged := i < tagPackets
			if (string(got.GetExtension(4)) == "1" && string(got.GetExtension(2)) == "h") != tagged {
				t.Fatalf("%s: packet %d tagged=%v, want %v", name, i, !tagged, tagged)
			}
			if name == "own extensions" && string(got.GetExtension(3)) != "\x00\x01" {
				t.Fatalf("%s: the packet's own extension was lost", name)
			}
		}
	}
}

func TestStreamTaggerAllocatesOnlyOnce(t *testing.T) {
	raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}, Payload: make([]byte, 1000)}).Marshal()
	s := &streamTagger{next: &fixedReader{pkt: raw}, midID: 4, mid: []byte("1"), ridID: 2, rid: []byte("q")}
	buf := make([]byte, 1500)
	_, _, _ = s.Read(buf, nil)
	if a := testing.AllocsPerRun(20, func() { _, _, _ = s.Read(buf, nil) }); a > 2 {
		t.Errorf("%.0f allocations per tagged packet", a)
	}
}

type fixedReader struct{ pkt []byte }

func (f *fixedReader) Read(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
	return copy(b, f.pkt), a, nil
}

// FuzzRewriteSSRCSimulcast feeds offers from clients to the rewrite: it
// must not panic, and what it rewrites must still parse and map every
// SSRC it names to a layer.
func FuzzRewriteSSRCSimulcast(f *testing.F) {
	f.Add(chromeSIMOffer)
	f.Add(strings.Replace(chromeSIMOffer, "SIM 1001 1002 1003", "SIM 1001 1002 1003 1004 x", 1))
	f.Add("m=video 9 RTP/AVP 96\r\na=ssrc-group:SIM 1 2\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		out, tbl, err := rewriteSSRCSimulcast(raw)
		if err != nil || tbl == nil {
			return
		}
		var d sdp.SessionDescription
		if err := d.UnmarshalString(out); err != nil {
			t.Fatalf("rewritten offer does not parse: %v", err)
		}
		for ssrc, s := range tbl.streams {
			if s.rid == "" || !strings.Contains(simulcastRIDs, s.rid) {
				t.Fatalf("ssrc %d: bad layer %+v", ssrc, s)
			}
		}
		if _, err := tbl.restoreAnswer(out); err != nil {
			t.Fatalf("restore: %v", err)
		}
	})
}
