package loadtest

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/server"
)

// metricValue reads one unlabelled series from the node's /metrics.
func metricValue(t *testing.T, srv *server.Server, name string) float64 {
	t.Helper()
	resp, err := http.Get(srv.HTTPURL() + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metrics: %s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("metrics: no %s", name)
	return 0
}

// A class of 60 students who all join at the same moment: every one gets
// in and receives the teacher, the joins wait their turn (at most 8 in
// progress) instead of timing out, and in audience mode (above 10) a
// student is sent a bounded number of participant updates however many
// join, while the teacher hears of every one.
func TestJoinStormAllGetIn(t *testing.T) {
	const students, threshold = 60, 10
	srv := testserver.Start(t, func(c *server.Config) {
		c.MaxJoining = 8
		c.JoinWait = 20 * time.Second
		c.Room.AudienceThreshold = threshold
	})
	cfg := testConfig(srv, ScenarioClass)
	cfg.Room = "storm"
	cfg.Students = students
	cfg.Ramp = 0 // everyone at once
	cfg.Duration = 8 * time.Second
	cfg.JoinTimeout = 20 * time.Second
	cfg.Layers, _ = ParseLayerMix("low=1")

	rep, _, err := run(context.Background(), &cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if testing.Verbose() {
		_ = WriteSummary(os.Stderr, rep)
	}
	if rep.Participants != students+1 || rep.Failed != 0 {
		t.Fatalf("%d joined, %d failed; want %d, 0 (errors: %v)", rep.Participants, rep.Failed, students+1, rep.Errors)
	}
	if tm := rep.TeacherMedia; tm.Received != students {
		t.Errorf("teacher's media reached %d of %d students; missing %v", tm.Received, students, tm.Missing)
	}
	if refused := metricValue(t, srv, "bayan_signal_joins_refused_busy_total"); refused != 0 {
		t.Errorf("%v joins refused as busy", refused)
	}
	if waited := metricValue(t, srv, "bayan_signal_join_wait_seconds_total"); waited <= 0 {
		t.Errorf("no join waited its turn (%v s): the gate did not queue anyone", waited)
	}
	if inProgress := metricValue(t, srv, "bayan_signal_joins_in_progress"); inProgress != 0 {
		t.Errorf("%v joins still in progress after everyone connected", inProgress)
	}

	// Updates a student can be sent: about itself and the teacher, and,
	// before the room passed the threshold, the first students' joining
	// and connecting (two each), and one retraction.
	bound := float64(2*threshold + 12)
	st := rep.Signal.ByRole["student"]
	if st.Participants != students {
		t.Fatalf("signaling of %d students, want %d", st.Participants, students)
	}
	if got := st.ByType["update"]; got > bound {
		t.Errorf("a student received %.1f participant updates on average, want at most %.0f", got, bound)
	}
	teacher := rep.Signal.ByRole["teacher"]
	if got := teacher.ByType["update"]; got < students {
		t.Errorf("the teacher received %.0f participant updates for %d students", got, students)
	}
	t.Logf("join ms %+v; student messages mean %.1f max %.0f %v; teacher %.0f", rep.JoinMs, st.Mean, st.Max, st.ByType, teacher.Mean)
}
