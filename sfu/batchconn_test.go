package sfu

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/bayan-dev/bayan/internal/mmsg"
)

// batchPair is a BatchConn sending to a plain loopback socket.
func batchPair(t *testing.T) (*BatchConn, *net.UDPConn, netip.AddrPort) {
	t.Helper()
	snd, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = rcv.SetReadBuffer(4 << 20)
	bc := NewBatchConn(snd)
	t.Cleanup(func() { _ = bc.Close(); _ = rcv.Close() })
	return bc, rcv, rcv.LocalAddr().(*net.UDPAddr).AddrPort()
}

// numbered is a datagram of size bytes that starts with its number.
func numbered(i, size int) []byte {
	p := bytes.Repeat([]byte{byte(i)}, size)
	binary.BigEndian.PutUint32(p, uint32(i))
	return p
}

// readNumbered reads n datagrams and returns their numbers in arrival order.
func readNumbered(t *testing.T, rcv *net.UDPConn, n int) []int {
	t.Helper()
	_ = rcv.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	var got []int
	for range n {
		k, err := rcv.Read(buf)
		if err != nil {
			t.Fatalf("after %d datagrams: %v", len(got), err)
		}
		i := int(binary.BigEndian.Uint32(buf))
		if !bytes.Equal(buf[:k], numbered(i, k)) || k != 100+i {
			t.Fatalf("datagram %d arrived damaged (%d bytes)", i, k)
		}
		got = append(got, i)
	}
	return got
}

func TestBatchConnSendsAFanOutTogetherAndInOrder(t *testing.T) {
	bc, rcv, to := batchPair(t)
	const n = 150 // more than two batches
	bc.BeginBatch()
	for i := range n {
		if k, err := bc.WriteToAddrPort(numbered(i, 100+i), to); err != nil || k != 100+i {
			t.Fatalf("write %d: %d, %v", i, k, err)
		}
	}
	bc.EndBatch()
	got := readNumbered(t, rcv, n)
	for i, g := range got {
		if g != i {
			t.Fatalf("datagram %d arrived in place %d", g, i)
		}
	}
	pkts, calls, dropped := bc.BatchStats()
	if !mmsg.Supported {
		t.Skip("no sendmmsg on this system; the datagrams went out one by one")
	}
	if pkts != n || dropped != 0 || calls != 3 {
		t.Errorf("batched %d packets in %d calls, %d dropped; want %d in 3, 0 dropped", pkts, calls, dropped, n)
	}
}

func TestBatchConnWritesOutsideAFanOutAtOnce(t *testing.T) {
	bc, rcv, to := batchPair(t)
	if _, err := bc.WriteTo(numbered(7, 107), net.UDPAddrFromAddrPort(to)); err != nil {
		t.Fatal(err)
	}
	if got := readNumbered(t, rcv, 1); got[0] != 7 {
		t.Fatalf("got datagram %d", got[0])
	}
	if pkts, calls, _ := bc.BatchStats(); pkts != 0 || calls != 0 {
		t.Errorf("a write outside a fan-out was batched (%d packets, %d calls)", pkts, calls)
	}
}

// Fan-outs from several goroutines, with direct writes between them, all
// arrive; -race checks the hand-over of batches between goroutines.
func TestBatchConnConcurrentFanOuts(t *testing.T) {
	bc, rcv, to := batchPair(t)
	const workers, fanouts, width = 4, 50, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range fanouts {
				bc.BeginBatch()
				for k := range width {
					i := (w*fanouts+f)*width + k
					_, _ = bc.WriteToAddrPort(numbered(i%200, 100+i%200), to)
				}
				bc.EndBatch()
			}
		}()
	}
	wg.Wait()
	if got := readNumbered(t, rcv, workers*fanouts*width); len(got) != workers*fanouts*width {
		t.Fatalf("%d datagrams arrived", len(got))
	}
}

func TestBatchConnWriteDoesNotAllocate(t *testing.T) {
	bc, rcv, to := batchPair(t)
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, err := rcv.Read(buf); err != nil {
				return
			}
		}
	}()
	p := numbered(1, 1200)
	allocs := testing.AllocsPerRun(200, func() {
		bc.BeginBatch()
		for range 10 {
			_, _ = bc.WriteToAddrPort(p, to)
		}
		bc.EndBatch()
	})
	if allocs != 0 {
		t.Errorf("a fan-out of 10 writes allocates %.1f times", allocs)
	}
}
