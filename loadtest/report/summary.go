package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteSummary writes the report as a plain-text table.
func WriteSummary(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", name, fmt.Sprintf(format, args...))
	}
	pct := func(p Percentiles, unit string) string {
		if p.Count == 0 {
			return "-"
		}
		return fmt.Sprintf("p50 %.1f  p95 %.1f  p99 %.1f  max %.1f %s  (n=%d)", p.P50, p.P95, p.P99, p.Max, unit, p.Count)
	}
	row("scenario", "%s  shard %s  %.1fs  %s", r.Scenario, r.Shard, float64(r.Duration), r.URL)
	row("participants", "%d joined, %d failed; %d publishers, %d subscribers", r.Participants, r.Failed, r.Publishers, r.Subscribers)
	row("tracks received", "%d", r.TracksSubscribed)
	row("join time", "%s", pct(r.JoinMs, "ms"))
	row("first media", "%s", pct(r.FirstMediaMs, "ms"))
	row("sent", "%.0f kbps", r.SentKbps)
	row("received", "%.0f kbps; per subscriber min %.0f  p50 %.0f  mean %.0f  max %.0f kbps",
		r.ReceivedKbps, r.PerSubscriberKbps.Min, r.PerSubscriberKbps.P50, r.PerSubscriberKbps.Mean, r.PerSubscriberKbps.Max)
	names := make([]string, 0, len(r.Layers))
	for n := range r.Layers {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return summaryLayerRank(names[i]) < summaryLayerRank(names[j]) })
	for _, n := range names {
		l := r.Layers[n]
		row("  layer "+n, "sent %.0f kbps per track, received %.0f kbps by %d tracks", l.SentKbps, l.ReceivedKbps, l.Subscribers)
	}
	row("loss", "%.3f %%", r.LossPercent)
	row("jitter", "%.2f ms (mean over tracks)", r.JitterMs)
	row("delay", "%s", pct(r.DelayMs, "ms"))
	row("NACKs / PLIs sent", "%d / %d", r.NACKsSent, r.PLIsSent)
	roles := make([]string, 0, len(r.Signal.ByRole))
	for role := range r.Signal.ByRole {
		roles = append(roles, role)
	}
	sort.Strings(roles)
	for i, role := range roles {
		rs := r.Signal.ByRole[role]
		name := ""
		if i == 0 {
			name = "signaling received"
		}
		row(name, "%s (%d): mean %.1f, max %.0f messages each; %s", role, rs.Participants, rs.Mean, rs.Max, byType(rs.ByType))
	}
	if tm := r.TeacherMedia; tm.Students > 0 {
		if tm.Received == tm.Students {
			row("teacher's media", "received by all %d students (audio and video)", tm.Students)
		} else {
			row("teacher's media", "received by %d of %d students; MISSING: %s", tm.Received, tm.Students, strings.Join(tm.Missing, " "))
		}
	}
	if s := r.Server; s != nil {
		row("server CPU", "%.2f cores, %.2f µs per forwarded packet", s.CPUCores, s.CPUMicrosPerPacket)
		row("server packets", "%.0f/s in, %.0f/s out", s.PacketsInPerSecond, s.PacketsOutPerSecond)
		row("server memory", "%.1f MiB RSS, %.0f KiB per participant", s.RSSBytes/(1<<20), s.MemoryPerParticipant/(1<<10))
		row("server forward delay", "p99 %.3f ms", s.ForwardDelayP99Seconds*1000)
		row("server signaling", "%.1f messages sent per participant; %s", s.SignalMessagesPerParticipant, byType(s.SignalMessagesByType))
	} else {
		row("server", "no figures (metrics not reachable)")
	}
	row("load tester CPU", "%.2f cores, %.1f µs per subscribed track per second, %d goroutines",
		r.Client.CPUCores, r.Client.CPUMicrosPerSubscriber, r.Client.Goroutines)
	for i, e := range r.Errors {
		name := ""
		if i == 0 {
			name = "errors"
		}
		row(name, "%s", strings.ReplaceAll(e, "\n", " "))
	}
	return tw.Flush()
}

// byType writes per-type counts, largest first: "update 12.0, offer 1.0".
func byType(m map[string]float64) string {
	types := make([]string, 0, len(m))
	for k, v := range m {
		if v > 0 {
			types = append(types, k)
		}
	}
	sort.Slice(types, func(i, j int) bool {
		if m[types[i]] != m[types[j]] {
			return m[types[i]] > m[types[j]]
		}
		return types[i] < types[j]
	})
	parts := make([]string, len(types))
	for i, k := range types {
		parts[i] = fmt.Sprintf("%s %.1f", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// summaryLayerRank orders the layer rows as Report.Layers' keys are
// declared; a name it does not know ranks first.
func summaryLayerRank(name string) int {
	switch name {
	case LayerH:
		return 1
	case LayerF:
		return 2
	case LayerAudio:
		return 3
	case LayerSingle:
		return 4
	}
	return 0
}
