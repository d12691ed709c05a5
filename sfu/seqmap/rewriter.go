// Package seqmap maps the sequence numbers and timestamps a down-track forwards onto one continuous outgoing stream.
package seqmap

// Rewriter maps the sequence numbers and timestamps of the packets a
// down-track forwards onto one continuous outgoing stream. Whenever the source
// changes (mute and unmute, a new simulcast layer, a republished track), Switch
// starts a new epoch whose first packet follows the last one sent, so the
// subscriber sees neither a gap nor a jump.
//
// Within an epoch a down-track may also leave packets out on purpose (Drop,
// for frames of a temporal layer it thins out); later packets then move up
// to close the gap, and Map and IncomingSeq still translate the packets sent
// for retransmissions.
//
// A Rewriter is not safe for concurrent use; its DownTrack serialises access.
type Rewriter struct {
	clockRate uint32

	started   bool
	switching bool

	seqs     DropLog // in - out of the epoch's sequence numbers
	tsOffset uint32

	highestIn    uint16 // highest incoming sequence number of this epoch
	span         uint16 // highestIn minus the epoch's first, saturating at 1<<15-1
	lastOutSeq   uint16
	lastOutTS    uint32
	lastOutNanos int64 // arrival time of the packet that set lastOutTS
}

// NewRewriter returns a rewriter for a stream with the given RTP clock rate.
func NewRewriter(clockRate uint32) *Rewriter {
	if clockRate == 0 {
		clockRate = 90000
	}
	return &Rewriter{clockRate: clockRate}
}

// Switch makes the next packet passed to Rewrite the start of a new epoch.
func (r *Rewriter) Switch() { r.switching = true }

// Rewrite returns the outgoing sequence number and timestamp for an incoming
// packet that arrived at nowNanos. ok is false when the packet belongs to an
// earlier epoch (it arrived late, after a switch) and must be dropped.
func (r *Rewriter) Rewrite(seq uint16, ts uint32, nowNanos int64) (outSeq uint16, outTS uint32, ok bool) {
	first := false
	switch {
	case !r.started:
		r.started = true
		r.switching = false
		r.seqs.Reset(0)
		r.tsOffset = 0
		r.highestIn, r.span = seq, 0
		first = true
	case r.switching:
		r.switching = false
		// The new epoch continues after the last packet sent, advanced by the
		// wall-clock time since then so that players keep their pacing.
		elapsed := nowNanos - r.lastOutNanos
		if elapsed < 0 {
			elapsed = 0
		}
		step := uint32(uint64(elapsed) * uint64(r.clockRate) / 1e9)
		if step == 0 {
			step = 1
		}
		r.seqs.Reset(seq - (r.lastOutSeq + 1))
		r.tsOffset = ts - (r.lastOutTS + step)
		r.highestIn, r.span = seq, 0
		first = true
	default:
		// back: how far seq lies behind the newest packet; 1..32767 behind
		// is older, 32768 counts as older too, as in the d > 0 test below.
		if back := r.highestIn - seq; back > r.span && back <= 1<<15 {
			return 0, 0, false // older than the epoch's first packet
		}
	}
	off := r.seqs.total
	if int16(seq-r.highestIn) <= 0 {
		// A late packet keeps the place it had when newer ones went out.
		var ok bool
		if off, ok = r.seqs.Offset(seq); !ok {
			return 0, 0, false // dropped on purpose, or too old to place
		}
	}
	outSeq = seq - off
	outTS = ts - r.tsOffset
	if d := int16(seq - r.highestIn); d > 0 || first {
		if d > 0 {
			r.span = uint16(min(int(r.span)+int(d), 1<<15-1))
			r.seqs.Advance(seq)
		}
		r.highestIn = seq
		r.lastOutSeq = outSeq
		r.lastOutTS = outTS
		r.lastOutNanos = nowNanos
	}
	return outSeq, outTS, true
}

// Drop records that the incoming packet seq, of the current epoch, is left
// out on purpose: the packets after it take its outgoing sequence number and
// the ones after, so the subscriber sees no gap. A packet older than the
// newest one seen already has its place reserved; dropping it leaves a gap
// the subscriber's NACK will not fill. Before an epoch's first packet Drop
// does nothing: the epoch starts with the next packet rewritten.
func (r *Rewriter) Drop(seq uint16) {
	if !r.started || r.switching {
		return
	}
	d := int16(seq - r.highestIn)
	if d <= 0 {
		return
	}
	r.seqs.Drop(seq)
	r.span = uint16(min(int(r.span)+int(d), 1<<15-1))
	r.highestIn = seq
	// The packets skipped before seq, if any, keep their places.
	r.lastOutSeq = seq - r.seqs.total
}

// Map returns the outgoing sequence number and timestamp that an incoming
// packet of the current epoch was, or would be, given, without changing any
// state; it serves retransmissions. ok is false for packets of earlier epochs
// and for packets dropped on purpose.
func (r *Rewriter) Map(seq uint16, ts uint32) (outSeq uint16, outTS uint32, ok bool) {
	if !r.started || !r.sent(seq) {
		return 0, 0, false
	}
	off, ok := r.seqs.Offset(seq)
	if !ok {
		return 0, 0, false
	}
	return seq - off, ts - r.tsOffset, true
}

// IncomingSeq returns the incoming sequence number that was sent out as
// outSeq in the current epoch; ok is false if outSeq is not of this epoch.
func (r *Rewriter) IncomingSeq(outSeq uint16) (seq uint16, ok bool) {
	if !r.started {
		return 0, false
	}
	seq, ok = r.seqs.Unmap(outSeq)
	if !ok || !r.sent(seq) {
		return 0, false
	}
	return seq, true
}

// sent reports whether seq lies between the first and the highest incoming
// sequence number of the current epoch.
func (r *Rewriter) sent(seq uint16) bool {
	back := r.highestIn - seq
	return int16(back) >= 0 && back <= r.span
}
