package mmsg

import (
	"errors"
	"net/netip"
	"syscall"
)

// ErrUnsupported is returned by Send and Recv where the system has no
// sendmmsg/recvmmsg; callers then use the socket one datagram at a time.
var ErrUnsupported = errors.New("mmsg: batched socket calls are not supported here")

// Batch is up to Cap datagrams of at most slot bytes each.
type Batch struct {
	sys  sysBatch
	bufs [][]byte
	n    int // datagrams queued (Add) or received (Recv)
	off  int // first queued datagram not yet sent
}

// NewBatch returns a batch of size datagrams of up to slot bytes.
func NewBatch(size, slot int) *Batch {
	b := &Batch{bufs: make([][]byte, size)}
	mem := make([]byte, size*slot)
	for i := range b.bufs {
		b.bufs[i] = mem[i*slot : (i+1)*slot : (i+1)*slot]
	}
	b.sys.init(b.bufs)
	return b
}

// Len returns the number of datagrams queued or received.
func (b *Batch) Len() int { return b.n }

// Cap returns how many datagrams the batch holds.
func (b *Batch) Cap() int { return len(b.bufs) }

// Full reports whether no more datagrams can be queued.
func (b *Batch) Full() bool { return b.n == len(b.bufs) }

// Reset empties the batch.
func (b *Batch) Reset() { b.n, b.off = 0, 0 }

// Add copies p into the next slot, to be sent to to. It reports false, and
// queues nothing, when the batch is full, p is larger than a slot or to is
// not an IP address.
func (b *Batch) Add(p []byte, to netip.AddrPort) bool {
	if b.n == len(b.bufs) || len(p) > cap(b.bufs[b.n]) || !to.Addr().IsValid() {
		return false
	}
	if !b.sys.setAddr(b.n, to) {
		return false
	}
	b.sys.setLen(b.n, copy(b.bufs[b.n][:cap(b.bufs[b.n])], p))
	b.n++
	return true
}

// Send writes every queued datagram, as few system calls as the kernel
// allows, and empties the batch. A datagram the kernel refuses (no route,
// too big) is skipped and counted in dropped; err is set only when the
// socket itself failed (closed), and then the rest count as dropped too.
func (b *Batch) Send(rc syscall.RawConn) (sent, calls, dropped int, err error) {
	defer b.Reset()
	for b.off < b.n {
		n, serr := b.sys.send(rc, b.off, b.n)
		if serr != nil && n == 0 && isSocketGone(serr) {
			return sent, calls, dropped + b.n - b.off, serr
		}
		calls++
		if n > 0 {
			sent += n
			b.off += n
			continue
		}
		dropped++
		b.off++
	}
	return sent, calls, dropped, nil
}

// Recv waits for at least one datagram and reads as many as are queued,
// up to Cap. Packet(i) returns each.
func (b *Batch) Recv(rc syscall.RawConn) (int, error) {
	b.Reset()
	n, err := b.sys.recv(rc, len(b.bufs))
	if err != nil {
		return 0, err
	}
	b.n = n
	return n, nil
}

// Packet returns datagram i of the last Recv. The slice is reused by the
// next Recv.
func (b *Batch) Packet(i int) []byte { return b.bufs[i][:b.sys.received(i)] }

// EnableTimestamps makes Recv record when the kernel received each
// datagram (SO_TIMESTAMPNS on the socket), read with Arrival.
func (b *Batch) EnableTimestamps(rc syscall.RawConn) error { return b.sys.enableTimestamps(rc) }

// Arrival returns when the kernel received datagram i of the last Recv
// (Unix ns), or 0 when timestamps are not enabled or missing.
func (b *Batch) Arrival(i int) int64 { return b.sys.arrival(i) }

// From returns the sender of datagram i of the last Recv.
func (b *Batch) From(i int) netip.AddrPort { return b.sys.from(i) }
