package web_test

import (
	"os"
	"testing"

	"github.com/bayan-dev/bayan/internal/testnet"
)

// TestMain runs the tests in the isolated test network: some drive WebRTC
// clients that leave loopback out of their ICE candidates.
func TestMain(m *testing.M) {
	os.Exit(testnet.Main(m))
}
