// Package packetcache keeps the recent packets of an RTP stream for retransmission.
package packetcache

import (
	"sync"
	"time"
)

// MaxPacketSize is the largest RTP packet Bayan stores or forwards.
const MaxPacketSize = 1500

type cacheSlot struct {
	seq   uint16
	n     uint16
	valid bool
	at    int64 // when it was stored, Unix ns
	buf   [MaxPacketSize]byte
}

// Cache keeps the most recent packets of one RTP stream, indexed by
// sequence number, so that NACKs from any number of subscribers are answered
// from one copy. It is a ring of full-size slots. A growing cache starts
// small and doubles, up to its maximum, whenever it would overwrite a packet
// younger than its keep time: so each stream holds about keep's worth of
// packets, whatever its bitrate (a 150 kbit/s layer needs a tenth of the
// slots of a 1.7 Mbit/s one). Once grown, storing never allocates.
type Cache struct {
	mu    sync.Mutex
	slots []cacheSlot
	mask  uint16
	max   int
	keep  int64 // ns
}

// New returns a fixed cache holding up to size packets; size is
// rounded up to a power of two and capped at 32768.
func New(size int) *Cache {
	n := roundSlots(size)
	return &Cache{slots: make([]cacheSlot, n), mask: uint16(n - 1), max: n}
}

// NewGrowing returns a cache of min slots that grows up to max
// slots to keep every packet for at least keep (sizes rounded up to powers
// of two).
func NewGrowing(minSlots, maxSlots int, keep time.Duration) *Cache {
	c := New(minSlots)
	c.max, c.keep = max(roundSlots(maxSlots), len(c.slots)), int64(keep)
	return c
}

func roundSlots(size int) int {
	n := 1
	for n < size && n < 1<<15 {
		n <<= 1
	}
	return n
}

// Store copies pkt, the whole RTP packet whose sequence number is seq and
// which arrived at now (Unix ns), into the cache. Packets larger than
// MaxPacketSize are not stored.
func (c *Cache) Store(seq uint16, pkt []byte, now int64) {
	if len(pkt) > MaxPacketSize {
		return
	}
	c.mu.Lock()
	s := &c.slots[seq&c.mask]
	if s.valid && s.seq != seq && now-s.at < c.keep && len(c.slots) < c.max {
		c.grow()
		s = &c.slots[seq&c.mask]
	}
	s.seq = seq
	s.at = now
	s.n = uint16(copy(s.buf[:], pkt))
	s.valid = true
	c.mu.Unlock()
}

// grow doubles the ring, moving every packet to its place in the new one.
func (c *Cache) grow() {
	next := make([]cacheSlot, 2*len(c.slots))
	mask := uint16(len(next) - 1)
	for i := range c.slots {
		if old := &c.slots[i]; old.valid {
			next[old.seq&mask] = *old
		}
	}
	c.slots, c.mask = next, mask
}

// Slots returns how many packets the cache can hold now.
func (c *Cache) Slots() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.slots)
}

// Get copies the packet with sequence number seq into dst and returns its
// length, or 0 when the packet is no longer (or never was) in the cache or
// dst is too small.
func (c *Cache) Get(seq uint16, dst []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.slots[seq&c.mask]
	if !s.valid || s.seq != seq || int(s.n) > len(dst) {
		return 0
	}
	return copy(dst, s.buf[:s.n])
}
