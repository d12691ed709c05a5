package allocation

import "time"

// Link is the allocator's memory of one subscriber's link: when its TWCC
// feedback and its receiver reports last showed loss. Loss is the TWCC
// feedback's, confirmed by the receiver reports: a starved browser reports
// packets missing that reach it late, which TWCC cannot tell from lost,
// but its receiver reports can.
type Link struct {
	base     LossCount // the receiver reports' counts when the window began
	baseAt   time.Time
	twccAt   time.Time // the estimator's loss last reached PauseLoss
	reportAt time.Time // a window's reported loss last reached PauseLoss
}

// LossCount is what receiver reports said: packets lost of those expected.
type LossCount struct{ Lost, Expected uint64 }

// reportWindow is how much receiver reports a loss fraction is judged
// over: browsers report on each track about every second. Loss counts
// only from reportMinLost packets up: a window often holds one track's
// report, 15-45 packets, where one or two lost would pass for several per
// cent.
const (
	reportWindow  = time.Second
	reportMinLost = 3
)

// NewLink starts the memory of a link whose receiver reports have counted
// reported so far.
func NewLink(reported LossCount, now time.Time) *Link {
	return &Link{base: reported, baseAt: now}
}

// Observe records this tick's readings (the estimator's loss fraction, and
// the receiver reports' counts summed over the subscriber's tracks) and
// reports whether the link loses packets: both signs within PauseGrace
// (receiver reports come about once a second, so the two need not show in
// the same tick).
func (l *Link) Observe(twccLoss float64, reported LossCount, now time.Time) bool {
	if twccLoss >= PauseLoss {
		l.twccAt = now
	}
	if reported.Expected < l.base.Expected {
		l.base, l.baseAt = reported, now // a track left: its counts went with it
	}
	if now.Sub(l.baseAt) >= reportWindow {
		// The lost count goes down when a missing packet is repaired.
		lost := int64(reported.Lost) - int64(l.base.Lost)
		if exp := reported.Expected - l.base.Expected; exp > 0 && lost >= reportMinLost && float64(lost) >= PauseLoss*float64(exp) {
			l.reportAt = now
		}
		l.base, l.baseAt = reported, now
	}
	recent := func(at time.Time) bool { return !at.IsZero() && now.Sub(at) < PauseGrace }
	return recent(l.twccAt) && recent(l.reportAt)
}
