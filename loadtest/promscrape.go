package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bayan-dev/bayan/loadtest/report"
)

// Reading the server's Prometheus /metrics (text format): only the few
// series the report needs, so a small parser does.

const scrapeTimeout = 3 * time.Second

// serverSample is one scrape of the server.
type serverSample struct {
	at         time.Time
	cpuSeconds float64 // process_cpu_seconds_total
	rssBytes   float64 // process_resident_memory_bytes
	packetsOut float64 // bayan_packets_out_total
	packetsIn  float64 // bayan_packets_in_total
	// delay holds the cumulative buckets of bayan_forward_delay_seconds by
	// upper bound.
	delay map[float64]float64
	// signalSent is bayan_signal_messages_sent_total by type.
	signalSent map[string]float64
}

func scrape(ctx context.Context, client *http.Client, url string) (*serverSample, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil, fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	s, err := parseMetrics(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	s.at = time.Now()
	return s, nil
}

// parseMetrics reads the series it knows from Prometheus text; it fails if
// none of them is there (not a Bayan or Go process endpoint).
func parseMetrics(r io.Reader) (*serverSample, error) {
	s := &serverSample{delay: map[float64]float64{}, signalSent: map[string]float64{}}
	found := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, value, ok := splitSample(line)
		if !ok {
			continue
		}
		switch name {
		case "process_cpu_seconds_total":
			s.cpuSeconds = value
		case "process_resident_memory_bytes":
			s.rssBytes = value
		case "bayan_packets_out_total":
			s.packetsOut = value
		case "bayan_packets_in_total":
			s.packetsIn = value
		case "bayan_forward_delay_seconds_bucket":
			le, ok := labelValue(labels, "le")
			if !ok {
				continue
			}
			bound, err := strconv.ParseFloat(le, 64)
			if err != nil {
				continue
			}
			s.delay[bound] = value
		case "bayan_signal_messages_sent_total":
			typ, ok := labelValue(labels, "type")
			if !ok {
				continue
			}
			s.signalSent[typ] = value
		default:
			continue
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if found == 0 {
		return nil, fmt.Errorf("no process or bayan metrics in the response")
	}
	return s, nil
}

// splitSample splits `name{labels} value [timestamp]`.
func splitSample(line string) (name, labels string, value float64, ok bool) {
	rest := line
	if i := strings.IndexByte(line, '{'); i >= 0 {
		j := strings.LastIndexByte(line, '}')
		if j < i {
			return "", "", 0, false
		}
		name, labels, rest = line[:i], line[i+1:j], line[j+1:]
	} else {
		i := strings.IndexAny(line, " \t")
		if i < 0 {
			return "", "", 0, false
		}
		name, rest = line[:i], line[i:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", "", 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", "", 0, false
	}
	return name, labels, v, true
}

func labelValue(labels, key string) (string, bool) {
	for _, kv := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && k == key {
			return strings.Trim(v, `"`), true
		}
	}
	return "", false
}

// histogramQuantile estimates a quantile from the difference of two
// cumulative bucket sets, interpolating linearly inside a bucket as
// Prometheus' histogram_quantile does. It returns 0 without observations.
func histogramQuantile(q float64, before, after map[float64]float64) float64 {
	bounds := make([]float64, 0, len(after))
	for b := range after {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	if len(bounds) == 0 {
		return 0
	}
	counts := make([]float64, len(bounds))
	for i, b := range bounds {
		counts[i] = after[b] - before[b]
	}
	total := counts[len(counts)-1]
	if total <= 0 {
		return 0
	}
	rank := q * total
	prevBound, prevCount := 0.0, 0.0
	for i, b := range bounds {
		if counts[i] >= rank {
			if math.IsInf(b, 1) {
				return prevBound // beyond the last finite bucket
			}
			inBucket := counts[i] - prevCount
			if inBucket <= 0 {
				return b
			}
			return prevBound + (b-prevBound)*(rank-prevCount)/inBucket
		}
		prevBound, prevCount = b, counts[i]
	}
	return prevBound
}

// serverUsage compares the scrapes before and after the steady part of the
// run; first, taken before anyone joined, gives the memory the
// participants added.
func serverUsage(first, before, after *serverSample, participants int) *report.ServerUsage {
	wall := after.at.Sub(before.at).Seconds()
	if wall <= 0 {
		return nil
	}
	cpu := after.cpuSeconds - before.cpuSeconds
	out := after.packetsOut - before.packetsOut
	u := &report.ServerUsage{
		CPUCores:               cpu / wall,
		RSSBytes:               after.rssBytes,
		PacketsOutPerSecond:    out / wall,
		PacketsInPerSecond:     (after.packetsIn - before.packetsIn) / wall,
		ForwardDelayP99Seconds: histogramQuantile(0.99, before.delay, after.delay),
	}
	if out > 0 {
		u.CPUMicrosPerPacket = cpu * 1e6 / out
	}
	u.SignalMessagesByType = map[string]float64{}
	if participants > 0 {
		u.MemoryPerParticipant = (after.rssBytes - first.rssBytes) / float64(participants)
		for typ, n := range after.signalSent {
			if d := n - first.signalSent[typ]; d > 0 {
				u.SignalMessagesByType[typ] = d / float64(participants)
				u.SignalMessagesPerParticipant += d / float64(participants)
			}
		}
	}
	return u
}
