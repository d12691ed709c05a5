package signaling

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// sampleRequests are well-formed requests of the kinds clients send most.
func sampleRequests() map[string]*livekit.SignalRequest {
	return map[string]*livekit.SignalRequest{
		"offer": {Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{
			Type: "offer", Id: 7,
			Sdp: "v=0\r\no=- 4215775240449105457 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
				"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\n" +
				"a=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n",
		}}},
		"answer": {Message: &livekit.SignalRequest_Answer{Answer: &livekit.SessionDescription{Type: "answer", Sdp: "v=0\r\n"}}},
		"trickle": {Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{
			CandidateInit: `{"candidate":"candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}`,
			Target:        livekit.SignalTarget_SUBSCRIBER,
		}}},
		"add_track": {Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{
			Cid: "TR_local", Name: "cam", Type: livekit.TrackType_VIDEO, Width: 1280, Height: 720,
			Source: livekit.TrackSource_CAMERA,
			Layers: []*livekit.VideoLayer{{Quality: livekit.VideoQuality_HIGH, Width: 1280, Height: 720, Bitrate: 1_700_000}},
		}}},
		"mute":         {Message: &livekit.SignalRequest_Mute{Mute: &livekit.MuteTrackRequest{Sid: "TR_x", Muted: true}}},
		"subscription": {Message: &livekit.SignalRequest_Subscription{Subscription: &livekit.UpdateSubscription{TrackSids: []string{"TR_a", "TR_b"}, Subscribe: true}}},
		"ping":         {Message: &livekit.SignalRequest_Ping{Ping: 1700000000000}},
		"ping_req":     {Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: 1700000000000, Rtt: 42}}},
		"leave":        {Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{Reason: livekit.DisconnectReason_CLIENT_INITIATED, Action: livekit.LeaveRequest_DISCONNECT}}},
		"update_metadata": {Message: &livekit.SignalRequest_UpdateMetadata{UpdateMetadata: &livekit.UpdateParticipantMetadata{
			Name: "Ms. Salma", Metadata: `{"hand":"up"}`, Attributes: map[string]string{"role": "teacher", "old": ""}, RequestId: 3,
		}}},
		"empty_ping_req": {Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{}}},
	}
}

func TestDecodeRequestRoundTrip(t *testing.T) {
	for name, want := range sampleRequests() {
		t.Run(name, func(t *testing.T) {
			bin, err := proto.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRequest(bin, false)
			if err != nil {
				t.Fatalf("binary: %v", err)
			}
			if !proto.Equal(got, want) {
				t.Fatalf("binary: got %v, want %v", got, want)
			}
			js, err := protojson.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			got, err = DecodeRequest(js, true)
			if err != nil {
				t.Fatalf("json %s: %v", js, err)
			}
			if !proto.Equal(got, want) {
				t.Fatalf("json: got %v, want %v", got, want)
			}
			// Clients may spell fields the proto way (snake_case) too.
			snake, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			got, err = DecodeRequest(snake, true)
			if err != nil {
				t.Fatalf("json (proto names) %s: %v", snake, err)
			}
			if !proto.Equal(got, want) {
				t.Fatalf("json (proto names): got %v, want %v", got, want)
			}
		})
	}
}

// withUnknownField appends a field the schema does not know.
func withUnknownField(b []byte, num protowire.Number) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, []byte("from the future"))
}

func TestDecodeRequestKeepsUnknownFields(t *testing.T) {
	bin, _ := proto.Marshal(sampleRequests()["ping_req"])
	bin = withUnknownField(bin, 999)
	req, err := DecodeRequest(bin, false)
	if err != nil {
		t.Fatalf("unknown field next to a known message: %v", err)
	}
	if req.GetPingReq().GetTimestamp() != 1700000000000 {
		t.Fatalf("got %v", req)
	}
	// Newer clients' JSON may carry fields this server does not know.
	req, err = DecodeRequest([]byte(`{"ping_req":{"timestamp":"5","fromTheFuture":true},"alsoNew":{"x":1}}`), true)
	if err != nil {
		t.Fatalf("json with unknown fields: %v", err)
	}
	if req.GetPingReq().GetTimestamp() != 5 {
		t.Fatalf("got %v", req)
	}
}

func TestDecodeRequestRejects(t *testing.T) {
	ping, _ := proto.Marshal(sampleRequests()["ping_req"])
	offer, _ := proto.Marshal(sampleRequests()["offer"])
	cases := []struct {
		name string
		data []byte
		text bool
	}{
		{"nil binary", nil, false},
		{"empty binary", []byte{}, false},
		{"nil text", nil, true},
		{"empty text", []byte{}, true},
		{"empty JSON object", []byte(`{}`), true},
		{"JSON null", []byte(`null`), true},
		{"JSON array", []byte(`[{"ping":"1"}]`), true},
		{"not JSON", []byte("hello, server"), true},
		{"truncated JSON", []byte(`{"ping_req":{"timestamp":"1"`), true},
		{"JSON with unknown message only", []byte(`{"fromTheFuture":{}}`), true},
		{"JSON with two messages", []byte(`{"ping":"1","leave":{}}`), true},
		{"JSON invalid UTF-8", append([]byte(`{"offer":{"sdp":"`), 0xff, 0xfe, '"', '}', '}'), true},
		{"JSON wrong type", []byte(`{"ping_req":"soon"}`), true},
		{"binary frame sent as text", ping, true},
		{"truncated binary", offer[:len(offer)/2], false},
		{"binary of unknown field only", withUnknownField(nil, 999), false},
		{"binary invalid wire type", []byte{0x0f}, false},
		{"binary field number zero", []byte{0x00, 0x01}, false},
		{"binary length past end", []byte{0x0a, 0x7f, 0x01}, false},
		{"binary invalid UTF-8 in string", []byte{0x0a, 0x04, 0x12, 0x02, 0xff, 0xfe}, false},
		{"JSON sent as binary", []byte(`{"ping":"1"}`), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := DecodeRequest(c.data, c.text)
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("got (%v, %v), want ErrBadFrame", req, err)
			}
			if req != nil {
				t.Fatalf("request %v returned with error", req)
			}
		})
	}
}

func TestDecodeRequestFrameSizeLimit(t *testing.T) {
	// A ping padded with an unknown field to exactly n bytes.
	padded := func(n int) []byte {
		b, _ := proto.Marshal(sampleRequests()["ping_req"])
		// tag (2 bytes for field 999) + length varint (3 bytes for < 2 MiB)
		pad := n - len(b) - 2 - 3
		b = protowire.AppendTag(b, 999, protowire.BytesType)
		b = append(b, 0x80|byte(pad&0x7f), 0x80|byte(pad>>7&0x7f), byte(pad>>14))
		b = append(b, bytes.Repeat([]byte{'x'}, pad)...)
		if len(b) != n {
			t.Fatalf("padded to %d bytes, want %d", len(b), n)
		}
		return b
	}
	if _, err := DecodeRequest(padded(MaxFrameSize), false); err != nil {
		t.Fatalf("frame of exactly MaxFrameSize: %v", err)
	}
	for _, n := range []int{MaxFrameSize + 1, MaxFrameSize + 1024, 4 * MaxFrameSize} {
		req, err := DecodeRequest(padded(n), false)
		if !errors.Is(err, ErrBadFrame) || req != nil {
			t.Fatalf("binary frame of %d bytes: got (%v, %v), want ErrBadFrame", n, req, err)
		}
	}

	// Text: a valid update_metadata whose metadata makes it just too big.
	jsonOfSize := func(n int) []byte {
		head, tail := `{"update_metadata":{"metadata":"`, `"}}`
		return []byte(head + string(bytes.Repeat([]byte{'m'}, n-len(head)-len(tail))) + tail)
	}
	if req, err := DecodeRequest(jsonOfSize(MaxFrameSize), true); err != nil || len(req.GetUpdateMetadata().GetMetadata()) == 0 {
		t.Fatalf("JSON frame of exactly MaxFrameSize: (%v, %v)", req != nil, err)
	}
	if req, err := DecodeRequest(jsonOfSize(MaxFrameSize+1), true); !errors.Is(err, ErrBadFrame) || req != nil {
		t.Fatalf("JSON frame of MaxFrameSize+1 bytes: got (%v, %v), want ErrBadFrame", req != nil, err)
	}
}

func sampleResponses() map[string]*livekit.SignalResponse {
	return map[string]*livekit.SignalResponse{
		"join": {Message: &livekit.SignalResponse_Join{Join: &livekit.JoinResponse{
			Room:         &livekit.Room{Sid: "RM_x", Name: "class-7b", MaxParticipants: 40},
			Participant:  &livekit.ParticipantInfo{Sid: "PA_x", Identity: "amal", Permission: &livekit.ParticipantPermission{CanSubscribe: true}},
			PingInterval: 5, PingTimeout: 15, SubscriberPrimary: true,
		}}},
		"answer":   {Message: &livekit.SignalResponse_Answer{Answer: &livekit.SessionDescription{Type: "answer", Sdp: "v=0\r\n", Id: 7}}},
		"pong":     {Message: &livekit.SignalResponse_PongResp{PongResp: &livekit.Pong{LastPingTimestamp: 1, Timestamp: 2}}},
		"leave":    {Message: &livekit.SignalResponse_Leave{Leave: &livekit.LeaveRequest{Reason: livekit.DisconnectReason_ROOM_DELETED}}},
		"refused":  {Message: &livekit.SignalResponse_RequestResponse{RequestResponse: &livekit.RequestResponse{Reason: livekit.RequestResponse_NOT_ALLOWED, Message: "no"}}},
		"unpub":    {Message: &livekit.SignalResponse_TrackUnpublished{TrackUnpublished: &livekit.TrackUnpublishedResponse{TrackSid: "TR_x"}}},
		"empty":    {},
		"old_pong": {Message: &livekit.SignalResponse_Pong{Pong: 12}},
	}
}

func TestEncodeResponse(t *testing.T) {
	for name, msg := range sampleResponses() {
		t.Run(name, func(t *testing.T) {
			bin, err := EncodeResponse(msg, false)
			if err != nil {
				t.Fatal(err)
			}
			got := &livekit.SignalResponse{}
			if err := proto.Unmarshal(bin, got); err != nil || !proto.Equal(got, msg) {
				t.Fatalf("binary: got %v (%v), want %v", got, err, msg)
			}
			js, err := EncodeResponse(msg, true)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(js) {
				t.Fatalf("text response is not JSON: %q", js)
			}
			got = &livekit.SignalResponse{}
			if err := protojson.Unmarshal(js, got); err != nil || !proto.Equal(got, msg) {
				t.Fatalf("json: got %v (%v), want %v", got, err, msg)
			}
		})
	}
}
