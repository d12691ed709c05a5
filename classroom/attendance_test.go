package classroom

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bayan-dev/bayan/store"
)

// liveOverStore is a Live over a fresh SQLite store with one class.
func liveOverStore(t *testing.T) (*Live, *store.Store, string) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "bayan.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c, err := st.CreateClass(context.Background(), store.Class{Title: "Presence", Teachers: []string{"t"},
		StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	l := NewLive(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l, st, c.ID
}

// Close writes every queued event before it returns: a backlog of a few
// hundred events (a second or more of SQLite commits) is all stored.
func TestAttendanceDrainsOnClose(t *testing.T) {
	l, st, class := liveOverStore(t)
	const n = 300
	for i := range n {
		l.att.record(class, fmt.Sprintf("s%03d", i), store.RoleStudent, store.Join)
		l.att.record(class, fmt.Sprintf("s%03d", i), store.RoleStudent, store.Leave)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	events, err := st.AttendanceEvents(ctx, class)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2*n {
		t.Fatalf("%d events stored, want %d", len(events), 2*n)
	}
	for i := range n {
		j, lv := events[2*i], events[2*i+1]
		id := fmt.Sprintf("s%03d", i)
		if j.Identity != id || j.Kind != store.Join || lv.Identity != id || lv.Kind != store.Leave || lv.At.Before(j.At) {
			t.Fatalf("events %d, %d = %+v, %+v", 2*i, 2*i+1, j, lv)
		}
	}
	// After Close nothing more is queued (and nothing blocks).
	l.att.record(class, "late", store.RoleStudent, store.Join)
	if events, _ := st.AttendanceEvents(ctx, class); len(events) != 2*n {
		t.Errorf("%d events after a record past Close", len(events))
	}
}

// Two sessions of one identity at once are one presence; observers are
// not recorded; a leave never joined is ignored.
func TestAttendanceOnePresencePerIdentity(t *testing.T) {
	l, st, class := liveOverStore(t)
	steps := []struct {
		who  string
		role store.Role
		kind store.AttendanceKind
	}{
		{"ana", store.RoleStudent, store.Join},
		{"ana", store.RoleStudent, store.Join},  // a second session
		{"ana", store.RoleStudent, store.Leave}, // the first one ends
		{"ghost", store.RoleStudent, store.Leave},
		{"inspector", RoleObserver, store.Join},
		{"ms-t", store.RoleTeacher, store.Join},
		{"ana", store.RoleStudent, store.Leave}, // the last one ends
		{"inspector", RoleObserver, store.Leave},
	}
	for _, s := range steps {
		l.att.record(class, s.who, s.role, s.kind)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	events, err := st.AttendanceEvents(context.Background(), class)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, fmt.Sprintf("%s %s %s", e.Identity, e.Role, e.Kind))
	}
	want := []string{"ana student join", "ms-t teacher join", "ana student leave"}
	if !slices.Equal(got, want) {
		t.Errorf("stored %q, want %q", got, want)
	}
}

// A Close whose context ends first returns an error instead of waiting for
// a store that does not answer, and stops the writer.
func TestAttendanceCloseGivesUp(t *testing.T) {
	l, st, class := liveOverStore(t)
	for i := range 2000 {
		l.att.record(class, fmt.Sprintf("s%d", i), store.RoleStudent, store.Join)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := l.Close(ctx); err == nil {
		t.Fatal("Close with a 50 ms deadline and 2000 events queued returned no error")
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Close took %v after its context ended", d)
	}
	events, err := st.AttendanceEvents(context.Background(), class)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) >= 2000 {
		t.Errorf("all %d events written in 50 ms?", len(events))
	}
}
