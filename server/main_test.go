package server_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/bayan-dev/bayan/internal/testnet"
)

// TestMain runs the tests in the isolated test network (testnet.Main), and
// gives the LiveKit SDK, the client these tests drive, a leveled logger: its
// default one formats every debug message of pion's, including a %+v of a
// track that pion is still writing to, which the race detector rightly
// reports (a race in the client, not in Bayan). Warnings still show.
func TestMain(m *testing.M) {
	level := "warn"
	if os.Getenv("BAYAN_TEST_LOG") != "" {
		level = "debug"
	}
	l, err := logger.NewZapLogger(&logger.Config{Level: level})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sdk logger:", err)
		os.Exit(2)
	}
	lksdk.SetLogger(l)
	os.Exit(testnet.Main(m))
}
