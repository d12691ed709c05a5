package store

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// t0 is a fixed schedule origin with a sub-millisecond part, which the
// store must drop consistently.
var t0 = time.Date(2031, 3, 4, 9, 0, 0, 123456789, time.UTC)

// mustClass creates a class one hour long starting at t0.
func mustClass(t *testing.T, s *Store, title string) Class {
	t.Helper()
	c, err := s.CreateClass(testContext(t), Class{
		Title: title, Teachers: []string{"teacher"}, StartsAt: t0, EndsAt: t0.Add(time.Hour),
	})
	if err != nil {
		t.Fatalf("CreateClass: %v", err)
	}
	return c
}

func TestCreateGetClass(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)
		in := Class{
			Title:      " Physics ",
			Teachers:   []string{"t2", "t1"},
			Assistants: []string{"a1"},
			Roster:     []string{"s2", "s1"},
			StartsAt:   t0.In(time.FixedZone("X", 3600)),
			EndsAt:     t0.Add(90 * time.Minute),
		}
		c, err := s.CreateClass(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.ID) < 10 || c.ID[:3] != "CL_" || c.State != ClassScheduled || c.CreatedAt.IsZero() {
			t.Fatalf("created %+v", c)
		}
		got, err := s.GetClass(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := c
		want.Title = "Physics"
		want.StartsAt = t0.Truncate(time.Millisecond)
		want.EndsAt = t0.Add(90 * time.Minute).Truncate(time.Millisecond)
		want.Teachers, want.Assistants, want.Roster = []string{"t1", "t2"}, []string{"a1"}, []string{"s1", "s2"}
		if !classEqual(got, want) {
			t.Fatalf("GetClass = %+v\nwant        %+v", got, want)
		}
		if got.StartsAt.Location() != time.UTC {
			t.Errorf("StartsAt not UTC: %v", got.StartsAt)
		}
		for id, role := range map[string]Role{"t1": RoleTeacher, "a1": RoleAssistant, "s2": RoleStudent} {
			if r, ok := got.Member(id); !ok || r != role {
				t.Errorf("Member(%s) = %s, %v", id, r, ok)
			}
		}
		if _, ok := got.Member("stranger"); ok {
			t.Error("stranger is a member")
		}

		if _, err := s.GetClass(ctx, "CL_missing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetClass(missing) = %v, want ErrNotFound", err)
		}
	})
}

func TestCreateClassInvalid(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)
		ok := Class{Title: "x", Teachers: []string{"t"}, StartsAt: t0, EndsAt: t0.Add(time.Hour)}
		for name, mod := range map[string]func(*Class){
			"no title":      func(c *Class) { c.Title = "  " },
			"no teacher":    func(c *Class) { c.Teachers = nil },
			"empty teacher": func(c *Class) { c.Teachers = []string{""} },
			"ends first":    func(c *Class) { c.EndsAt = c.StartsAt },
			"no schedule":   func(c *Class) { c.StartsAt, c.EndsAt = time.Time{}, time.Time{} },
			"two roles":     func(c *Class) { c.Roster = []string{"t"} },
		} {
			c := ok
			mod(&c)
			if _, err := s.CreateClass(ctx, c); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		if l, err := s.ListClasses(ctx, ClassFilter{}); err != nil || len(l) != 0 {
			t.Errorf("after invalid creates: %d classes, %v", len(l), err)
		}
	})
}

func TestListClasses(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)
		mk := func(title string, start time.Duration, people ...string) Class {
			c, err := s.CreateClass(ctx, Class{
				Title: title, Teachers: []string{"t"}, Roster: people,
				StartsAt: t0.Add(start), EndsAt: t0.Add(start + time.Hour),
			})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		c3 := mk("third", 2*time.Hour, "s1")
		c1 := mk("first", 0, "s1", "s2")
		c2 := mk("second", time.Hour, "s2")
		if _, err := s.UpdateClassState(ctx, c1.ID, ClassLive, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateClassState(ctx, c2.ID, ClassEnded, t0); err != nil {
			t.Fatal(err)
		}
		for name, tc := range map[string]struct {
			f    ClassFilter
			want []string
		}{
			"all":            {ClassFilter{}, []string{c1.ID, c2.ID, c3.ID}},
			"live":           {ClassFilter{States: []ClassState{ClassLive}}, []string{c1.ID}},
			"live+scheduled": {ClassFilter{States: []ClassState{ClassScheduled, ClassLive}}, []string{c1.ID, c3.ID}},
			"from":           {ClassFilter{From: t0.Add(90 * time.Minute)}, []string{c2.ID, c3.ID}},
			"to":             {ClassFilter{To: t0.Add(time.Hour)}, []string{c1.ID}},
			"window":         {ClassFilter{From: t0.Add(time.Hour), To: t0.Add(2 * time.Hour)}, []string{c2.ID}},
			"member":         {ClassFilter{Member: "s1"}, []string{c1.ID, c3.ID}},
			"teacher":        {ClassFilter{Member: "t", Limit: 2}, []string{c1.ID, c2.ID}},
			"nobody":         {ClassFilter{Member: "x"}, nil},
		} {
			got, err := s.ListClasses(ctx, tc.f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var ids []string
			for _, c := range got {
				ids = append(ids, c.ID)
				if len(c.Teachers) != 1 {
					t.Errorf("%s: %s has teachers %v", name, c.Title, c.Teachers)
				}
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("%s: got %v, want %v", name, ids, tc.want)
			}
		}
		if _, err := s.ListClasses(ctx, ClassFilter{States: []ClassState{"paused"}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("unknown state: %v, want ErrInvalid", err)
		}
	})
}

func TestUpdateClassState(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)
		c := mustClass(t, s, "Chemistry")
		start, end := t0.Add(time.Minute), t0.Add(time.Hour)

		got, err := s.UpdateClassState(ctx, c.ID, ClassLive, start)
		if err != nil || got.State != ClassLive || !got.StartedAt.Equal(start.Truncate(time.Millisecond)) {
			t.Fatalf("to live: %+v, %v", got, err)
		}
		// Retrying is harmless and keeps the first start.
		if got, err := s.UpdateClassState(ctx, c.ID, ClassLive, end); err != nil || !got.StartedAt.Equal(start.Truncate(time.Millisecond)) {
			t.Fatalf("live again: %+v, %v", got, err)
		}
		if _, err := s.UpdateClassState(ctx, c.ID, ClassScheduled, end); !errors.Is(err, ErrConflict) {
			t.Fatalf("back to scheduled: %v, want ErrConflict", err)
		}
		got, err = s.UpdateClassState(ctx, c.ID, ClassEnded, end)
		if err != nil || got.State != ClassEnded || !got.EndedAt.Equal(end.Truncate(time.Millisecond)) {
			t.Fatalf("to ended: %+v, %v", got, err)
		}
		if _, err := s.UpdateClassState(ctx, c.ID, ClassLive, end); !errors.Is(err, ErrConflict) {
			t.Fatalf("ended to live: %v, want ErrConflict", err)
		}
		if _, err := s.UpdateClassState(ctx, "CL_missing", ClassLive, end); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing: %v, want ErrNotFound", err)
		}
		if _, err := s.UpdateClassState(ctx, c.ID, "paused", end); !errors.Is(err, ErrInvalid) {
			t.Fatalf("unknown state: %v, want ErrInvalid", err)
		}
		// Cancelling: scheduled straight to ended.
		c2 := mustClass(t, s, "Cancelled")
		if got, err := s.UpdateClassState(ctx, c2.ID, ClassEnded, end); err != nil || got.State != ClassEnded || !got.StartedAt.IsZero() {
			t.Fatalf("cancel: %+v, %v", got, err)
		}
	})
}

func classEqual(a, b Class) bool {
	return a.ID == b.ID && a.Title == b.Title && a.State == b.State &&
		slices.Equal(a.Teachers, b.Teachers) && slices.Equal(a.Assistants, b.Assistants) &&
		slices.Equal(a.Roster, b.Roster) &&
		a.StartsAt.Equal(b.StartsAt) && a.EndsAt.Equal(b.EndsAt) &&
		a.StartedAt.Equal(b.StartedAt) && a.EndedAt.Equal(b.EndedAt) && a.CreatedAt.Equal(b.CreatedAt)
}
