package loadtest

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/loadtest/report"
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
// join and ends up knowing only the teacher, who knows every student.
func TestJoinStormAllGetIn(t *testing.T) {
	const students, threshold = 60, 10
	srv := testserver.Start(t, func(c *server.Config) {
		c.MaxJoining = 8
		c.JoinWait = 40 * time.Second
		c.Room.AudienceThreshold = threshold
	})
	cfg := testConfig(srv, ScenarioClass)
	cfg.Room = "storm"
	cfg.Students = students
	cfg.Ramp = 0 // everyone at once
	cfg.Duration = 2 * time.Minute
	cfg.JoinTimeout = 50 * time.Second
	cfg.Layers, _ = ParseLayerMix("low=1")

	parts, stop := startRun(t, &cfg)
	hasMedia := func(p *participant) bool {
		for _, video := range []bool{false, true} {
			if tr := trackOf(p, video); tr == nil || tr.packets.Load() == 0 {
				return false
			}
		}
		return true
	}
	waitUntil(t, "every student to join and receive the teacher", 60*time.Second, func() bool {
		for _, p := range parts[1:] {
			if !p.joined.Load() || !hasMedia(p) {
				return false
			}
		}
		return parts[0].joined.Load()
	})
	// What each was told adds up to who is there: the teacher knows every
	// student, a student only the teacher.
	waitUntil(t, "the teacher to know every student", 10*time.Second, func() bool {
		return len(parts[0].signals.seen()) == students
	})
	for _, p := range parts[1:] {
		if seen := p.signals.seen(); len(seen) != 1 || seen[0] != identityFor(0) {
			t.Errorf("%s knows of %v, want only the teacher", p.spec.identity, seen)
		}
	}
	rep := stop()
	if testing.Verbose() {
		_ = report.WriteSummary(os.Stderr, rep)
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
	t.Logf("join ms %+v; student messages mean %.1f max %.0f %v; teacher %.0f", rep.JoinMs, st.Mean, st.Max, st.ByType, teacher.Mean)
}
