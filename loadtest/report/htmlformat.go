package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// htmlFinite says v is neither NaN nor infinite: such values print as "—".
func htmlFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// htmlRound1 rounds to one decimal.
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
