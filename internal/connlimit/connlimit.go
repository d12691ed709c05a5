// Package connlimit bounds the TCP connections one remote address may hold
// open on a listener.
package connlimit

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// Listener is a net.Listener that accepts at most a fixed number of open
// connections from each remote IP address (IPv6: each /64); an excess connection is closed
// as soon as it is accepted, which its client sees as a closed connection
// before any answer. Other addresses are not affected.
type Listener struct {
	net.Listener
	max int

	mu      sync.Mutex
	open    map[string]int // remote IP -> connections accepted and not yet closed
	refused atomic.Uint64
}

// New returns ln bounded to max open connections per remote IP; max <= 0
// means no bound.
func New(ln net.Listener, max int) *Listener {
	return &Listener{Listener: ln, max: max, open: map[string]int{}}
}

// Accept returns the next connection whose address is under its bound,
// closing the ones that are not.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if !l.take(ip) {
			l.refused.Add(1)
			_ = c.Close()
			continue
		}
		return &conn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

// Refused returns how many connections were closed for exceeding the bound.
func (l *Listener) Refused() uint64 { return l.refused.Load() }

// Open returns how many connections from ip are open now.
func (l *Listener) Open(ip string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[ip]
}

func (l *Listener) take(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.open[ip] >= l.max {
		return false
	}
	l.open[ip]++
	return true
}

func (l *Listener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip) // the map holds only addresses with open connections
	}
}

// remoteIP is the connection's remote address without the port (every
// connection a client opens has its own port); an IPv6 address counts by
// its /64, since one host is given a whole /64 to pick addresses from.
func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		if a.IP.To4() == nil {
			return a.IP.Mask(net.CIDRMask(64, 128)).String() + "/64"
		}
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// conn gives its address's place back when closed, once however many
// times Close is called (net/http and a hijacker may both close it).
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite lets net/http half-close before closing, so that a client
// sending more is not reset before it reads the answer.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps the TCP connection's sendfile path for files served.
func (c *conn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(c.Conn, r) }
