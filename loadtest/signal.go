package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// A minimal LiveKit signaling client: a WebSocket to /rtc carrying binary
// protobuf SignalRequest and SignalResponse frames.

// clientProtocol is the LiveKit signaling protocol version announced.
const clientProtocol = "16"

// signalDialTimeout bounds the WebSocket handshake and the JoinResponse,
// as livekit-client's websocketTimeout does (15 s): under a join storm the
// server makes joins wait their turn (signal.join_wait, 10 s) before the
// handshake completes.
const signalDialTimeout = 15 * time.Second

// signalWriteTimeout bounds one frame write.
const signalWriteTimeout = 5 * time.Second

// signalClient is one participant's signaling connection. send may be
// called from any goroutine; read only from one.
type signalClient struct {
	conn  *websocket.Conn
	tally *signalTally // counts what is read
}

// joinError is a join the server refused over HTTP (wrong key, wrong path).
type joinError struct {
	status int
	body   string
	err    error
}

func (e *joinError) Error() string {
	if e.status == 0 {
		return e.err.Error()
	}
	if e.body != "" {
		return fmt.Sprintf("HTTP %d: %s", e.status, e.body)
	}
	return fmt.Sprintf("HTTP %d: %v", e.status, e.err)
}

func (e *joinError) Unwrap() error { return e.err }

// wsBase returns the server URL with a ws or wss scheme.
func wsBase(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("bad --url %q: %w", raw, err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("bad --url %q: the scheme must be ws, wss, http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("bad --url %q: no host", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// HTTPBase returns the server URL with an http or https scheme, as the
// HTTP API and /metrics are served.
func HTTPBase(raw string) (string, error) {
	u, err := wsBase(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme == "wss" {
		u.Scheme = "https"
	} else {
		u.Scheme = "http"
	}
	return u.String(), nil
}

// DefaultMetricsURL is the server's /metrics next to the signaling URL.
func DefaultMetricsURL(raw string) (string, error) {
	base, err := HTTPBase(raw)
	if err != nil {
		return "", err
	}
	return base + "/metrics", nil
}

// rtcURL is the /rtc URL a participant joins with.
func rtcURL(base, token string, autoSubscribe bool) (string, error) {
	u, err := wsBase(base)
	if err != nil {
		return "", err
	}
	u.Path += "/rtc"
	q := url.Values{}
	q.Set("access_token", token)
	q.Set("protocol", clientProtocol)
	q.Set("sdk", "go")
	q.Set("version", "bayan-loadtest")
	if autoSubscribe {
		q.Set("auto_subscribe", "1")
	} else {
		q.Set("auto_subscribe", "0")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// dialSignal connects to /rtc and reads the JoinResponse. ctx bounds the
// whole exchange.
func dialSignal(ctx context.Context, client *http.Client, base, token string, autoSubscribe bool, tally *signalTally) (*signalClient, *livekit.JoinResponse, error) {
	u, err := rtcURL(base, token, autoSubscribe)
	if err != nil {
		return nil, nil, err
	}
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		je := &joinError{err: dialError(err, token)}
		if resp != nil {
			je.status = resp.StatusCode
			if resp.Body != nil {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
				je.body = strings.TrimSpace(string(b))
				_ = resp.Body.Close()
			}
		}
		return nil, nil, je
	}
	conn.SetReadLimit(8 << 20)
	c := &signalClient{conn: conn, tally: tally}
	msg, err := c.read(ctx)
	if err != nil {
		c.closeNow()
		return nil, nil, fmt.Errorf("read JoinResponse: %w", err)
	}
	switch m := msg.Message.(type) {
	case *livekit.SignalResponse_Join:
		return c, m.Join, nil
	case *livekit.SignalResponse_Leave:
		c.closeNow()
		return nil, nil, fmt.Errorf("server refused the join: %s", m.Leave.GetReason())
	default:
		c.closeNow()
		return nil, nil, fmt.Errorf("first signal message is %T, not a JoinResponse", msg.Message)
	}
}

// dialError shortens a failed dial to its network error ("dial tcp
// 127.0.0.1:7880: connect: connection refused") and never repeats the
// token the URL carries.
func dialError(err error, token string) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return op
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "<token>"))
}

// send writes one request as a binary frame.
func (c *signalClient) send(ctx context.Context, req *livekit.SignalRequest) error {
	b, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, signalWriteTimeout)
	defer cancel()
	return c.conn.Write(ctx, websocket.MessageBinary, b)
}

// read returns the next response; text frames are not expected (the server
// answers in the format the client speaks).
func (c *signalClient) read(ctx context.Context) (*livekit.SignalResponse, error) {
	typ, b, err := c.conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageBinary {
		return nil, errors.New("unexpected text signal frame")
	}
	msg := &livekit.SignalResponse{}
	if err := proto.Unmarshal(b, msg); err != nil {
		return nil, fmt.Errorf("decode signal frame: %w", err)
	}
	if c.tally != nil {
		c.tally.add(msg)
	}
	return msg, nil
}

// close closes the WebSocket with a normal closure (waiting, bounded, for
// the server's close frame).
func (c *signalClient) close() { _ = c.conn.Close(websocket.StatusNormalClosure, "") }

func (c *signalClient) closeNow() { _ = c.conn.CloseNow() }

// validateToken asks /rtc/validate about a token: nil if the server would
// accept it, else an error with the HTTP status and the server's message.
func validateToken(ctx context.Context, client *http.Client, base, token string) error {
	httpBase, err := HTTPBase(base)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, httpBase+"/rtc/validate?access_token="+url.QueryEscape(token), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return &joinError{status: resp.StatusCode, body: strings.TrimSpace(string(b)), err: errors.New(http.StatusText(resp.StatusCode))}
	}
	return nil
}
