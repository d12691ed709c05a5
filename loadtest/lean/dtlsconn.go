package lean

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5/deadline"
)

// dtlsPacketConn is the net.PacketConn pion/dtls runs the lean subscriber's
// handshake over: the read loop delivers DTLS records into it, and writes
// go out of the subscriber's socket to the server.
type dtlsPacketConn struct {
	s      *Subscriber
	in     chan []byte
	remote atomic.Pointer[netip.AddrPort]
	rd     *deadline.Deadline
	closed chan struct{}
	once   sync.Once
}

func newDTLSPacketConn(s *Subscriber) *dtlsPacketConn {
	return &dtlsPacketConn{s: s, in: make(chan []byte, 64), rd: deadline.New(), closed: make(chan struct{})}
}

func (c *dtlsPacketConn) setRemote(a netip.AddrPort) { c.remote.Store(&a) }

// deliver hands a record to the handshake, or drops it, as a full socket
// buffer would, when nobody reads.
func (c *dtlsPacketConn) deliver(b []byte) {
	select {
	case c.in <- append([]byte(nil), b...):
	default:
	}
}

func (c *dtlsPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case p := <-c.in:
		var from net.Addr
		if r := c.remote.Load(); r != nil {
			from = net.UDPAddrFromAddrPort(*r)
		}
		return copy(b, p), from, nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	case <-c.rd.Done():
		return 0, nil, os.ErrDeadlineExceeded
	}
}

func (c *dtlsPacketConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	r := c.remote.Load()
	if r == nil {
		return 0, net.ErrClosed
	}
	return c.s.conn.WriteToUDPAddrPort(b, *r)
}

func (c *dtlsPacketConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *dtlsPacketConn) LocalAddr() net.Addr { return c.s.conn.LocalAddr() }

func (c *dtlsPacketConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

func (c *dtlsPacketConn) SetReadDeadline(t time.Time) error {
	c.rd.Set(t)
	return nil
}

func (c *dtlsPacketConn) SetWriteDeadline(time.Time) error { return nil }
