package packetcache

import (
	"bytes"
	"sync"
	"testing"
)

func cachePacket(seq uint16, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(int(seq) + i)
	}
	return p
}

func TestCacheStoreGet(t *testing.T) {
	c := New(16)
	dst := make([]byte, MaxPacketSize)

	if n := c.Get(7, dst); n != 0 {
		t.Fatalf("Get on empty cache = %d, want 0", n)
	}
	want := cachePacket(7, 200)
	c.Store(7, want, 0)
	orig := bytes.Clone(want)
	want[10] ^= 0xff // Store must have copied: mutating the caller's buffer changes nothing
	n := c.Get(7, dst)
	if n != len(orig) || !bytes.Equal(dst[:n], orig) {
		t.Fatalf("Get(7) = %d bytes %x..., want the %d bytes stored", n, dst[:min(n, 8)], len(orig))
	}
	if n := c.Get(8, dst); n != 0 {
		t.Fatalf("Get(8) never stored = %d, want 0", n)
	}
	// Same slot (8+16 = 24 collides with 8), different sequence number.
	if n := c.Get(7+16, dst); n != 0 {
		t.Fatalf("Get(23) aliasing slot of 7 = %d, want 0", n)
	}

	// Overwriting the slot with a newer packet evicts the old one.
	newer := cachePacket(7+16, 300)
	c.Store(7+16, newer, 0)
	if n := c.Get(7, dst); n != 0 {
		t.Fatalf("Get(7) after its slot was reused = %d, want 0", n)
	}
	if n := c.Get(7+16, dst); n != 300 || !bytes.Equal(dst[:n], newer) {
		t.Fatalf("Get(23) = %d, want 300 matching bytes", n)
	}

	// A shorter packet in a slot that held a longer one reports its own length.
	short := cachePacket(39, 20)
	c.Store(39, short, 0)
	if n := c.Get(39, dst); n != 20 || !bytes.Equal(dst[:n], short) {
		t.Fatalf("Get(39) = %d, want 20 matching bytes", n)
	}
}

func TestCacheSize(t *testing.T) {
	for _, tc := range []struct{ size, slots int }{
		{-5, 1}, {0, 1}, {1, 1}, {2, 2}, {5, 8}, {128, 128}, {1000, 1024}, {1 << 15, 1 << 15}, {1 << 20, 1 << 15},
	} {
		c := New(tc.size)
		if len(c.slots) != tc.slots || int(c.mask) != tc.slots-1 {
			t.Errorf("New(%d): %d slots, mask %#x; want %d slots", tc.size, len(c.slots), c.mask, tc.slots)
		}
	}
}

func TestCacheWrapAround(t *testing.T) {
	const size = 8
	c := New(size)
	dst := make([]byte, MaxPacketSize)
	// 65530 ... 65535, 0 ... 9: sixteen packets across the wrap.
	var seqs []uint16
	for s := uint16(65530); len(seqs) < 16; s++ {
		seqs = append(seqs, s)
		c.Store(s, cachePacket(s, 100+int(s%50)), 0)
	}
	for i, s := range seqs {
		n := c.Get(s, dst)
		if i < len(seqs)-size {
			if n != 0 {
				t.Errorf("Get(%d) = %d, want 0 (evicted)", s, n)
			}
			continue
		}
		if want := cachePacket(s, 100+int(s%50)); n != len(want) || !bytes.Equal(dst[:n], want) {
			t.Errorf("Get(%d) = %d bytes, want %d matching bytes", s, n, len(want))
		}
	}

	// The largest cache (32768 slots) still tells 0 and 32768 apart.
	big := New(1 << 15)
	big.Store(0, cachePacket(0, 10), 0)
	if n := big.Get(1<<15, dst); n != 0 {
		t.Errorf("Get(32768) aliasing slot of 0 = %d, want 0", n)
	}
	if n := big.Get(0, dst); n != 10 {
		t.Errorf("Get(0) = %d, want 10", n)
	}
}

func TestCacheTooSmallDst(t *testing.T) {
	c := New(4)
	p := cachePacket(1, 100)
	c.Store(1, p, 0)
	for _, l := range []int{0, 1, 99} {
		dst := make([]byte, l)
		if n := c.Get(1, dst); n != 0 {
			t.Errorf("Get into %d-byte dst = %d, want 0", l, n)
		}
	}
	if n := c.Get(1, nil); n != 0 {
		t.Errorf("Get into nil dst = %d, want 0", n)
	}
	dst := make([]byte, 100)
	if n := c.Get(1, dst); n != 100 || !bytes.Equal(dst, p) {
		t.Errorf("Get into exact-size dst = %d, want 100 matching bytes", n)
	}
}

func TestCacheOversize(t *testing.T) {
	c := New(4)
	dst := make([]byte, 2*MaxPacketSize)

	c.Store(1, cachePacket(1, MaxPacketSize+1), 0)
	if n := c.Get(1, dst); n != 0 {
		t.Fatalf("oversize packet was stored: Get = %d", n)
	}

	exact := cachePacket(2, MaxPacketSize)
	c.Store(2, exact, 0)
	if n := c.Get(2, dst); n != MaxPacketSize || !bytes.Equal(dst[:n], exact) {
		t.Fatalf("Get of a MaxPacketSize packet = %d, want %d", n, MaxPacketSize)
	}

	// An oversize packet is ignored: it neither replaces nor corrupts what
	// the slot held before.
	c.Store(2, cachePacket(99, 4000), 0)
	if n := c.Get(2, dst); n != MaxPacketSize || !bytes.Equal(dst[:n], exact) {
		t.Fatalf("after oversize Store, Get(2) = %d, want the earlier %d bytes", n, MaxPacketSize)
	}
	c.Store(6, cachePacket(6, 4000), 0) // same slot as 2
	if n := c.Get(6, dst); n != 0 {
		t.Fatalf("oversize Get(6) = %d, want 0", n)
	}

	// An empty packet is "stored" but indistinguishable from a miss.
	c.Store(3, nil, 0)
	if n := c.Get(3, dst); n != 0 {
		t.Fatalf("Get of empty packet = %d, want 0", n)
	}
}

func TestCacheNoAllocs(t *testing.T) {
	c := New(1024)
	p := cachePacket(0, 1200)
	dst := make([]byte, MaxPacketSize)
	var seq uint16
	allocs := testing.AllocsPerRun(1000, func() {
		c.Store(seq, p, 0)
		c.Get(seq-3, dst)
		seq++
	})
	if allocs != 0 {
		t.Fatalf("Store+Get allocate %.1f times per call, want 0", allocs)
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := New(64)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for s := 0; s < 5000; s++ {
			c.Store(uint16(s), cachePacket(uint16(s), 50+s%100), 0)
		}
	}()
	for g := 0; g < 2; g++ {
		go func() {
			defer wg.Done()
			dst := make([]byte, MaxPacketSize)
			for s := 0; s < 5000; s++ {
				if n := c.Get(uint16(s), dst); n != 0 {
					if want := cachePacket(uint16(s), 50+s%100); !bytes.Equal(dst[:n], want) {
						t.Errorf("Get(%d) returned a torn or wrong packet", s)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkPacketCacheStore(b *testing.B) {
	c := New(1024)
	pkt := make([]byte, 12+1200) // a full video packet
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Store(uint16(i), pkt, 0)
	}
}
