package testserver

import (
	"fmt"
	"os"
	"testing"

	"github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/bayan-dev/bayan/internal/testnet"
)

// Main is the TestMain of the suites that drive a node with the LiveKit
// SDK: it runs them in the isolated test network (testnet.Main) and returns
// the exit code. It gives the SDK a leveled logger first: the default one
// formats pion's debug messages with a %+v of a track pion is still writing
// to, which the race detector reports (a race in the client, not in Bayan).
// Warnings still show; BAYAN_TEST_LOG=1 shows the SDK's debug log.
func Main(m *testing.M) int {
	level := "warn"
	if os.Getenv("BAYAN_TEST_LOG") != "" {
		level = "debug"
	}
	l, err := logger.NewZapLogger(&logger.Config{Level: level})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sdk logger:", err)
		return 2
	}
	lksdk.SetLogger(l)
	return testnet.Main(m)
}
