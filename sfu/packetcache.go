package sfu

import "sync"

// MaxPacketSize is the largest RTP packet Bayan stores or forwards.
const MaxPacketSize = 1500

type cacheSlot struct {
	seq   uint16
	n     uint16
	valid bool
	buf   [MaxPacketSize]byte
}

// PacketCache keeps the most recent packets of one RTP stream, indexed by
// sequence number, so that NACKs from any number of subscribers are answered
// from one copy. It is a fixed ring: storing never allocates.
type PacketCache struct {
	mu    sync.Mutex
	slots []cacheSlot
	mask  uint16
}

// NewPacketCache returns a cache holding up to size packets; size is rounded
// up to a power of two and capped at 32768.
func NewPacketCache(size int) *PacketCache {
	n := 1
	for n < size && n < 1<<15 {
		n <<= 1
	}
	return &PacketCache{slots: make([]cacheSlot, n), mask: uint16(n - 1)}
}

// Store copies pkt, the whole RTP packet whose sequence number is seq, into
// the cache. Packets larger than MaxPacketSize are not stored.
func (c *PacketCache) Store(seq uint16, pkt []byte) {
	if len(pkt) > MaxPacketSize {
		return
	}
	c.mu.Lock()
	s := &c.slots[seq&c.mask]
	s.seq = seq
	s.n = uint16(copy(s.buf[:], pkt))
	s.valid = true
	c.mu.Unlock()
}

// Get copies the packet with sequence number seq into dst and returns its
// length, or 0 when the packet is no longer (or never was) in the cache or
// dst is too small.
func (c *PacketCache) Get(seq uint16, dst []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.slots[seq&c.mask]
	if !s.valid || s.seq != seq || int(s.n) > len(dst) {
		return 0
	}
	return copy(dst, s.buf[:s.n])
}
