package test

import (
	"os"
	"testing"

	"github.com/bayan-dev/bayan/internal/testserver"
)

// TestMain runs the suite in the test network with a quiet SDK logger.
func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }
