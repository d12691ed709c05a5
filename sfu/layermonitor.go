package sfu

import "time"

// Layer liveness: a simulcast publisher may stop sending a layer at any
// time (CPU or bandwidth pressure), and a down-track forwarding that layer
// would then freeze. LayerMonitor notices such a layer from the packet
// counts of the layers' receivers, sampled periodically, so the packet path
// pays nothing for it.
const (
	// LayerCheckInterval is how often a LayerMonitor should be fed.
	LayerCheckInterval = 250 * time.Millisecond
	// LayerTimeout is how long an expected layer may be silent, as seen by
	// the samples, before it is dead. Sampled every LayerCheckInterval, a
	// stop is noticed between LayerTimeout and LayerTimeout+LayerCheckInterval
	// after the last packet (under a second), and a gap shorter than
	// LayerTimeout (a frame rate above about 1.3 fps) is never mistaken for
	// one.
	LayerTimeout = 750 * time.Millisecond
	// LayerResumeTimeout is the silence allowed to a layer the publisher
	// was just asked to send again: the request's round trip, an encoder
	// restarting and its first keyframe take longer than a running layer's
	// gap between frames.
	LayerResumeTimeout = 2500 * time.Millisecond
)

// MaxLayers is how many simulcast layers a LayerMonitor watches.
const MaxLayers = 3

// LayerMonitor tracks which simulcast layers of one track have stopped
// arriving. A layer is dead when it is expected (the publisher was asked to
// send it) and no packet of it has been seen for LayerTimeout. A layer that
// is not expected may be silent without being dead: the publisher was told
// not to send it, and it must stay eligible to be asked for again. When
// packets of a dead layer arrive again, it is live again at once.
//
// The zero value is ready to use. It is not safe for concurrent use: one
// goroutine feeds it.
type LayerMonitor struct {
	layers [MaxLayers]layerWatch
}

// layerWatch is the monitor's memory of one layer.
type layerWatch struct {
	count    uint64    // packet count at the last sample
	since    time.Time // last growth of count, or when it became expected
	expected bool      // at the last sample
	resuming bool      // asked for again and silent since: LayerResumeTimeout applies
	dead     bool
}

// Observe takes a sample at now: counts are the layers' packet counts
// (Receiver.PacketCount), present says which layers exist and expected which
// the publisher is meant to be sending. It returns which layers are dead and
// whether that differs from the previous sample's answer. A layer that is
// absent is never dead.
func (m *LayerMonitor) Observe(now time.Time, counts [MaxLayers]uint64, present, expected [MaxLayers]bool) (dead [MaxLayers]bool, changed bool) {
	for q := range m.layers {
		w := &m.layers[q]
		was := w.dead
		switch {
		case !present[q]:
			*w = layerWatch{}
		case counts[q] != w.count:
			w.count, w.since, w.dead, w.resuming = counts[q], now, false, false
		case !expected[q]:
			// Silence asked for; the grace period starts when it is asked
			// for again.
			w.since, w.dead = now, false
		case !w.expected:
			w.since, w.resuming = now, true // just asked for: give the publisher time to resume
		case now.Sub(w.since) >= LayerTimeout && (!w.resuming || now.Sub(w.since) >= LayerResumeTimeout):
			w.dead = true
		}
		w.expected = present[q] && expected[q]
		dead[q] = w.dead
		changed = changed || was != w.dead
	}
	return dead, changed
}
