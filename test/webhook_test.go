package test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/webhook"
	"google.golang.org/protobuf/proto"

	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
	"github.com/bayan-dev/bayan/server"
	"github.com/bayan-dev/bayan/signaling"
)

// hookRequest is one request as the receiver got it.
type hookRequest struct {
	auth   string
	body   []byte
	status int
}

// hookReceiver is a webhook endpoint on 127.0.0.1 that verifies every
// request with livekit/protocol/webhook, as a LiveKit user's backend would.
type hookReceiver struct {
	url string

	mu        sync.Mutex
	failFirst int // answer 503 to this many requests first
	requests  []hookRequest
	events    []*livekit.WebhookEvent
	badAuth   []error
}

func newHookReceiver(t *testing.T, failFirst int) *hookReceiver {
	t.Helper()
	h := &hookReceiver{failFirst: failFirst}
	kp := auth.NewSimpleKeyProvider(testserver.Key, testserver.Secret)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		ev, verr := webhook.ReceiveWebhookEvent(r, kp)

		h.mu.Lock()
		defer h.mu.Unlock()
		status := http.StatusOK
		switch {
		case len(h.requests) < h.failFirst:
			status = http.StatusServiceUnavailable
		case verr != nil:
			status = http.StatusUnauthorized
			h.badAuth = append(h.badAuth, verr)
		default:
			h.events = append(h.events, ev)
		}
		h.requests = append(h.requests, hookRequest{auth: r.Header.Get("Authorization"), body: body, status: status})
		w.WriteHeader(status)
	}))
	t.Cleanup(ts.Close)
	h.url = ts.URL
	return h
}

func (h *hookReceiver) snapshot() ([]*livekit.WebhookEvent, []hookRequest, []error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events), slices.Clone(h.requests), slices.Clone(h.badAuth)
}

func (h *hookReceiver) names() []string {
	evs, _, _ := h.snapshot()
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Event
	}
	return out
}

func (h *hookReceiver) has(name string) bool { return slices.Contains(h.names(), name) }

func startWithHooks(t *testing.T, h *hookReceiver, backoff time.Duration) *server.Server {
	t.Helper()
	return testserver.Start(t, func(c *server.Config) {
		c.Webhook = signaling.WebhookConfig{URLs: []string{h.url}, APIKey: testserver.Key, Backoff: backoff, Attempts: 5}
		c.Room.DepartureTimeout = 30 * time.Second // the test deletes the room itself
	})
}

// rawJoin joins a room over the signaling WebSocket alone, without any
// WebRTC: enough for the room and participant events. leave sends a
// LeaveRequest and closes the socket.
func rawJoin(t *testing.T, srv *server.Server, roomName, identity string) (leave func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := url.Values{"access_token": {testserver.Token(t, roomName, identity, nil)}, "protocol": {"16"}}
	conn, _, err := websocket.Dial(ctx, srv.URL()+"/rtc?"+q.Encode(), nil)
	if err != nil {
		t.Fatalf("dial signaling: %v", err)
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("read join response: %v", err)
		}
		var resp livekit.SignalResponse
		if err := proto.Unmarshal(data, &resp); err != nil {
			t.Fatalf("decode response: %v", err)
		}
		if resp.GetJoin() != nil {
			break
		}
	}
	// Drain the rest (offers, updates) so the server never blocks on us.
	readCtx, stopReading := context.WithCancel(context.Background())
	go func() {
		for {
			if _, _, err := conn.Read(readCtx); err != nil {
				return
			}
		}
	}()
	var once sync.Once
	leave = func() {
		once.Do(func() {
			b, _ := proto.Marshal(&livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{
				Reason: livekit.DisconnectReason_CLIENT_INITIATED, Action: livekit.LeaveRequest_DISCONNECT,
			}}})
			wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = conn.Write(wctx, websocket.MessageBinary, b)
			stopReading()
			_ = conn.Close(websocket.StatusNormalClosure, "")
		})
	}
	t.Cleanup(leave)
	return leave
}

// TestWebhookSession drives a real SDK session and checks that every
// lifecycle event arrives, verified, in order.
func TestWebhookSession(t *testing.T) {
	testnet.Require(t)
	h := newHookReceiver(t, 0)
	srv := startWithHooks(t, h, 20*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	a := testserver.Join(t, srv, testserver.Token(t, "hooks", "alice", nil), nil)
	mic := publishTrack(ctx, t, a, opusCodec, "mic")
	testwait.For(t, "track_published", 10*time.Second, func() bool { return h.has("track_published") })

	if err := a.LocalParticipant.UnpublishTrack(mic.SID()); err != nil {
		t.Fatalf("unpublish: %v", err)
	}
	testwait.For(t, "track_unpublished", 10*time.Second, func() bool { return h.has("track_unpublished") })

	a.Disconnect()
	testwait.For(t, "participant_left", 10*time.Second, func() bool { return h.has("participant_left") })

	if _, err := roomService(srv).DeleteRoom(apiContext(t), &livekit.DeleteRoomRequest{Room: "hooks"}); err != nil {
		t.Fatalf("DeleteRoom: %v", err)
	}
	testwait.For(t, "room_finished", 10*time.Second, func() bool { return h.has("room_finished") })
	time.Sleep(200 * time.Millisecond) // anything unexpected after room_finished?

	want := []string{"room_started", "participant_joined", "track_published", "track_unpublished", "participant_left", "room_finished"}
	if got := h.names(); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	evs, reqs, bad := h.snapshot()
	if len(bad) != 0 || len(reqs) != len(want) {
		t.Fatalf("%d requests, %d failed verification (%v)", len(reqs), len(bad), bad)
	}
	ids := map[string]bool{}
	var roomSID string
	for _, e := range evs {
		if e.Id == "" || ids[e.Id] {
			t.Fatalf("%s: missing or repeated id %q", e.Event, e.Id)
		}
		ids[e.Id] = true
		if d := time.Since(time.Unix(e.CreatedAt, 0)); d < -time.Minute || d > time.Minute {
			t.Fatalf("%s: created_at %d is off by %v", e.Event, e.CreatedAt, d)
		}
		if e.Room.GetName() != "hooks" || e.Room.GetSid() == "" {
			t.Fatalf("%s: room %v", e.Event, e.Room)
		}
		if roomSID == "" {
			roomSID = e.Room.GetSid()
		} else if e.Room.GetSid() != roomSID {
			t.Fatalf("%s: room sid %s, want %s", e.Event, e.Room.GetSid(), roomSID)
		}
		switch e.Event {
		case "participant_joined", "participant_left", "track_published", "track_unpublished":
			if e.Participant.GetIdentity() != "alice" || e.Participant.GetSid() != a.LocalParticipant.SID() {
				t.Fatalf("%s: participant %v", e.Event, e.Participant)
			}
		}
		switch e.Event {
		case "track_published", "track_unpublished":
			if e.Track.GetSid() != mic.SID() || e.Track.GetName() != "mic" || e.Track.GetType() != livekit.TrackType_AUDIO {
				t.Fatalf("%s: track %v, want mic %s", e.Event, e.Track, mic.SID())
			}
		}
	}
}

// TestWebhookRetry: the receiver fails twice, the event still arrives once,
// and the events behind it keep their order.
func TestWebhookRetry(t *testing.T) {
	h := newHookReceiver(t, 2)
	srv := startWithHooks(t, h, 10*time.Millisecond)

	leave := rawJoin(t, srv, "retry", "alice")
	testwait.For(t, "room_started and participant_joined", 10*time.Second, func() bool {
		return h.has("room_started") && h.has("participant_joined")
	})
	leave()
	testwait.For(t, "participant_left", 10*time.Second, func() bool { return h.has("participant_left") })

	evs, reqs, bad := h.snapshot()
	if len(bad) != 0 {
		t.Fatalf("verification failed: %v", bad)
	}
	if len(reqs) < 3 || reqs[0].status != http.StatusServiceUnavailable || reqs[1].status != http.StatusServiceUnavailable || reqs[2].status != http.StatusOK {
		t.Fatalf("want two 503s then success, got %d requests", len(reqs))
	}
	// The three first requests carry the same event: room_started, retried.
	for i := 1; i < 3; i++ {
		if !bytes.Equal(reqs[i].body, reqs[0].body) {
			t.Fatalf("retry %d sent a different body", i)
		}
	}
	want := []string{"room_started", "participant_joined", "participant_left"}
	if got := h.names(); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if evs[0].Room.GetName() != "retry" {
		t.Fatalf("room_started for %v", evs[0].Room)
	}
}

// TestWebhookSignatureCoversBody replays a delivered request: as is it
// verifies; with its body altered, or signed with another secret, it does
// not.
func TestWebhookSignatureCoversBody(t *testing.T) {
	h := newHookReceiver(t, 0)
	srv := startWithHooks(t, h, 10*time.Millisecond)
	rawJoin(t, srv, "sig", "alice")
	testwait.For(t, "a delivered event", 10*time.Second, func() bool { return h.has("room_started") })
	_, reqs, _ := h.snapshot()
	orig := reqs[0]

	kp := auth.NewSimpleKeyProvider(testserver.Key, testserver.Secret)
	replay := func(authz string, body []byte) error {
		r := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
		r.Header.Set("Authorization", authz)
		_, err := webhook.ReceiveWebhookEvent(r, kp)
		return err
	}
	if err := replay(orig.auth, orig.body); err != nil {
		t.Fatalf("the original request does not verify: %v", err)
	}
	tampered := []byte(strings.Replace(string(orig.body), `"sig"`, `"gis"`, 1))
	if bytes.Equal(tampered, orig.body) {
		t.Fatalf("body %s does not name the room", orig.body)
	}
	if err := replay(orig.auth, tampered); !errors.Is(err, webhook.ErrInvalidChecksum) {
		t.Fatalf("tampered body: err %v, want %v", err, webhook.ErrInvalidChecksum)
	}
	if err := replay(orig.auth, append(slices.Clone(orig.body), ' ')); !errors.Is(err, webhook.ErrInvalidChecksum) {
		t.Fatalf("body with a trailing byte: err %v, want %v", err, webhook.ErrInvalidChecksum)
	}
	// A token over the right digest but with a wrong secret fails too.
	forged, err := auth.NewAccessToken(testserver.Key, "some-other-secret-some-other-secr").
		SetValidFor(time.Minute).SetSha256(shaOf(orig.body)).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	if err := replay(forged, orig.body); err == nil {
		t.Fatal("a request signed with another secret verified")
	}
	if err := replay("", orig.body); err == nil {
		t.Fatal("a request without Authorization verified")
	}
}

func shaOf(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}
