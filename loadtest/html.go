package loadtest

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
	"strings"
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
		return errors.New("loadtest: WriteHTML: nil report")
	}
	var buf bytes.Buffer
	if err := htmlPageTemplate.Execute(&buf, htmlBuildView(r)); err != nil {
		return fmt.Errorf("loadtest: rendering HTML report: %w", err)
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

// ---- charts ----

// Chart geometry, in SVG user units; the SVG scales to the page width.
const (
	htmlChartW      = 960
	htmlChartH      = 280
	htmlChartLeft   = 64
	htmlChartRight  = 20
	htmlChartTop    = 40
	htmlChartBottom = 46
)

type htmlChart struct {
	ID, Title, Subtitle string
	YLabel, XLabel      string
	W, H                int
	// Plot area.
	X0, Y0, X1, Y1 float64
	XMid, YMid     float64 // centre of the plot area
	PlotH, TickEnd float64
	XTicks, YTicks []htmlTick
	Series         []htmlSeries
	Hover          []htmlHover
	Empty          string // message shown instead of data
	Desc           string // accessible summary
}

type htmlTick struct {
	Pos   float64
	Label string
}

type htmlSeries struct {
	Name, Class string
	Path        string // "M x,y L x,y ..."; gaps start a new M
	Dots        []htmlPoint
	LegendX     float64
}

type htmlPoint struct{ X, Y float64 }

type htmlHover struct {
	X, W  float64
	Title string
}

type htmlSeriesDef struct {
	name, class string
	value       func(Sample) float64
	decimals    int
}

func htmlCharts(tl []Sample) []htmlChart {
	return []htmlChart{
		htmlBuildChart("chart-bitrate", "Bitrate", "Media payload, per second", "Mbps", tl, 1, []htmlSeriesDef{
			{"Sent by publishers (out)", "s0", func(s Sample) float64 { return s.MbpsOut }, 2},
			{"Received by subscribers (in)", "s1", func(s Sample) float64 { return s.MbpsIn }, 2},
		}),
		htmlBuildChart("chart-loss", "Packet loss", "From the sequence numbers in the payloads", "Loss (%)", tl, 1, []htmlSeriesDef{
			{"Loss", "s2", func(s Sample) float64 { return s.LossPercent }, 2},
		}),
		htmlBuildChart("chart-delay", "End-to-end delay", "Send time in the payload to arrival", "Delay (ms)", tl, 10, []htmlSeriesDef{
			{"p50", "s0", func(s Sample) float64 { return s.DelayP50Ms }, 1},
			{"p99", "s3", func(s Sample) float64 { return s.DelayP99Ms }, 1},
		}),
	}
}

func htmlBuildChart(id, title, subtitle, ylabel string, tl []Sample, minYMax float64, defs []htmlSeriesDef) htmlChart {
	c := htmlChart{
		ID: id, Title: title, Subtitle: subtitle, YLabel: ylabel,
		XLabel: "Time since start (s)",
		W:      htmlChartW, H: htmlChartH,
		X0: htmlChartLeft, Y0: htmlChartTop,
		X1: htmlChartW - htmlChartRight, Y1: htmlChartH - htmlChartBottom,
	}
	c.XMid, c.YMid = (c.X0+c.X1)/2, (c.Y0+c.Y1)/2
	c.PlotH, c.TickEnd = c.Y1-c.Y0, c.Y1+5
	// Legend, left to right above the plot.
	lx := c.X0
	for _, d := range defs {
		c.Series = append(c.Series, htmlSeries{Name: d.name, Class: d.class, LegendX: lx})
		lx += 34 + 7.2*float64(len([]rune(d.name))) + 18
	}

	// Domain: time from 0 (or the first sample, if earlier) to the last
	// sample; values from 0 to a round number above the highest one.
	tMin, tMax := 0.0, math.Inf(-1)
	yMin, yMax := 0.0, 0.0
	n := 0
	for _, s := range tl {
		if !htmlFinite(s.T) {
			continue
		}
		n++
		tMin, tMax = math.Min(tMin, s.T), math.Max(tMax, s.T)
		for _, d := range defs {
			if y := d.value(s); htmlFinite(y) {
				yMin, yMax = math.Min(yMin, y), math.Max(yMax, y)
			}
		}
	}
	if n == 0 {
		c.Empty = "No timeline samples were recorded."
		c.Desc = title + ": no data."
		return c
	}
	if tMax-tMin < 1 {
		tMax = tMin + 1
	}
	if yMax < minYMax && yMax-yMin < minYMax {
		yMax = yMin + minYMax
	}
	yLo, yHi, yStep := htmlNiceRange(yMin, yMax, 5)
	xStep := htmlTimeStep(tMax-tMin, 10)
	minuteLabels := tMax-tMin >= 180
	if minuteLabels {
		c.XLabel = "Time since start (m:ss)"
	}

	px := func(t float64) float64 { return c.X0 + (t-tMin)/(tMax-tMin)*(c.X1-c.X0) }
	py := func(y float64) float64 { return c.Y1 - (y-yLo)/(yHi-yLo)*(c.Y1-c.Y0) }

	for t := math.Ceil(tMin/xStep) * xStep; t <= tMax+1e-9; t += xStep {
		label := htmlFmtNum(t, htmlDecimals(xStep))
		if minuteLabels {
			label = htmlFmtClock(t)
		}
		c.XTicks = append(c.XTicks, htmlTick{Pos: htmlRound1(px(t)), Label: label})
	}
	yd := htmlDecimals(yStep)
	for y := yLo; y <= yHi+yStep/1e6; y += yStep {
		c.YTicks = append(c.YTicks, htmlTick{Pos: htmlRound1(py(y)), Label: htmlFmtNum(y, yd)})
	}

	showDots := n <= 24
	for i, d := range defs {
		var b strings.Builder
		pen := false
		for _, s := range tl {
			y := d.value(s)
			if !htmlFinite(s.T) || !htmlFinite(y) {
				pen = false
				continue
			}
			x, yy := htmlRound1(px(s.T)), htmlRound1(py(y))
			if pen {
				b.WriteString(" L")
			} else {
				if b.Len() > 0 {
					b.WriteByte(' ')
				}
				b.WriteString("M")
			}
			b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
			b.WriteByte(',')
			b.WriteString(strconv.FormatFloat(yy, 'f', -1, 64))
			pen = true
			if showDots {
				c.Series[i].Dots = append(c.Series[i].Dots, htmlPoint{x, yy})
			}
		}
		c.Series[i].Path = b.String()
	}

	// Invisible columns, one per sample, whose <title> shows the values on
	// hover: tooltips without JavaScript.
	var valid []Sample
	for _, s := range tl {
		if htmlFinite(s.T) {
			valid = append(valid, s)
		}
	}
	if len(valid) <= htmlMaxHoverSamples {
		sort.SliceStable(valid, func(i, j int) bool { return valid[i].T < valid[j].T })
		for i, s := range valid {
			left, right := c.X0, c.X1
			if i > 0 {
				left = (px(valid[i-1].T) + px(s.T)) / 2
			}
			if i < len(valid)-1 {
				right = (px(s.T) + px(valid[i+1].T)) / 2
			}
			if right-left <= 0 {
				continue
			}
			var t strings.Builder
			t.WriteString("t = ")
			if minuteLabels {
				t.WriteString(htmlFmtClock(s.T))
			} else {
				t.WriteString(htmlFmtNum(s.T, htmlDecimals(xStep)) + " s")
			}
			for _, d := range defs {
				t.WriteString("\n" + d.name + ": " + htmlFmtNum(d.value(s), d.decimals))
			}
			t.WriteString("\nJoined: " + htmlFmtInt(s.Joined) + " · tracks: " + htmlFmtInt(s.Tracks))
			c.Hover = append(c.Hover, htmlHover{X: htmlRound1(left), W: htmlRound1(right - left), Title: t.String()})
		}
	}

	// One-line summary for screen readers.
	var desc []string
	for _, d := range defs {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, s := range tl {
			if y := d.value(s); htmlFinite(y) {
				lo, hi = math.Min(lo, y), math.Max(hi, y)
			}
		}
		if htmlFinite(lo) {
			desc = append(desc, fmt.Sprintf("%s from %s to %s", d.name, htmlFmtNum(lo, d.decimals), htmlFmtNum(hi, d.decimals)))
		}
	}
	c.Desc = fmt.Sprintf("%s over %d samples: %s.", title, n, strings.Join(desc, "; "))
	return c
}

// htmlNiceRange widens [lo, hi] to multiples of a round step (1, 2, 2.5 or 5
// times a power of ten), the one giving the number of intervals closest to
// target.
func htmlNiceRange(lo, hi float64, target int) (nlo, nhi, step float64) {
	span := hi - lo
	if span <= 0 || !htmlFinite(span) {
		span = 1
		hi = lo + 1
	}
	e := math.Floor(math.Log10(span / float64(target)))
	best := math.Inf(1)
	for k := e - 1; k <= e+1; k++ {
		mag := math.Pow(10, k)
		for _, m := range []float64{1, 2, 2.5, 5} {
			st := m * mag
			a := math.Floor(lo/st+1e-9) * st
			b := math.Ceil(hi/st-1e-9) * st
			// Closest to target wins; on a tie, the larger step.
			if d := math.Abs((b-a)/st - float64(target)); d < best-1e-9 || (math.Abs(d-best) <= 1e-9 && st > step) {
				best, nlo, nhi, step = d, a, b, st
			}
		}
	}
	return nlo, nhi, step
}

// htmlTimeStep picks a tick interval in seconds that reads well on a clock.
func htmlTimeStep(span float64, target int) float64 {
	raw := span / float64(target)
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400} {
		if s >= raw {
			return s
		}
	}
	_, _, s := htmlNiceRange(0, span, target)
	return s
}

// htmlDecimals is how many decimals it takes to print multiples of step.
func htmlDecimals(step float64) int {
	d := 0
	for d < 6 {
		v := step * math.Pow(10, float64(d))
		if math.Abs(v-math.Round(v)) < 1e-6 {
			break
		}
		d++
	}
	return d
}

// ---- formatting ----

func htmlFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func htmlRound1(v float64) float64 { return math.Round(v*10) / 10 }

// htmlFmtNum prints v with the given decimals and thousands separators;
// "—" when v is not a number.
func htmlFmtNum(v float64, decimals int) string {
	if !htmlFinite(v) {
		return "—"
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	if neg && strings.Trim(s, "0.") != "" {
		b.WriteString("−")
	}
	for i, ch := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

func htmlFmtSigned(v float64, decimals int) string {
	s := htmlFmtNum(v, decimals)
	if htmlFinite(v) && v > 0 && strings.Trim(s, "0.,") != "" {
		return "+" + s
	}
	return s
}

func htmlFmtInt(v int) string { return htmlFmtNum(float64(v), 0) }

// htmlFmtKbps prints a bitrate in kbps, or Mbps from 10 Mbps up.
func htmlFmtKbps(kbps float64) string {
	if htmlFinite(kbps) && math.Abs(kbps) >= 10000 {
		return htmlFmtNum(kbps/1000, 1) + " Mbps"
	}
	return htmlFmtNum(kbps, 0) + " kbps"
}

func htmlFmtBytes(b float64) string {
	if !htmlFinite(b) {
		return "—"
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, u := math.Abs(b), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if b < 0 {
		v = -v
	}
	dec := 1
	if u == 0 {
		dec = 0
	}
	return htmlFmtNum(v, dec) + " " + units[u]
}

// htmlFmtDuration prints seconds as "42.5 s", "5 min 03 s" or "1 h 02 min".
func htmlFmtDuration(sec float64) string {
	if !htmlFinite(sec) || sec < 0 {
		return "—"
	}
	if sec < 60 {
		return htmlFmtNum(sec, htmlDecimals(math.Round(sec*10)/10)) + " s"
	}
	d := time.Duration(math.Round(sec)) * time.Second
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d h %02d min", h, m)
	}
	return fmt.Sprintf("%d min %02d s", m, s)
}

// htmlFmtClock prints seconds as m:ss, or h:mm:ss.
func htmlFmtClock(sec float64) string {
	neg := sec < 0
	t := int(math.Round(math.Abs(sec)))
	s := fmt.Sprintf("%d:%02d", t/60, t%60)
	if t >= 3600 {
		s = fmt.Sprintf("%d:%02d:%02d", t/3600, t/60%60, t%60)
	}
	if neg {
		s = "−" + s
	}
	return s
}

// htmlPageSource is the page layout, kept as an HTML file so it reads and
// diffs as markup rather than as a Go string.
//
//go:embed report.html
var htmlPageSource string

var htmlPageTemplate = template.Must(template.New("report").Parse(htmlPageSource))
