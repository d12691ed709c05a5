package sfu

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"
)

// arrivalRingSize is how many packets of one stream an arrivalClock
// remembers: far more than a receiver's goroutine ever lags behind the
// socket, a few at 30 fps, a few hundred in a keyframe's burst.
const arrivalRingSize = 1024

// arrivalClock remembers when each RTP packet of the streams registered
// with it came off the shared ICE socket, so that TWCC feedback tells a
// publisher when a packet reached the node. The time its receiver's
// goroutine read it is later by however long that goroutine waited for
// the CPU and forwarded the packets before it: under load, tens of
// milliseconds that grow in every burst, which the publisher's
// delay-based estimate takes for a queue on its uplink.
//
// Only registered streams are stamped, so that nobody can make it grow
// from outside; the packet path takes no lock and allocates nothing.
type arrivalClock struct {
	epoch   time.Time
	mu      sync.Mutex                              // serialises register and unregister
	streams atomic.Pointer[map[uint32]*arrivalRing] // copied on write
}

// arrivalRing holds, by RTP sequence number modulo its size, the arrival
// (µs since the clock's epoch) shifted left 16 bits, or'ed with the
// sequence number, so that a slot overwritten by a later packet is told
// from the one sought.
type arrivalRing [arrivalRingSize]atomic.Int64

func newArrivalClock() *arrivalClock {
	c := &arrivalClock{epoch: time.Now()}
	c.streams.Store(&map[uint32]*arrivalRing{})
	return c
}

// now returns the clock's time in µs.
func (c *arrivalClock) now() int64 { return time.Since(c.epoch).Microseconds() }

// register starts stamping the stream with SSRC ssrc. Two publishers
// that chose one SSRC share its ring until either leaves, when the other's
// packets fall back to the time of their read, as before.
func (c *arrivalClock) register(ssrc uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.streams.Load()
	if old[ssrc] != nil {
		return
	}
	m := make(map[uint32]*arrivalRing, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[ssrc] = new(arrivalRing)
	c.streams.Store(&m)
}

// unregister stops stamping the stream with SSRC ssrc.
func (c *arrivalClock) unregister(ssrc uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.streams.Load()
	if old[ssrc] == nil {
		return
	}
	m := make(map[uint32]*arrivalRing, len(old))
	for k, v := range old {
		if k != ssrc {
			m[k] = v
		}
	}
	c.streams.Store(&m)
}

// stamp records that datagram b came off the socket now, if it is an RTP
// packet of a registered stream. SRTP leaves the RTP header in the clear.
func (c *arrivalClock) stamp(b []byte) {
	// RTP version 2, and not RTCP (payload types 192-223 with the marker
	// bit, RFC 5761); DTLS and STUN start otherwise.
	if len(b) < 12 || b[0]>>6 != 2 || b[1] >= 192 && b[1] <= 223 {
		return
	}
	ring := (*c.streams.Load())[binary.BigEndian.Uint32(b[8:12])]
	if ring == nil {
		return
	}
	seq := binary.BigEndian.Uint16(b[2:4])
	ring[seq%arrivalRingSize].Store(c.now()<<16 | int64(seq))
}

// arrival returns when the packet of stream ssrc with sequence number seq
// came off the socket (µs), and whether it was stamped.
func (c *arrivalClock) arrival(ssrc uint32, seq uint16) (int64, bool) {
	ring := (*c.streams.Load())[ssrc]
	if ring == nil {
		return 0, false
	}
	v := ring[seq%arrivalRingSize].Load()
	if v == 0 || uint16(v) != seq {
		return 0, false
	}
	return v >> 16, true
}
