package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/twitchtv/twirp"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
	"github.com/bayan-dev/bayan/server"
)

// ---- helpers (prefixed rs to stay clear of other test files' names) ----

func apiContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// roomService is a RoomServiceClient that signs each call with the node's key,
// with the grants the SDK picks for the method.
func roomService(srv *server.Server) *lksdk.RoomServiceClient {
	return lksdk.NewRoomServiceClient(srv.HTTPURL(), testserver.Key, testserver.Secret)
}

// roomServiceWithToken is a RoomServiceClient sending the given token verbatim.
func roomServiceWithToken(t *testing.T, srv *server.Server, token string) *lksdk.RoomServiceClient {
	t.Helper()
	api, err := lksdk.NewLiveKitAPI(lksdk.WithURL(srv.HTTPURL()), lksdk.WithToken(token))
	if err != nil {
		t.Fatalf("api client: %v", err)
	}
	return api.Room()
}

// apiToken mints a token signed with key/secret carrying the video grant.
func apiToken(t *testing.T, key, secret string, g auth.VideoGrant) string {
	t.Helper()
	tok, err := auth.NewAccessToken(key, secret).SetIdentity("admin-tool").SetVideoGrant(&g).
		SetValidFor(time.Hour).ToJWT()
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return tok
}

// expiredToken is a correctly signed token that expired two hours ago.
func expiredToken(t *testing.T, g map[string]any) string {
	t.Helper()
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss":   testserver.Key,
		"sub":   "admin-tool",
		"iat":   now.Add(-3 * time.Hour).Unix(),
		"nbf":   now.Add(-3 * time.Hour).Unix(),
		"exp":   now.Add(-2 * time.Hour).Unix(),
		"video": g,
	}).SignedString([]byte(testserver.Secret))
	if err != nil {
		t.Fatalf("expired token: %v", err)
	}
	return tok
}

func twirpCode(err error) twirp.ErrorCode {
	var tw twirp.Error
	if errors.As(err, &tw) {
		return tw.Code()
	}
	return ""
}

func wantCode(t *testing.T, what string, err error, want twirp.ErrorCode) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want Twirp error %q", what, want)
	}
	if got := twirpCode(err); got != want {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, want)
	}
}

func roomNames(rooms []*livekit.Room) []string {
	var out []string
	for _, r := range rooms {
		out = append(out, r.Name)
	}
	sort.Strings(out)
	return out
}

// publishTrack publishes a sample track writing small samples until ctx ends.
func publishTrack(ctx context.Context, t *testing.T, r *lksdk.Room, c webrtc.RTPCodecCapability, name string) *lksdk.LocalTrackPublication {
	t.Helper()
	// 0x10: a VP8 key frame header, harmless for Opus.
	data := append([]byte{0x10}, bytes.Repeat([]byte{0xCD}, 100)...)
	return publishSamples(ctx, t, r, c, name, 20*time.Millisecond, func(uint32) ([]byte, *lksdk.SampleWriteOptions) { return data, nil })
}

var (
	opusCodec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	vp8Codec  = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
)

// roomObserver records what one SDK client sees.
type roomObserver struct {
	mu            sync.Mutex
	subscribed    map[string]int // track sid → OnTrackSubscribed count
	packets       map[string]int // track sid → RTP packets read
	muted         map[string]bool
	unpublished   map[string]bool
	metadata      map[string]string // identity → metadata from OnMetadataChanged
	roomMetadata  []string
	data          []string // "sender|topic|payload"
	left          map[string]bool
	disconnected  bool
	disconnReason lksdk.DisconnectionReason
	localUnpub    map[string]bool
}

func newRoomObserver() *roomObserver {
	return &roomObserver{
		subscribed:  map[string]int{},
		packets:     map[string]int{},
		muted:       map[string]bool{},
		unpublished: map[string]bool{},
		metadata:    map[string]string{},
		left:        map[string]bool{},
		localUnpub:  map[string]bool{},
	}
}

func (o *roomObserver) callback() *lksdk.RoomCallback {
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		sid := pub.SID()
		o.mu.Lock()
		o.subscribed[sid]++
		o.mu.Unlock()
		go func() {
			for {
				if _, _, err := track.ReadRTP(); err != nil {
					return
				}
				o.mu.Lock()
				o.packets[sid]++
				o.mu.Unlock()
			}
		}()
	}
	cb.OnTrackMuted = func(pub lksdk.TrackPublication, p lksdk.Participant) {
		o.mu.Lock()
		o.muted[pub.SID()] = true
		o.mu.Unlock()
	}
	cb.OnTrackUnpublished = func(pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		o.mu.Lock()
		o.unpublished[pub.SID()] = true
		o.mu.Unlock()
	}
	cb.OnLocalTrackUnpublished = func(pub *lksdk.LocalTrackPublication, lp *lksdk.LocalParticipant) {
		o.mu.Lock()
		o.localUnpub[pub.SID()] = true
		o.mu.Unlock()
	}
	cb.OnMetadataChanged = func(old string, p lksdk.Participant) {
		o.mu.Lock()
		o.metadata[p.Identity()] = p.Metadata()
		o.mu.Unlock()
	}
	cb.OnRoomMetadataChanged = func(md string) {
		o.mu.Lock()
		o.roomMetadata = append(o.roomMetadata, md)
		o.mu.Unlock()
	}
	cb.OnDataPacket = func(d lksdk.DataPacket, params lksdk.DataReceiveParams) {
		if u, ok := d.(*lksdk.UserDataPacket); ok {
			o.mu.Lock()
			o.data = append(o.data, params.SenderIdentity+"|"+u.Topic+"|"+string(u.Payload))
			o.mu.Unlock()
		}
	}
	cb.OnParticipantDisconnected = func(rp *lksdk.RemoteParticipant) {
		o.mu.Lock()
		o.left[rp.Identity()] = true
		o.mu.Unlock()
	}
	cb.OnDisconnectedWithReason = func(reason lksdk.DisconnectionReason) {
		o.mu.Lock()
		o.disconnected = true
		o.disconnReason = reason
		o.mu.Unlock()
	}
	return cb
}

func (o *roomObserver) get(f func(o *roomObserver) bool) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return f(o)
}

func (o *roomObserver) packetCount(sid string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.packets[sid]
}

func (o *roomObserver) dataSnapshot() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.data)
}

func joinObserved(t *testing.T, srv *server.Server, roomName, identity string, o *roomObserver) *lksdk.Room {
	t.Helper()
	r := testserver.Join(t, srv, testserver.Token(t, roomName, identity, nil), o.callback())
	return r
}

// ---- API-only tests: no WebRTC client, no network namespace needed ----

func TestRoomServiceRoomsLifecycle(t *testing.T) {
	srv := testserver.Start(t, nil)
	api := roomService(srv)
	ctx := apiContext(t)

	rm, err := api.CreateRoom(ctx, &livekit.CreateRoomRequest{
		Name: "lobby", EmptyTimeout: 600, DepartureTimeout: 30, MaxParticipants: 7, Metadata: "m1",
	})
	if err != nil {
		t.Fatalf("CreateRoom: %v", err)
	}
	if rm.Name != "lobby" || rm.Sid == "" || rm.EmptyTimeout != 600 || rm.DepartureTimeout != 30 ||
		rm.MaxParticipants != 7 || rm.Metadata != "m1" || rm.NumParticipants != 0 || rm.CreationTime == 0 {
		t.Fatalf("CreateRoom returned %v", rm)
	}
	if srv.Rooms().Room("lobby") == nil {
		t.Fatal("room not created on the node")
	}
	// An existing room is returned as it is.
	again, err := api.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: "lobby", MaxParticipants: 2, Metadata: "other"})
	if err != nil {
		t.Fatalf("CreateRoom again: %v", err)
	}
	if again.Sid != rm.Sid || again.MaxParticipants != 7 || again.Metadata != "m1" {
		t.Fatalf("CreateRoom on an existing room returned %v, want the original %v", again, rm)
	}
	if _, err := api.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: "annex"}); err != nil {
		t.Fatalf("CreateRoom annex: %v", err)
	}

	list, err := api.ListRooms(ctx, &livekit.ListRoomsRequest{})
	if err != nil {
		t.Fatalf("ListRooms: %v", err)
	}
	if got := roomNames(list.Rooms); !slices.Equal(got, []string{"annex", "lobby"}) {
		t.Fatalf("ListRooms = %v", got)
	}
	list, err = api.ListRooms(ctx, &livekit.ListRoomsRequest{Names: []string{"annex", "missing", "annex"}})
	if err != nil {
		t.Fatalf("ListRooms filtered: %v", err)
	}
	if got := roomNames(list.Rooms); !slices.Equal(got, []string{"annex"}) {
		t.Fatalf("ListRooms(annex, missing) = %v", got)
	}

	upd, err := api.UpdateRoomMetadata(ctx, &livekit.UpdateRoomMetadataRequest{Room: "lobby", Metadata: "m2"})
	if err != nil {
		t.Fatalf("UpdateRoomMetadata: %v", err)
	}
	if upd.Metadata != "m2" || upd.Sid != rm.Sid {
		t.Fatalf("UpdateRoomMetadata returned %v", upd)
	}
	if md := srv.Rooms().Room("lobby").Info().Metadata; md != "m2" {
		t.Fatalf("room metadata on the node = %q", md)
	}

	parts, err := api.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: "lobby"})
	if err != nil {
		t.Fatalf("ListParticipants: %v", err)
	}
	if len(parts.Participants) != 0 {
		t.Fatalf("ListParticipants of an empty room = %v", parts.Participants)
	}
	_, err = api.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: "lobby", Identity: "nobody"})
	wantCode(t, "GetParticipant(missing)", err, twirp.NotFound)
	_, err = api.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: "lobby", Identity: "nobody"})
	wantCode(t, "RemoveParticipant(missing)", err, twirp.NotFound)
	_, err = api.MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{Room: "lobby", Identity: "nobody", TrackSid: "TR_x", Muted: true})
	wantCode(t, "MutePublishedTrack(missing participant)", err, twirp.NotFound)
	_, err = api.UpdateParticipant(ctx, &livekit.UpdateParticipantRequest{Room: "lobby", Identity: "nobody", Metadata: "x"})
	wantCode(t, "UpdateParticipant(missing)", err, twirp.NotFound)
	_, err = api.UpdateSubscriptions(ctx, &livekit.UpdateSubscriptionsRequest{Room: "lobby", Identity: "nobody", TrackSids: []string{"TR_x"}})
	wantCode(t, "UpdateSubscriptions(missing)", err, twirp.NotFound)
	// As in LiveKit, a room that does not exist has no participants.
	parts, err = api.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: "missing"})
	if err != nil || len(parts.Participants) != 0 {
		t.Fatalf("ListParticipants(missing room) = %v, %v", parts, err)
	}
	if srv.Rooms().Room("missing") != nil {
		t.Fatal("ListParticipants created a room")
	}

	// Validation.
	_, err = api.CreateRoom(ctx, &livekit.CreateRoomRequest{})
	wantCode(t, "CreateRoom(no name)", err, twirp.InvalidArgument)
	_, err = api.DeleteRoom(ctx, &livekit.DeleteRoomRequest{})
	wantCode(t, "DeleteRoom(no name)", err, twirp.InvalidArgument)
	_, err = api.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: "lobby"})
	wantCode(t, "GetParticipant(no identity)", err, twirp.InvalidArgument)
	_, err = api.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: "lobby"})
	wantCode(t, "RemoveParticipant(no identity)", err, twirp.InvalidArgument)
	_, err = api.MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{Room: "lobby", Identity: "x", Muted: true})
	wantCode(t, "MutePublishedTrack(no track)", err, twirp.InvalidArgument)
	_, err = api.UpdateRoomMetadata(ctx, &livekit.UpdateRoomMetadataRequest{Room: "lobby", Metadata: strings.Repeat("x", 70000)})
	wantCode(t, "UpdateRoomMetadata(too big)", err, twirp.InvalidArgument)
	_, err = api.SendData(ctx, &livekit.SendDataRequest{Room: "lobby", Data: bytes.Repeat([]byte("x"), 70000)})
	wantCode(t, "SendData(too big)", err, twirp.InvalidArgument)
	if md := srv.Rooms().Room("lobby").Info().Metadata; md != "m2" {
		t.Fatalf("a refused update changed the metadata to %q", md)
	}

	// Not implemented: an honest error, never a fake success.
	_, err = api.ForwardParticipant(ctx, &livekit.ForwardParticipantRequest{Room: "lobby", Identity: "x", DestinationRoom: "annex"})
	wantCode(t, "ForwardParticipant", err, twirp.Unimplemented)
	_, err = api.MoveParticipant(ctx, &livekit.MoveParticipantRequest{Room: "lobby", Identity: "x", DestinationRoom: "annex"})
	wantCode(t, "MoveParticipant", err, twirp.Unimplemented)

	if _, err := api.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: "lobby"}); err != nil {
		t.Fatalf("DeleteRoom: %v", err)
	}
	if srv.Rooms().Room("lobby") != nil {
		t.Fatal("room still on the node after DeleteRoom")
	}
	list, err = api.ListRooms(ctx, &livekit.ListRoomsRequest{})
	if err != nil {
		t.Fatalf("ListRooms: %v", err)
	}
	if got := roomNames(list.Rooms); !slices.Equal(got, []string{"annex"}) {
		t.Fatalf("ListRooms after delete = %v", got)
	}
	_, err = api.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: "lobby"})
	wantCode(t, "DeleteRoom(missing)", err, twirp.NotFound)
	_, err = api.UpdateRoomMetadata(ctx, &livekit.UpdateRoomMetadataRequest{Room: "lobby", Metadata: "x"})
	wantCode(t, "UpdateRoomMetadata(missing)", err, twirp.NotFound)
	_, err = api.SendData(ctx, &livekit.SendDataRequest{Room: "lobby", Data: []byte("x")})
	wantCode(t, "SendData(missing room)", err, twirp.NotFound)
}

func TestRoomServiceRefusals(t *testing.T) {
	srv := testserver.Start(t, nil)
	ctx := apiContext(t)
	if _, err := roomService(srv).CreateRoom(ctx, &livekit.CreateRoomRequest{Name: "class", Metadata: "orig"}); err != nil {
		t.Fatalf("CreateRoom: %v", err)
	}
	k, s := testserver.Key, testserver.Secret
	tokens := map[string]string{
		"list":         apiToken(t, k, s, auth.VideoGrant{RoomList: true}),
		"create":       apiToken(t, k, s, auth.VideoGrant{RoomCreate: true}),
		"admin-class":  apiToken(t, k, s, auth.VideoGrant{RoomAdmin: true, Room: "class"}),
		"admin-other":  apiToken(t, k, s, auth.VideoGrant{RoomAdmin: true, Room: "other", RoomCreate: false}),
		"join-class":   apiToken(t, k, s, auth.VideoGrant{RoomJoin: true, Room: "class"}),
		"bad-sig":      apiToken(t, k, "not-the-secret-not-the-secret-xx", auth.VideoGrant{RoomAdmin: true, Room: "class", RoomCreate: true, RoomList: true}),
		"unknown-key":  apiToken(t, "nokey", s, auth.VideoGrant{RoomAdmin: true, Room: "class", RoomCreate: true, RoomList: true}),
		"expired":      expiredToken(t, map[string]any{"roomAdmin": true, "room": "class", "roomCreate": true, "roomList": true}),
		"garbage":      "not-a-jwt",
		"tampered-sig": apiToken(t, k, s, auth.VideoGrant{RoomAdmin: true, Room: "class"}) + "x",
	}
	calls := map[string]func(api *lksdk.RoomServiceClient) error{
		"CreateRoom": func(api *lksdk.RoomServiceClient) error {
			_, err := api.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: "sneaky"})
			return err
		},
		"ListRooms": func(api *lksdk.RoomServiceClient) error {
			_, err := api.ListRooms(ctx, &livekit.ListRoomsRequest{})
			return err
		},
		"DeleteRoom": func(api *lksdk.RoomServiceClient) error {
			_, err := api.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: "class"})
			return err
		},
		"UpdateRoomMetadata": func(api *lksdk.RoomServiceClient) error {
			_, err := api.UpdateRoomMetadata(ctx, &livekit.UpdateRoomMetadataRequest{Room: "class", Metadata: "hacked"})
			return err
		},
		"ListParticipants": func(api *lksdk.RoomServiceClient) error {
			_, err := api.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: "class"})
			return err
		},
		"SendData": func(api *lksdk.RoomServiceClient) error {
			_, err := api.SendData(ctx, &livekit.SendDataRequest{Room: "class", Data: []byte("x")})
			return err
		},
		"MoveParticipant": func(api *lksdk.RoomServiceClient) error {
			_, err := api.MoveParticipant(ctx, &livekit.MoveParticipantRequest{Room: "class", Identity: "x", DestinationRoom: "y"})
			return err
		},
	}
	allowed := map[string]string{ // call → the token kind that may make it
		"CreateRoom": "create", "DeleteRoom": "create", "ListRooms": "list",
		"UpdateRoomMetadata": "admin-class", "ListParticipants": "admin-class", "SendData": "admin-class",
	}
	unauthenticated := map[string]bool{"bad-sig": true, "unknown-key": true, "expired": true, "garbage": true, "tampered-sig": true}

	for _, call := range []string{"CreateRoom", "ListRooms", "DeleteRoom", "UpdateRoomMetadata", "ListParticipants", "SendData", "MoveParticipant"} {
		for _, kind := range []string{"list", "create", "admin-class", "admin-other", "join-class", "bad-sig", "unknown-key", "expired", "garbage", "tampered-sig"} {
			if allowed[call] == kind {
				continue
			}
			want := twirp.PermissionDenied
			switch {
			case unauthenticated[kind]:
				want = twirp.Unauthenticated
			case call == "MoveParticipant":
				want = twirp.Unimplemented
			}
			err := calls[call](roomServiceWithToken(t, srv, tokens[kind]))
			wantCode(t, call+" with a "+kind+" token", err, want)
		}
	}

	// No state changed.
	rm := srv.Rooms().Room("class")
	if rm == nil {
		t.Fatal("a refused DeleteRoom deleted the room")
	}
	if md := rm.Info().Metadata; md != "orig" {
		t.Fatalf("a refused UpdateRoomMetadata changed the metadata to %q", md)
	}
	if srv.Rooms().Room("sneaky") != nil {
		t.Fatal("a refused CreateRoom created a room")
	}

	// The allowed token kinds do work.
	for call, kind := range allowed {
		if call == "DeleteRoom" || call == "CreateRoom" {
			continue
		}
		if err := calls[call](roomServiceWithToken(t, srv, tokens[kind])); err != nil {
			t.Fatalf("%s with a %s token: %v", call, kind, err)
		}
	}
}

// TestRoomServiceJSON speaks JSON over plain HTTP, as curl or a browser
// would, and checks Twirp's error format for a missing token.
func TestRoomServiceJSON(t *testing.T) {
	srv := testserver.Start(t, nil)
	post := func(method, token, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.HTTPURL()+"/twirp/livekit.RoomService/"+method, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		client := &http.Client{Timeout: 10 * time.Second}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: response %q is not JSON: %v", method, b, err)
		}
		return resp.StatusCode, out
	}
	create := apiToken(t, testserver.Key, testserver.Secret, auth.VideoGrant{RoomCreate: true})
	code, out := post("CreateRoom", create, `{"name":"json-room","metadata":"hi","max_participants":3}`)
	if code != http.StatusOK || out["name"] != "json-room" || out["metadata"] != "hi" {
		t.Fatalf("CreateRoom over JSON: %d %v", code, out)
	}
	list := apiToken(t, testserver.Key, testserver.Secret, auth.VideoGrant{RoomList: true})
	code, out = post("ListRooms", list, `{}`)
	rooms, _ := out["rooms"].([]any)
	if code != http.StatusOK || len(rooms) != 1 {
		t.Fatalf("ListRooms over JSON: %d %v", code, out)
	}
	code, out = post("ListRooms", "", `{}`)
	if code != http.StatusUnauthorized || out["code"] != string(twirp.Unauthenticated) {
		t.Fatalf("ListRooms without a token: %d %v", code, out)
	}
	code, out = post("DeleteRoom", list, `{"room":"json-room"}`)
	if code != http.StatusForbidden || out["code"] != string(twirp.PermissionDenied) {
		t.Fatalf("DeleteRoom with a roomList token: %d %v", code, out)
	}
	if srv.Rooms().Room("json-room") == nil {
		t.Fatal("refused DeleteRoom deleted the room")
	}
}

// ---- With real SDK participants (WebRTC, inside the test namespace) ----

// TestRoomServiceParticipantsTracks lists participants with their tracks,
// mutes a track, changes subscriptions, metadata and permissions, and checks
// that refused calls change nothing.
func TestRoomServiceParticipantsTracks(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)
	api := roomService(srv)
	ctx := apiContext(t)
	pubCtx, stopPub := context.WithCancel(context.Background())
	defer stopPub()

	bobSees, aliceSees := newRoomObserver(), newRoomObserver()
	b := joinObserved(t, srv, "class", "bob", bobSees)
	a := joinObserved(t, srv, "class", "alice", aliceSees)
	mic := publishTrack(pubCtx, t, a, opusCodec, "mic")
	cam := publishTrack(pubCtx, t, a, vp8Codec, "cam")
	testwait.For(t, "bob to receive alice's mic and cam", 15*time.Second, func() bool {
		return bobSees.packetCount(mic.SID()) > 10 && bobSees.packetCount(cam.SID()) > 10
	})

	// ListParticipants / GetParticipant: both, with alice's tracks.
	parts, err := api.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: "class"})
	if err != nil {
		t.Fatalf("ListParticipants: %v", err)
	}
	byID := map[string]*livekit.ParticipantInfo{}
	for _, p := range parts.Participants {
		byID[p.Identity] = p
	}
	if len(byID) != 2 || byID["alice"] == nil || byID["bob"] == nil {
		t.Fatalf("ListParticipants = %v", parts.Participants)
	}
	trackNames := func(p *livekit.ParticipantInfo) map[string]string {
		m := map[string]string{}
		for _, tr := range p.Tracks {
			m[tr.Sid] = tr.Name
		}
		return m
	}
	if got := trackNames(byID["alice"]); len(got) != 2 || got[mic.SID()] != "mic" || got[cam.SID()] != "cam" {
		t.Fatalf("alice's tracks = %v, want mic %s and cam %s", got, mic.SID(), cam.SID())
	}
	if len(byID["bob"].Tracks) != 0 || byID["alice"].Sid != a.LocalParticipant.SID() {
		t.Fatalf("ListParticipants = %v", parts.Participants)
	}
	alice, err := api.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: "class", Identity: "alice"})
	if err != nil {
		t.Fatalf("GetParticipant: %v", err)
	}
	if alice.Sid != a.LocalParticipant.SID() || len(alice.Tracks) != 2 || !alice.IsPublisher {
		t.Fatalf("GetParticipant(alice) = %v", alice)
	}

	// MutePublishedTrack: bob sees it muted, alice's publication says muted.
	res, err := api.MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{Room: "class", Identity: "alice", TrackSid: cam.SID(), Muted: true})
	if err != nil {
		t.Fatalf("MutePublishedTrack: %v", err)
	}
	if res.Track.GetSid() != cam.SID() || !res.Track.GetMuted() {
		t.Fatalf("MutePublishedTrack returned %v", res.Track)
	}
	testwait.For(t, "bob to see alice's cam muted", 10*time.Second, func() bool {
		return bobSees.get(func(o *roomObserver) bool { return o.muted[cam.SID()] })
	})
	testwait.For(t, "alice's publication to report muted", 10*time.Second, cam.IsMuted)
	if mic.IsMuted() || bobSees.get(func(o *roomObserver) bool { return o.muted[mic.SID()] }) {
		t.Fatal("the mic was muted too")
	}
	// Remote unmute is refused, as LiveKit does by default.
	_, err = api.MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{Room: "class", Identity: "alice", TrackSid: cam.SID(), Muted: false})
	wantCode(t, "MutePublishedTrack(unmute)", err, twirp.FailedPrecondition)
	_, err = api.MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{Room: "class", Identity: "alice", TrackSid: "TR_nope", Muted: true})
	wantCode(t, "MutePublishedTrack(unknown track)", err, twirp.NotFound)
	time.Sleep(200 * time.Millisecond)
	if !cam.IsMuted() {
		t.Fatal("refused unmute unmuted alice's cam")
	}

	// UpdateSubscriptions: bob stops receiving the mic, then gets it back.
	bobP := srv.Rooms().Room("class").Participant("bob")
	if _, err := api.UpdateSubscriptions(ctx, &livekit.UpdateSubscriptionsRequest{
		Room: "class", Identity: "bob", TrackSids: []string{mic.SID()}, Subscribe: false,
	}); err != nil {
		t.Fatalf("UpdateSubscriptions(unsubscribe): %v", err)
	}
	if bobP.Subscribed(mic.SID()) || !bobP.Subscribed(cam.SID()) {
		t.Fatal("bob's subscriptions on the node are not {cam}")
	}
	// The mic stream stops reaching bob (the Go SDK fires OnTrackUnsubscribed
	// only when a track is unpublished, so the stream is what we observe).
	testwait.For(t, "bob's mic packets to stop", 10*time.Second, func() bool {
		n := bobSees.packetCount(mic.SID())
		time.Sleep(300 * time.Millisecond)
		return bobSees.packetCount(mic.SID()) == n
	})
	if _, err := api.UpdateSubscriptions(ctx, &livekit.UpdateSubscriptionsRequest{
		Room: "class", Identity: "bob", Subscribe: true,
		ParticipantTracks: []*livekit.ParticipantTracks{{ParticipantSid: a.LocalParticipant.SID(), TrackSids: []string{mic.SID()}}},
	}); err != nil {
		t.Fatalf("UpdateSubscriptions(subscribe): %v", err)
	}
	testwait.For(t, "bob to be subscribed to the mic again", 10*time.Second, func() bool {
		return bobSees.get(func(o *roomObserver) bool { return o.subscribed[mic.SID()] >= 2 })
	})
	n := bobSees.packetCount(mic.SID())
	testwait.For(t, "bob's mic packets to flow again", 10*time.Second, func() bool { return bobSees.packetCount(mic.SID()) > n+10 })

	// UpdateParticipant: name, metadata and attributes reach bob live.
	info, err := api.UpdateParticipant(ctx, &livekit.UpdateParticipantRequest{
		Room: "class", Identity: "alice", Name: "Alice A.", Metadata: "teacher", Attributes: map[string]string{"role": "host"},
	})
	if err != nil {
		t.Fatalf("UpdateParticipant: %v", err)
	}
	if info.Name != "Alice A." || info.Metadata != "teacher" || info.Attributes["role"] != "host" {
		t.Fatalf("UpdateParticipant returned %v", info)
	}
	testwait.For(t, "bob to see alice's new metadata", 10*time.Second, func() bool {
		return bobSees.get(func(o *roomObserver) bool { return o.metadata["alice"] == "teacher" })
	})
	ra := b.GetParticipantByIdentity("alice")
	if ra == nil || ra.Name() != "Alice A." || ra.Attributes()["role"] != "host" {
		t.Fatalf("bob's view of alice: %v", ra)
	}

	// Refusals change nothing: no roomAdmin, roomAdmin for another room, a
	// bad signature, an expired token.
	refused := map[string]string{
		"join-only":   apiToken(t, testserver.Key, testserver.Secret, auth.VideoGrant{RoomJoin: true, Room: "class"}),
		"admin-other": apiToken(t, testserver.Key, testserver.Secret, auth.VideoGrant{RoomAdmin: true, Room: "other"}),
		"bad-sig":     apiToken(t, testserver.Key, "wrong-secret-wrong-secret-wrong-s", auth.VideoGrant{RoomAdmin: true, Room: "class"}),
		"expired":     expiredToken(t, map[string]any{"roomAdmin": true, "room": "class"}),
	}
	for kind, tok := range refused {
		want := twirp.PermissionDenied
		if kind == "bad-sig" || kind == "expired" {
			want = twirp.Unauthenticated
		}
		bad := roomServiceWithToken(t, srv, tok)
		_, err := bad.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: "class", Identity: "alice"})
		wantCode(t, "RemoveParticipant with "+kind, err, want)
		_, err = bad.MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{Room: "class", Identity: "alice", TrackSid: mic.SID(), Muted: true})
		wantCode(t, "MutePublishedTrack with "+kind, err, want)
		_, err = bad.UpdateParticipant(ctx, &livekit.UpdateParticipantRequest{Room: "class", Identity: "alice", Metadata: "pwned",
			Permission: &livekit.ParticipantPermission{}})
		wantCode(t, "UpdateParticipant with "+kind, err, want)
		_, err = bad.UpdateSubscriptions(ctx, &livekit.UpdateSubscriptionsRequest{Room: "class", Identity: "bob", TrackSids: []string{cam.SID()}})
		wantCode(t, "UpdateSubscriptions with "+kind, err, want)
		_, err = bad.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: "class", Identity: "alice"})
		wantCode(t, "GetParticipant with "+kind, err, want)
		_, err = bad.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: "class"})
		wantCode(t, "ListParticipants with "+kind, err, want)
	}
	time.Sleep(300 * time.Millisecond) // would a wrongly applied call show?
	alice, err = api.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: "class", Identity: "alice"})
	if err != nil {
		t.Fatalf("alice is gone after refused calls: %v", err)
	}
	if alice.Metadata != "teacher" || !alice.Permission.GetCanPublish() || len(alice.Tracks) != 2 {
		t.Fatalf("refused calls changed alice: %v", alice)
	}
	if mic.IsMuted() || !bobP.Subscribed(cam.SID()) || bobSees.get(func(o *roomObserver) bool { return o.left["alice"] }) {
		t.Fatal("refused calls changed the mic, bob's subscriptions or alice's presence")
	}

	// A permission without canPublish unpublishes alice's tracks.
	info, err = api.UpdateParticipant(ctx, &livekit.UpdateParticipantRequest{
		Room: "class", Identity: "alice",
		Permission: &livekit.ParticipantPermission{CanSubscribe: true, CanPublish: false, CanPublishData: true},
	})
	if err != nil {
		t.Fatalf("UpdateParticipant(permission): %v", err)
	}
	if info.Permission.GetCanPublish() || len(info.Tracks) != 0 || info.Metadata != "teacher" {
		t.Fatalf("UpdateParticipant(permission) returned %v", info)
	}
	testwait.For(t, "bob to see alice's tracks unpublished", 10*time.Second, func() bool {
		return bobSees.get(func(o *roomObserver) bool { return o.unpublished[mic.SID()] && o.unpublished[cam.SID()] })
	})
	testwait.For(t, "alice to learn her tracks are unpublished", 10*time.Second, func() bool {
		return aliceSees.get(func(o *roomObserver) bool { return o.localUnpub[mic.SID()] && o.localUnpub[cam.SID()] })
	})
	testwait.For(t, "alice to learn she may not publish", 10*time.Second, func() bool {
		return a.LocalParticipant.Permissions() != nil && !a.LocalParticipant.Permissions().CanPublish
	})
	if got := srv.Rooms().Room("class").Participant("alice").PublishedTracks(); len(got) != 0 {
		t.Fatalf("alice still publishes %d tracks on the node", len(got))
	}
}

// TestRoomServiceDataMetadataRemoveDelete sends data, updates the room's
// metadata, removes a participant and deletes the room.
func TestRoomServiceDataMetadataRemoveDelete(t *testing.T) {
	testnet.Require(t)
	srv := testserver.Start(t, nil)
	api := roomService(srv)
	ctx := apiContext(t)

	obs := map[string]*roomObserver{"alice": newRoomObserver(), "bob": newRoomObserver(), "carol": newRoomObserver()}
	clients := map[string]*lksdk.Room{}
	for _, id := range []string{"alice", "bob", "carol"} {
		clients[id] = joinObserved(t, srv, "meet", id, obs[id])
	}
	testwait.For(t, "everyone to see everyone", 10*time.Second, func() bool {
		for _, c := range clients {
			if len(c.GetRemoteParticipants()) != 2 {
				return false
			}
		}
		return true
	})

	// Warm up: data channels open asynchronously, and data sent before is
	// dropped. Broadcast until everyone has heard something.
	testwait.For(t, "the data channels to open", 15*time.Second, func() bool {
		if _, err := api.SendData(ctx, &livekit.SendDataRequest{Room: "meet", Data: []byte("warmup")}); err != nil {
			t.Fatalf("SendData(warmup): %v", err)
		}
		time.Sleep(100 * time.Millisecond)
		for _, o := range obs {
			if len(o.dataSnapshot()) == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(200 * time.Millisecond)
	base := map[string]int{}
	for id, o := range obs {
		base[id] = len(o.dataSnapshot())
	}
	newData := func(id string) []string { return obs[id].dataSnapshot()[base[id]:] }

	topic := "chat"
	if _, err := api.SendData(ctx, &livekit.SendDataRequest{
		Room: "meet", Data: []byte("for carol"), Kind: livekit.DataPacket_RELIABLE,
		DestinationIdentities: []string{"carol"}, Topic: &topic,
	}); err != nil {
		t.Fatalf("SendData(carol): %v", err)
	}
	bobSID := clients["bob"].LocalParticipant.SID()
	if _, err := api.SendData(ctx, &livekit.SendDataRequest{
		Room: "meet", Data: []byte("for bob by sid"), DestinationSids: []string{bobSID},
	}); err != nil {
		t.Fatalf("SendData(bob by sid): %v", err)
	}
	if _, err := api.SendData(ctx, &livekit.SendDataRequest{
		Room: "meet", Data: []byte("for nobody"), DestinationIdentities: []string{"nobody"},
	}); err != nil {
		t.Fatalf("SendData(nobody): %v", err)
	}
	testwait.For(t, "carol's and bob's data", 10*time.Second, func() bool {
		return len(newData("carol")) >= 1 && len(newData("bob")) >= 1
	})
	time.Sleep(300 * time.Millisecond) // would a misrouted packet still arrive?
	if got := newData("carol"); !slices.Equal(got, []string{"|chat|for carol"}) {
		t.Errorf("carol got %q, want only the packet for her, from the server, with its topic", got)
	}
	if got := newData("bob"); !slices.Equal(got, []string{"||for bob by sid"}) {
		t.Errorf("bob got %q", got)
	}
	if got := newData("alice"); len(got) != 0 {
		t.Errorf("alice got %q, want nothing", got)
	}

	// UpdateRoomMetadata reaches every client.
	rm, err := api.UpdateRoomMetadata(ctx, &livekit.UpdateRoomMetadataRequest{Room: "meet", Metadata: "lesson 2"})
	if err != nil {
		t.Fatalf("UpdateRoomMetadata: %v", err)
	}
	if rm.Metadata != "lesson 2" || rm.NumParticipants != 3 {
		t.Fatalf("UpdateRoomMetadata returned %v", rm)
	}
	for id, o := range obs {
		testwait.For(t, id+" to see the room metadata", 10*time.Second, func() bool {
			return o.get(func(o *roomObserver) bool { return slices.Contains(o.roomMetadata, "lesson 2") })
		})
	}

	// RemoveParticipant: carol is told why and leaves; the others see it.
	if _, err := api.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: "meet", Identity: "carol"}); err != nil {
		t.Fatalf("RemoveParticipant: %v", err)
	}
	testwait.For(t, "carol to be disconnected", 10*time.Second, func() bool {
		return obs["carol"].get(func(o *roomObserver) bool { return o.disconnected })
	})
	if r := clients["carol"].DisconnectReason(); r != livekit.DisconnectReason_PARTICIPANT_REMOVED {
		t.Fatalf("carol's disconnect reason = %v, want PARTICIPANT_REMOVED", r)
	}
	for _, id := range []string{"alice", "bob"} {
		testwait.For(t, id+" to see carol leave", 10*time.Second, func() bool {
			return obs[id].get(func(o *roomObserver) bool { return o.left["carol"] })
		})
	}
	_, err = api.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: "meet", Identity: "carol"})
	wantCode(t, "GetParticipant(removed)", err, twirp.NotFound)
	parts, err := api.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: "meet"})
	if err != nil || len(parts.Participants) != 2 {
		t.Fatalf("ListParticipants after removal: %v, %v", parts, err)
	}

	// DeleteRoom: everybody is disconnected and the room is gone.
	if _, err := api.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: "meet"}); err != nil {
		t.Fatalf("DeleteRoom: %v", err)
	}
	for _, id := range []string{"alice", "bob"} {
		testwait.For(t, id+" to be disconnected", 10*time.Second, func() bool {
			return obs[id].get(func(o *roomObserver) bool { return o.disconnected })
		})
		if r := clients[id].DisconnectReason(); r != livekit.DisconnectReason_ROOM_DELETED {
			t.Fatalf("%s's disconnect reason = %v, want ROOM_DELETED", id, r)
		}
	}
	list, err := api.ListRooms(ctx, &livekit.ListRoomsRequest{})
	if err != nil || len(list.Rooms) != 0 {
		t.Fatalf("ListRooms after DeleteRoom: %v, %v", list, err)
	}
	_, err = api.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: "meet"})
	wantCode(t, "DeleteRoom(again)", err, twirp.NotFound)
}
