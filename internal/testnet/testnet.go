// Package testnet puts tests that run outside WebRTC clients inside an
// isolated network namespace, and guards them: they never touch the
// machine's real network.
package testnet

import (
	"net"
	"os"
	"strings"
	"testing"
)

// The addresses of the test network: the veth pair Main (or .ci/netns)
// creates, beside loopback.
var (
	isolatedPrefix = net.IPNet{IP: net.IPv4(10, 77, 0, 0), Mask: net.CIDRMask(24, 32)}
	vethAddrs      = [2]net.IPNet{
		{IP: net.IPv4(10, 77, 0, 1), Mask: net.CIDRMask(24, 32)},
		{IP: net.IPv4(10, 77, 0, 2), Mask: net.CIDRMask(24, 32)},
	}
)

// unavailableEnv carries, from Main to Require, why no namespace could be
// made, so that the skip says what to do about it.
const unavailableEnv = "BAYAN_TESTNET_UNAVAILABLE"

// Isolated reports whether every address on this host is loopback, link-local
// or in the test network (10.77.0.0/24).
func Isolated() bool {
	return len(foreignAddrs()) == 0
}

// foreignAddrs returns the host's addresses that are outside the test
// network, or a description of the failure to list them.
func foreignAddrs() []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return []string{"(addresses not listed: " + err.Error() + ")"}
	}
	var out []string
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if ok && (ipn.IP.IsLoopback() || isolatedPrefix.Contains(ipn.IP) || ipn.IP.IsLinkLocalUnicast()) {
			continue
		}
		out = append(out, a.String())
	}
	return out
}

// Require skips the test (fails it when CI is set) unless it runs inside
// the isolated test network.
func Require(t testing.TB) {
	t.Helper()
	foreign := foreignAddrs()
	if len(foreign) == 0 {
		return
	}
	msg := "needs the isolated test network (loopback and 10.77.0.0/24 only; this host also has " +
		strings.Join(foreign, ", ") + ")"
	if why := os.Getenv(unavailableEnv); why != "" {
		msg += ": testnet.Main could not make one (" + why + "); run as root, or where unprivileged user namespaces are allowed"
	} else {
		msg += ": the package's TestMain must call testnet.Main, or run inside `sudo .ci/netns && sudo ip netns exec bayan-test ...`"
	}
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
