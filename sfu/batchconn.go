package sfu

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/bayan-dev/bayan/internal/mmsg"
)

// Batches of the shared ICE socket. One batch holds the packets of one
// fan-out (or batchSize of a larger one); spare batches let receivers keep
// queueing while a full batch is in the kernel.
const (
	batchSize    = 64
	batchBuffers = 4
	batchSlot    = MaxPacketSize
)

// BatchConn is the server's shared ICE UDP socket with batched sends.
//
// A receiver fanning a packet out to N subscribers makes N writes in a row.
// Between BeginBatch and EndBatch those writes are copied into a batch that
// leaves in one sendmmsg(2) when the fan-out ends or the batch fills, instead
// of N sendto(2) calls: a system call's fixed cost is most of what a
// forwarded packet costs. Writes made while no fan-out runs (ICE checks,
// DTLS, RTCP reports) go straight to the socket, so nothing waits for a
// flush that might not come.
//
// A packet queued during a fan-out is in the kernel before that fan-out's
// EndBatch returns: batching delays no packet beyond the end of the fan-out
// it was written in. Reads pass through, the RTP packets among them
// stamped with their arrival for TWCC feedback (arrivalClock).
type BatchConn struct {
	*net.UDPConn
	raw syscall.RawConn // nil: no batching, every write is a sendto

	mu      sync.Mutex
	fanouts int         // fan-outs between BeginBatch and EndBatch
	cur     *mmsg.Batch // being filled
	free    chan *mmsg.Batch
	sendMu  sync.Mutex // one sendmmsg at a time keeps packets in order

	packets  atomic.Uint64 // packets sent in batches
	syscalls atomic.Uint64 // sendmmsg calls
	dropped  atomic.Uint64 // batched packets the kernel refused

	arrivals *arrivalClock // stamps the RTP packets read; nil: none
}

// NewBatchConn wraps a UDP socket. Without sendmmsg (or without access to
// the socket's descriptor) every write goes straight to conn.
func NewBatchConn(conn *net.UDPConn) *BatchConn {
	c := &BatchConn{UDPConn: conn}
	if !mmsg.Supported {
		return c
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		return c
	}
	c.raw = raw
	c.free = make(chan *mmsg.Batch, batchBuffers)
	for range batchBuffers - 1 {
		c.free <- mmsg.NewBatch(batchSize, batchSlot)
	}
	c.cur = mmsg.NewBatch(batchSize, batchSlot)
	return c
}

// BeginBatch marks the start of a fan-out: writes queue until EndBatch.
func (c *BatchConn) BeginBatch() {
	if c.raw == nil {
		return
	}
	c.mu.Lock()
	c.fanouts++
	c.mu.Unlock()
}

// EndBatch ends a fan-out begun with BeginBatch and sends everything queued
// so far, whoever queued it.
func (c *BatchConn) EndBatch() {
	if c.raw == nil {
		return
	}
	c.mu.Lock()
	c.fanouts--
	if c.cur.Len() == 0 {
		c.mu.Unlock()
		return
	}
	c.flushLocked()
}

// ReadFromAddrPort reads one datagram; with WriteToAddrPort it lets pion's
// ICE mux skip allocating a net.Addr per packet.
func (c *BatchConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	n, from, err := c.ReadFromUDPAddrPort(b)
	if err == nil && c.arrivals != nil {
		c.arrivals.stamp(b[:n])
	}
	return n, from, err
}

// WriteTo is WriteToAddrPort for a *net.UDPAddr.
func (c *BatchConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return c.UDPConn.WriteTo(b, addr)
	}
	return c.WriteToAddrPort(b, ua.AddrPort())
}

// WriteToAddrPort queues b for to while a fan-out is running and sends it at
// once otherwise. A queued packet is reported as written; if the kernel
// refuses it later, it counts as dropped, as if lost on the wire.
func (c *BatchConn) WriteToAddrPort(b []byte, to netip.AddrPort) (int, error) {
	if c.raw == nil || len(b) > batchSlot {
		return c.WriteToUDPAddrPort(b, to)
	}
	c.mu.Lock()
	if c.fanouts == 0 || !c.cur.Add(b, to) {
		c.mu.Unlock()
		return c.WriteToUDPAddrPort(b, to)
	}
	if c.cur.Full() {
		c.flushLocked()
	} else {
		c.mu.Unlock()
	}
	return len(b), nil
}

// flushLocked swaps in an empty batch, releases c.mu and sends the full one.
// Taking sendMu before releasing mu keeps batches in the order they filled.
func (c *BatchConn) flushLocked() {
	b := c.cur
	c.cur = <-c.free // one is free or about to be: at most one batch is in the kernel
	c.sendMu.Lock()
	c.mu.Unlock()
	c.send(b)
	c.sendMu.Unlock()
	c.free <- b
}

// send hands the batch to the kernel and empties it.
func (c *BatchConn) send(b *mmsg.Batch) {
	sent, calls, dropped, _ := b.Send(c.raw)
	c.packets.Add(uint64(sent))
	c.syscalls.Add(uint64(calls))
	c.dropped.Add(uint64(dropped))
}

// BatchStats reports the packets sent in batches, the sendmmsg calls that
// carried them, and the batched packets the kernel refused.
func (c *BatchConn) BatchStats() (packets, syscalls, dropped uint64) {
	return c.packets.Load(), c.syscalls.Load(), c.dropped.Load()
}
