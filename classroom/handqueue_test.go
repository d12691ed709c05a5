package classroom

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

func handIdentities(q *HandQueue) []string {
	var out []string
	for _, h := range q.List() {
		out = append(out, h.Identity)
	}
	return out
}

// Hands queue in the order they went up, once each; lowering (or leaving)
// takes a hand out and the others keep their order.
func TestHandQueueOrder(t *testing.T) {
	var q HandQueue
	if b, _ := json.Marshal(q.List()); string(b) != "[]" {
		t.Fatalf("empty queue encodes as %s, want []", b)
	}
	t0 := time.UnixMilli(1_700_000_000_000)
	for i, id := range []string{"ana", "ben", "cy"} {
		if !q.Raise(id, "Name "+id, t0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("raise %s: not raised", id)
		}
	}
	if q.Raise("ana", "Ana again", t0.Add(time.Minute)) {
		t.Fatal("a second raise of ana's hand counted")
	}
	if got := handIdentities(&q); !slices.Equal(got, []string{"ana", "ben", "cy"}) {
		t.Fatalf("queue %v", got)
	}
	if h, up := q.Raised("ana"); !up || h.At != t0.UnixMilli() || h.Name != "Name ana" {
		t.Fatalf("ana's hand %+v %v: the first raise should keep its place and time", h, up)
	}
	if !q.Lower("ben") || q.Lower("ben") || q.Lower("nobody") {
		t.Fatal("lower: want true once for a raised hand, false otherwise")
	}
	if got := handIdentities(&q); !slices.Equal(got, []string{"ana", "cy"}) || q.Len() != 2 {
		t.Fatalf("after lowering ben: %v", got)
	}
	q.Raise("ben", "Name ben", t0.Add(2*time.Minute))
	if got := handIdentities(&q); !slices.Equal(got, []string{"ana", "cy", "ben"}) {
		t.Fatalf("ben raised again goes to the back: %v", got)
	}
	// List is a copy: changing it changes nothing.
	l := q.List()
	l[0].Identity = "mallory"
	if h, _ := q.Raised("ana"); h.Identity != "ana" {
		t.Fatal("List shares the queue's memory")
	}
}

// The stage: invited, then on; declining or removing clears either; one
// place per identity.
func TestStageMoves(t *testing.T) {
	var s Stage
	if !s.Invite("ana") || s.Invite("ana") {
		t.Fatal("invite: want true once")
	}
	if s.Accept("ben") || s.Decline("ben") {
		t.Fatal("ben was never invited")
	}
	if !s.Accept("ana") || !s.IsOn("ana") || s.IsInvited("ana") {
		t.Fatal("accept should move ana from invited to on")
	}
	if s.Invite("ana") {
		t.Fatal("someone on the stage cannot be invited again")
	}
	s.Invite("ben")
	s.Invite("cy")
	if !s.Decline("cy") || s.IsInvited("cy") {
		t.Fatal("decline")
	}
	if got, inv := s.On(), s.Invited(); !slices.Equal(got, []string{"ana"}) || !slices.Equal(inv, []string{"ben"}) {
		t.Fatalf("on %v invited %v", got, inv)
	}
	if s.Remove("ben") != stageInvited || s.Remove("ana") != stageOn || s.Remove("ana") != "" {
		t.Fatal("remove should say where each was")
	}
	if b, _ := json.Marshal(map[string]any{"on": s.On(), "invited": s.Invited()}); string(b) != `{"invited":[],"on":[]}` {
		t.Fatalf("empty stage encodes as %s", b)
	}
}
