package store

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestPolls(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)
		c := mustClass(t, s, "Polls")
		single, err := s.CreatePoll(ctx, Poll{ClassID: c.ID, Question: "Best fruit?", Options: []string{"apple", "pear", "fig"}, CreatedBy: "teacher"})
		if err != nil {
			t.Fatal(err)
		}
		multi, err := s.CreatePoll(ctx, Poll{ClassID: c.ID, Question: "Which?", Options: []string{"a", "b", "c"}, Multiple: true, CreatedBy: "teacher"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.GetPoll(ctx, single.ID)
		if err != nil || got.Question != "Best fruit?" || !slices.Equal(got.Options, single.Options) ||
			got.Multiple || !got.Open() || !got.CreatedAt.Equal(single.CreatedAt) || got.ClassID != c.ID {
			t.Fatalf("GetPoll = %+v, %v", got, err)
		}
		if got, err := s.GetPoll(ctx, multi.ID); err != nil || !got.Multiple {
			t.Fatalf("GetPoll(multi) = %+v, %v", got, err)
		}

		answer := func(p Poll, who string, choices ...int) error { return s.AnswerPoll(ctx, p.ID, who, choices) }
		for _, a := range []struct {
			who     string
			choices []int
		}{{"s1", []int{0}}, {"s2", []int{2}}, {"s3", []int{0}}} {
			if err := answer(single, a.who, a.choices...); err != nil {
				t.Fatal(err)
			}
		}
		if err := answer(single, "s1", 1); !errors.Is(err, ErrConflict) {
			t.Errorf("second answer: %v, want ErrConflict", err)
		}
		for name, choices := range map[string][]int{"none": nil, "two": {0, 1}, "range": {3}, "negative": {-1}} {
			if err := answer(single, "s4", choices...); !errors.Is(err, ErrInvalid) {
				t.Errorf("single %s: %v, want ErrInvalid", name, err)
			}
		}
		if err := answer(multi, "s1", 0, 2); err != nil {
			t.Fatal(err)
		}
		if err := answer(multi, "s2", 2); err != nil {
			t.Fatal(err)
		}
		if err := answer(multi, "s3", 1, 1); !errors.Is(err, ErrInvalid) {
			t.Errorf("repeated choice: %v, want ErrInvalid", err)
		}
		if err := answer(Poll{ID: "PL_missing"}, "s1", 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing poll: %v, want ErrNotFound", err)
		}

		tally := func(p Poll) Tally {
			t.Helper()
			tl, err := s.PollTally(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			return tl
		}
		if tl := tally(single); !slices.Equal(tl.Counts, []int{2, 0, 1}) || tl.Voters != 3 || tl.Poll.ID != single.ID {
			t.Errorf("single tally = %+v", tl)
		}
		if tl := tally(multi); !slices.Equal(tl.Counts, []int{1, 0, 2}) || tl.Voters != 2 {
			t.Errorf("multi tally = %+v", tl)
		}

		closeAt := t0.Add(time.Minute)
		if err := s.ClosePoll(ctx, single.ID, closeAt); err != nil {
			t.Fatal(err)
		}
		if err := s.ClosePoll(ctx, single.ID, closeAt.Add(time.Hour)); err != nil {
			t.Errorf("closing twice: %v", err)
		}
		if got, err := s.GetPoll(ctx, single.ID); err != nil || got.Open() || !got.ClosedAt.Equal(closeAt.Truncate(time.Millisecond)) {
			t.Errorf("closed poll = %+v, %v", got, err)
		}
		if err := answer(single, "s5", 1); !errors.Is(err, ErrClosed) {
			t.Errorf("answer closed poll: %v, want ErrClosed", err)
		}
		if tl := tally(single); !slices.Equal(tl.Counts, []int{2, 0, 1}) || tl.Voters != 3 {
			t.Errorf("tally after close = %+v", tl)
		}
		if err := s.ClosePoll(ctx, "PL_missing", closeAt); !errors.Is(err, ErrNotFound) {
			t.Errorf("close missing: %v, want ErrNotFound", err)
		}
		if _, err := s.PollTally(ctx, "PL_missing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("tally missing: %v, want ErrNotFound", err)
		}
		if _, err := s.GetPoll(ctx, "PL_missing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("get missing: %v, want ErrNotFound", err)
		}
	})
}

func TestCreatePollInvalid(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)
		c := mustClass(t, s, "Polls")
		for name, p := range map[string]Poll{
			"no question": {ClassID: c.ID, Options: []string{"a", "b"}},
			"one option":  {ClassID: c.ID, Question: "q", Options: []string{"a"}},
			"repeated":    {ClassID: c.ID, Question: "q", Options: []string{"a", "a"}},
			"empty":       {ClassID: c.ID, Question: "q", Options: []string{"a", " "}},
		} {
			if _, err := s.CreatePoll(ctx, p); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		if _, err := s.CreatePoll(ctx, Poll{ClassID: "CL_missing", Question: "q", Options: []string{"a", "b"}}); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing class: %v, want ErrNotFound", err)
		}
	})
}

func TestClassPollsAndVoters(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)
		c := mustClass(t, s, "Polls")
		other := mustClass(t, s, "Other")
		s.now = func() time.Time { return t0 }
		first, err := s.CreatePoll(ctx, Poll{ClassID: c.ID, Question: "One?", Options: []string{"a", "b"}, CreatedBy: "teacher"})
		if err != nil {
			t.Fatal(err)
		}
		s.now = func() time.Time { return t0.Add(time.Second) }
		second, err := s.CreatePoll(ctx, Poll{ClassID: c.ID, Question: "Two?", Options: []string{"x", "y", "z"}, Multiple: true, CreatedBy: "teacher"})
		if err != nil {
			t.Fatal(err)
		}
		elsewhere, err := s.CreatePoll(ctx, Poll{ClassID: other.ID, Question: "Else?", Options: []string{"a", "b"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []struct {
			poll    Poll
			who     string
			choices []int
		}{
			{first, "s2", []int{1}}, {first, "s1", []int{1}},
			{second, "s1", []int{0, 2}}, {second, "s3", []int{2}},
			{elsewhere, "s1", []int{0}},
		} {
			if err := s.AnswerPoll(ctx, a.poll.ID, a.who, a.choices); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.ClosePoll(ctx, first.ID, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}

		got, err := s.ClassPolls(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Poll.ID != first.ID || got[1].Poll.ID != second.ID {
			t.Fatalf("ClassPolls = %+v", got)
		}
		if g := got[0]; g.Poll.Open() || !slices.Equal(g.Poll.Options, []string{"a", "b"}) ||
			!slices.Equal(g.Counts, []int{0, 2}) || g.Voters != 2 || g.Poll.Question != "One?" {
			t.Errorf("first = %+v", g)
		}
		if g := got[1]; !g.Poll.Open() || !g.Poll.Multiple || !slices.Equal(g.Poll.Options, []string{"x", "y", "z"}) ||
			!slices.Equal(g.Counts, []int{1, 0, 2}) || g.Voters != 2 {
			t.Errorf("second = %+v", g)
		}
		if got, err := s.ClassPolls(ctx, "CL_missing"); err != nil || len(got) != 0 {
			t.Errorf("missing class: %v, %v", got, err)
		}

		if v, err := s.PollVoters(ctx, first.ID); err != nil || !slices.Equal(v, []string{"s1", "s2"}) {
			t.Errorf("PollVoters = %v, %v", v, err)
		}
		if v, err := s.PollVoters(ctx, "PL_missing"); err != nil || len(v) != 0 {
			t.Errorf("PollVoters(missing) = %v, %v", v, err)
		}
		want := []string{first.ID, second.ID}
		slices.Sort(want)
		if ids, err := s.PollsAnswered(ctx, c.ID, "s1"); err != nil || !slices.Equal(ids, want) {
			t.Errorf("PollsAnswered(s1) = %v, %v; want %v", ids, err, want)
		}
		if ids, err := s.PollsAnswered(ctx, c.ID, "s3"); err != nil || !slices.Equal(ids, []string{second.ID}) {
			t.Errorf("PollsAnswered(s3) = %v, %v", ids, err)
		}
	})
}
