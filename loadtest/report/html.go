package report

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"
	"time"
)

// WriteHTML renders r as one self-contained HTML page: inline CSS, charts as
// inline SVG, no scripts and no external references, so the file can be
// opened from disk, mailed or attached to a ticket as it is.
//
// The page is rendered completely before anything is written to w, so a
// failure never leaves half a page behind.
func WriteHTML(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("report: WriteHTML: nil report")
	}
	var buf bytes.Buffer
	if err := htmlPageTemplate.Execute(&buf, htmlBuildView(r)); err != nil {
		return fmt.Errorf("report: rendering HTML report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// htmlLayerFlagRatio is how far a layer's received bitrate may stray from its
// sent bitrate, as a fraction of the sent bitrate, before the row is flagged.
const htmlLayerFlagRatio = 0.20

// htmlLossWarnPercent is the loss above which the headline figure is marked.
const htmlLossWarnPercent = 1.0

// htmlMaxErrorLines caps the distinct error messages listed on the page.
const htmlMaxErrorLines = 100

// htmlMaxHoverSamples is the longest timeline that gets per-sample hover
// tooltips; past it the tooltips would dominate the page size.
const htmlMaxHoverSamples = 900

type htmlView struct {
	Title     string
	Scenario  string
	URL       string
	Started   string
	StartedTS string // machine readable, for <time datetime>
	Duration  string
	Shard     string
	Params    [][]htmlKV // split in columns
	Errors    int

	Figures []htmlFigure
	Charts  []htmlChart

	Latency     []htmlPctRow
	Layers      []htmlLayerRow
	LayerFlags  int
	Traffic     []htmlKV
	Server      []htmlKV
	Client      []htmlKV
	ErrorLines  []htmlErrorLine
	ErrorsMore  int
	FlagPercent string
}

type htmlKV struct{ Key, Value string }

type htmlFigure struct {
	Label, Value, Unit, Note string
	Warn                     bool
}

type htmlPctRow struct {
	Name, Note                string
	Count, P50, P95, P99, Max string
}

type htmlLayerRow struct {
	Name, Desc                        string
	Subscribers, Sent, Received, Diff string
	Flag                              bool
}

type htmlErrorLine struct {
	Text  string
	Count int
}

// htmlBuildView turns the report into strings and geometry, so the template
// only lays things out.
func htmlBuildView(r *Report) htmlView {
	v := htmlView{
		Scenario:    r.Scenario,
		URL:         r.URL,
		Duration:    htmlFmtDuration(float64(r.Duration)),
		Shard:       r.Shard,
		Errors:      len(r.Errors),
		FlagPercent: strconv.Itoa(int(htmlLayerFlagRatio * 100)),
	}
	if v.Scenario == "" {
		v.Scenario = "(unnamed scenario)"
	}
	if v.URL == "" {
		v.URL = "—"
	}
	if v.Shard == "" {
		v.Shard = "—"
	}
	v.Started, v.StartedTS = "—", ""
	if !r.Started.IsZero() {
		v.Started = r.Started.Format("2 Jan 2006, 15:04:05 MST")
		v.StartedTS = r.Started.Format(time.RFC3339)
	}
	v.Title = "Load test · " + v.Scenario
	if !r.Started.IsZero() {
		v.Title += " · " + r.Started.Format("2006-01-02 15:04")
	}
	v.Params = htmlParams(r.Params)
	v.Figures = htmlFigures(r)
	v.Charts = htmlCharts(r.Timeline)
	v.Latency = []htmlPctRow{
		htmlPct("Join time", "WebSocket dial to both connections up", r.JoinMs),
		htmlPct("First media", "join to first media packet", r.FirstMediaMs),
		htmlPct("End-to-end delay", "send time in the payload to arrival", r.DelayMs),
	}
	v.Layers, v.LayerFlags = htmlLayers(r.Layers)
	v.Traffic = []htmlKV{
		{Key: "Sent, all publishers", Value: htmlFmtKbps(r.SentKbps)},
		{Key: "Received, all subscribers", Value: htmlFmtKbps(r.ReceivedKbps)},
		{Key: "Per subscriber, min", Value: htmlFmtKbps(r.PerSubscriberKbps.Min)},
		{Key: "Per subscriber, median", Value: htmlFmtKbps(r.PerSubscriberKbps.P50)},
		{Key: "Per subscriber, mean", Value: htmlFmtKbps(r.PerSubscriberKbps.Mean)},
		{Key: "Per subscriber, max", Value: htmlFmtKbps(r.PerSubscriberKbps.Max)},
		{Key: "Publishers / subscribers", Value: htmlFmtInt(r.Publishers) + " / " + htmlFmtInt(r.Subscribers)},
		{Key: "NACKs sent", Value: htmlFmtInt(int(min(r.NACKsSent, math.MaxInt64)))},
		{Key: "PLIs sent", Value: htmlFmtInt(int(min(r.PLIsSent, math.MaxInt64)))},
	}
	if s := r.Server; s != nil {
		v.Server = []htmlKV{
			{Key: "CPU", Value: htmlFmtNum(s.CPUCores, 2) + " cores"},
			{Key: "CPU per forwarded packet", Value: htmlFmtNum(s.CPUMicrosPerPacket, 2) + " µs"},
			{Key: "Packets forwarded", Value: htmlFmtNum(s.PacketsOutPerSecond, 0) + " /s"},
			{Key: "Packets received", Value: htmlFmtNum(s.PacketsInPerSecond, 0) + " /s"},
			{Key: "Resident memory at end", Value: htmlFmtBytes(s.RSSBytes)},
			{Key: "Memory per participant", Value: htmlFmtBytes(s.MemoryPerParticipant)},
			{Key: "Forwarding delay p99", Value: htmlFmtNum(s.ForwardDelayP99Seconds*1000, 2) + " ms"},
		}
	}
	v.Client = []htmlKV{
		{Key: "CPU", Value: htmlFmtNum(r.Client.CPUCores, 2) + " cores"},
		{Key: "CPU per subscribed track", Value: htmlFmtNum(r.Client.CPUMicrosPerSubscriber, 1) + " µs/s"},
		{Key: "Goroutines", Value: htmlFmtInt(r.Client.Goroutines)},
	}
	v.ErrorLines, v.ErrorsMore = htmlErrorLines(r.Errors)
	return v
}

func htmlParams(p map[string]string) [][]htmlKV {
	if len(p) == 0 {
		return nil
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := make([]htmlKV, len(keys))
	for i, k := range keys {
		rows[i] = htmlKV{Key: k, Value: p[k]}
	}
	if len(rows) < 6 {
		return [][]htmlKV{rows}
	}
	half := (len(rows) + 1) / 2
	return [][]htmlKV{rows[:half], rows[half:]}
}

func htmlFigures(r *Report) []htmlFigure {
	joined := htmlFigure{Label: "Participants joined", Value: htmlFmtInt(r.Participants), Note: "none failed"}
	if r.Failed > 0 {
		joined.Label = "Joined / failed"
		joined.Value += " / " + htmlFmtInt(r.Failed)
		joined.Note = htmlFmtInt(r.Failed) + " of " + htmlFmtInt(r.Participants+r.Failed) + " could not join"
		joined.Warn = true
	}
	loss := htmlFigure{Label: "Packet loss", Value: htmlFmtNum(r.LossPercent, 2), Unit: "%",
		Warn: r.LossPercent > htmlLossWarnPercent}
	loss.Note = "NACKs " + htmlFmtInt(int(min(r.NACKsSent, math.MaxInt64))) + " · PLIs " + htmlFmtInt(int(min(r.PLIsSent, math.MaxInt64)))
	p50 := htmlFigure{Label: "Delay p50", Value: htmlFmtNum(r.DelayMs.P50, 1), Unit: "ms", Note: "end to end"}
	p99 := htmlFigure{Label: "Delay p99", Value: htmlFmtNum(r.DelayMs.P99, 1), Unit: "ms",
		Note: "max " + htmlFmtNum(r.DelayMs.Max, 1) + " ms"}
	if htmlPctEmpty(r.DelayMs) {
		p50.Value, p50.Unit, p50.Note = "—", "", "no samples"
		p99.Value, p99.Unit, p99.Note = "—", "", "no samples"
	}
	figs := []htmlFigure{
		joined,
		{Label: "Tracks subscribed", Value: htmlFmtInt(r.TracksSubscribed), Note: "delivering media"},
		loss,
		p50,
		p99,
		{Label: "Jitter", Value: htmlFmtNum(r.JitterMs, 2), Unit: "ms", Note: "mean over tracks"},
		{Label: "Per-subscriber bitrate", Value: htmlFmtNum(r.PerSubscriberKbps.P50, 0), Unit: "kbps",
			Note: "median · " + htmlFmtNum(r.PerSubscriberKbps.Min, 0) + "–" + htmlFmtNum(r.PerSubscriberKbps.Max, 0)},
	}
	if s := r.Server; s != nil {
		figs = append(figs,
			htmlFigure{Label: "Server CPU", Value: htmlFmtNum(s.CPUCores, 2), Unit: "cores",
				Note: htmlFmtNum(s.PacketsOutPerSecond, 0) + " packets/s out"},
			htmlFigure{Label: "Server CPU per packet", Value: htmlFmtNum(s.CPUMicrosPerPacket, 2), Unit: "µs",
				Note: "per forwarded packet"},
		)
	}
	figs = append(figs, htmlFigure{Label: "Load tester CPU", Value: htmlFmtNum(r.Client.CPUCores, 2), Unit: "cores",
		Note: htmlFmtInt(r.Client.Goroutines) + " goroutines"})
	return figs
}

func htmlPctEmpty(p Percentiles) bool {
	return p.Count == 0 && p.P50 == 0 && p.P95 == 0 && p.P99 == 0 && p.Max == 0
}

func htmlPct(name, note string, p Percentiles) htmlPctRow {
	if htmlPctEmpty(p) {
		return htmlPctRow{Name: name, Note: note, Count: "0", P50: "—", P95: "—", P99: "—", Max: "—"}
	}
	return htmlPctRow{
		Name: name, Note: note,
		Count: htmlFmtInt(p.Count),
		P50:   htmlFmtNum(p.P50, 1),
		P95:   htmlFmtNum(p.P95, 1),
		P99:   htmlFmtNum(p.P99, 1),
		Max:   htmlFmtNum(p.Max, 1),
	}
}

// htmlLayerOrder puts the simulcast layers low to high, then audio; other
// names follow alphabetically.
var htmlLayerOrder = map[string]struct {
	rank int
	desc string
}{
	"q":     {0, "quarter resolution"},
	"h":     {1, "half resolution"},
	"f":     {2, "full resolution"},
	"audio": {3, "Opus"},
}

func htmlLayers(m map[string]LayerStats) ([]htmlLayerRow, int) {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, iok := htmlLayerOrder[names[i]]
		rj, jok := htmlLayerOrder[names[j]]
		switch {
		case iok && jok:
			return ri.rank < rj.rank
		case iok != jok:
			return iok
		}
		return names[i] < names[j]
	})
	rows := make([]htmlLayerRow, 0, len(names))
	flags := 0
	for _, n := range names {
		l := m[n]
		row := htmlLayerRow{
			Name:        n,
			Desc:        htmlLayerOrder[n].desc,
			Subscribers: htmlFmtInt(l.Subscribers),
			Sent:        htmlFmtNum(l.SentKbps, 1),
			Received:    htmlFmtNum(l.ReceivedKbps, 1),
			Diff:        "—",
		}
		switch {
		case l.SentKbps > 0 && htmlFinite(l.ReceivedKbps):
			d := (l.ReceivedKbps - l.SentKbps) / l.SentKbps
			row.Diff = htmlFmtSigned(d*100, 1) + " %"
			row.Flag = math.Abs(d) > htmlLayerFlagRatio
		case l.SentKbps == 0 && l.ReceivedKbps > 0:
			row.Flag = true // received something nobody sent
		}
		if row.Flag {
			flags++
		}
		rows = append(rows, row)
	}
	return rows, flags
}

// htmlErrorLines folds repeated messages into one line with a count, keeping
// the order in which they first occurred.
func htmlErrorLines(errs []string) ([]htmlErrorLine, int) {
	idx := map[string]int{}
	var lines []htmlErrorLine
	for _, e := range errs {
		if i, ok := idx[e]; ok {
			lines[i].Count++
			continue
		}
		idx[e] = len(lines)
		lines = append(lines, htmlErrorLine{Text: e, Count: 1})
	}
	if len(lines) > htmlMaxErrorLines {
		return lines[:htmlMaxErrorLines], len(lines) - htmlMaxErrorLines
	}
	return lines, 0
}

// htmlPageSource is the page layout, kept as an HTML file so it reads and
// diffs as markup rather than as a Go string.
//
//go:embed report.html
var htmlPageSource string

var htmlPageTemplate = template.Must(template.New("report").Parse(htmlPageSource))
