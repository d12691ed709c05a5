package report

import (
	"math/bits"
	"sync/atomic"
)

// histBuckets is the number of buckets of a histogram: values below 16 µs
// have a bucket each, above that every power of two is split into 8
// buckets (a resolution of 12.5% or better), up to 2^40 µs.
const histBuckets = 312

// Histogram counts microsecond values in fixed logarithmic buckets. Observe
// is lock-free (one atomic add), so the packet path of many tracks can share
// one histogram, and a sampler can read it while they write.
type Histogram struct {
	b [histBuckets]atomic.Uint64
}

// histIndex returns the bucket of a value in microseconds.
func histIndex(us int64) int {
	if us < 16 {
		if us < 0 {
			return 0
		}
		return int(us)
	}
	v := uint64(us)
	e := bits.Len64(v) - 1 // >= 4
	m := int(v>>(uint(e)-3)) & 7
	i := (e-2)*8 + m
	if i >= histBuckets {
		return histBuckets - 1
	}
	return i
}

// histValue returns the value a bucket stands for: exact below 16 µs, the
// middle of the bucket above.
func histValue(i int) float64 {
	if i < 16 {
		return float64(i)
	}
	e := i/8 + 2
	m := i % 8
	width := uint64(1) << uint(e-3)
	lower := uint64(8+m) << uint(e-3)
	return float64(lower) + float64(width)/2
}

// Observe counts one value in microseconds.
func (h *Histogram) Observe(us int64) { h.b[histIndex(us)].Add(1) }

// AddTo adds the histogram's current counts to s.
func (h *Histogram) AddTo(s *Snapshot) {
	for i := range h.b {
		s[i] += h.b[i].Load()
	}
}

// Snapshot is a Histogram's counts at one moment; snapshots of several
// histograms add up, and subtracting an earlier snapshot gives the counts of
// an interval.
type Snapshot [histBuckets]uint64

// Count is the number of values counted.
func (s *Snapshot) Count() uint64 {
	var n uint64
	for _, c := range s {
		n += c
	}
	return n
}

// Minus returns s - prev.
func (s *Snapshot) Minus(prev *Snapshot) Snapshot {
	var d Snapshot
	for i := range s {
		d[i] = s[i] - prev[i]
	}
	return d
}

// Quantile returns the value (µs) below which a fraction q of the counts
// lie, or 0 for an empty histogram.
func (s *Snapshot) Quantile(q float64) float64 {
	n := s.Count()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	var acc uint64
	for i, c := range s {
		acc += c
		if acc >= rank {
			return histValue(i)
		}
	}
	return histValue(histBuckets - 1)
}

// Max returns the value of the highest non-empty bucket (µs).
func (s *Snapshot) Max() float64 {
	for i := histBuckets - 1; i >= 0; i-- {
		if s[i] > 0 {
			return histValue(i)
		}
	}
	return 0
}
