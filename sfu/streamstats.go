package sfu

import (
	"sync"
	"sync/atomic"
	"time"
)

// maxDropout is the largest forward jump in sequence numbers still counted
// as loss, and maxMisorder the furthest back a packet may be and still be a
// late one (RFC 3550 A.1, with room for retransmissions); anything further
// is a restarted stream, followed from its new place without counting the
// jump.
const (
	maxDropout  = 3000
	maxMisorder = 1000
)

// ReceptionStats describes how one incoming stream fared over an interval,
// as RFC 3550 receiver reports do.
type ReceptionStats struct {
	// Expected is how many packets the sequence numbers say were sent.
	Expected uint64
	// Lost is how many of those never arrived: Expected minus packets
	// received, 0 when duplicates or late retransmissions make up for them.
	Lost uint64
	// Received is how many packets arrived, duplicates included.
	Received uint64
	// Jitter is the interarrival jitter (RFC 3550 6.4.1) at the end of the
	// interval; 0 when the clock rate is unknown.
	Jitter time.Duration
}

// LossFraction returns Lost/Expected, or 0 when nothing was expected.
func (s ReceptionStats) LossFraction() float64 { return lossFraction(s.Lost, s.Expected) }

// lossFraction is lost/expected, or 0 when nothing was expected.
func lossFraction(lost, expected uint64) float64 {
	if expected == 0 {
		return 0
	}
	return float64(lost) / float64(expected)
}

// receptionStats follows a stream's sequence numbers and arrival times.
// observe runs on the receiver's read loop only; take may run anywhere.
type receptionStats struct {
	clockRate int64

	// Owned by the read loop.
	started      bool
	baseExt      int64 // extended sequence number of the first packet, minus resyncs
	maxExt       int64 // highest extended sequence number seen
	firstNanos   int64 // arrival of the first packet: origin of arrival times
	lastArrival  int64 // arrival of the newest in-order packet, in RTP units
	lastTS       uint32
	jitterQ4     int64 // jitter in RTP units, times 16 (RFC 3550 A.8)
	haveTransit  bool
	resyncOffset int64 // sequence numbers skipped by resyncs, not lost

	// Published by the read loop for take.
	expected atomic.Uint64
	received atomic.Uint64
	jitter   atomic.Uint32 // RTP units

	takeMu               sync.Mutex
	lastExpected, lastRx uint64
}

// observe records one packet's sequence number, RTP timestamp and arrival.
// It does not allocate or lock.
func (s *receptionStats) observe(seq uint16, ts uint32, arrivalNanos int64) {
	s.received.Add(1)
	if !s.started {
		s.started = true
		s.baseExt, s.maxExt = int64(seq), int64(seq)
		s.firstNanos = arrivalNanos
		s.expected.Store(1)
		s.observeJitter(ts, arrivalNanos)
		return
	}
	d := int64(int16(seq - uint16(s.maxExt)))
	if d == 0 {
		return // a duplicate of the newest: counted as received only
	}
	ext := s.maxExt + d
	switch {
	case d > maxDropout || d < -maxMisorder:
		// A restarted stream: follow it without counting the jump as loss.
		s.resyncOffset += d - 1
		s.maxExt = ext
		s.expected.Store(uint64(s.maxExt - s.baseExt + 1 - s.resyncOffset))
		s.haveTransit = false // its timestamps restart too
		return
	case d > 0:
		s.maxExt = ext
	case ext < s.baseExt:
		s.baseExt = ext // reordered before the first packet
	default:
		// Late (reordered or retransmitted): received, not a jitter sample.
		s.expected.Store(uint64(s.maxExt - s.baseExt + 1 - s.resyncOffset))
		return
	}
	s.expected.Store(uint64(s.maxExt - s.baseExt + 1 - s.resyncOffset))
	if d > 0 {
		s.observeJitter(ts, arrivalNanos)
	}
}

// observeJitter updates the interarrival jitter with an in-order packet.
func (s *receptionStats) observeJitter(ts uint32, arrivalNanos int64) {
	if s.clockRate <= 0 {
		return
	}
	// Microseconds first: nanoseconds times a 90 kHz clock would overflow.
	arrival := (arrivalNanos - s.firstNanos) / 1000 * s.clockRate / 1_000_000
	if s.haveTransit {
		// Transit difference, wrap-safe in the RTP timestamp.
		d := (arrival - s.lastArrival) - int64(int32(ts-s.lastTS))
		if d < 0 {
			d = -d
		}
		s.jitterQ4 += d - ((s.jitterQ4 + 8) >> 4)
		s.jitter.Store(uint32(min(s.jitterQ4>>4, 1<<31)))
	}
	s.haveTransit = true
	s.lastArrival, s.lastTS = arrival, ts
}

// take returns the statistics since the previous call (since the start for
// the first one).
func (s *receptionStats) take() ReceptionStats {
	s.takeMu.Lock()
	defer s.takeMu.Unlock()
	// A packet landing between the two loads moves one packet of loss
	// between this interval and the next; nothing is lost or invented.
	rx := s.received.Load()
	exp := s.expected.Load()
	out := ReceptionStats{Received: rx - s.lastRx}
	if exp > s.lastExpected {
		out.Expected = exp - s.lastExpected
	}
	if out.Expected > out.Received {
		out.Lost = out.Expected - out.Received
	}
	s.lastExpected, s.lastRx = exp, rx
	if s.clockRate > 0 {
		out.Jitter = time.Duration(int64(s.jitter.Load()) * int64(time.Second) / s.clockRate)
	}
	return out
}
