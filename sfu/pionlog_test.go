package sfu

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// countedString counts how often it is formatted.
type countedString struct{ n *int }

func (c countedString) String() string { *c.n++; return "x" }

func TestPionLogFormatsOnlyWhatIsWritten(t *testing.T) {
	var out bytes.Buffer
	log := NewPionLoggerFactory(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))).NewLogger("pc")
	n := 0
	log.Debugf("chatter %v", countedString{&n})
	log.Infof("chatter %v", countedString{&n}) // pion's info is our debug
	if n != 0 || out.Len() != 0 {
		t.Fatalf("disabled levels formatted %d times and wrote %q", n, out.String())
	}
	log.Warnf("trouble %v", countedString{&n})
	if n != 1 || !strings.Contains(out.String(), "trouble x") {
		t.Fatalf("a warning was formatted %d times, written as %q", n, out.String())
	}
}

// pion logs a new remote track with %+v while its other goroutines write
// to it: the track is shown through its locked accessors, not its fields.
func TestPionLogShowsRemoteTracksThroughAccessors(t *testing.T) {
	var out bytes.Buffer
	log := NewPionLoggerFactory(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))).NewLogger("pc")
	log.Debugf("got new track: %+v", &webrtc.TrackRemote{})
	got := out.String()
	if !strings.Contains(got, "got new track: {id: rid: ssrc:0") || strings.Contains(got, "mu:") {
		t.Fatalf("logged %q, want the track's accessors and none of its fields", got)
	}
}
