package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// pionLogs routes pion's logs into slog. pion's informational messages are
// per-connection chatter and go to debug; an error about a socket or pipe
// that is already closed is what a normal shutdown looks like and goes to
// debug too.
type pionLogs struct{ log *slog.Logger }

// NewPionLoggerFactory returns a pion logger factory writing to log.
func NewPionLoggerFactory(log *slog.Logger) logging.LoggerFactory { return pionLogs{log: log} }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) emit(level slog.Level, msg string) {
	if level >= slog.LevelWarn && (strings.Contains(msg, "use of closed network connection") ||
		strings.Contains(msg, "read/write on closed pipe")) {
		level = slog.LevelDebug
	}
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, msg)
	}
}

// emitf formats only what may be written: warnings and errors always (emit
// reads them before their level is final), the rest only when enabled.
func (l pionLogger) emitf(level slog.Level, format string, args []any) {
	if level < slog.LevelWarn && !l.log.Enabled(context.Background(), level) {
		return
	}
	l.emit(level, fmt.Sprintf(format, lockedArgs(args)...))
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
