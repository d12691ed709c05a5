package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

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
