package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// htmlSampleReport is a realistic conference run: 50 participants, 10 of
// them publishing simulcast video, one minute with a 20 s ramp and a short
// loss burst, so every part of the page has something to show.
func htmlSampleReport() *Report {
	r := &Report{
		Scenario: "conference",
		URL:      "wss://sfu.example.com",
		Started:  time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC),
		Duration: 60,
		Params: map[string]string{
			"participants": "50",
			"publishers":   "10",
			"duration":     "60s",
			"ramp":         "20s",
			"layers":       "q,h,f",
			"codec":        "VP8",
			"audio":        "opus",
			"room":         "load-1",
			"seed":         "1",
			"metrics-url":  "http://sfu.example.com:7880/metrics",
		},
		Shard: "1/1",

		Participants:     48,
		Failed:           2,
		Publishers:       10,
		Subscribers:      48,
		TracksSubscribed: 844,

		JoinMs:       Percentiles{Count: 48, P50: 420.4, P95: 880.2, P99: 1240.9, Max: 1612.3},
		FirstMediaMs: Percentiles{Count: 48, P50: 310.7, P95: 620.1, P99: 910.4, Max: 1180},
		DelayMs:      Percentiles{Count: 1254000, P50: 38.2, P95: 84, P99: 121.5, Max: 412.7},
		JitterMs:     4.37,
		LossPercent:  0.37,

		SentKbps:          23820,
		ReceivedKbps:      216100,
		PerSubscriberKbps: Summary{Min: 3210, P50: 4480, Mean: 4502.3, Max: 6120},
		Layers: map[string]LayerStats{
			"audio": {SentKbps: 32, ReceivedKbps: 31.8, Subscribers: 48},
			"f":     {SentKbps: 1700, ReceivedKbps: 1290.5, Subscribers: 16}, // -24 %: flagged
			"h":     {SentKbps: 500, ReceivedKbps: 492.1, Subscribers: 20},
			"q":     {SentKbps: 150, ReceivedKbps: 148.3, Subscribers: 12},
		},
		NACKsSent: 1842,
		PLIsSent:  37,

		Server: &ServerUsage{
			CPUCores:               0.41,
			RSSBytes:               195035136,
			PacketsOutPerSecond:    22480,
			CPUMicrosPerPacket:     18.24,
			MemoryPerParticipant:   1363149,
			PacketsInPerSecond:     2530,
			ForwardDelayP99Seconds: 0.0021,
		},
		Client: ClientUsage{CPUCores: 2.13, CPUMicrosPerSubscriber: 2523.7, Goroutines: 2214},
		Errors: []string{
			"join p-049: dial wss://sfu.example.com/rtc: i/o timeout",
			"join p-050: dial wss://sfu.example.com/rtc: i/o timeout",
			"join p-050: dial wss://sfu.example.com/rtc: i/o timeout",
		},
	}
	for i := range 60 {
		t := float64(i)
		ramp := math.Min(1, t/20)
		wobble := math.Sin(t*0.9) + 0.5*math.Sin(t*2.3)
		s := Sample{
			T:           t,
			Joined:      int(math.Round(48 * ramp)),
			Tracks:      int(math.Round(844 * ramp * ramp)),
			MbpsOut:     23.8*math.Min(1, t/20+0.05) + 0.4*wobble,
			MbpsIn:      216*ramp*ramp + 3*wobble,
			LossPercent: math.Max(0, 0.15+0.08*wobble),
			DelayP50Ms:  36 + 3*wobble + 6*ramp,
			DelayP99Ms:  100 + 12*wobble + 18*ramp,
		}
		if i >= 34 && i <= 38 { // a loss burst with the delay it brings
			s.LossPercent += 2.4 - 0.5*math.Abs(float64(i-36))
			s.DelayP99Ms += 160 - 40*math.Abs(float64(i-36))
			s.DelayP50Ms += 12
		}
		r.Timeline = append(r.Timeline, s)
	}
	return r
}

func renderHTML(t *testing.T, r *Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	return buf.String()
}

// htmlVoid lists the HTML elements that have no end tag.
var htmlVoid = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true,
}

// checkHTML parses page and fails the test unless it is well-formed (every
// element explicitly closed, in order) and self-contained. It returns the
// parsed document.
func checkHTML(t *testing.T, page string) *html.Node {
	t.Helper()

	// Strict balance, on the token stream: html.Parse would quietly repair.
	z := html.NewTokenizer(strings.NewReader(page))
	var stack []string
	sawDoctype := false
loop:
	for {
		switch z.Next() {
		case html.ErrorToken:
			if err := z.Err(); !errors.Is(err, io.EOF) {
				t.Fatalf("tokenizing: %v", err)
			}
			break loop
		case html.DoctypeToken:
			sawDoctype = true
		case html.StartTagToken:
			name, _ := z.TagName()
			if !htmlVoid[string(name)] {
				stack = append(stack, string(name))
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if len(stack) == 0 || stack[len(stack)-1] != string(name) {
				t.Fatalf("unbalanced </%s>; open elements %v", name, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if !sawDoctype {
		t.Error("no <!DOCTYPE html>")
	}
	if len(stack) != 0 {
		t.Fatalf("elements left open: %v", stack)
	}

	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("html.Parse: %v", err)
	}
	forbidden := map[string]bool{"script": true, "link": true, "img": true, "iframe": true,
		"object": true, "embed": true, "image": true, "use": true, "foreignobject": true}
	refAttrs := map[string]bool{"src": true, "href": true, "srcset": true, "action": true,
		"poster": true, "data": true, "xlink:href": true, "background": true}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if forbidden[strings.ToLower(n.Data)] {
				t.Errorf("page contains a <%s> element", n.Data)
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				if a.Namespace != "" {
					key = a.Namespace + ":" + key
				}
				val := strings.ToLower(strings.TrimSpace(a.Val))
				if refAttrs[key] || strings.HasSuffix(key, ":href") {
					if strings.Contains(val, "http://") || strings.Contains(val, "https://") ||
						strings.HasPrefix(val, "//") || !strings.HasPrefix(val, "#") {
						t.Errorf("<%s %s=%q>: reference outside the page", n.Data, a.Key, a.Val)
					}
				}
				if strings.HasPrefix(key, "on") {
					t.Errorf("<%s %s>: event handler", n.Data, a.Key)
				}
				if key == "style" && strings.Contains(val, "url(") {
					t.Errorf("<%s style=%q>: url() in inline style", n.Data, a.Val)
				}
			}
			if n.Data == "style" {
				css := strings.ToLower(htmlText(n))
				if strings.Contains(css, "url(") || strings.Contains(css, "@import") || strings.Contains(css, "@font-face") {
					t.Error("<style> loads something from outside the page")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return doc
}

// htmlText is the text content of n, tags removed.
func htmlText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// htmlFind returns the elements named tag, in document order.
func htmlFind(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func htmlAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func TestWriteHTMLSample(t *testing.T) {
	r := htmlSampleReport()
	page := renderHTML(t, r)
	if out := os.Getenv("LOADTEST_HTML_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", out)
	}
	doc := checkHTML(t, page)
	text := htmlText(doc)

	for _, want := range []string{
		"conference", "wss://sfu.example.com", "14 Mar 2026, 09:26:53 UTC", "1 min 00 s", "1/1", // header
		"metrics-url", "http://sfu.example.com:7880/metrics", // params, as text
		"Joined / failed", "48 / 2", "2 of 50 could not join",
		"Tracks subscribed", "844",
		"0.37", "Delay p50", "38.2", "Delay p99", "121.5", "4.37", "4,480", // loss, delay, jitter, per-subscriber kbps
		"Server CPU", "0.41", "18.24", "Load tester CPU", "2.13",
		"420.4", "880.2", "1,240.9", "1,612.3", // join time
		"310.7", "1,254,000", "412.7", // first media, delay
		"1,290.5", "−24.1 %", "−1.6 %", // layers
		"186.0 MiB", "1.3 MiB", "22,480 /s", "2.10 ms", "2,214",
		"23.8 Mbps", "216.1 Mbps", "1,842",
		"join p-049: dial wss://sfu.example.com/rtc: i/o timeout", "×2",
		"Bitrate", "Packet loss", "End-to-end delay",
		"Sent by publishers (out)", "Received by subscribers (in)", "p50", "p99",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q", want)
		}
	}

	svgs := htmlFind(doc, "svg")
	if len(svgs) != 3 {
		t.Fatalf("%d <svg> elements, want 3 charts", len(svgs))
	}
	for i, svg := range svgs {
		paths := 0
		for _, p := range htmlFind(svg, "path") {
			if strings.Contains(htmlAttr(p, "class"), "line") && strings.Count(htmlAttr(p, "d"), "L") >= 59 {
				paths++
			}
		}
		wantSeries := []int{2, 1, 2}[i]
		if paths != wantSeries {
			t.Errorf("chart %d: %d data lines of 60 points, want %d", i, paths, wantSeries)
		}
		if n := len(htmlFind(svg, "rect")); n != 60 {
			t.Errorf("chart %d: %d hover columns, want 60", i, n)
		}
		ticks := 0
		for _, txt := range htmlFind(svg, "text") {
			if htmlText(txt) == "30" {
				ticks++
			}
		}
		if ticks == 0 {
			t.Errorf("chart %d: no x tick labelled 30", i)
		}
	}

	// Exactly the "f" layer is flagged.
	var flagged []string
	for _, tr := range htmlFind(doc, "tr") {
		if htmlAttr(tr, "class") == "flag" {
			flagged = append(flagged, htmlText(htmlFind(tr, "code")[0]))
		}
	}
	if len(flagged) != 1 || flagged[0] != "f" {
		t.Errorf("flagged layers %v, want [f]", flagged)
	}
	for _, bad := range []string{"NaN", "Inf", "<no value>", "%!"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
}

func TestWriteHTMLEmpty(t *testing.T) {
	page := renderHTML(t, &Report{})
	doc := checkHTML(t, page)
	text := htmlText(doc)
	if n := len(htmlFind(doc, "svg")); n != 3 {
		t.Errorf("%d <svg> elements, want 3 (empty) charts", n)
	}
	for _, want := range []string{"(unnamed scenario)", "No timeline samples were recorded.", "Not measured", "No per-layer figures"} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q", want)
		}
	}
	for _, absent := range []string{"Server CPU", `id="errors"`, "NaN", "Inf", "<no value>"} {
		if strings.Contains(page, absent) {
			t.Errorf("empty report's page contains %q", absent)
		}
	}
}

func TestWriteHTMLOneSample(t *testing.T) {
	r := htmlSampleReport()
	r.Timeline = []Sample{{T: 0, Joined: 1, Tracks: 2, MbpsIn: 1.5, MbpsOut: 1.6, DelayP50Ms: 30, DelayP99Ms: 90}}
	page := renderHTML(t, r)
	doc := checkHTML(t, page)
	svgs := htmlFind(doc, "svg")
	if len(svgs) != 3 {
		t.Fatalf("%d <svg> elements, want 3", len(svgs))
	}
	// A single sample draws no line, so it must be shown as a dot.
	for i, svg := range svgs {
		if n, want := len(htmlFind(svg, "circle")), []int{2, 1, 2}[i]; n != want {
			t.Errorf("chart %d: %d dots, want %d", i, n, want)
		}
	}
	if strings.Contains(page, "NaN") || strings.Contains(page, "Inf") {
		t.Error("page contains NaN or Inf")
	}
}

func TestWriteHTMLNonFinite(t *testing.T) {
	r := htmlSampleReport()
	r.LossPercent = math.NaN()
	r.JitterMs = math.Inf(1)
	r.Server.CPUMicrosPerPacket = math.NaN()
	r.Layers["h"] = LayerStats{SentKbps: 500, ReceivedKbps: math.NaN()}
	r.Timeline[10].MbpsIn = math.NaN()
	r.Timeline[11].DelayP99Ms = math.Inf(1)
	r.Timeline[12].T = math.NaN()
	page := renderHTML(t, r)
	checkHTML(t, page)
	if strings.Contains(page, "NaN") || strings.Contains(page, "Inf") {
		t.Error("page contains NaN or Inf")
	}
}

func TestWriteHTMLEscapes(t *testing.T) {
	r := htmlSampleReport()
	r.Scenario = `<script>alert("x")</script>`
	r.URL = `wss://h/"><img src=https://evil.example/x.png>`
	r.Params["note"] = `</td></tr></table><a href="https://evil.example">x</a>`
	r.Layers[`"><svg onload=alert(1)>`] = LayerStats{SentKbps: 1, ReceivedKbps: 1}
	r.Errors = append(r.Errors, `<iframe src="https://evil.example"></iframe>`)
	page := renderHTML(t, r)
	doc := checkHTML(t, page) // no script, img, iframe, external href, event handler
	text := htmlText(doc)
	for _, want := range []string{r.Scenario, r.URL, r.Params["note"], r.Errors[len(r.Errors)-1]} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q, escaped", want)
		}
	}
	if n := len(htmlFind(doc, "svg")); n != 3 {
		t.Errorf("%d <svg> elements, want 3", n)
	}
}

func TestWriteHTMLLongTimeline(t *testing.T) {
	r := htmlSampleReport()
	r.Timeline = nil
	for i := range 3600 {
		r.Timeline = append(r.Timeline, Sample{T: float64(i), MbpsIn: 100, MbpsOut: 10, DelayP50Ms: 40, DelayP99Ms: 120})
	}
	r.Duration = 3600
	page := renderHTML(t, r)
	doc := checkHTML(t, page)
	text := htmlText(doc)
	for _, want := range []string{"1 h 00 min", "Time since start (m:ss)", "30:00"} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q", want)
		}
	}
	if len(page) > 1<<20 {
		t.Errorf("page is %d bytes for an hour's timeline", len(page))
	}
}

func TestWriteHTMLNil(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, nil); err == nil {
		t.Error("WriteHTML(nil) succeeded")
	}
	if buf.Len() != 0 {
		t.Error("WriteHTML(nil) wrote output")
	}
}

type htmlFailWriter struct{}

func (htmlFailWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteHTMLWriteError(t *testing.T) {
	if err := WriteHTML(htmlFailWriter{}, htmlSampleReport()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("WriteHTML to a failing writer: %v", err)
	}
}

// TestWriteHTMLTestdata renders the sample as it comes back from JSON, the
// way a report written with --out is rendered later. Set
// LOADTEST_UPDATE_TESTDATA=1 to rewrite testdata/report-sample.json from
// htmlSampleReport.
func TestWriteHTMLTestdata(t *testing.T) {
	path := filepath.Join("testdata", "report-sample.json")
	if os.Getenv("LOADTEST_UPDATE_TESTDATA") != "" {
		data, err := json.MarshalIndent(htmlSampleReport(), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	if len(r.Timeline) == 0 || r.Server == nil || len(r.Layers) == 0 {
		t.Fatalf("%s decoded to a thin report; has Report's JSON changed?", path)
	}
	doc := checkHTML(t, renderHTML(t, &r))
	if n := len(htmlFind(doc, "svg")); n != 3 {
		t.Errorf("%d <svg> elements, want 3", n)
	}
	if !strings.Contains(htmlText(doc), r.Scenario) {
		t.Errorf("page lacks the scenario %q", r.Scenario)
	}
}
