package signaling

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bayan-dev/bayan/internal/testwait"
)

func TestJoinGateQueuesInOrderAndRefusesWhenWaitExpires(t *testing.T) {
	g := newJoinGate(2, 10, 300*time.Millisecond)
	ctx := context.Background()
	r1, err := g.enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := g.enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g.inProgress() != 2 {
		t.Fatalf("in progress %d, want 2", g.inProgress())
	}

	// Nobody leaves: the third is refused once its wait runs out.
	start := time.Now()
	_, err = g.enter(ctx)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("third join: %v, want ErrBusy", err)
	}
	if took := time.Since(start); took < 250*time.Millisecond || took > 5*time.Second {
		t.Fatalf("refused after %v, want about the 300 ms wait", took)
	}

	// Two wait; a slot freed goes to the one that came first.
	g.wait = 10 * time.Second
	admitted := make(chan int, 2)
	for i := range 2 {
		go func() {
			rel, err := g.enter(ctx)
			if err != nil {
				admitted <- -1
				return
			}
			admitted <- i
			defer rel()
			<-time.After(50 * time.Millisecond)
		}()
		testwait.For(t, fmt.Sprintf("waiter %d to queue", i), 5*time.Second, func() bool { return g.waiting.Load() == int64(i+1) })
	}
	r1()
	r1() // a second release frees nothing more
	if first := <-admitted; first != 0 {
		t.Fatalf("waiter %d admitted first, want 0", first)
	}
	r2()
	if second := <-admitted; second != 1 {
		t.Fatalf("then waiter %d, want 1", second)
	}
	if g.refused.Load() != 1 {
		t.Fatalf("refused %d, want 1", g.refused.Load())
	}
}

func TestJoinGateBoundsTheQueueAndFollowsTheContext(t *testing.T) {
	g := newJoinGate(1, 1, 10*time.Second)
	rel, err := g.enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rel()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := g.enter(ctx)
		done <- err
	}()
	testwait.For(t, "the waiter to queue", 5*time.Second, func() bool { return g.waiting.Load() == 1 })
	// The queue is full: refused at once.
	start := time.Now()
	if _, err := g.enter(context.Background()); !errors.Is(err, ErrBusy) || time.Since(start) > time.Second {
		t.Fatalf("join beyond the queue: %v after %v, want ErrBusy at once", err, time.Since(start))
	}
	// A client that gives up leaves the queue.
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	if n := g.waiting.Load(); n != 0 {
		t.Fatalf("%d still waiting", n)
	}
}

func TestJoinGateWithoutLimit(t *testing.T) {
	g := newJoinGate(0, 0, time.Millisecond)
	for range 100 {
		if _, err := g.enter(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if g.inProgress() != 0 {
		t.Fatalf("in progress %d without a limit", g.inProgress())
	}
}
