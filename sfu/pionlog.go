package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/internal/loglimit"
)

// pionLogs routes pion's logs into slog. pion's informational messages are
// per-connection chatter and go to debug; its routine warnings (see
// routine) go to debug too. Warnings and errors are rate-limited per
// scope and message shape: many of pion's are written once per packet
// that fails a check (a STUN request with bad integrity, say), so whoever
// can send packets could otherwise write the log.
type pionLogs struct {
	log   *slog.Logger
	limit *loglimit.Limiter[lineShape]
	now   func() time.Time
}

// lineShape is a kind of pion log line: its scope and its format string
// (or message), before the per-packet details are filled in.
type lineShape struct{ scope, shape string }

// Each shape of warning writes at most pionBurst lines per pionInterval;
// pionShapes bounds the shapes tracked (pion's format strings are a few
// hundred; a message built at run time could otherwise add one each).
const (
	pionBurst    = 5
	pionInterval = time.Minute
	pionShapes   = 1024
)

// NewPionLoggerFactory returns a pion logger factory writing to log, at
// most a few lines per minute of each shape of warning or error.
func NewPionLoggerFactory(log *slog.Logger) logging.LoggerFactory {
	return pionLogs{log: log, limit: loglimit.New[lineShape](pionBurst, pionInterval, pionShapes), now: time.Now}
}

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope), scope: scope, limit: f.limit, now: f.now}
}

type pionLogger struct {
	log   *slog.Logger
	scope string
	limit *loglimit.Limiter[lineShape]
	now   func() time.Time
}

// routine reports whether a warning, by its message or format string, is
// part of every connection's normal life: ICE asked to check before the
// remote candidates arrived, or a UDP mux on a wildcard address (as
// configured on purpose).
func routine(shape string) bool {
	return strings.HasPrefix(shape, "Failed to ping without candidate pairs") ||
		strings.HasPrefix(shape, "UDPMuxDefault should not listening on unspecified address")
}

// closing reports whether a formatted warning is about a socket, pipe or
// stream that is already closed, or a connection closed before its ICE or
// DTLS had started: what a normal shutdown or an early leave looks like.
func closing(msg string) bool {
	return strings.Contains(msg, "use of closed network connection") ||
		strings.Contains(msg, "read/write on closed pipe") ||
		strings.Contains(msg, "stream is already closed") ||
		strings.Contains(msg, "connecting canceled by caller") ||
		strings.Contains(msg, "the agent is closed") ||
		strings.Contains(msg, "the DTLS transport has not started yet")
}

func (l pionLogger) enabled(level slog.Level) bool {
	return l.log.Enabled(context.Background(), level)
}

// admit reports whether a warning or error of shape may be written now,
// first writing how many of its shape were held back since the last one.
func (l pionLogger) admit(level slog.Level, shape string) bool {
	ok, suppressed := l.limit.Allow(lineShape{l.scope, shape}, l.now())
	if ok && suppressed > 0 {
		l.log.Log(context.Background(), level, "similar lines suppressed", "shape", shape, "count", suppressed)
	}
	return ok
}

func (l pionLogger) emit(level slog.Level, msg string) {
	if level >= slog.LevelWarn && (routine(msg) || closing(msg)) {
		level = slog.LevelDebug
	}
	if !l.enabled(level) || level >= slog.LevelWarn && !l.admit(level, msg) {
		return
	}
	l.log.Log(context.Background(), level, msg)
}

// emitf formats only what may be written: warnings and errors within their
// shape's budget (formatted before their level is final, as closing reads
// them), the rest only when enabled.
func (l pionLogger) emitf(level slog.Level, format string, args []any) {
	if level >= slog.LevelWarn && routine(format) {
		level = slog.LevelDebug
	}
	if !l.enabled(level) || level >= slog.LevelWarn && !l.admit(level, format) {
		return
	}
	msg := fmt.Sprintf(format, lockedArgs(args)...)
	if level >= slog.LevelWarn && closing(msg) {
		level = slog.LevelDebug
		if !l.enabled(level) {
			return
		}
	}
	l.log.Log(context.Background(), level, msg)
}

// lockedArgs shows pion's remote tracks by what their locked accessors
// report: pion logs a new track with %+v while its other goroutines still
// write to it (the RTX stream of a simulcast layer, say), and formatting
// its fields directly is a data race.
func lockedArgs(args []any) []any {
	var out []any
	for i, a := range args {
		t, ok := a.(*webrtc.TrackRemote)
		if !ok || t == nil {
			continue
		}
		if out == nil {
			out = append([]any(nil), args...)
		}
		out[i] = fmt.Sprintf("{id:%s rid:%s ssrc:%d kind:%s codec:%s}", t.ID(), t.RID(), t.SSRC(), t.Kind(), t.Codec().MimeType)
	}
	if out == nil {
		return args
	}
	return out
}

func (l pionLogger) Trace(msg string)                  { l.emit(slog.LevelDebug-4, msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.emitf(slog.LevelDebug-4, format, args) }
func (l pionLogger) Debug(msg string)                  { l.emit(slog.LevelDebug, msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.emitf(slog.LevelDebug, format, args) }
func (l pionLogger) Info(msg string)                   { l.emit(slog.LevelDebug, msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.emitf(slog.LevelDebug, format, args) }
func (l pionLogger) Warn(msg string)                   { l.emit(slog.LevelWarn, msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.emitf(slog.LevelWarn, format, args) }
func (l pionLogger) Error(msg string)                  { l.emit(slog.LevelError, msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.emitf(slog.LevelError, format, args) }
