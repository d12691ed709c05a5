package store

import (
	"errors"
	"testing"
	"time"
)

func TestAttendance(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)
		c := mustClass(t, s, "Attendance")
		type ev struct {
			who  string
			role Role
			kind AttendanceKind
			at   time.Duration
		}
		// Recorded out of time order; two events share a time.
		in := []ev{
			{"teacher", RoleTeacher, Join, 0},
			{"s1", RoleStudent, Join, 2 * time.Minute},
			{"s1", RoleStudent, Leave, 5 * time.Minute},
			{"a1", RoleAssistant, Join, time.Minute},
			{"s2", RoleStudent, Join, 2 * time.Minute},
		}
		for _, e := range in {
			got, err := s.RecordAttendance(ctx, c.ID, e.who, e.role, e.kind, t0.Add(e.at))
			if err != nil {
				t.Fatal(err)
			}
			if got.ID == 0 || got.Identity != e.who || !got.At.Equal(t0.Add(e.at).Truncate(time.Millisecond)) {
				t.Fatalf("recorded %+v", got)
			}
		}
		got, err := s.AttendanceEvents(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []ev{in[0], in[3], in[1], in[4], in[2]} // by time, then as recorded
		if len(got) != len(want) {
			t.Fatalf("got %d events, want %d", len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.ClassID != c.ID || g.Identity != w.who || g.Role != w.role || g.Kind != w.kind ||
				!g.At.Equal(t0.Add(w.at).Truncate(time.Millisecond)) {
				t.Errorf("event %d = %+v, want %+v", i, g, w)
			}
		}

		if _, err := s.RecordAttendance(ctx, "CL_missing", "s1", RoleStudent, Join, t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing class: %v, want ErrNotFound", err)
		}
		if _, err := s.RecordAttendance(ctx, c.ID, "s1", "guest", Join, t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("unknown role: %v, want ErrInvalid", err)
		}
		if _, err := s.RecordAttendance(ctx, c.ID, "s1", RoleStudent, "wave", t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("unknown kind: %v, want ErrInvalid", err)
		}
		if got, err := s.AttendanceEvents(ctx, "CL_missing"); err != nil || len(got) != 0 {
			t.Errorf("missing class: %v, %v; want empty", got, err)
		}
	})
}
