package report

import (
	"math"
	"testing"
)

func TestHTMLFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{htmlFmtNum(1234567.891, 2), "1,234,567.89"},
		{htmlFmtNum(-1234, 0), "−1,234"},
		{htmlFmtNum(-0.001, 1), "0.0"},
		{htmlFmtNum(math.NaN(), 1), "—"},
		{htmlFmtSigned(12.34, 1), "+12.3"},
		{htmlFmtKbps(950), "950 kbps"},
		{htmlFmtKbps(23820), "23.8 Mbps"},
		{htmlFmtBytes(1536), "1.5 KiB"},
		{htmlFmtBytes(-2048), "−2.0 KiB"},
		{htmlFmtDuration(42.5), "42.5 s"},
		{htmlFmtDuration(0), "0 s"},
		{htmlFmtDuration(303), "5 min 03 s"},
		{htmlFmtDuration(3725), "1 h 02 min"},
		{htmlFmtClock(125), "2:05"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
