package room

import (
	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/sfu"
)

// Layer bitrates, measured: the bandwidth allocator needs what each
// simulcast layer costs, and a layer's rate is what its receiver takes in.
// A layer that stopped (dynacast told the publisher nobody watches it)
// keeps its last measured rate; one never measured takes its default.

// defaultLayerRates stand in for a layer's bitrate until it is measured:
// the rates of LiveKit's default simulcast layers.
var defaultLayerRates = [3]float64{150_000, 500_000, 1_700_000}

// rateSmoothing is the weight of the newest interval in a layer's measured
// rate.
const rateSmoothing = 0.3

// layerMeter is a track's measuring state; guarded by PublishedTrack.mu.
type layerMeter struct {
	bytes    [3]uint64
	rate     [3]float64 // bits per second, smoothed; 0 until measured
	tbytes   [3][3]uint64
	trate    [3][3]float64 // by temporal layer: the share of each in rate
	temporal [3]bool       // frames of temporal layers above 0 were seen
}

// temporalShare is the cumulative share of a layer's rate that its
// temporal layers up to tid take in libvpx's three-layer pattern (0.4,
// 0.6, 1): what a layer thinned to 7.5 or 15 of its 30 frames costs until
// measured.
func temporalShare(tid int) float64 {
	switch tid {
	case 0:
		return 0.4
	case 1:
		return 0.6
	}
	return 1
}

// measureRates updates the track's layer rates over the last dt seconds.
func (t *PublishedTrack) measureRates(dt float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := &t.meter
	for q, r := range t.layerReceiversLocked() {
		if r == nil {
			continue
		}
		b := r.ByteCount()
		delta := b - m.bytes[q]
		m.bytes[q] = b
		tb := r.TemporalByteCounts()
		var tdelta [3]uint64
		for i := range tb {
			tdelta[i] = tb[i] - m.tbytes[q][i]
			m.tbytes[q][i] = tb[i]
		}
		if dt <= 0 || delta == 0 || m.bytes[q] == delta {
			continue // idle, or its first interval: nothing to average yet
		}
		if tdelta[1]+tdelta[2] > 0 {
			m.temporal[q] = true
		}
		smooth(&m.rate[q], float64(delta)*8/dt)
		for i := range tdelta {
			smooth(&m.trate[q][i], float64(tdelta[i])*8/dt)
		}
	}
}

// smooth moves an average towards now (starting at it).
func smooth(avg *float64, now float64) {
	if *avg == 0 {
		*avg = now
		return
	}
	*avg += rateSmoothing * (now - *avg)
}

// layerRates returns, for each layer, what it costs (bits per second)
// thinned to temporal layer 0, to 1, and whole (all three the same for a
// layer without temporal layers), which layers exist, and which have
// temporal layers. A track without simulcast is one layer, LOW.
func (t *PublishedTrack) layerRates() (rates [3][3]float64, exists, temporal [3]bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := &t.meter
	for q, r := range t.layerReceiversLocked() {
		if r == nil {
			continue
		}
		exists[q] = true
		temporal[q] = m.temporal[q]
		full := m.rate[q]
		if full == 0 {
			full = defaultLayerRates[q]
		}
		measured := m.trate[q][0] + m.trate[q][1] + m.trate[q][2]
		sum := 0.0
		for i := range 3 {
			switch {
			case !temporal[q]:
				rates[q][i] = full
			case measured > 0:
				sum += m.trate[q][i]
				rates[q][i] = full * sum / measured
			default:
				rates[q][i] = full * temporalShare(i)
			}
		}
	}
	return rates, exists, temporal
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
