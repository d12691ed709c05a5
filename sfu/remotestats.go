package sfu

import (
	"sync"
	"time"

	"github.com/pion/rtcp"
)

// maxRTT bounds round trips computed from receiver reports: anything larger
// comes from a clock jump or a corrupt report.
const maxRTT = 10 * time.Second

// DeliveryStats describes how one down-track fared over an interval, from
// the receiver reports (RFC 3550 6.4.2) its subscriber sent.
type DeliveryStats struct {
	// Reports is how many receiver reports about the track arrived; with
	// none, the other fields are zero. Loss needs two reports: the first
	// one ever only sets the origin.
	Reports int
	// Expected is how many packets the subscriber's sequence numbers say
	// were sent to it.
	Expected uint64
	// Lost is how many of those the subscriber did not get, not counting
	// the gaps the publisher's own losses left in the forwarded sequence:
	// that is loss between this server and the subscriber.
	Lost uint64
	// Jitter is the interarrival jitter the latest report gave.
	Jitter time.Duration
	// RTT is the latest round trip measured against our sender reports;
	// 0 when none could be measured.
	RTT time.Duration
}

// LossFraction returns Lost/Expected, or 0 when nothing was expected.
func (s DeliveryStats) LossFraction() float64 { return lossFraction(s.Lost, s.Expected) }

// sendCursor is where a down-track's outgoing sequence stood when a report
// arrived: the highest extended sequence number used and the packets
// actually sent. Their difference grows with the gaps upstream loss leaves.
type sendCursor struct {
	highest int64
	sent    uint64
}

// reportPoint is one receiver report together with the send cursor at its
// arrival.
type reportPoint struct {
	highest   uint32 // extended highest sequence number received
	totalLost int64
	cursor    sendCursor
}

// remoteStats keeps what a subscriber's receiver reports say about one
// down-track. It is touched once per report and once per take, never on
// the packet path.
type remoteStats struct {
	mu        sync.Mutex
	clockRate int64
	reports   int
	latest    reportPoint
	base      reportPoint // the latest report at the previous take
	haveBase  bool
	jitter    uint32 // RTP units
	rtt       time.Duration
	// origin is the first report: what the link lost is counted from it.
	origin reportPoint
}

// observe records one reception report received at now; cur is the send
// cursor at that moment.
func (s *remoteStats) observe(rr rtcp.ReceptionReport, cur sendCursor, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports++
	// Cumulative lost is a signed 24-bit count.
	lost := int64(rr.TotalLost)
	if lost&0x800000 != 0 {
		lost -= 1 << 24
	}
	s.latest = reportPoint{highest: rr.LastSequenceNumber, totalLost: lost, cursor: cur}
	if !s.haveBase {
		// Loss is counted between reports: the first is the origin.
		s.base, s.origin, s.haveBase = s.latest, s.latest, true
	}
	s.jitter = rr.Jitter
	if rr.LastSenderReport != 0 {
		// RTT = now - LSR - DLSR, all in the middle 32 bits of NTP time
		// (1/65536 s), wrap-safe in uint32.
		units := ntpMiddle(now) - rr.LastSenderReport - rr.Delay
		if rtt := time.Duration(int64(units) * int64(time.Second) >> 16); int32(units) >= 0 && rtt < maxRTT {
			s.rtt = rtt
		}
	}
}

// take returns the statistics since the previous call.
func (s *remoteStats) take() DeliveryStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := DeliveryStats{Reports: s.reports}
	if s.reports == 0 {
		return out
	}
	s.reports = 0
	out.RTT = s.rtt
	if s.clockRate > 0 {
		out.Jitter = time.Duration(int64(s.jitter) * int64(time.Second) / s.clockRate)
	}
	cur := s.latest
	expected := int64(cur.highest - s.base.highest) // uint32 wrap-safe
	lost := lostBetween(s.base, cur)
	s.base = cur
	if expected <= 0 || expected > 1<<30 {
		return out
	}
	out.Expected = uint64(expected)
	out.Lost = uint64(lost)
	return out
}

// lostBetween returns how many packets the subscriber reported lost from
// report a to report b, not counting the gaps the publisher's own losses
// left in the forwarded sequence; 0 for reports out of order or too far
// apart to compare.
func lostBetween(a, b reportPoint) int64 {
	expected := int64(b.highest - a.highest) // uint32 wrap-safe
	if expected <= 0 || expected > 1<<30 {
		return 0
	}
	gaps := (b.cursor.highest - a.cursor.highest) - int64(b.cursor.sent-a.cursor.sent)
	return min(max(b.totalLost-a.totalLost-max(gaps, 0), 0), expected)
}

// lost returns what the reports since the first say the link lost and
// how many packets they say were sent. The lost count goes down again
// when a packet missing at one report arrives, late or retransmitted,
// before the next.
func (s *remoteStats) lost() (lost, expected uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.haveBase {
		return 0, 0
	}
	return uint64(lostBetween(s.origin, s.latest)), uint64(max(int64(s.latest.highest-s.origin.highest), 0))
}

// ntpMiddle returns the middle 32 bits of the NTP timestamp of t, the form
// LSR takes in receiver reports.
func ntpMiddle(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return uint32((secs<<32 | frac) >> 16)
}
