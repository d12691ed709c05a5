package sfu

import (
	"math"
	"sync/atomic"
)

// audioLevels accumulates the RFC 6464 audio levels of one audio stream
// between two reads, with atomics only: the receiver's read loop adds, a
// speaker detector reads and resets.
type audioLevels struct {
	extID     uint8         // negotiated id of the audio level extension; 0: none
	amplitude atomic.Uint64 // sum of 10^(-dBov/20), in millionths
	packets   atomic.Uint64
}

// add records the linear amplitude of one packet, in millionths (an entry
// of amplitudeMillionths).
func (a *audioLevels) add(amplitude uint64) {
	a.amplitude.Add(amplitude)
	a.packets.Add(1)
}

// take returns the mean amplitude (0..1) since the last call and how many
// packets it covers, and starts a new period.
func (a *audioLevels) take() (level float64, packets uint64) {
	sum := a.amplitude.Swap(0)
	n := a.packets.Swap(0)
	if n == 0 {
		return 0, 0
	}
	return float64(sum) / float64(n) / 1e6, n
}

// amplitudeMillionths maps -dBov to a linear amplitude, so that levels can
// be averaged (decibels cannot).
var amplitudeMillionths = func() (t [128]uint64) {
	for i := range t {
		t[i] = uint64(math.Pow(10, -float64(i)/20) * 1e6)
	}
	return t
}()
