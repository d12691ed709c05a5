package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestChat(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)
		c := mustClass(t, s, "Chat")
		other := mustClass(t, s, "Other")
		var sent []ChatMessage
		for i := range 5 {
			m, err := s.AddChatMessage(ctx, ChatMessage{ClassID: c.ID, Sender: "s1", SenderName: "Sam", Body: fmt.Sprint("hello ", i)})
			if err != nil {
				t.Fatal(err)
			}
			if m.ID == 0 || m.CreatedAt.IsZero() || (i > 0 && m.ID <= sent[i-1].ID) {
				t.Fatalf("message %d: %+v after %+v", i, m, sent)
			}
			sent = append(sent, m)
		}
		if _, err := s.AddChatMessage(ctx, ChatMessage{ClassID: other.ID, Sender: "x", Body: "elsewhere"}); err != nil {
			t.Fatal(err)
		}

		// Limits take the newest, returned oldest first; 0 is the default.
		for _, tc := range []struct{ limit, from int }{{3, 2}, {5, 0}, {50, 0}, {0, 0}} {
			got, err := s.RecentChat(ctx, c.ID, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if want := sent[tc.from:]; !chatEqual(got, want) {
				t.Errorf("RecentChat(limit %d) = %+v, want %+v", tc.limit, got, want)
			}
		}

		// Deleted messages are hidden, and the limit counts only visible ones.
		if err := s.DeleteChatMessage(ctx, c.ID, sent[3].ID, "teacher", time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteChatMessage(ctx, c.ID, sent[3].ID, "teacher", time.Now()); err != nil {
			t.Errorf("deleting twice: %v, want nil", err)
		}
		got, err := s.RecentChat(ctx, c.ID, 3)
		if err != nil {
			t.Fatal(err)
		}
		if want := []ChatMessage{sent[1], sent[2], sent[4]}; !chatEqual(got, want) {
			t.Errorf("after delete: %+v, want %+v", got, want)
		}
		// A message id of another class is not found in this one.
		if err := s.DeleteChatMessage(ctx, other.ID, sent[0].ID, "teacher", time.Now()); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete across classes: %v, want ErrNotFound", err)
		}
		if err := s.DeleteChatMessage(ctx, c.ID, 1<<40, "teacher", time.Now()); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete missing: %v, want ErrNotFound", err)
		}
		if _, err := s.AddChatMessage(ctx, ChatMessage{ClassID: "CL_missing", Sender: "s", Body: "b"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("add to missing class: %v, want ErrNotFound", err)
		}
		if _, err := s.AddChatMessage(ctx, ChatMessage{ClassID: c.ID, Sender: "s"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty body: %v, want ErrInvalid", err)
		}
		if got, err := s.RecentChat(ctx, "CL_missing", 10); err != nil || len(got) != 0 {
			t.Errorf("missing class: %v, %v; want empty", got, err)
		}
	})
}

func chatEqual(a, b []ChatMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.ClassID != y.ClassID || x.Sender != y.Sender || x.SenderName != y.SenderName ||
			x.Body != y.Body || !x.CreatedAt.Equal(y.CreatedAt) {
			return false
		}
	}
	return true
}
