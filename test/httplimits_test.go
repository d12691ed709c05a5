package test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
	"github.com/bayan-dev/bayan/server"
)

// shortHTTPTimeouts gives every HTTP timeout 300 ms, so that tests see
// them act without waiting long.
func shortHTTPTimeouts(c *server.Config) {
	c.HTTP.ReadHeaderTimeout = 300 * time.Millisecond
	c.HTTP.ReadTimeout = 300 * time.Millisecond
	c.HTTP.IdleTimeout = 300 * time.Millisecond
}

// rawConn opens a TCP connection to the node from the local address from.
func rawConn(t *testing.T, srv *server.Server, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatalf("dial the node from %s: %v", from, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closedWithin reports whether the node closes c within d, reading (and
// dropping) whatever it answers before.
func closedWithin(c net.Conn, d time.Duration) error {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errors.New("still open")
	}
	return nil // EOF or reset: closed
}

// A client that sends a request's headers and then its body slowly is cut
// off at the read timeout, as one that sends nothing after the headers.
func TestHTTPSlowBodyIsCut(t *testing.T) {
	srv := testserver.Start(t, shortHTTPTimeouts)
	c := rawConn(t, srv, "127.0.0.1")
	if _, err := io.WriteString(c, "POST /twirp/livekit.RoomService/ListRooms HTTP/1.1\r\nHost: bayan\r\n"+
		"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	// Without timeouts the node waits for the other 999 bytes forever; the
	// bound is far above 300 ms, for a busy machine.
	if err := closedWithin(c, 10*time.Second); err != nil {
		t.Fatalf("a request body unfinished for 10 s: %v", err)
	}
}

// An idle keep-alive connection is closed at the idle timeout.
func TestHTTPIdleKeepAliveIsClosed(t *testing.T) {
	srv := testserver.Start(t, shortHTTPTimeouts)
	c := rawConn(t, srv, "127.0.0.1")
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: bayan\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read /healthz: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("/healthz answered %s (close %v), want 200 on a kept-alive connection", resp.Status, resp.Close)
	}
	if err := closedWithin(c, 10*time.Second); err != nil {
		t.Fatalf("a keep-alive connection idle for 10 s: %v", err)
	}
}

// A signaling WebSocket is not cut by the HTTP timeouts: quiet for several
// times them (its own pings keep it), it still answers.
func TestWebSocketOutlivesHTTPTimeouts(t *testing.T) {
	srv := testserver.Start(t, shortHTTPTimeouts)
	c := wsJoin(t, srv, "long", testserver.Token(t, "ws-long", "long", nil), "")
	time.Sleep(5 * 300 * time.Millisecond) // what is checked is that nothing ends it
	c.ping()
	if srv.Rooms().Room("ws-long").Participant("long") == nil {
		t.Fatal("the participant left while its WebSocket was quiet")
	}
}

// A join that waits for its turn longer than the read timeout still joins:
// the wait is bounded by signal.join_wait, not by the HTTP deadline.
func TestJoinWaitOutlivesReadTimeout(t *testing.T) {
	srv := testserver.Start(t, func(c *server.Config) {
		shortHTTPTimeouts(c)
		c.MaxJoining = 1
		c.JoinWait = 20 * time.Second
	})
	// The first join holds the only turn: it never connects media.
	first := wsJoin(t, srv, "first", testserver.Token(t, "ws-wait", "first", nil), "")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	second := make(chan error, 1)
	go func() {
		conn, resp, err := wsDial(ctx, srv, testserver.Token(t, "ws-wait", "second", nil), "")
		if err != nil {
			if resp != nil {
				err = errors.Join(err, errors.New("HTTP "+resp.Status))
			}
			second <- err
			return
		}
		defer conn.CloseNow()
		typ, data, err := conn.Read(ctx)
		if err == nil {
			var msg *livekit.SignalResponse
			if msg, err = decodeFrame(typ, data); err == nil && msg.GetJoin() == nil {
				err = fmt.Errorf("first frame is %T, not a JoinResponse", msg.Message)
			}
		}
		second <- err
	}()
	time.Sleep(5 * 300 * time.Millisecond) // the second waits past its read deadline
	select {
	case err := <-second:
		t.Fatalf("the waiting join ended before its turn came: %v", err)
	default:
	}
	_ = first.conn.Close(1000, "") // its turn goes to the second
	select {
	case err := <-second:
		if err != nil {
			t.Fatalf("the waiting join: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the waiting join had no answer in 15 s")
	}
}

// One address holds at most HTTP.MaxConnsPerIP connections: more are closed
// on arrival, other addresses are served, and a closed connection frees
// its place.
func TestHTTPConnectionsPerAddressBound(t *testing.T) {
	srv := testserver.Start(t, func(c *server.Config) { c.HTTP.MaxConnsPerIP = 3 })
	held := []net.Conn{rawConn(t, srv, "127.0.0.1"), rawConn(t, srv, "127.0.0.1"), rawConn(t, srv, "127.0.0.1")}
	// clientFrom is an HTTP client connecting from the local address from,
	// a new connection for each request.
	clientFrom := func(from string) *http.Client {
		tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext, DisableKeepAlives: true}
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	get := func(from string) error {
		resp, err := clientFrom(from).Get(srv.HTTPURL() + "/healthz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	}
	// The held connections are accepted before the next one is refused
	// (accepting is in order); wait until the node counts them.
	waitRefused := func(n uint64) {
		t.Helper()
		if !testwait.Until(10*time.Second, func() bool { return srv.RefusedConns() >= n }) {
			t.Fatalf("%d connections refused, want %d", srv.RefusedConns(), n)
		}
	}
	if err := get("127.0.0.1"); err == nil {
		t.Fatal("a fourth connection from 127.0.0.1 was served, bound is 3")
	}
	waitRefused(1)
	if err := get("127.0.0.2"); err != nil {
		t.Fatalf("127.0.0.2, under its own bound: %v", err)
	}
	_ = held[0].Close()
	// The node notices the close when its read of the request ends.
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err = get("127.0.0.1"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("127.0.0.1 after closing one of its 3 connections: %v", err)
		}
	}
	// From 127.0.0.2: 127.0.0.1's places may all be taken again until the
	// node has closed its side of the last request's connection.
	checkMetricsWith(t, clientFrom("127.0.0.2"), srv.HTTPURL()+"/metrics", map[string]func(float64) bool{
		"bayan_http_connections_refused_total": func(v float64) bool { return v >= 1 },
	})
}
