package classroom

import (
	"context"
	"testing"

	"github.com/bayan-dev/bayan/room"
)

// One participant's jobs are bounded, others' are not held up by them;
// nothing is spawned once Live is closing, and Close waits for the jobs.
func TestSpawnBounds(t *testing.T) {
	l, _, _ := liveOverStore(t)
	loud, quiet := &room.Participant{}, &room.Participant{}
	release := make(chan struct{})
	finished := make(chan struct{}, maxJobsEach+1)
	job := func(context.Context) {
		<-release
		finished <- struct{}{}
	}
	for i := range maxJobsEach {
		if !l.spawn(loud, job) {
			t.Fatalf("job %d refused", i+1)
		}
	}
	if l.spawn(loud, job) {
		t.Fatalf("job %d of one participant accepted", maxJobsEach+1)
	}
	if !l.spawn(quiet, job) {
		t.Fatal("another participant's job refused")
	}
	close(release)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(finished) != maxJobsEach+1 {
		t.Errorf("Close returned with %d of %d jobs finished", len(finished), maxJobsEach+1)
	}
	if l.spawn(quiet, func(context.Context) { t.Error("a job ran after Close") }) {
		t.Error("spawn after Close accepted")
	}
}
