package test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/server"
)

// tokenClaims is how LiveKit tokens are laid out: registered claims next to
// the grants.
type tokenClaims struct {
	jwt.RegisteredClaims
	auth.ClaimGrants
}

// signedToken signs claims for a join of identity to roomName, valid for an
// hour, after edit (if not nil) has changed them.
func signedToken(t testing.TB, key, secret string, method jwt.SigningMethod, identity, roomName string, edit func(*tokenClaims)) string {
	t.Helper()
	now := time.Now()
	c := &tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    key,
			Subject:   identity,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		},
		ClaimGrants: auth.ClaimGrants{Name: identity, Video: &auth.VideoGrant{RoomJoin: true, Room: roomName}},
	}
	if edit != nil {
		edit(c)
	}
	var signKey any = []byte(secret)
	if method == jwt.SigningMethodNone {
		signKey = jwt.UnsafeAllowNoneSignatureType
	}
	s, err := jwt.NewWithClaims(method, c).SignedString(signKey)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return s
}

// dialStatus tries a WebSocket join and returns the HTTP status it got.
func dialStatus(t testing.TB, srv *server.Server, path, token, extra string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, rtcURL(srv, path, token, extra), nil)
	if err == nil {
		conn.CloseNow()
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	return resp.StatusCode
}

func TestAuthRefusedWithoutChangingState(t *testing.T) {
	watchPanics(t)
	srv := testserver.Start(t, nil)
	key, secret := testserver.Key, testserver.Secret
	hs := jwt.SigningMethodHS256
	const roomA, roomB = "auth-a", "auth-b"

	cases := []struct {
		name  string
		token string
		extra string // more query parameters
	}{
		{"no token", "", ""},
		{"not a JWT", "not-a-token", ""},
		{"wrong secret", signedToken(t, key, "some-other-secret-of-enough-length", hs, "mallory", roomA, nil), ""},
		{"unknown API key", signedToken(t, "otherkey", secret, hs, "mallory", roomA, nil), ""},
		{"expired", signedToken(t, key, secret, hs, "mallory", roomA, func(c *tokenClaims) {
			// Well past the one-minute leeway LiveKit's verifier allows.
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
			c.NotBefore = c.IssuedAt
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-5 * time.Minute))
		}), ""},
		{"not yet valid", signedToken(t, key, secret, hs, "mallory", roomA, func(c *tokenClaims) {
			c.NotBefore = jwt.NewNumericDate(time.Now().Add(10 * time.Minute))
		}), ""},
		{"no expiry", signedToken(t, key, secret, hs, "mallory", roomA, func(c *tokenClaims) { c.ExpiresAt = nil }), ""},
		{"issuer is not the key", signedToken(t, key, secret, hs, "mallory", roomA, func(c *tokenClaims) { c.Issuer = "otherkey" }), ""},
		{"alg none", signedToken(t, key, secret, jwt.SigningMethodNone, "mallory", roomA, nil), ""},
		{"HS512", signedToken(t, key, secret, jwt.SigningMethodHS512, "mallory", roomA, nil), ""},
		{"no video grant", signedToken(t, key, secret, hs, "mallory", roomA, func(c *tokenClaims) { c.Video = nil }), ""},
		{"without roomJoin", signedToken(t, key, secret, hs, "mallory", roomA, func(c *tokenClaims) { c.Video.RoomJoin = false }), ""},
		{"roomJoin without a room", signedToken(t, key, secret, hs, "mallory", "", nil), ""},
		{"no identity", signedToken(t, key, secret, hs, "", roomA, nil), ""},
		{"token for room A used for room B", testserver.Token(t, roomA, "mallory", nil), "room=" + roomB},
		{"tampered grant", func() string {
			// Same signature, payload rewritten to another room.
			tok := testserver.Token(t, roomA, "mallory", nil)
			parts := strings.Split(tok, ".")
			other := strings.Split(testserver.Token(t, roomB, "mallory", nil), ".")
			return parts[0] + "." + other[1] + "." + parts[2]
		}(), ""},
	}

	authFailuresBefore := metricValue(t, srv, "bayan_signal_auth_failures_total")
	refusals := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := "protocol=16"
			if c.token != "" {
				q += "&access_token=" + c.token
			}
			if c.extra != "" {
				q += "&" + c.extra
			}
			code, body := httpGet(t, srv.HTTPURL()+"/rtc/validate?"+q, nil)
			if code != http.StatusUnauthorized {
				t.Errorf("/rtc/validate: %d %q, want 401", code, body)
			}
			if strings.TrimSpace(body) == "" {
				t.Errorf("/rtc/validate: 401 without a message")
			}
			// The token in an Authorization header is judged the same.
			if c.token != "" {
				code, _ := httpGet(t, srv.HTTPURL()+"/rtc/validate?protocol=16&"+c.extra, http.Header{"Authorization": {"Bearer " + c.token}})
				if code != http.StatusUnauthorized {
					t.Errorf("/rtc/validate with Authorization header: %d, want 401", code)
				}
				refusals++
			}
			// /rtc refuses before upgrading, to plain HTTP and WebSocket alike.
			if code, body := httpGet(t, srv.HTTPURL()+"/rtc?"+q, nil); code != http.StatusUnauthorized {
				t.Errorf("/rtc (plain GET): %d %q, want 401", code, body)
			}
			if code := dialStatus(t, srv, "/rtc", c.token, c.extra); code != http.StatusUnauthorized {
				t.Errorf("/rtc (WebSocket): %d, want 401", code)
			}
			refusals += 3
			// The single peer connection path, where served, is no way round.
			for _, p := range []string{"/rtc/v1", "/rtc/v1/validate"} {
				code, _ := httpGet(t, srv.HTTPURL()+p+"?"+q, nil)
				switch code {
				case http.StatusUnauthorized:
					refusals++
				case http.StatusNotFound:
				default:
					t.Errorf("%s: %d, want 401 (or 404 where not served)", p, code)
				}
			}
			if rooms := srv.Rooms().Rooms(); len(rooms) != 0 {
				t.Fatalf("a refused request created room %q", rooms[0].Name())
			}
		})
	}
	if srv.Rooms().Room(roomA) != nil || srv.Rooms().Room(roomB) != nil {
		t.Fatal("a refused request created a room")
	}
	if got := metricValue(t, srv, "bayan_signal_auth_failures_total") - authFailuresBefore; got != float64(refusals) {
		t.Errorf("auth failures counted: %v, want %d", got, refusals)
	}
}

func TestAuthValidTokenValidates(t *testing.T) {
	srv := testserver.Start(t, nil)
	tok := testserver.Token(t, "auth-ok", "amal", nil)
	code, body := httpGet(t, srv.HTTPURL()+"/rtc/validate?protocol=16&access_token="+tok, nil)
	if code != http.StatusOK || body != "success" {
		t.Fatalf("/rtc/validate: %d %q, want 200 \"success\"", code, body)
	}
	code, _ = httpGet(t, srv.HTTPURL()+"/rtc/validate?protocol=16&room=auth-ok", http.Header{"Authorization": {"Bearer " + tok}})
	if code != http.StatusOK {
		t.Fatalf("/rtc/validate with Authorization header: %d", code)
	}
	// A token just inside the verifier's leeway is still good.
	leeway := signedToken(t, testserver.Key, testserver.Secret, jwt.SigningMethodHS256, "amal", "auth-ok", func(c *tokenClaims) {
		c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-20 * time.Second))
	})
	if code, body := httpGet(t, srv.HTTPURL()+"/rtc/validate?access_token="+leeway, nil); code != http.StatusOK {
		t.Fatalf("/rtc/validate, token expired 20 s ago (inside the 1 min leeway): %d %q", code, body)
	}
	// Validation looks; it does not create the room.
	if srv.Rooms().Room("auth-ok") != nil {
		t.Fatal("/rtc/validate created the room")
	}
	c := wsJoin(t, srv, "amal", tok, "")
	if c.join.GetRoom().GetName() != "auth-ok" || c.join.GetParticipant().GetIdentity() != "amal" {
		t.Fatalf("JoinResponse: room %q, identity %q", c.join.GetRoom().GetName(), c.join.GetParticipant().GetIdentity())
	}
	if srv.Rooms().Room("auth-ok") == nil {
		t.Fatal("join did not create the room")
	}
}

func TestAuthUnknownRTCPathsAre404(t *testing.T) {
	srv := testserver.Start(t, nil)
	tok := testserver.Token(t, "paths", "amal", nil)
	for _, p := range []string{"/rtc/whatever", "/rtc/v2/validate", "/rtc/validate/x", "/rtc/v1/validate/x", "/rtc/v1/whatever"} {
		if code, body := httpGet(t, srv.HTTPURL()+p+"?access_token="+tok, nil); code != http.StatusNotFound {
			t.Errorf("%s: %d %q, want 404", p, code, body)
		}
	}
	// /rtc/v1/validate answers 404 only while the single peer connection
	// path is not served; once it is, a bad token there is still a 401.
	code, _ := httpGet(t, srv.HTTPURL()+"/rtc/v1/validate?access_token=garbage", nil)
	if code != http.StatusNotFound && code != http.StatusUnauthorized {
		t.Errorf("/rtc/v1/validate with a garbage token: %d, want 404 or 401", code)
	}
	t.Logf("/rtc/v1/validate with a garbage token: %d", code)
	if srv.Rooms().Room("paths") != nil {
		t.Fatal("an unknown path created the room")
	}
}

// A participant may only do what its token grants; a refused request
// changes nothing in the room.
func TestAuthGrantsLimitRequests(t *testing.T) {
	watchPanics(t)
	srv := testserver.Start(t, nil)
	const roomName = "grants"
	no := false

	watcher := wsJoin(t, srv, "walid", testserver.Token(t, roomName, "walid", nil), "")
	listener := wsJoin(t, srv, "lina", testserver.Token(t, roomName, "lina", func(g *auth.VideoGrant) { g.CanPublish = &no }), "")

	// canPublish=false: AddTrack is refused with NOT_ALLOWED.
	for i, src := range []livekit.TrackSource{livekit.TrackSource_MICROPHONE, livekit.TrackSource_CAMERA, livekit.TrackSource_SCREEN_SHARE, livekit.TrackSource_UNKNOWN} {
		listener.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{
			Cid: fmt.Sprintf("TR_lina_%d", i), Name: "mic", Type: livekit.TrackType_AUDIO, Source: src,
		}}})
	}
	skipped := listener.ping()
	if p := findFrames(skipped, func(m *livekit.SignalResponse) bool { return m.GetTrackPublished() != nil }); len(p) != 0 {
		t.Fatalf("canPublish=false participant got TrackPublished: %v", p)
	}
	rr := requestResponses(skipped)
	if len(rr) != 4 {
		t.Fatalf("got request responses %v, want four NOT_ALLOWED", rr)
	}
	for _, r := range rr {
		if r.GetReason() != livekit.RequestResponse_NOT_ALLOWED {
			t.Errorf("AddTrack without canPublish: %v, want NOT_ALLOWED", r)
		}
	}
	// Nothing pending: a mute of the sid it would have had is NOT_FOUND,
	// and the room shows no track.
	p := srv.Rooms().Room(roomName).Participant("lina")
	if p == nil {
		t.Fatal("lina is not in the room")
	}
	if len(p.PublishedTracks()) != 0 || len(p.Info().GetTracks()) != 0 || p.Info().GetIsPublisher() {
		t.Fatalf("lina has tracks: %v", p.Info().GetTracks())
	}
	if n := srv.Rooms().Room(roomName).Info().GetNumPublishers(); n != 0 {
		t.Fatalf("room counts %d publishers", n)
	}

	// canPublishSources: a camera-only token may publish a camera, not a
	// microphone or a screen.
	cam := wsJoin(t, srv, "camil", testserver.Token(t, roomName, "camil", func(g *auth.VideoGrant) {
		g.SetCanPublishSources([]livekit.TrackSource{livekit.TrackSource_CAMERA})
	}), "")
	cam.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{Cid: "mic", Type: livekit.TrackType_AUDIO, Source: livekit.TrackSource_MICROPHONE}}})
	cam.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{Cid: "screen", Type: livekit.TrackType_VIDEO, Source: livekit.TrackSource_SCREEN_SHARE}}})
	cam.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{Cid: "cam", Type: livekit.TrackType_VIDEO, Source: livekit.TrackSource_CAMERA}}})
	skipped = cam.ping()
	pub := findFrames(skipped, func(m *livekit.SignalResponse) bool { return m.GetTrackPublished() != nil })
	if len(pub) != 1 || pub[0].msg.GetTrackPublished().GetCid() != "cam" {
		t.Errorf("camera-only token: TrackPublished %v, want only cam", pub)
	}
	if rr := requestResponses(skipped); len(rr) != 2 || rr[0].GetReason() != livekit.RequestResponse_NOT_ALLOWED || rr[1].GetReason() != livekit.RequestResponse_NOT_ALLOWED {
		t.Errorf("camera-only token: request responses %v, want two NOT_ALLOWED", rr)
	}

	// No canUpdateOwnMetadata: UpdateMetadata refused, name unchanged.
	listener.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_UpdateMetadata{UpdateMetadata: &livekit.UpdateParticipantMetadata{
		Name: "Admin", Metadata: "root", Attributes: map[string]string{"role": "teacher"}, RequestId: 5,
	}}})
	if rr := requestResponses(listener.ping()); len(rr) != 1 || rr[0].GetReason() != livekit.RequestResponse_NOT_ALLOWED ||
		rr[0].GetRequestId() != 5 || rr[0].GetUpdateMetadata() == nil {
		t.Errorf("UpdateMetadata without the grant: %v, want NOT_ALLOWED for request 5", rr)
	}
	if info := p.Info(); info.GetName() != "lina" || info.GetMetadata() != "" || len(info.GetAttributes()) != 0 {
		t.Errorf("refused UpdateMetadata changed lina: name %q metadata %q attributes %v", info.GetName(), info.GetMetadata(), info.GetAttributes())
	}

	// The watcher saw no track of lina's, and no rename.
	watcher.ping()
	for _, f := range watcher.all() {
		for _, pi := range f.msg.GetUpdate().GetParticipants() {
			if pi.GetIdentity() == "lina" && (len(pi.GetTracks()) > 0 || pi.GetName() != "lina") {
				t.Errorf("watcher saw lina change: %v", pi)
			}
		}
		if tp := f.msg.GetTrackPublished(); tp != nil {
			t.Errorf("watcher got a TrackPublished: %v", tp)
		}
	}
}
