// Package testlog records the lines a component logs, for tests about what
// it logs.
package testlog

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// Lines holds the lines of a slog text handler, without their time, so
// that a test compares what was logged, not when.
type Lines struct {
	mu    sync.Mutex
	lines []string
	h     slog.Handler
}

// New returns a record of what is logged at level and above.
func New(level slog.Level) *Lines {
	l := &Lines{}
	l.h = slog.NewTextHandler(writer{l}, &slog.HandlerOptions{Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})
	return l
}

// Tee returns a logger writing to log and to l.
func (l *Lines) Tee(log *slog.Logger) *slog.Logger {
	return slog.New(slog.NewMultiHandler(log.Handler(), l.h))
}

// Logger returns a logger writing to l only.
func (l *Lines) Logger() *slog.Logger { return slog.New(l.h) }

// Matching returns the lines, oldest first, that contain every one of
// parts (all of them without parts).
func (l *Lines) Matching(parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
next:
	for _, line := range l.lines {
		for _, p := range parts {
			if !strings.Contains(line, p) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}

// writer adds a text handler's lines to l: the handler writes one line
// per call.
type writer struct{ l *Lines }

func (w writer) Write(p []byte) (int, error) {
	line := string(bytes.TrimRight(p, "\n"))
	w.l.mu.Lock()
	w.l.lines = append(w.l.lines, line)
	w.l.mu.Unlock()
	return len(p), nil
}
