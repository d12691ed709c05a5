package testnet

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Impairment is what a Relay does to the datagrams coming back from its
// upstream: the downlink of every client behind it.
type Impairment struct {
	// Loss is the fraction of datagrams dropped at random, 0 to 1.
	Loss float64
	// RateBitsPerSecond caps the downlink of each client (0: no cap).
	// Datagrams queue behind the cap, up to QueueDelay; the rest are
	// dropped at the tail, as a router does.
	RateBitsPerSecond int64
	// QueueDelay bounds the queue behind the cap; 0 means 100 ms.
	QueueDelay time.Duration
}

// Relay is a UDP relay that stands between clients and one upstream
// address (a node's ICE port) and impairs the downlink deterministically
// (seeded), in user space: the kernel's netem is not available everywhere.
// Each client gets an upstream socket of its own, so the upstream sees
// every client at a distinct address, as through a NAT.
type Relay struct {
	conn     *net.UDPConn
	upstream netip.AddrPort
	imp      atomic.Pointer[Impairment]

	mu      sync.Mutex
	clients map[netip.AddrPort]*relayClient
	rng     *rand.Rand
	closed  bool
	wg      sync.WaitGroup

	forwarded atomic.Int64 // downlink datagrams delivered
	dropped   atomic.Int64 // downlink datagrams dropped (loss or full queue)
}

type relayClient struct {
	addr netip.AddrPort
	up   *net.UDPConn
	out  chan timedDatagram
	// next is when the cap lets the next datagram leave (Unix ns); read
	// and written by the client's upstream reader only.
	next int64
}

type timedDatagram struct {
	b  []byte
	at time.Time
}

// NewRelay listens on listen (e.g. "127.0.0.2:7882") and relays to
// upstream until the test ends.
func NewRelay(t testing.TB, listen string, upstream netip.AddrPort, imp Impairment, seed uint64) *Relay {
	t.Helper()
	la, err := net.ResolveUDPAddr("udp4", listen)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp4", la)
	if err != nil {
		t.Fatalf("relay: listen %s: %v", listen, err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	r := &Relay{conn: conn, upstream: upstream, clients: map[netip.AddrPort]*relayClient{},
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	r.SetImpairment(imp)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.uplink()
	}()
	t.Cleanup(r.close)
	return r
}

// Addr is the relay's address, to be offered to clients as the node's.
func (r *Relay) Addr() netip.AddrPort { return r.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// SetImpairment changes the impairment from now on (lift a cap, say).
func (r *Relay) SetImpairment(imp Impairment) {
	if imp.QueueDelay <= 0 {
		imp.QueueDelay = 100 * time.Millisecond
	}
	r.imp.Store(&imp)
}

// Counters reports the downlink datagrams delivered and dropped so far.
func (r *Relay) Counters() (forwarded, dropped int64) { return r.forwarded.Load(), r.dropped.Load() }

// uplink forwards what clients send, unimpaired, each through its own
// upstream socket.
func (r *Relay) uplink() {
	buf := make([]byte, 2048)
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		c := r.client(from)
		if c == nil {
			return
		}
		_, _ = c.up.WriteToUDPAddrPort(buf[:n], r.upstream)
	}
}

func (r *Relay) client(addr netip.AddrPort) *relayClient {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	if c := r.clients[addr]; c != nil {
		return c
	}
	up, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil
	}
	_ = up.SetReadBuffer(4 << 20)
	c := &relayClient{addr: addr, up: up, out: make(chan timedDatagram, 4096)}
	r.clients[addr] = c
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		r.downlink(c)
	}()
	go func() {
		defer r.wg.Done()
		r.deliver(c)
	}()
	return c
}

// downlink reads what the upstream sends a client, drops and delays it as
// the impairment says, and queues it for delivery.
func (r *Relay) downlink(c *relayClient) {
	defer close(c.out)
	buf := make([]byte, 2048)
	for {
		n, _, err := c.up.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		imp := r.imp.Load()
		if imp.Loss > 0 && r.random() < imp.Loss {
			r.dropped.Add(1)
			continue
		}
		at := time.Now()
		if imp.RateBitsPerSecond > 0 {
			now := at.UnixNano()
			start := max(now, c.next)
			if time.Duration(start-now) > imp.QueueDelay {
				r.dropped.Add(1) // the queue is full
				continue
			}
			c.next = start + int64(n)*8*int64(time.Second)/imp.RateBitsPerSecond
			at = time.Unix(0, c.next)
		} else {
			c.next = 0
		}
		select {
		case c.out <- timedDatagram{b: append([]byte(nil), buf[:n]...), at: at}:
		default:
			r.dropped.Add(1)
		}
	}
}

// deliver sends queued datagrams to the client when they are due.
func (r *Relay) deliver(c *relayClient) {
	for d := range c.out {
		if wait := time.Until(d.at); wait > 0 {
			time.Sleep(wait)
		}
		if _, err := r.conn.WriteToUDPAddrPort(d.b, c.addr); err != nil && errors.Is(err, net.ErrClosed) {
			return
		}
		r.forwarded.Add(1)
	}
}

func (r *Relay) random() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rng.Float64()
}

func (r *Relay) close() {
	r.mu.Lock()
	r.closed = true
	clients := r.clients
	r.mu.Unlock()
	_ = r.conn.Close()
	for _, c := range clients {
		_ = c.up.Close()
	}
	r.wg.Wait()
}
