package sfu

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
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

// A warning pion writes once per bad packet writes pionBurst lines a
// minute, formatted only when written; the next minute's first line is
// preceded by how many were held back. Another shape keeps its budget.
func TestPionLogLimitsEachShapeOfWarning(t *testing.T) {
	var out bytes.Buffer
	now := time.Unix(1000, 0)
	f := NewPionLoggerFactory(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))).(pionLogs)
	f.now = func() time.Time { return now }
	log := f.NewLogger("ice")
	n := 0
	for range 1000 {
		log.Warnf("Discard request with broken integrity from (%s), %v", countedString{&n}, "bad")
	}
	log.Warn("something else")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != pionBurst+1 || n != pionBurst {
		t.Fatalf("1000 warnings and one other wrote %d lines, formatted %d times:\n%s", len(lines), n, out.String())
	}
	if !strings.Contains(lines[pionBurst], "something else") {
		t.Fatalf("the other warning is missing: %q", lines[pionBurst])
	}
	out.Reset()
	now = now.Add(pionInterval)
	log.Warnf("Discard request with broken integrity from (%s), %v", "10.0.0.1:5000", "bad")
	got := out.String()
	if !strings.Contains(got, `msg="similar lines suppressed"`) || !strings.Contains(got, "count=995") ||
		!strings.Contains(got, "Discard request with broken integrity from (10.0.0.1:5000)") {
		t.Fatalf("a minute later wrote %q, want the count held back (995) and the line", got)
	}
}

// pion's warnings about every connection's normal life are debug lines.
func TestPionLogDemotesRoutineWarnings(t *testing.T) {
	var out bytes.Buffer
	log := NewPionLoggerFactory(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))).NewLogger("ice")
	log.Warn("Failed to ping without candidate pairs. Connection is not possible yet.")
	log.Warn("UDPMuxDefault should not listening on unspecified address, use NewMultiUDPMuxFromPort instead")
	log.Warnf("Failed to close RTP stream %v", errors.New("stream is already closed"))
	log.Errorf("Failed to read: %v", errors.New("read udp 127.0.0.1:1: use of closed network connection"))
	// A participant who leaves before its connection is up.
	log.Warnf("Failed to start manager: %v", errors.New("connecting canceled by caller"))
	log.Warnf("Failed to start connectivity checks: %v", errors.New("the agent is closed"))
	log.Warnf("undeclaredMediaProcessor failed to open SrtpSession: %v", errors.New("the DTLS transport has not started yet"))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 7 {
		t.Fatalf("wrote %d lines, want 7:\n%s", len(lines), out.String())
	}
	for _, l := range lines {
		if !strings.Contains(l, "level=DEBUG") {
			t.Errorf("not a debug line: %s", l)
		}
	}
}

// scopeLog records the scopes pion asks its loggers for.
type scopeLog struct {
	logging.LoggerFactory
	mu     sync.Mutex
	scopes []string
}

func (s *scopeLog) NewLogger(scope string) logging.LeveledLogger {
	s.mu.Lock()
	s.scopes = append(s.scopes, scope)
	s.mu.Unlock()
	return s.LoggerFactory.NewLogger(scope)
}

// The interceptors log through the engine's factory too: pion's default
// one would write their errors (a TWCC feedback write failing every
// 100 ms, say) to stderr, unlimited.
func TestEngineInterceptorsLogThroughItsFactory(t *testing.T) {
	lf := &scopeLog{LoggerFactory: NewPionLoggerFactory(slog.New(slog.DiscardHandler))}
	e, err := NewEngine(EngineConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true, LoggerFactory: lf})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tr, err := e.NewTransport()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	lf.mu.Lock()
	defer lf.mu.Unlock()
	for _, want := range []string{"nack_generator", "receiver_interceptor", "sender_interceptor", "twcc"} {
		if !slices.Contains(lf.scopes, want) {
			t.Errorf("no %s logger from the engine's factory; it made %v", want, lf.scopes)
		}
	}
}
