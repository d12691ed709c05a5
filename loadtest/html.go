package loadtest

import (
	"bytes"
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

// ---- template ----

var htmlPageTemplate = template.Must(template.New("report").Parse(htmlPageSource))

const htmlPageSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="bayan loadtest">
<title>{{.Title}}</title>
<style>
:root {
  --fg: #1f2328; --muted: #5b636d; --faint: #8b949e;
  --line: #dfe3e8; --soft: #f6f8fa; --bg: #ffffff;
  --warn-fg: #8a5a00; --warn-bg: #fff6d6; --warn-line: #f0d48a;
  --bad-fg: #b42318; --bad-bg: #fef1f0;
  --c0: #2f6fd6; --c1: #e2792f; --c2: #c2410c; --c3: #7a4fd0;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", Arial, sans-serif;
  -webkit-font-smoothing: antialiased;
}
main { max-width: 1080px; margin: 0 auto; padding: 40px 32px 56px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.9em; }
h1 { font-size: 30px; line-height: 1.2; font-weight: 650; letter-spacing: -0.015em; margin: 4px 0 6px; overflow-wrap: anywhere; }
h2 { font-size: 19px; font-weight: 620; letter-spacing: -0.005em; margin: 0 0 4px; }
h3 { font-size: 15px; font-weight: 620; margin: 0; }
section { margin-top: 44px; }
.eyebrow { font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: 0.08em; color: var(--muted); }
.lede { color: var(--muted); margin: 0 0 16px; font-size: 14px; }
.url { color: var(--muted); overflow-wrap: anywhere; margin: 0; }
.pill { display: inline-block; font-size: 12.5px; font-weight: 600; padding: 2px 10px; border-radius: 999px; background: var(--bad-bg); color: var(--bad-fg); text-decoration: none; margin-left: 6px; vertical-align: 3px; }
header { padding-bottom: 28px; border-bottom: 1px solid var(--line); }
.meta { display: flex; flex-wrap: wrap; gap: 12px 40px; margin: 22px 0 0; }
.meta div { min-width: 120px; }
.meta dt { font-size: 12.5px; color: var(--muted); }
.meta dd { margin: 0; font-weight: 560; font-variant-numeric: tabular-nums; }
.params { display: flex; flex-wrap: wrap; gap: 0 32px; margin-top: 22px; }
.params table { flex: 1 1 300px; width: auto; font-size: 13px; }
.params td { padding: 4px 10px 4px 0; border-bottom: 1px solid var(--soft); }
.params td:first-child { color: var(--muted); white-space: nowrap; width: 40%; }
.params td:last-child { overflow-wrap: anywhere; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(184px, 1fr)); gap: 12px; margin-top: 32px; }
.figure { border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px 13px; background: var(--bg); }
.figure .label { font-size: 13px; color: var(--muted); }
.figure .value { font-size: 26px; line-height: 1.25; font-weight: 620; letter-spacing: -0.01em; font-variant-numeric: tabular-nums; margin: 4px 0 2px; }
.figure .unit { font-size: 14px; font-weight: 500; color: var(--muted); margin-left: 3px; letter-spacing: 0; }
.figure .note { font-size: 12.5px; color: var(--faint); }
.figure.warn { border-color: var(--warn-line); background: var(--warn-bg); }
.figure.warn .value, .figure.warn .note { color: var(--warn-fg); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid var(--line); vertical-align: baseline; }
th:first-child, td:first-child { padding-left: 0; }
th:last-child, td:last-child { padding-right: 0; }
thead th { font-size: 12px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: 0.05em; border-bottom-color: #c9d0d8; }
.num { text-align: right; white-space: nowrap; }
.sub { display: block; font-size: 12.5px; color: var(--faint); }
tr.flag td { background: var(--warn-bg); }
tr.flag td:first-child { box-shadow: inset 3px 0 0 #d4a72c; padding-left: 10px; }
.tag { display: inline-block; font-size: 11.5px; font-weight: 600; padding: 1px 8px; border-radius: 999px; background: #f5dc8e; color: var(--warn-fg); margin-left: 6px; }
.ok { color: var(--faint); }
.cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 12px 40px; }
.kv td:last-child { text-align: right; white-space: nowrap; font-weight: 520; }
.kv td:first-child { color: var(--muted); }
.empty { color: var(--muted); font-size: 14px; border: 1px dashed var(--line); border-radius: 8px; padding: 14px 16px; margin: 0; }
.chart { border: 1px solid var(--line); border-radius: 12px; padding: 18px 20px 8px; margin-top: 16px; }
.chart header { border: 0; padding: 0; display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 12px; }
.chart header p { margin: 0; font-size: 13px; color: var(--muted); }
.chart svg { display: block; width: 100%; height: auto; margin-top: 6px; overflow: visible; }
svg text { font-family: inherit; font-size: 12px; fill: var(--muted); font-variant-numeric: tabular-nums; }
svg .grid { stroke: #edf0f3; stroke-width: 1; }
svg .axis { stroke: #9aa4ae; stroke-width: 1; }
svg .ticks line { stroke: #9aa4ae; }
svg .axis-label { fill: var(--muted); font-size: 12.5px; }
svg .legend text { fill: var(--fg); font-size: 12.5px; }
svg .empty-msg { fill: var(--faint); font-size: 14px; }
svg path.line { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
svg .s0 { stroke: var(--c0); fill: var(--c0); } svg .s1 { stroke: var(--c1); fill: var(--c1); }
svg .s2 { stroke: var(--c2); fill: var(--c2); } svg .s3 { stroke: var(--c3); fill: var(--c3); }
svg path.line.s0, svg path.line.s1, svg path.line.s2, svg path.line.s3 { fill: none; }
svg .hover rect { fill: #1f2328; fill-opacity: 0; }
svg .hover rect:hover { fill-opacity: 0.05; }
ul.errors { list-style: none; margin: 0; padding: 0; border: 1px solid #f3c6c2; border-radius: 10px; overflow: hidden; }
ul.errors li { padding: 9px 14px; border-top: 1px solid #f6d9d6; background: var(--bad-bg); color: #5c1a14; font-size: 13.5px; display: flex; gap: 12px; align-items: baseline; }
ul.errors li:first-child { border-top: 0; }
ul.errors .count { flex: none; min-width: 36px; font-weight: 600; color: var(--bad-fg); font-variant-numeric: tabular-nums; }
ul.errors code { overflow-wrap: anywhere; }
footer { margin-top: 56px; padding-top: 16px; border-top: 1px solid var(--line); font-size: 12.5px; color: var(--faint); }
@media (max-width: 640px) { main { padding: 24px 16px 40px; } h1 { font-size: 24px; } }
@media print { main { padding: 0; max-width: none; } section, .chart, .figure { break-inside: avoid; } svg .hover { display: none; } }
</style>
</head>
<body>
<main>
<header>
  <div class="eyebrow">Bayan load test report</div>
  <h1>{{.Scenario}}{{if .Errors}} <a class="pill" href="#errors">{{.Errors}} error{{if ne .Errors 1}}s{{end}}</a>{{end}}</h1>
  <p class="url"><code>{{.URL}}</code></p>
  <dl class="meta">
    <div><dt>Started</dt><dd>{{if .StartedTS}}<time datetime="{{.StartedTS}}">{{.Started}}</time>{{else}}{{.Started}}{{end}}</dd></div>
    <div><dt>Duration</dt><dd>{{.Duration}}</dd></div>
    <div><dt>Shard</dt><dd>{{.Shard}}</dd></div>
  </dl>
  {{- if .Params}}
  <div class="params" aria-label="Parameters">
    {{- range .Params}}
    <table>
      <tbody>
      {{- range .}}
        <tr><td><code>{{.Key}}</code></td><td><code>{{.Value}}</code></td></tr>
      {{- end}}
      </tbody>
    </table>
    {{- end}}
  </div>
  {{- end}}
</header>

<div class="figures">
{{- range .Figures}}
  <div class="figure{{if .Warn}} warn{{end}}">
    <div class="label">{{.Label}}</div>
    <div class="value">{{.Value}}{{if .Unit}}<span class="unit">{{.Unit}}</span>{{end}}</div>
    {{- if .Note}}
    <div class="note">{{.Note}}</div>
    {{- end}}
  </div>
{{- end}}
</div>

<section id="timeline">
  <h2>Over time</h2>
  <p class="lede">One sample a second. Hover a chart for the values at that moment.</p>
{{- range .Charts}}
{{template "chart" .}}
{{- end}}
</section>

<section id="latency">
  <h2>Latency</h2>
  <p class="lede">Percentiles over all participants and tracks, in milliseconds.</p>
  <table>
    <thead><tr><th>Measure</th><th class="num">Count</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th><th class="num">Max</th></tr></thead>
    <tbody>
    {{- range .Latency}}
      <tr><td>{{.Name}}<span class="sub">{{.Note}}</span></td><td class="num">{{.Count}}</td><td class="num">{{.P50}}</td><td class="num">{{.P95}}</td><td class="num">{{.P99}}</td><td class="num">{{.Max}}</td></tr>
    {{- end}}
    </tbody>
  </table>
</section>

<section id="layers">
  <h2>Layers</h2>
  <p class="lede">Sent bitrate per publisher track against the mean received by the subscribers of that layer, in kbps. Rows where they differ by more than {{.FlagPercent}}% are flagged{{if .LayerFlags}} ({{.LayerFlags}} here){{end}}.</p>
  {{- if .Layers}}
  <table>
    <thead><tr><th>Layer</th><th class="num">Subscribers</th><th class="num">Sent</th><th class="num">Received</th><th class="num">Difference</th></tr></thead>
    <tbody>
    {{- range .Layers}}
      <tr{{if .Flag}} class="flag"{{end}}><td><code>{{.Name}}</code>{{if .Desc}} <span class="ok">{{.Desc}}</span>{{end}}{{if .Flag}}<span class="tag">check</span>{{end}}</td><td class="num">{{.Subscribers}}</td><td class="num">{{.Sent}}</td><td class="num">{{.Received}}</td><td class="num">{{.Diff}}</td></tr>
    {{- end}}
    </tbody>
  </table>
  {{- else}}
  <p class="empty">No per-layer figures in this report.</p>
  {{- end}}
</section>

<section id="usage">
  <h2>Traffic and resources</h2>
  <p class="lede">Server figures come from its Prometheus metrics, read before and after the measured run.</p>
  <div class="cols">
    <div>
      <h3>Traffic</h3>
      <table class="kv"><tbody>
      {{- range .Traffic}}
        <tr><td>{{.Key}}</td><td>{{.Value}}</td></tr>
      {{- end}}
      </tbody></table>
    </div>
    <div>
      <h3>Server</h3>
      {{- if .Server}}
      <table class="kv"><tbody>
      {{- range .Server}}
        <tr><td>{{.Key}}</td><td>{{.Value}}</td></tr>
      {{- end}}
      </tbody></table>
      {{- else}}
      <p class="empty">Not measured: the server's metrics endpoint (<code>--metrics-url</code>) was not reachable.</p>
      {{- end}}
    </div>
    <div>
      <h3>Load tester</h3>
      <table class="kv"><tbody>
      {{- range .Client}}
        <tr><td>{{.Key}}</td><td>{{.Value}}</td></tr>
      {{- end}}
      </tbody></table>
    </div>
  </div>
</section>
{{- if .ErrorLines}}

<section id="errors">
  <h2>Errors</h2>
  <p class="lede">{{.Errors}} in total; repeated messages are counted once.</p>
  <ul class="errors">
  {{- range .ErrorLines}}
    <li><span class="count">×{{.Count}}</span><code>{{.Text}}</code></li>
  {{- end}}
  {{- if .ErrorsMore}}
    <li><span class="count">…</span><span>and {{.ErrorsMore}} more distinct messages, see the JSON report.</span></li>
  {{- end}}
  </ul>
</section>
{{- end}}

<footer>Generated by <code>bayan loadtest</code>. The JSON report (<code>--out</code>) holds the same figures.</footer>
</main>
</body>
</html>
{{- define "chart"}}
  <div class="chart" id="{{.ID}}">
    <header><h3>{{.Title}}</h3><p>{{.Subtitle}}</p></header>
    <svg viewBox="0 0 {{.W}} {{.H}}" width="{{.W}}" height="{{.H}}" role="img" aria-label="{{.Desc}}">
      <title>{{.Desc}}</title>
      {{- if .Empty}}
      <line class="axis" x1="{{.X0}}" y1="{{.Y1}}" x2="{{.X1}}" y2="{{.Y1}}"/>
      <line class="axis" x1="{{.X0}}" y1="{{.Y0}}" x2="{{.X0}}" y2="{{.Y1}}"/>
      <text class="empty-msg" x="{{.XMid}}" y="{{.YMid}}" text-anchor="middle">{{.Empty}}</text>
      {{- else}}
      <g class="grid-lines">
        {{- range .YTicks}}
        <line class="grid" x1="{{$.X0}}" y1="{{.Pos}}" x2="{{$.X1}}" y2="{{.Pos}}"/>
        {{- end}}
      </g>
      <g class="ticks">
        {{- range .YTicks}}
        <text x="{{$.X0}}" y="{{.Pos}}" dx="-10" dy="4" text-anchor="end">{{.Label}}</text>
        {{- end}}
        {{- range .XTicks}}
        <line x1="{{.Pos}}" y1="{{$.Y1}}" x2="{{.Pos}}" y2="{{$.TickEnd}}"/>
        <text x="{{.Pos}}" y="{{$.Y1}}" dy="20" text-anchor="middle">{{.Label}}</text>
        {{- end}}
      </g>
      <line class="axis" x1="{{.X0}}" y1="{{.Y1}}" x2="{{.X1}}" y2="{{.Y1}}"/>
      <line class="axis" x1="{{.X0}}" y1="{{.Y0}}" x2="{{.X0}}" y2="{{.Y1}}"/>
      <g class="series">
        {{- range .Series}}
        <path class="line {{.Class}}" d="{{.Path}}"/>
        {{- $class := .Class}}
        {{- range .Dots}}
        <circle class="{{$class}}" cx="{{.X}}" cy="{{.Y}}" r="3"/>
        {{- end}}
        {{- end}}
      </g>
      <g class="hover">
        {{- range .Hover}}
        <rect x="{{.X}}" y="{{$.Y0}}" width="{{.W}}" height="{{$.PlotH}}"><title>{{.Title}}</title></rect>
        {{- end}}
      </g>
      {{- end}}
      <text class="axis-label" x="{{.XMid}}" y="{{.H}}" dy="-6" text-anchor="middle">{{.XLabel}}</text>
      <text class="axis-label" transform="translate(16 {{.YMid}}) rotate(-90)" text-anchor="middle">{{.YLabel}}</text>
      <g class="legend">
        {{- range .Series}}
        <path class="line {{.Class}}" d="M{{.LegendX}},14 h24" stroke-width="3"/>
        <text x="{{.LegendX}}" dx="32" y="18">{{.Name}}</text>
        {{- end}}
      </g>
    </svg>
  </div>
{{- end}}
`
