package classroom

import (
	"strconv"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	r := newRateLimit(5, 10*time.Second)
	t0 := time.Unix(1000, 0)
	for i := range 5 {
		if !r.allow("ana", t0) {
			t.Fatalf("message %d refused within the burst", i)
		}
	}
	if r.allow("ana", t0.Add(time.Second)) {
		t.Fatal("sixth message allowed a second later")
	}
	if !r.allow("ben", t0) {
		t.Fatal("ben limited by ana's messages")
	}
	// A token comes back every 2 s.
	if !r.allow("ana", t0.Add(2*time.Second)) || r.allow("ana", t0.Add(2*time.Second)) {
		t.Fatal("after 2 s: want exactly one more message")
	}
	// Refilling stops at the burst.
	t1 := t0.Add(time.Hour)
	for i := range 5 {
		if !r.allow("ana", t1) {
			t.Fatalf("after an hour, message %d refused", i)
		}
	}
	if r.allow("ana", t1) {
		t.Fatal("after an hour, more than the burst allowed")
	}
	// A clock that steps back gives nothing back.
	if r.allow("ana", t1.Add(-time.Minute)) {
		t.Fatal("a clock stepping back refilled the bucket")
	}
}

func TestRateLimitForgetsFullBuckets(t *testing.T) {
	r := newRateLimit(1, time.Second)
	t0 := time.Unix(1000, 0)
	for i := range maxBuckets {
		r.allow(strconv.Itoa(i), t0)
	}
	r.allow("late", t0.Add(time.Minute)) // every earlier bucket is full again
	if len(r.buckets) != 1 {
		t.Fatalf("%d buckets kept, want only the new one", len(r.buckets))
	}
}
