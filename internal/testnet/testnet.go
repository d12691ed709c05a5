// Package testnet guards tests that run outside WebRTC clients: they must run
// inside the test network namespace (.ci/netns), never on the machine's real
// network.
package testnet

import (
	"net"
	"os"
	"testing"
)

// isolatedPrefix is the veth network .ci/netns creates.
var isolatedPrefix = net.IPNet{IP: net.IPv4(10, 77, 0, 0), Mask: net.CIDRMask(24, 32)}

// Isolated reports whether every address on this host is loopback or in the
// test namespace's private network.
func Isolated() bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			return false
		}
		if ipn.IP.IsLoopback() || isolatedPrefix.Contains(ipn.IP) || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		return false
	}
	return true
}

// Require skips the test (fails it when CI is set) unless it runs inside
// the isolated test network.
func Require(t testing.TB) {
	t.Helper()
	if Isolated() {
		return
	}
	msg := "needs the isolated test network: run `sudo .ci/netns && sudo ip netns exec bayan-test go test ./...`"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
