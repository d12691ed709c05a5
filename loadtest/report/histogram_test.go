package report

import (
	"math"
	"testing"
)

func TestHistogram(t *testing.T) {
	for _, v := range []int64{0, 1, 15, 16, 17, 100, 1000, 12345, 1 << 30} {
		i := histIndex(v)
		if got := histValue(i); math.Abs(got-float64(v)) > 0.07*float64(v)+0.5 {
			t.Errorf("value %d lands in bucket %d standing for %.1f", v, i, got)
		}
	}
	for i := 1; i < histBuckets; i++ {
		if histValue(i) <= histValue(i-1) {
			t.Fatalf("bucket %d (%v) not above bucket %d (%v)", i, histValue(i), i-1, histValue(i-1))
		}
	}
	var h Histogram
	for v := int64(1); v <= 1000; v++ {
		h.Observe(v)
	}
	var s Snapshot
	h.AddTo(&s)
	if s.Count() != 1000 {
		t.Fatalf("count %d", s.Count())
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		if got, want := s.Quantile(q), q*1000; math.Abs(got-want) > 0.07*want {
			t.Errorf("q%.2f = %.1f, want about %.0f", q, got, want)
		}
	}
	var empty Snapshot
	if empty.Quantile(0.5) != 0 {
		t.Error("quantile of nothing")
	}
}
