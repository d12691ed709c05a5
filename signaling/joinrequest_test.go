package signaling

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

func encodeJoinRequest(t testing.TB, jr *livekit.JoinRequest, gz bool) string {
	t.Helper()
	body, err := proto.Marshal(jr)
	if err != nil {
		t.Fatal(err)
	}
	w := &livekit.WrappedJoinRequest{JoinRequest: body}
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		_ = zw.Close()
		w.Compression = livekit.WrappedJoinRequest_GZIP
		w.JoinRequest = buf.Bytes()
	}
	raw, err := proto.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return base64.URLEncoding.EncodeToString(raw)
}

func TestDecodeJoinRequest(t *testing.T) {
	jr := &livekit.JoinRequest{
		ClientInfo:         &livekit.ClientInfo{Protocol: 17, Sdk: livekit.ClientInfo_JS},
		ConnectionSettings: &livekit.ConnectionSettings{AutoSubscribe: true},
		PublisherOffer:     &livekit.SessionDescription{Type: "offer", Sdp: "v=0"},
		Reconnect:          true,
		ParticipantSid:     "PA_x",
	}
	for _, gz := range []bool{false, true} {
		param := encodeJoinRequest(t, jr, gz)
		for _, p := range []string{param, strings.TrimRight(param, "=")} {
			got, err := DecodeJoinRequest(p)
			if err != nil {
				t.Fatalf("gzip=%v: %v", gz, err)
			}
			if !proto.Equal(got, jr) {
				t.Fatalf("gzip=%v: got %v", gz, got)
			}
		}
	}
}

func TestDecodeJoinRequestRefusesBadInput(t *testing.T) {
	// A gzip bomb: far more than maxJoinRequest once inflated.
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	_, _ = zw.Write(bytes.Repeat([]byte{0}, 4*maxJoinRequest))
	_ = zw.Close()
	raw, _ := proto.Marshal(&livekit.WrappedJoinRequest{Compression: livekit.WrappedJoinRequest_GZIP, JoinRequest: bomb.Bytes()})
	notGzip, _ := proto.Marshal(&livekit.WrappedJoinRequest{Compression: livekit.WrappedJoinRequest_GZIP, JoinRequest: []byte("plain")})
	for name, param := range map[string]string{
		"not base64":  "%%%",
		"not proto":   base64.URLEncoding.EncodeToString([]byte{0xff, 0xff, 0xff}),
		"gzip bomb":   base64.URLEncoding.EncodeToString(raw),
		"not gzipped": base64.URLEncoding.EncodeToString(notGzip),
	} {
		if _, err := DecodeJoinRequest(param); !errors.Is(err, ErrBadFrame) {
			t.Errorf("%s: err = %v, want ErrBadFrame", name, err)
		}
	}
}

func FuzzDecodeJoinRequest(f *testing.F) {
	f.Add(encodeJoinRequest(f, &livekit.JoinRequest{Reconnect: true, ParticipantSid: "PA_a"}, true))
	f.Add(encodeJoinRequest(f, &livekit.JoinRequest{Metadata: "m"}, false))
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, param string) {
		jr, err := DecodeJoinRequest(param)
		if err == nil && jr == nil {
			t.Fatal("nil request without error")
		}
	})
}
