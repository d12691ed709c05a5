package room

import (
	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/sfu"
)

// Layer bitrates, measured: the bandwidth allocator needs what each
// simulcast layer costs, and a layer's rate is what its receiver takes in.
// A layer that stopped (dynacast told the publisher nobody watches it)
// keeps its last measured rate; one never measured takes its default.

// layerMeter is a track's measuring state; guarded by PublishedTrack.mu.
type layerMeter struct {
	bytes [3]uint64
	rate  [3]float64 // bits per second, smoothed; 0 until measured
}

// measureRates updates the track's layer rates over the last dt seconds.
func (t *PublishedTrack) measureRates(dt float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for q, r := range t.layerReceiversLocked() {
		if r == nil {
			continue
		}
		b := r.ByteCount()
		delta := b - t.meter.bytes[q]
		t.meter.bytes[q] = b
		if dt <= 0 || delta == 0 || t.meter.bytes[q] == delta {
			continue // idle, or its first interval: nothing to average yet
		}
		now := float64(delta) * 8 / dt
		if t.meter.rate[q] == 0 {
			t.meter.rate[q] = now
		} else {
			t.meter.rate[q] += rateSmoothing * (now - t.meter.rate[q])
		}
	}
}

// layerRates returns what each layer costs (bits per second) and which
// layers exist. A track without simulcast is one layer, LOW.
func (t *PublishedTrack) layerRates() (rates [3]float64, exists [3]bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for q, r := range t.layerReceiversLocked() {
		if r == nil {
			continue
		}
		exists[q] = true
		rates[q] = t.meter.rate[q]
		if rates[q] == 0 {
			rates[q] = defaultLayerRates[q]
		}
	}
	return rates, exists
}

// layerReceiversLocked is the track's layers by quality; a track without
// simulcast has its one receiver as LOW.
func (t *PublishedTrack) layerReceiversLocked() [3]*sfu.Receiver {
	if t.layers != [3]*sfu.Receiver{} {
		return t.layers
	}
	return [3]*sfu.Receiver{t.receiver}
}

// kindAndSource returns whether the track is audio or video and what it
// carries (camera, screen share, ...), without copying its info: the
// allocator asks for every subscription four times a second.
func (t *PublishedTrack) kindAndSource() (livekit.TrackType, livekit.TrackSource) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.info.GetType(), t.info.GetSource()
}
