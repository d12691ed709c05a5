package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
	"golang.org/x/net/ipv4"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/bayan-dev/bayan/internal/testlog"
	"github.com/bayan-dev/bayan/internal/testnet"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
	"github.com/bayan-dev/bayan/server"
	"github.com/bayan-dev/bayan/signaling"
)

// ---------------------------------------------------------------------------
// Raw WebSocket client: speaks SignalRequest/SignalResponse frames directly,
// without WebRTC, so that it needs no network namespace.
// ---------------------------------------------------------------------------

// wsFrame is one frame the server sent.
type wsFrame struct {
	typ websocket.MessageType
	msg *livekit.SignalResponse // nil when the frame did not decode
	err error
}

func (f wsFrame) String() string {
	if f.msg == nil {
		return fmt.Sprintf("undecodable %v frame: %v", f.typ, f.err)
	}
	return fmt.Sprintf("%v %T", f.typ, f.msg.Message)
}

// wsClient is a participant joined over a raw WebSocket. A goroutine reads
// every frame into frames; expect consumes them in order.
type wsClient struct {
	t    testing.TB
	name string
	conn *websocket.Conn
	join *livekit.JoinResponse

	mu      sync.Mutex
	frames  []wsFrame
	pos     int // frames before pos have been looked at
	readErr error
	notify  chan struct{}
	done    chan struct{}
	pingTS  atomic.Int64
}

// rtcURL is the /rtc URL for token; extra is appended to the query.
func rtcURL(srv *server.Server, path, token, extra string) string {
	q := url.Values{}
	if token != "" {
		q.Set("access_token", token)
	}
	q.Set("protocol", "16")
	u := srv.URL() + path + "?" + q.Encode()
	if extra != "" {
		u += "&" + extra
	}
	return u
}

// wsDial opens a WebSocket to /rtc without reading anything.
func wsDial(ctx context.Context, srv *server.Server, token, extra string) (*websocket.Conn, *http.Response, error) {
	return websocket.Dial(ctx, rtcURL(srv, "/rtc", token, extra), nil)
}

func decodeFrame(typ websocket.MessageType, data []byte) (*livekit.SignalResponse, error) {
	msg := &livekit.SignalResponse{}
	var err error
	if typ == websocket.MessageText {
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, msg)
	} else {
		err = proto.Unmarshal(data, msg)
	}
	if err != nil {
		return nil, err
	}
	return msg, nil
}

// wsJoin connects identity's token and requires a JoinResponse as the
// first frame.
func wsJoin(t testing.TB, srv *server.Server, name, token, extra string) *wsClient {
	t.Helper()
	return wsJoinWith(t, srv, name, token, extra, nil)
}

// wsJoinWith is wsJoin dialling with opts (an HTTP client for TLS, say).
func wsJoinWith(t testing.TB, srv *server.Server, name, token, extra string, opts *websocket.DialOptions) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, rtcURL(srv, "/rtc", token, extra), opts)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("%s: dial /rtc: %v (HTTP %d)", name, err, status)
	}
	conn.SetReadLimit(8 << 20)
	typ, data, err := conn.Read(ctx)
	if err != nil {
		conn.CloseNow()
		t.Fatalf("%s: read first frame: %v", name, err)
	}
	first, err := decodeFrame(typ, data)
	if err != nil || first.GetJoin() == nil {
		conn.CloseNow()
		t.Fatalf("%s: first frame is not a JoinResponse: %v (%v)", name, first, err)
	}
	c := &wsClient{t: t, name: name, conn: conn, join: first.GetJoin(), notify: make(chan struct{}, 1), done: make(chan struct{})}
	go c.readLoop()
	t.Cleanup(func() {
		c.conn.CloseNow()
		<-c.done
	})
	return c
}

func (c *wsClient) readLoop() {
	defer close(c.done)
	for {
		typ, data, err := c.conn.Read(context.Background())
		c.mu.Lock()
		if err != nil {
			c.readErr = err
		} else {
			msg, derr := decodeFrame(typ, data)
			c.frames = append(c.frames, wsFrame{typ: typ, msg: msg, err: derr})
		}
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// sendRaw writes one frame as is.
func (c *wsClient) sendRaw(typ websocket.MessageType, data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.conn.Write(ctx, typ, data)
}

// send writes a request as a binary protobuf frame.
func (c *wsClient) send(req *livekit.SignalRequest) {
	c.t.Helper()
	b, err := proto.Marshal(req)
	if err != nil {
		c.t.Fatalf("%s: marshal: %v", c.name, err)
	}
	if err := c.sendRaw(websocket.MessageBinary, b); err != nil {
		c.t.Fatalf("%s: send %T: %v", c.name, req.Message, err)
	}
}

// expect waits for a frame matching pred and returns it with the frames
// skipped on the way. It fails the test on timeout or when the connection
// ends first.
func (c *wsClient) expect(what string, timeout time.Duration, pred func(wsFrame) bool) (wsFrame, []wsFrame) {
	c.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var skipped []wsFrame
	for {
		c.mu.Lock()
		for c.pos < len(c.frames) {
			f := c.frames[c.pos]
			c.pos++
			if f.msg != nil && pred(f) {
				c.mu.Unlock()
				return f, skipped
			}
			skipped = append(skipped, f)
		}
		readErr := c.readErr
		c.mu.Unlock()
		if readErr != nil {
			c.t.Fatalf("%s: connection ended (%v) while waiting for %s; skipped %v", c.name, readErr, what, skipped)
		}
		select {
		case <-c.notify:
		case <-deadline.C:
			c.t.Fatalf("%s: no %s within %v; skipped %v", c.name, what, timeout, skipped)
		}
	}
}

// ping sends a ping_req and waits for its pong_resp; it returns the frames
// that arrived before the pong, which are the answers to everything sent
// before the ping since the server handles requests in order.
func (c *wsClient) ping() []wsFrame {
	c.t.Helper()
	ts := c.pingTS.Add(1) + 1_000_000
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: ts}}})
	_, skipped := c.expect(fmt.Sprintf("pong_resp to ping %d", ts), 10*time.Second, func(f wsFrame) bool {
		return f.msg.GetPongResp() != nil && f.msg.GetPongResp().GetLastPingTimestamp() == ts
	})
	return skipped
}

// keepAlive sends the old-style ping every interval until the test ends, as
// real clients do, so that a long test does not hit the ping timeout.
func (c *wsClient) keepAlive(every time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	c.t.Cleanup(cancel)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.done:
				return
			case <-t.C:
				b, _ := proto.Marshal(&livekit.SignalRequest{Message: &livekit.SignalRequest_Ping{Ping: time.Now().UnixMilli()}})
				_ = c.sendRaw(websocket.MessageBinary, b)
			}
		}
	}()
}

// waitClosed waits for the connection to end and returns the read error.
func (c *wsClient) waitClosed(timeout time.Duration) error {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.t.Fatalf("%s: connection still open after %v", c.name, timeout)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}

// all returns every frame received so far.
func (c *wsClient) all() []wsFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]wsFrame(nil), c.frames...)
}

// firstOffer waits for the subscriber offer the server sends after a join.
func (c *wsClient) firstOffer() string {
	c.t.Helper()
	for _, f := range c.all() {
		if f.msg != nil && f.msg.GetOffer() != nil {
			return f.msg.GetOffer().GetSdp()
		}
	}
	f, _ := c.expect("subscriber offer", 10*time.Second, func(f wsFrame) bool { return f.msg.GetOffer() != nil })
	return f.msg.GetOffer().GetSdp()
}

// findFrames returns the frames matching pred.
func findFrames(frames []wsFrame, pred func(*livekit.SignalResponse) bool) []wsFrame {
	var out []wsFrame
	for _, f := range frames {
		if f.msg != nil && pred(f.msg) {
			out = append(out, f)
		}
	}
	return out
}

func requestResponses(frames []wsFrame) []*livekit.RequestResponse {
	var out []*livekit.RequestResponse
	for _, f := range findFrames(frames, func(m *livekit.SignalResponse) bool { return m.GetRequestResponse() != nil }) {
		out = append(out, f.msg.GetRequestResponse())
	}
	return out
}

// ---------------------------------------------------------------------------
// Node observation helpers.
// ---------------------------------------------------------------------------

// watchPanics fails the test if net/http recovered a handler panic while
// it ran: such a panic kills one connection without crashing the process,
// so it would otherwise go unnoticed.
func watchPanics(t *testing.T) {
	var buf testlog.Buffer
	prev := log.Writer()
	log.SetOutput(io.MultiWriter(prev, &buf))
	t.Cleanup(func() {
		log.SetOutput(prev)
		if s := buf.String(); strings.Contains(s, "panic") {
			t.Errorf("the server logged a panic:\n%s", s)
		}
	})
}

func httpGet(t testing.TB, u string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(body)
}

func checkHealthy(t testing.TB, srv *server.Server) {
	t.Helper()
	if code, body := httpGet(t, srv.HTTPURL()+"/healthz", nil); code != http.StatusOK {
		t.Fatalf("/healthz: %d %q", code, body)
	}
}

// metricValue reads one unlabelled counter from /metrics.
func metricValue(t testing.TB, srv *server.Server, name string) float64 {
	t.Helper()
	code, body := httpGet(t, srv.HTTPURL()+"/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// ---------------------------------------------------------------------------
// Bad signaling input.
// ---------------------------------------------------------------------------

// validOffer is a publisher offer like a browser's (one Opus track, no
// candidates); building it needs no peer connection.
func validOffer() string {
	fp := make([]string, 32)
	for i := range fp {
		fp[i] = fmt.Sprintf("%02X", i*7+3)
	}
	lines := []string{
		"v=0",
		"o=- 4611731400430051336 2 IN IP4 127.0.0.1",
		"s=-",
		"t=0 0",
		"a=group:BUNDLE 0",
		"a=extmap-allow-mixed",
		"a=msid-semantic: WMS stream",
		"m=audio 9 UDP/TLS/RTP/SAVPF 111",
		"c=IN IP4 0.0.0.0",
		"a=rtcp:9 IN IP4 0.0.0.0",
		"a=ice-ufrag:bAyN",
		"a=ice-pwd:bayanbayanbayanbayanbaya",
		"a=ice-options:trickle",
		"a=fingerprint:sha-256 " + strings.Join(fp, ":"),
		"a=setup:actpass",
		"a=mid:0",
		"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
		"a=sendonly",
		"a=msid:stream TR_mic",
		"a=rtcp-mux",
		"a=rtpmap:111 opus/48000/2",
		"a=fmtp:111 minptime=10;useinbandfec=1",
		"a=ssrc:11111111 cname:bayan",
		"a=ssrc:11111111 msid:stream TR_mic",
	}
	return strings.Join(lines, "\r\n") + "\r\n"
}

// garbageSDPs are offers pion refuses: unparseable ones, and parseable
// ones that lack what a WebRTC offer must carry.
func garbageSDPs() []string {
	valid := validOffer()
	return []string{
		"garbage",
		"v=0\r\n",
		"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio notaport UDP/TLS/RTP/SAVPF 111\r\n",
		valid[:len(valid)/3],
		strings.Repeat("a=x\r\n", 20000),
		"v=0\r\n" + strings.Repeat("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", 2000),
		"\x00\r\n\x7f\x01=",
		// Parseable, but refused only after pion has changed state:
		strings.Replace(valid, "a=fingerprint", "a=fingerprintz", 1),
		strings.Replace(valid, "a=ice-ufrag:bAyN\r\n", "", 1),
		strings.Replace(valid, "a=mid:0\r\n", "", 1),
		strings.Replace(valid, "a=mid:0\r\n", "a=mid:0\r\na=candidate:1 1 udp 1 999.1.1.1 99999 typ host\r\n", 1),
	}
}

// withUnknownField appends a length-delimited field the schema does not know.
func withUnknownField(b []byte, num protowire.Number) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, []byte("from a newer client"))
}

func TestBadSignalInputDoesNotDisturbTheRoom(t *testing.T) {
	watchPanics(t)
	srv := testserver.Start(t, nil)
	const roomName = "bad-input"

	b := wsJoin(t, srv, "bob", testserver.Token(t, roomName, "bob", nil), "")
	b.keepAlive(2 * time.Second)
	// No keep-alive for xavier: its binary pings would switch the answers to
	// its JSON requests back to binary. The test is far shorter than the
	// ping timeout.
	x := wsJoin(t, srv, "xavier", testserver.Token(t, roomName, "xavier", nil), "")
	x.firstOffer()
	x.ping()
	badBefore := metricValue(t, srv, "bayan_signal_bad_frames_total")
	var badSent int

	// Truncated protobuf: every cut of an offer inside its one field.
	offerReq, _ := proto.Marshal(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: validOffer()}}})
	for _, n := range []int{1, 2, 3, 10, len(offerReq) / 2, len(offerReq) - 1} {
		if err := x.sendRaw(websocket.MessageBinary, offerReq[:n]); err != nil {
			t.Fatalf("send truncated: %v", err)
		}
		badSent++
	}
	if got := findFrames(x.ping(), func(m *livekit.SignalResponse) bool { return m.GetAnswer() != nil }); len(got) != 0 {
		t.Fatalf("a truncated offer was answered: %v", got)
	}

	// Random binary garbage (only frames the codec refuses: a random frame
	// that happens to decode, to a leave say, is not garbage).
	rng := rand.New(rand.NewPCG(1, 2))
	for sent := 0; sent < 300; {
		frame := make([]byte, 1+rng.IntN(3000))
		for i := range frame {
			frame[i] = byte(rng.UintN(256))
		}
		if _, err := signaling.DecodeRequest(frame, false); err == nil {
			continue
		}
		if err := x.sendRaw(websocket.MessageBinary, frame); err != nil {
			t.Fatalf("send garbage: %v", err)
		}
		sent++
		badSent++
	}
	skipped := x.ping()

	// Text frames that are not JSON, or not a SignalRequest.
	for _, s := range []string{"hello, server", "{", `{"ping_req":`, "\x00\x01\x02", "[]", "null", `{"no_such_message":{}}`, "\xff\xfe{}"} {
		if err := x.sendRaw(websocket.MessageText, []byte(s)); err != nil {
			t.Fatalf("send text: %v", err)
		}
		badSent++
	}
	skipped = append(skipped, x.ping()...)
	for _, f := range skipped {
		if f.msg == nil {
			continue
		}
		switch f.msg.Message.(type) {
		case *livekit.SignalResponse_Answer, *livekit.SignalResponse_Leave, *livekit.SignalResponse_TrackPublished:
			t.Fatalf("garbage frames got a %v", f)
		}
	}

	// Valid protojson in a text frame is understood, and answered in kind.
	if err := x.sendRaw(websocket.MessageText, []byte(`{"ping_req":{"timestamp":"1"}}`)); err != nil {
		t.Fatal(err)
	}
	pong, _ := x.expect("pong_resp to a JSON ping", 10*time.Second, func(f wsFrame) bool {
		return f.msg.GetPongResp().GetLastPingTimestamp() == 1
	})
	if pong.typ != websocket.MessageText {
		t.Errorf("a JSON ping_req was answered with a %v frame, want a text frame", pong.typ)
	}
	if err := x.sendRaw(websocket.MessageText, []byte(`{"ping":"77"}`)); err != nil {
		t.Fatal(err)
	}
	pong, _ = x.expect("pong to a JSON ping", 10*time.Second, func(f wsFrame) bool { return f.msg.GetPong() != 0 })
	if pong.typ != websocket.MessageText {
		t.Errorf("a JSON ping was answered with a %v frame, want a text frame", pong.typ)
	}
	// ...and a binary request switches the answers back to binary.
	x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: 2}}})
	pong, _ = x.expect("binary pong_resp", 10*time.Second, func(f wsFrame) bool { return f.msg.GetPongResp().GetLastPingTimestamp() == 2 })
	if pong.typ != websocket.MessageBinary {
		t.Errorf("a binary ping_req was answered with a %v frame, want binary", pong.typ)
	}

	// Unknown field numbers: alone the frame carries no request and is
	// dropped; next to a known message, or inside one, they are ignored.
	if err := x.sendRaw(websocket.MessageBinary, withUnknownField(nil, 999)); err != nil {
		t.Fatal(err)
	}
	badSent++
	ping3, _ := proto.Marshal(&livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: 3}}})
	if err := x.sendRaw(websocket.MessageBinary, withUnknownField(ping3, 999)); err != nil {
		t.Fatal(err)
	}
	x.expect("pong_resp to a ping with an unknown field", 10*time.Second, func(f wsFrame) bool { return f.msg.GetPongResp().GetLastPingTimestamp() == 3 })
	inner := withUnknownField(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 4), 77)
	ping4 := protowire.AppendBytes(protowire.AppendTag(nil, 16, protowire.BytesType), inner)
	if err := x.sendRaw(websocket.MessageBinary, ping4); err != nil {
		t.Fatal(err)
	}
	x.expect("pong_resp to a ping carrying an unknown field", 10*time.Second, func(f wsFrame) bool { return f.msg.GetPongResp().GetLastPingTimestamp() == 4 })

	// A valid offer is answered (the refusals below come from the SDP, not
	// from a connection that cannot negotiate).
	x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: validOffer(), Id: 1}}})
	ans, _ := x.expect("answer to a valid offer", 10*time.Second, func(f wsFrame) bool { return f.msg.GetAnswer() != nil })
	if ans.msg.GetAnswer().GetId() != 1 || !strings.Contains(ans.msg.GetAnswer().GetSdp(), "m=audio") {
		t.Errorf("answer: id %d, sdp %q", ans.msg.GetAnswer().GetId(), ans.msg.GetAnswer().GetSdp())
	}
	// Offers with garbage SDP: no answer, an error reply, still connected.
	// (Whether a valid offer is answered after them is
	// TestBadSDPDoesNotWedgeNegotiation's business.)
	for i, sdp := range garbageSDPs() {
		x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: sdp, Id: uint32(100 + i)}}})
		skipped := x.ping()
		if a := findFrames(skipped, func(m *livekit.SignalResponse) bool { return m.GetAnswer() != nil }); len(a) != 0 {
			t.Fatalf("garbage offer %d was answered", i)
		}
		rr := requestResponses(skipped)
		if len(rr) != 1 || rr[0].GetReason() != livekit.RequestResponse_INVALID_REQUEST {
			t.Errorf("garbage offer %d: got request responses %v, want one INVALID_REQUEST", i, rr)
		}
	}
	// An empty offer and a garbage answer are refused the same way.
	x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{}}})
	x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Answer{Answer: &livekit.SessionDescription{Type: "answer", Sdp: "garbage"}}})
	if rr := requestResponses(x.ping()); len(rr) != 2 {
		t.Errorf("empty offer + garbage answer: got %v, want two refusals", rr)
	}

	// Every single-line deletion of a valid offer: answered or refused, never
	// a dropped connection.
	lines := strings.SplitAfter(validOffer(), "\r\n")
	for i := range lines {
		mutated := strings.Join(append(append([]string(nil), lines[:i]...), lines[i+1:]...), "")
		x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: mutated, Id: uint32(1000 + i)}}})
		x.ping()
	}

	// Trickles with garbage candidates, for both connections.
	for _, cand := range []string{
		"not json", "", "{", `{"candidate":"garbage"}`, `{"candidate":""}`, `{}`, `null`, `[]`,
		`{"candidate":"candidate:1 1 udp 2130706431 999.1.1.1 99999 typ host","sdpMid":"0","sdpMLineIndex":0}`,
		`{"candidate":"candidate:1 1 udp x y z typ","sdpMLineIndex":65535}`,
		`{"candidate":"candidate:1 1 udp 1 10.0.0.1 5000 typ relay raddr","sdpMid":"no-such-mid"}`,
		`{"candidate":"` + strings.Repeat("a", 100000) + `"}`,
	} {
		for _, target := range []livekit.SignalTarget{livekit.SignalTarget_PUBLISHER, livekit.SignalTarget_SUBSCRIBER, 42} {
			x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{CandidateInit: cand, Target: target}}})
		}
	}
	// Many trickles before the subscriber has an answer: queued, bounded.
	for i := 0; i < 500; i++ {
		x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{
			CandidateInit: fmt.Sprintf(`{"candidate":"candidate:%d 1 udp 1 999.0.0.%d 1 typ host"}`, i, i), Target: livekit.SignalTarget_SUBSCRIBER,
		}}})
	}
	x.ping()

	// Mute of a track that does not exist: NOT_FOUND, nothing else.
	x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Mute{Mute: &livekit.MuteTrackRequest{Sid: "TR_doesnotexist", Muted: true}}})
	x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Mute{Mute: &livekit.MuteTrackRequest{}}})
	skipped = x.ping()
	rr := requestResponses(skipped)
	if len(rr) != 2 || rr[0].GetReason() != livekit.RequestResponse_NOT_FOUND || rr[1].GetReason() != livekit.RequestResponse_NOT_FOUND {
		t.Errorf("mute of unknown tracks: got %v, want two NOT_FOUND", rr)
	}
	if m := findFrames(skipped, func(m *livekit.SignalResponse) bool { return m.GetMute() != nil }); len(m) != 0 {
		t.Errorf("mute of an unknown track echoed: %v", m)
	}

	// Requests for things that do not exist, and every request type with an
	// empty body (leave excepted: it would end the test).
	x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Subscription{Subscription: &livekit.UpdateSubscription{TrackSids: []string{"TR_nope", ""}, Subscribe: true}}})
	x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Subscription{Subscription: &livekit.UpdateSubscription{TrackSids: []string{"TR_nope"}}}})
	x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_TrackSetting{TrackSetting: &livekit.UpdateTrackSettings{TrackSids: []string{"TR_nope"}, Disabled: true}}})
	oneof := (&livekit.SignalRequest{}).ProtoReflect().Descriptor().Oneofs().ByName("message")
	for i := 0; i < oneof.Fields().Len(); i++ {
		fd := oneof.Fields().Get(i)
		if fd.Name() == "leave" {
			continue
		}
		req := &livekit.SignalRequest{}
		m := req.ProtoReflect()
		if fd.Message() != nil {
			m.Set(fd, protoreflect.ValueOfMessage(m.NewField(fd).Message()))
		} else {
			m.Set(fd, m.NewField(fd))
		}
		x.send(req)
	}
	x.ping()

	// AddTrack flood: bounded, never more pending tracks than the limit.
	for i := 0; i < 100; i++ {
		x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{
			Cid: fmt.Sprintf("flood-%d", i), Type: livekit.TrackType_AUDIO, Source: livekit.TrackSource_MICROPHONE,
		}}})
	}
	skipped = x.ping()
	published := findFrames(skipped, func(m *livekit.SignalResponse) bool { return m.GetTrackPublished() != nil })
	if len(published) == 0 || len(published) > 64 {
		t.Errorf("AddTrack flood: %d TrackPublished, want between 1 and 64", len(published))
	}

	// Bob has seen nothing of all this but participant updates.
	for _, f := range b.all() {
		if f.msg == nil {
			t.Fatalf("bob got an undecodable frame: %v", f.err)
		}
		switch f.msg.Message.(type) {
		case *livekit.SignalResponse_Leave, *livekit.SignalResponse_RequestResponse, *livekit.SignalResponse_Answer:
			t.Fatalf("bob got %v because of xavier's garbage", f)
		}
	}
	b.ping()

	if got := metricValue(t, srv, "bayan_signal_bad_frames_total") - badBefore; got != float64(badSent) {
		t.Errorf("bad frames counted: %v, want %d", got, badSent)
	}

	// A frame over MaxFrameSize closes that socket, with a close status.
	big := bytes.Repeat([]byte{0x0a}, signaling.MaxFrameSize+1)
	_ = x.sendRaw(websocket.MessageBinary, big)
	err := x.waitClosed(10 * time.Second)
	if st := websocket.CloseStatus(err); st != websocket.StatusMessageTooBig {
		t.Errorf("oversize frame: connection ended with %v (status %v), want %v", err, st, websocket.StatusMessageTooBig)
	}

	// The node and bob carry on; a newcomer can join and sees bob.
	checkHealthy(t, srv)
	b.ping()
	y := wsJoin(t, srv, "yasmin", testserver.Token(t, roomName, "yasmin", nil), "")
	sawBob := false
	for _, p := range y.join.GetOtherParticipants() {
		sawBob = sawBob || p.GetIdentity() == "bob"
	}
	if !sawBob {
		t.Errorf("yasmin's JoinResponse does not list bob: %v", y.join.GetOtherParticipants())
	}
	b.expect("participant update for yasmin", 10*time.Second, func(f wsFrame) bool {
		for _, p := range f.msg.GetUpdate().GetParticipants() {
			if p.GetIdentity() == "yasmin" {
				return true
			}
		}
		return false
	})
	y.ping()
	b.ping()
	if rm := srv.Rooms().Room(roomName); rm == nil || rm.Participant("bob") == nil {
		t.Fatal("bob is no longer in the room")
	}
}

// An oversize text frame is refused the same way, and a JSON client (one
// that asked for format=json) gets text frames from the start.
func TestBadSignalInputJSONClient(t *testing.T) {
	watchPanics(t)
	srv := testserver.Start(t, nil)
	j := wsJoin(t, srv, "jamila", testserver.Token(t, "json", "jamila", nil), "format=json")
	for _, f := range j.all() {
		if f.typ != websocket.MessageText {
			t.Fatalf("format=json client got a %v frame", f.typ)
		}
	}
	if err := j.sendRaw(websocket.MessageText, []byte(`{"pingReq":{"timestamp":"9"}}`)); err != nil {
		t.Fatal(err)
	}
	pong, _ := j.expect("pong_resp", 10*time.Second, func(f wsFrame) bool { return f.msg.GetPongResp().GetLastPingTimestamp() == 9 })
	if pong.typ != websocket.MessageText {
		t.Fatalf("pong in a %v frame", pong.typ)
	}
	for _, s := range []string{"not json", `{"offer":{"sdp":"garbage"}}`, `{"trickle":{"candidateInit":"garbage"}}`, `{"mute":{"sid":"TR_x"}}`} {
		if err := j.sendRaw(websocket.MessageText, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.sendRaw(websocket.MessageText, []byte(`{"pingReq":{"timestamp":"10"}}`)); err != nil {
		t.Fatal(err)
	}
	_, skipped := j.expect("pong_resp", 10*time.Second, func(f wsFrame) bool { return f.msg.GetPongResp().GetLastPingTimestamp() == 10 })
	if rr := requestResponses(skipped); len(rr) != 3 {
		t.Errorf("got request responses %v, want three refusals", rr)
	}
	big := `{"update_metadata":{"metadata":"` + strings.Repeat("m", signaling.MaxFrameSize) + `"}}`
	_ = j.sendRaw(websocket.MessageText, []byte(big))
	err := j.waitClosed(10 * time.Second)
	if st := websocket.CloseStatus(err); st != websocket.StatusMessageTooBig {
		t.Errorf("oversize text frame: connection ended with %v, want status %v", err, websocket.StatusMessageTooBig)
	}
	checkHealthy(t, srv)
	if p := srv.Rooms().Room("json").Participant("jamila"); p != nil && len(p.Info().GetMetadata()) > 0 {
		t.Errorf("oversize frame changed the metadata")
	}
}

// ---------------------------------------------------------------------------
// Garbage on the ICE UDP port.
// ---------------------------------------------------------------------------

// garbageDatagrams returns n datagrams: random bytes, and random tails
// behind RTP, RTCP, STUN and DTLS headers. ufrags, when known, make some
// STUN binding requests well formed but for the wrong password, so that
// they reach an ICE agent and fail its integrity check.
func garbageDatagrams(rng *rand.Rand, n int, ufrags []string) [][]byte {
	randBytes := func(k int) []byte {
		b := make([]byte, k)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	out := make([][]byte, 0, n)
	for len(out) < n {
		var d []byte
		switch rng.IntN(7) {
		case 0: // anything
			d = randBytes(1 + rng.IntN(1400))
		case 1: // RTP: version 2, audio/video payload types
			d = randBytes(12 + rng.IntN(1200))
			d[0] = 0x80 | d[0]&0x3f
			d[1] = []byte{111, 96, 98, 35, 125, 0xef}[rng.IntN(6)] | d[1]&0x80
		case 2: // RTCP: SR, RR, SDES, BYE, APP, RTPFB, PSFB
			d = randBytes(8 + rng.IntN(400))
			d[0] = 0x80 | d[0]&0x1f
			d[1] = byte(200 + rng.IntN(7))
			binary.BigEndian.PutUint16(d[2:], uint16(len(d)/4-1))
		case 3: // STUN header, random attributes
			d = randBytes(20 + rng.IntN(300))
			binary.BigEndian.PutUint16(d[0:], []uint16{0x0001, 0x0101, 0x0111, 0x0003}[rng.IntN(4)])
			binary.BigEndian.PutUint16(d[2:], uint16(len(d)-20))
			binary.BigEndian.PutUint32(d[4:], 0x2112A442) // STUN magic cookie
		case 4: // DTLS records: handshake, alert, application data, CCS
			d = randBytes(13 + rng.IntN(500))
			d[0] = []byte{20, 21, 22, 23}[rng.IntN(4)]
			d[1], d[2] = 0xfe, []byte{0xfd, 0xff}[rng.IntN(2)]
			binary.BigEndian.PutUint16(d[11:], uint16(len(d)-13))
		case 5: // well-formed binding request, wrong credentials
			user := fmt.Sprintf("%x:%x", rng.Uint32(), rng.Uint32())
			if len(ufrags) > 0 {
				user = ufrags[rng.IntN(len(ufrags))] + fmt.Sprintf(":%x", rng.Uint32())
			}
			m, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername(user),
				stun.NewShortTermIntegrity(fmt.Sprintf("%x", rng.Uint64())), stun.Fingerprint)
			if err != nil {
				panic(err)
			}
			d = append([]byte(nil), m.Raw...)
		case 6: // tiny and empty-ish datagrams
			d = randBytes(rng.IntN(4))
		}
		out = append(out, d)
	}
	return out
}

// blastUDP sends datagrams to dst from a few local sockets.
func blastUDP(t testing.TB, dst *net.UDPAddr, datagrams [][]byte) {
	t.Helper()
	var conns []*net.UDPConn
	for i := 0; i < 4; i++ {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatalf("local UDP socket: %v", err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, d := range datagrams {
		_, _ = conns[i%len(conns)].WriteToUDP(d, dst)
		if i%200 == 199 {
			time.Sleep(2 * time.Millisecond) // let the socket buffer drain a little
		}
	}
}

// iceUfrags returns the ice-ufrag values in an SDP.
func iceUfrags(sdp string) []string {
	var out []string
	for _, l := range strings.Split(sdp, "\r\n") {
		if u, ok := strings.CutPrefix(l, "a=ice-ufrag:"); ok {
			out = append(out, u)
		}
	}
	return out
}

func TestUDPGarbageKeepsNodeHealthy(t *testing.T) {
	watchPanics(t)
	srv := testserver.Start(t, nil)
	b := wsJoin(t, srv, "bob", testserver.Token(t, "udp", "bob", nil), "")
	b.keepAlive(2 * time.Second)
	ufrags := iceUfrags(b.firstOffer())
	if len(ufrags) == 0 {
		t.Fatal("no ice-ufrag in the subscriber offer")
	}
	// Give the publisher connection a remote description too, so that its
	// ICE agent runs.
	b.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: validOffer(), Id: 1}}})
	ans, _ := b.expect("answer", 10*time.Second, func(f wsFrame) bool { return f.msg.GetAnswer() != nil })
	ufrags = append(ufrags, iceUfrags(ans.msg.GetAnswer().GetSdp())...)

	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.UDPPort()}
	rng := rand.New(rand.NewPCG(3, 4))
	start := time.Now()
	for round := 0; round < 3; round++ {
		blastUDP(t, dst, garbageDatagrams(rng, 1500, ufrags))
		checkHealthy(t, srv)
		b.ping()
	}
	t.Logf("sent 4500 garbage datagrams in %v", time.Since(start))

	checkHealthy(t, srv)
	b.ping()
	c := wsJoin(t, srv, "carol", testserver.Token(t, "udp", "carol", nil), "")
	c.firstOffer()
	c.ping()
	if rm := srv.Rooms().Room("udp"); rm == nil || len(rm.Participants()) != 2 {
		t.Fatalf("room after the garbage: %v", rm)
	}
}

// ---------------------------------------------------------------------------
// Garbage on the ICE UDP port while media flows (WebRTC: test namespace).
// ---------------------------------------------------------------------------

// fiveTuples returns the local and remote addresses of the selected ICE
// pairs of a room's peer connections.
func fiveTuples(r *lksdk.Room) [][2]*net.UDPAddr {
	var out [][2]*net.UDPAddr
	seen := map[string]bool{}
	add := func(tr *webrtc.DTLSTransport) {
		if tr == nil || tr.ICETransport() == nil {
			return
		}
		pair, err := tr.ICETransport().GetSelectedCandidatePair()
		if err != nil || pair == nil || pair.Local == nil || pair.Remote == nil || pair.Local.Protocol != webrtc.ICEProtocolUDP {
			return
		}
		l := &net.UDPAddr{IP: net.ParseIP(pair.Local.Address), Port: int(pair.Local.Port)}
		rem := &net.UDPAddr{IP: net.ParseIP(pair.Remote.Address), Port: int(pair.Remote.Port)}
		if l.IP == nil || rem.IP == nil || l.IP.To4() == nil || seen[l.String()] {
			return
		}
		seen[l.String()] = true
		out = append(out, [2]*net.UDPAddr{l, rem})
	}
	for _, pc := range []*webrtc.PeerConnection{r.LocalParticipant.GetPublisherPeerConnection(), r.LocalParticipant.GetSubscriberPeerConnection()} {
		if pc == nil {
			continue
		}
		for _, s := range pc.GetSenders() {
			add(s.Transport())
		}
		for _, rc := range pc.GetReceivers() {
			add(rc.Transport())
		}
		if sctp := pc.SCTP(); sctp != nil {
			add(sctp.Transport())
		}
	}
	return out
}

// sendSSRCs returns the SSRCs a room's peer connections send and receive.
func sendSSRCs(r *lksdk.Room) []uint32 {
	var out []uint32
	for _, pc := range []*webrtc.PeerConnection{r.LocalParticipant.GetPublisherPeerConnection(), r.LocalParticipant.GetSubscriberPeerConnection()} {
		if pc == nil {
			continue
		}
		for _, s := range pc.GetSenders() {
			for _, e := range s.GetParameters().Encodings {
				out = append(out, uint32(e.SSRC))
			}
		}
		for _, rc := range pc.GetReceivers() {
			for _, tr := range rc.Tracks() {
				out = append(out, uint32(tr.SSRC()))
			}
		}
	}
	return out
}

// targetedGarbage is garbage aimed at one established session: RTP and
// RTCP carrying the session's real SSRCs with random (unauthenticated)
// bodies, and DTLS alert records, plaintext (epoch 0) and "encrypted"
// (epoch 1), the way an off-path attacker who knows the 5-tuple would try
// to tear the session down.
func targetedGarbage(rng *rand.Rand, n int, ssrcs []uint32) [][]byte {
	out := make([][]byte, 0, n)
	for len(out) < n {
		var d []byte
		switch rng.IntN(4) {
		case 0, 1: // RTP with a real SSRC
			d = make([]byte, 12+rng.IntN(300))
			for i := range d {
				d[i] = byte(rng.UintN(256))
			}
			d[0], d[1] = 0x80, []byte{111, 96, 0xef}[rng.IntN(3)]
			if len(ssrcs) > 0 {
				binary.BigEndian.PutUint32(d[8:], ssrcs[rng.IntN(len(ssrcs))])
			}
		case 2: // RTCP BYE / PLI / NACK for a real SSRC, SRTCP-sized
			ssrc := rng.Uint32()
			if len(ssrcs) > 0 {
				ssrc = ssrcs[rng.IntN(len(ssrcs))]
			}
			switch rng.IntN(3) {
			case 0:
				d = []byte{0x81, 203, 0, 1, 0, 0, 0, 0}
				binary.BigEndian.PutUint32(d[4:], ssrc)
			case 1:
				d = []byte{0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0}
				binary.BigEndian.PutUint32(d[8:], ssrc)
			default:
				d = []byte{0x81, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0xff, 0xff}
				binary.BigEndian.PutUint32(d[8:], ssrc)
			}
			tail := make([]byte, 4+10) // SRTCP index and auth tag
			for i := range tail {
				tail[i] = byte(rng.UintN(256))
			}
			d = append(d, tail...)
		case 3: // DTLS alert: fatal close_notify / handshake_failure
			epoch := uint16(rng.IntN(2))
			body := []byte{2, []byte{0, 40, 10}[rng.IntN(3)]}
			if epoch == 1 {
				body = make([]byte, 2+8+16) // explicit nonce, ciphertext, tag
				for i := range body {
					body[i] = byte(rng.UintN(256))
				}
			}
			d = []byte{21, 0xfe, 0xfd, byte(epoch >> 8), byte(epoch), 0, 0, 0, 0, byte(rng.UintN(256)), byte(rng.UintN(256)), 0, byte(len(body))}
			d = append(d, body...)
		}
		out = append(out, d)
	}
	return out
}

// spoof sends datagrams that claim to come from src, through a raw
// socket; it reports false when raw sockets are not available.
func spoof(t testing.TB, src, dst *net.UDPAddr, datagrams [][]byte) bool {
	t.Helper()
	pc, err := net.ListenPacket("ip4:udp", "127.0.0.1")
	if err != nil {
		t.Logf("no raw socket (%v): spoofed garbage skipped", err)
		return false
	}
	defer pc.Close()
	raw, err := ipv4.NewRawConn(pc)
	if err != nil {
		t.Logf("no raw IP conn (%v): spoofed garbage skipped", err)
		return false
	}
	for i, d := range datagrams {
		udp := make([]byte, 8, 8+len(d))
		binary.BigEndian.PutUint16(udp[0:], uint16(src.Port))
		binary.BigEndian.PutUint16(udp[2:], uint16(dst.Port))
		binary.BigEndian.PutUint16(udp[4:], uint16(8+len(d)))
		udp = append(udp, d...) // checksum 0: none, valid for IPv4
		h := &ipv4.Header{Version: ipv4.Version, Len: ipv4.HeaderLen, TotalLen: ipv4.HeaderLen + len(udp),
			TTL: 64, Protocol: 17, Src: src.IP.To4(), Dst: dst.IP.To4()}
		if err := raw.WriteTo(h, udp, nil); err != nil {
			t.Logf("raw write: %v: spoofed garbage skipped", err)
			return false
		}
		if i%200 == 199 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	return true
}

func TestUDPGarbageWhileMediaFlows(t *testing.T) {
	testnet.Require(t)
	watchPanics(t)
	srv := testserver.Start(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var packets atomic.Int64
	var lastSeq atomic.Int64
	var outOfOrder atomic.Int64
	cCB := lksdk.NewRoomCallback()
	cCB.OnTrackSubscribed = func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
		go func() {
			prev := -1
			for {
				pkt, _, err := track.ReadRTP()
				if err != nil {
					return
				}
				if prev >= 0 && int16(pkt.SequenceNumber-uint16(prev)) <= 0 {
					outOfOrder.Add(1)
				}
				prev = int(pkt.SequenceNumber)
				lastSeq.Store(int64(pkt.SequenceNumber))
				packets.Add(1)
			}
		}()
	}
	c := testserver.Join(t, srv, testserver.Token(t, "udp-media", "carol", nil), cCB)
	a := testserver.Join(t, srv, testserver.Token(t, "udp-media", "alice", nil), nil)

	payload := bytes.Repeat([]byte{0xAB}, 120)
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	publishSamples(ctx, t, a, opus, "mic", 20*time.Millisecond, func(uint32) ([]byte, *lksdk.SampleWriteOptions) { return payload, nil })

	testwait.For(t, "carol to receive 50 audio packets", 15*time.Second, func() bool { return packets.Load() >= 50 })

	// Garbage from fresh sockets (dropped by the UDP mux as unknown) and,
	// when raw sockets are available, garbage claiming to come from alice's
	// and carol's own addresses, which reaches their ICE, DTLS and SRTP
	// sessions on the server.
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.UDPPort()}
	var tuples [][2]*net.UDPAddr
	var ssrcs []uint32
	for _, r := range []*lksdk.Room{a, c} {
		tuples = append(tuples, fiveTuples(r)...)
		ssrcs = append(ssrcs, sendSSRCs(r)...)
	}
	t.Logf("client 5-tuples: %v, SSRCs %v", tuples, ssrcs)
	rng := rand.New(rand.NewPCG(5, 6))
	before := packets.Load()
	beforeIn := srv.Stats().PacketsIn.Load()
	deadline := time.Now().Add(time.Second)
	sent, spoofed := 0, 0
	for time.Now().Before(deadline) {
		blastUDP(t, dst, garbageDatagrams(rng, 400, nil))
		sent += 400
		for _, tu := range tuples {
			if tu[1].Port != srv.UDPPort() {
				continue
			}
			if spoof(t, tu[0], tu[1], garbageDatagrams(rng, 100, nil)) {
				spoofed += 100
			}
			if spoof(t, tu[0], tu[1], targetedGarbage(rng, 100, ssrcs)) {
				spoofed += 100
			}
		}
	}
	t.Logf("sent %d garbage datagrams, %d of them spoofed from the clients' addresses", sent+spoofed, spoofed)
	during := packets.Load() - before
	t.Logf("carol received %d audio packets during the %v blast", during, time.Since(deadline.Add(-time.Second)))

	testwait.For(t, "carol to keep receiving alice's audio", 10*time.Second, func() bool { return packets.Load() >= before+during+100 })
	if during < 20 {
		t.Errorf("only %d audio packets reached carol during the 1 s blast", during)
	}
	if n := outOfOrder.Load(); n != 0 {
		t.Errorf("%d packets arrived out of order", n)
	}
	if srv.Stats().PacketsIn.Load() <= beforeIn {
		t.Error("the server stopped counting alice's packets")
	}
	if st := a.ConnectionState(); st != lksdk.ConnectionStateConnected {
		t.Errorf("alice: %v", st)
	}
	if st := c.ConnectionState(); st != lksdk.ConnectionStateConnected {
		t.Errorf("carol: %v", st)
	}
	checkHealthy(t, srv)
}

// mirrorAnswer turns the server's subscriber offer into the answer a
// client could send back (its own ICE credentials and fingerprint, no
// candidates, receive only).
func mirrorAnswer(offer string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(offer, "\r\n"), "\r\n") {
		switch {
		case strings.HasPrefix(l, "a=candidate"), strings.HasPrefix(l, "a=end-of-candidates"):
			continue
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			l = "a=ice-ufrag:cLnT"
		case strings.HasPrefix(l, "a=ice-pwd:"):
			l = "a=ice-pwd:clientclientclientclient"
		case strings.HasPrefix(l, "a=setup:"):
			l = "a=setup:active"
		case l == "a=sendonly", l == "a=sendrecv":
			l = "a=recvonly"
		case strings.HasPrefix(l, "a=fingerprint:"):
			l = "a=fingerprint:sha-256 " + strings.Repeat("AB:", 31) + "AB"
		}
		out = append(out, l)
	}
	return strings.Join(out, "\r\n") + "\r\n"
}

// A refused offer or answer must leave the connection able to negotiate:
// otherwise one malformed description from a client stops it publishing
// (publisher connection stuck in have-remote-offer) or receiving new
// tracks (subscriber transport waiting forever for an answer).
func TestBadSDPDoesNotWedgeNegotiation(t *testing.T) {
	watchPanics(t)
	srv := testserver.Start(t, nil)
	for i, sdp := range garbageSDPs() {
		x := wsJoin(t, srv, fmt.Sprintf("offer-%d", i), testserver.Token(t, "wedge", fmt.Sprintf("o%d", i), nil), "")
		x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: sdp, Id: 1}}})
		x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: validOffer(), Id: 2}}})
		skipped := x.ping()
		if a := findFrames(skipped, func(m *livekit.SignalResponse) bool { return m.GetAnswer().GetId() == 2 }); len(a) != 1 {
			t.Errorf("after garbage offer %d, a valid offer was not answered: %v", i, requestResponses(skipped))
		}
	}

	valid := func(offer string) string { return mirrorAnswer(offer) }
	badAnswers := map[string]func(offer string) string{
		"garbage":        func(string) string { return "garbage" },
		"no fingerprint": func(o string) string { return strings.Replace(valid(o), "a=fingerprint", "a=fingerprintz", -1) },
		"no ice-pwd":     func(o string) string { return strings.Replace(valid(o), "a=ice-pwd:", "a=ice-pwdz:", -1) },
		"bad candidate": func(o string) string {
			return strings.Replace(valid(o), "a=setup:active\r\n", "a=setup:active\r\na=candidate:1 1 udp 1 999.1.1.1 99999 typ host\r\n", 1)
		},
	}
	for name, bad := range badAnswers {
		x := wsJoin(t, srv, "answer-"+name, testserver.Token(t, "wedge", "a-"+strings.ReplaceAll(name, " ", "-"), nil), "")
		offer := x.firstOffer()
		x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Answer{Answer: &livekit.SessionDescription{Type: "answer", Sdp: bad(offer)}}})
		if rr := requestResponses(x.ping()); len(rr) != 1 {
			t.Errorf("answer %q: got %v, want one refusal", name, rr)
		}
		x.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Answer{Answer: &livekit.SessionDescription{Type: "answer", Sdp: valid(offer)}}})
		if rr := requestResponses(x.ping()); len(rr) != 0 {
			t.Errorf("after a refused answer (%s), the valid answer was refused too: %v", name, rr)
		}
	}
}

// When the same identity joins again, the older session is replaced; what
// that stale session sends afterwards must not touch its replacement.
func TestStaleSessionCannotRemoveItsReplacement(t *testing.T) {
	watchPanics(t)
	srv := testserver.Start(t, nil)
	tok := testserver.Token(t, "dup", "dana", func(g *auth.VideoGrant) { g.SetCanUpdateOwnMetadata(true) })
	old := wsJoin(t, srv, "dana (first tab)", tok, "")
	watcher := wsJoin(t, srv, "walid", testserver.Token(t, "dup", "walid", nil), "")
	cur := wsJoin(t, srv, "dana (second tab)", tok, "")
	leave, _ := old.expect("leave for the replaced session", 10*time.Second, func(f wsFrame) bool { return f.msg.GetLeave() != nil })
	if r := leave.msg.GetLeave().GetReason(); r != livekit.DisconnectReason_DUPLICATE_IDENTITY {
		t.Errorf("replaced session told %v, want DUPLICATE_IDENTITY", r)
	}
	sid := cur.join.GetParticipant().GetSid()

	// The stale socket is still open: it renames and leaves.
	old.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_UpdateMetadata{UpdateMetadata: &livekit.UpdateParticipantMetadata{Name: "stale"}}})
	old.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{Reason: livekit.DisconnectReason_CLIENT_INITIATED}}})
	old.waitClosed(10 * time.Second)

	cur.ping()
	watcher.ping()
	p := srv.Rooms().Room("dup").Participant("dana")
	if p == nil || p.SID() != sid {
		t.Fatalf("the stale session's leave removed its replacement (now %v)", p)
	}
	if n := p.Info().GetName(); n != "dana" {
		t.Errorf("the stale session renamed its replacement to %q", n)
	}
	for _, f := range cur.all() {
		if f.msg.GetLeave() != nil {
			t.Fatalf("the current session was told to leave: %v", f.msg.GetLeave())
		}
	}
	// Nor what the others see: clients know participants by identity, and
	// news of the stale session would be taken as news of dana.
	if got := watcher.view()["dana"]; got.GetSid() != sid || got.GetName() != "dana" {
		t.Errorf("walid sees dana as %v, want the current session %s", got, sid)
	}
}

// ParticipantInfo.client_protocol is the client's feature level from
// ClientInfo (query parameter client_protocol), not the signaling
// protocol: livekit-client reads 2 or more as "understands single-packet
// data streams" and would send those to clients that do not.
func TestClientProtocolIsTheClients(t *testing.T) {
	srv := testserver.Start(t, nil)
	plain := wsJoin(t, srv, "plain", testserver.Token(t, "cp", "plain", nil), "")
	if got := plain.join.GetParticipant().GetClientProtocol(); got != 0 {
		t.Errorf("a client that said nothing has client_protocol %d, want 0 (the signaling protocol is 16)", got)
	}
	told := wsJoin(t, srv, "told", testserver.Token(t, "cp", "told", nil), "client_protocol=1")
	if got := told.join.GetParticipant().GetClientProtocol(); got != 1 {
		t.Errorf("client_protocol=1 joined as %d", got)
	}
	for _, o := range told.join.GetOtherParticipants() {
		if o.GetIdentity() == "plain" && o.GetClientProtocol() != 0 {
			t.Errorf("the others see plain's client_protocol as %d", o.GetClientProtocol())
		}
	}
}

// ServerInfo.version is the LiveKit server version whose features Bayan
// provides, which the SDKs gate features on (livekit-client refuses RPC
// below 1.8.0); Bayan's own version is in the debug info.
func TestServerInfoVersionForSDKs(t *testing.T) {
	srv := testserver.Start(t, nil)
	c := wsJoin(t, srv, "v", testserver.Token(t, "v", "v", nil), "")
	info := c.join.GetServerInfo()
	if info.GetVersion() != server.LiveKitVersion || c.join.GetServerVersion() != server.LiveKitVersion {
		t.Errorf("server info version %q (join's %q), want %q", info.GetVersion(), c.join.GetServerVersion(), server.LiveKitVersion)
	}
	if info.GetDebugInfo() != "bayan "+server.Version || info.GetProtocol() != server.ProtocolVersion {
		t.Errorf("server info %v", info)
	}
}
