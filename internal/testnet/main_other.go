//go:build !linux

package testnet

import (
	"os"
	"testing"
)

// Main runs the package's tests and returns their exit code, for a
// TestMain. Network namespaces are Linux's: elsewhere the tests that need
// the isolated test network skip, saying so.
func Main(m *testing.M) int {
	if !Isolated() {
		os.Setenv(unavailableEnv, "network namespaces need Linux")
	}
	return m.Run()
}
