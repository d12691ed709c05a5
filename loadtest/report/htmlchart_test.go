package report

import (
	"math"
	"testing"
)

func TestHTMLNiceRange(t *testing.T) {
	for _, c := range []struct {
		lo, hi              float64
		wantLo, wantHi, stp float64
	}{
		{0, 216, 0, 250, 50},
		{0, 1, 0, 1, 0.2},
		{0, 2.63, 0, 3, 0.5},
		{0, 297, 0, 300, 50},
		{0, 12, 0, 12.5, 2.5},
		{-3, 7, -5, 7.5, 2.5},
	} {
		lo, hi, step := htmlNiceRange(c.lo, c.hi, 5)
		if math.Abs(lo-c.wantLo) > 1e-9 || math.Abs(hi-c.wantHi) > 1e-9 || math.Abs(step-c.stp) > 1e-9 {
			t.Errorf("htmlNiceRange(%v, %v) = %v, %v, %v; want %v, %v, %v", c.lo, c.hi, lo, hi, step, c.wantLo, c.wantHi, c.stp)
		}
	}
}
