package mmsg

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

func loopbackPair(t *testing.T) (a, b *net.UDPConn) {
	t.Helper()
	var conns [2]*net.UDPConn
	for i := range conns {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		conns[i] = c
	}
	return conns[0], conns[1]
}

func TestSendThenRecvABatch(t *testing.T) {
	if !Supported {
		t.Skip("no sendmmsg/recvmmsg on this system")
	}
	a, b := loopbackPair(t)
	to := b.LocalAddr().(*net.UDPAddr).AddrPort()
	out := NewBatch(8, 1500)
	for i := range 5 {
		if !out.Add(bytes.Repeat([]byte{byte(i)}, 10+i), to) {
			t.Fatalf("Add %d refused", i)
		}
	}
	if out.Add(make([]byte, 1501), to) {
		t.Fatal("a datagram larger than a slot was queued")
	}
	if out.Add([]byte{1}, netip.AddrPort{}) {
		t.Fatal("a datagram without an address was queued")
	}
	raw, err := a.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	sent, calls, dropped, err := out.Send(raw)
	if err != nil || sent != 5 || calls != 1 || dropped != 0 || out.Len() != 0 {
		t.Fatalf("Send: %d sent in %d calls, %d dropped, %v; %d left", sent, calls, dropped, err, out.Len())
	}

	in := NewBatch(8, 1500)
	rraw, err := b.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got [][]byte
	for len(got) < 5 {
		n, err := in.Recv(rraw)
		if err != nil {
			t.Fatalf("Recv after %d: %v", len(got), err)
		}
		for i := range n {
			got = append(got, bytes.Clone(in.Packet(i)))
		}
	}
	for i, p := range got {
		if !bytes.Equal(p, bytes.Repeat([]byte{byte(i)}, 10+i)) {
			t.Errorf("datagram %d: % x", i, p)
		}
	}
}

func TestRecvEndsAtTheDeadline(t *testing.T) {
	if !Supported {
		t.Skip("no recvmmsg on this system")
	}
	_, b := loopbackPair(t)
	raw, err := b.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	_ = b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := NewBatch(4, 1500).Recv(raw); err == nil {
		t.Fatal("Recv on a silent socket returned without error after its deadline")
	}
}
