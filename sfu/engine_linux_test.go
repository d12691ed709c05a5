package sfu

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The shared ICE socket asks for buffers far above the kernel's default,
// as much as net.core.rmem_max and wmem_max allow.
func TestEngineSocketBuffers(t *testing.T) {
	e, err := NewEngine(EngineConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	raw, err := e.udpConn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opt   int
		limit string
	}{{syscall.SO_RCVBUF, "rmem_max"}, {syscall.SO_SNDBUF, "wmem_max"}} {
		b, err := os.ReadFile("/proc/sys/net/core/" + c.limit)
		if err != nil {
			t.Fatal(err)
		}
		max, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		var got int
		var gerr error
		if err := raw.Control(func(fd uintptr) { got, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, c.opt) }); err != nil || gerr != nil {
			t.Fatal(err, gerr)
		}
		// Linux reports twice what was set, for its bookkeeping.
		if want := 2 * min(udpSocketBuffer, max); got < want {
			t.Errorf("%s: %d bytes, want %d (%s %d)", c.limit, got, want, c.limit, max)
		}
	}
}
