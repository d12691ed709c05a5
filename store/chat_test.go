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
			x.Body != y.Body || x.ClientID != y.ClientID || !x.CreatedAt.Equal(y.CreatedAt) {
			return false
		}
	}
	return true
}

func TestChatClientID(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)
		c := mustClass(t, s, "Chat")
		other := mustClass(t, s, "Other")
		first, err := s.AddChatMessage(ctx, ChatMessage{ClassID: c.ID, Sender: "s1", Body: "first", ClientID: "MSG_1"})
		if err != nil {
			t.Fatal(err)
		}
		// Messages without a client id never collide.
		var plain []ChatMessage
		for range 2 {
			m, err := s.AddChatMessage(ctx, ChatMessage{ClassID: c.ID, Sender: "s2", Body: "plain"})
			if err != nil {
				t.Fatal(err)
			}
			plain = append(plain, m)
		}
		// A client id is unique in its class, whoever sends it, and a
		// refused message stores nothing.
		for _, sender := range []string{"s1", "s2"} {
			if _, err := s.AddChatMessage(ctx, ChatMessage{ClassID: c.ID, Sender: sender, Body: "again", ClientID: "MSG_1"}); !errors.Is(err, ErrConflict) {
				t.Errorf("client id reused by %s: %v, want ErrConflict", sender, err)
			}
		}
		if _, err := s.AddChatMessage(ctx, ChatMessage{ClassID: other.ID, Sender: "s1", Body: "elsewhere", ClientID: "MSG_1"}); err != nil {
			t.Errorf("same client id in another class: %v", err)
		}
		if _, err := s.AddChatMessage(ctx, ChatMessage{ClassID: "CL_missing", Sender: "s1", Body: "b", ClientID: "MSG_9"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("client id in a missing class: %v, want ErrNotFound", err)
		}
		got, err := s.RecentChat(ctx, c.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := []ChatMessage{first, plain[0], plain[1]}; !chatEqual(got, want) {
			t.Fatalf("RecentChat = %+v, want %+v", got, want)
		}

		found, err := s.ChatByClientID(ctx, c.ID, "MSG_1")
		if err != nil {
			t.Fatal(err)
		}
		if !chatEqual([]ChatMessage{found}, []ChatMessage{first}) || found.Deleted {
			t.Errorf("ChatByClientID = %+v, want %+v", found, first)
		}
		if err := s.DeleteChatMessage(ctx, c.ID, first.ID, "teacher", time.Now()); err != nil {
			t.Fatal(err)
		}
		if found, err := s.ChatByClientID(ctx, c.ID, "MSG_1"); err != nil || !found.Deleted {
			t.Errorf("after delete: %+v, %v; want it marked deleted", found, err)
		}
		// Deleted, its client id stays taken: clients still know it.
		if _, err := s.AddChatMessage(ctx, ChatMessage{ClassID: c.ID, Sender: "s1", Body: "again", ClientID: "MSG_1"}); !errors.Is(err, ErrConflict) {
			t.Errorf("reusing a deleted message's client id: %v, want ErrConflict", err)
		}
		if _, err := s.ChatByClientID(ctx, c.ID, "MSG_missing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown client id: %v, want ErrNotFound", err)
		}
	})
}
