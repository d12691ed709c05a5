package classroom

import (
	"log/slog"
	"time"

	"github.com/bayan-dev/bayan/store"
)

// logStateChange writes "class started" or "class ended" when c, as
// store.UpdateClassState returned it for a move asked for at at, has just
// made that move: the store stamps a move with at (to the millisecond),
// so a retried request, finding the class already there, writes nothing.
// by, when not empty, is the identity who asked (a teacher in class).
func logStateChange(log *slog.Logger, c store.Class, at time.Time, by string) {
	at = time.UnixMilli(at.UnixMilli())
	var msg string
	switch {
	case c.State == store.ClassLive && c.StartedAt.Equal(at):
		msg = "class started"
	case c.State == store.ClassEnded && c.EndedAt.Equal(at):
		msg = "class ended"
	default:
		return
	}
	attrs := []any{"class", c.ID, "title", c.Title}
	if by != "" {
		attrs = append(attrs, "by", by)
	}
	log.Info(msg, attrs...)
}
