package connlimit_test

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/bayan-dev/bayan/internal/connlimit"
	"github.com/bayan-dev/bayan/internal/testwait"
)

// serve accepts on l until it closes, holding every connection open until
// its client closes it, as an HTTP server waiting for a request does.
func serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			_, _ = io.Copy(io.Discard, c)
			_ = c.Close()
		}()
	}
}

func dial(t *testing.T, from, to string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", to)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closedByServer reports whether the server closed c within a bounded wait.
func closedByServer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// open waits, bounded, until the listener counts n connections from ip.
func open(t *testing.T, l *connlimit.Listener, ip string, n int) {
	t.Helper()
	if !testwait.Until(5*time.Second, func() bool { return l.Open(ip) == n }) {
		t.Fatalf("%d connections open from %s, want %d", l.Open(ip), ip, n)
	}
}

func TestBoundPerAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := connlimit.New(ln, 2)
	defer l.Close()
	go serve(l)
	addr := ln.Addr().String()

	first := dial(t, "127.0.0.1", addr)
	dial(t, "127.0.0.1", addr)
	open(t, l, "127.0.0.1", 2)
	if excess := dial(t, "127.0.0.1", addr); !closedByServer(excess) {
		t.Fatal("a third connection from 127.0.0.1 was kept open, bound is 2")
	}
	if l.Refused() != 1 {
		t.Fatalf("refused %d connections, want 1", l.Refused())
	}
	// Another address has its own bound.
	dial(t, "127.0.0.2", addr)
	dial(t, "127.0.0.2", addr)
	open(t, l, "127.0.0.2", 2)

	// A closed connection frees its place.
	_ = first.Close()
	open(t, l, "127.0.0.1", 1)
	dial(t, "127.0.0.1", addr)
	open(t, l, "127.0.0.1", 2) // accepted: only accepted connections count
	if l.Refused() != 1 {
		t.Fatalf("refused %d connections after one closed, want still 1", l.Refused())
	}
}
