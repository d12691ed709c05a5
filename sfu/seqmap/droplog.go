package seqmap

// dropLogRuns is how many runs of dropped values a DropLog keeps. Dropping
// temporal layers makes one run per dropped stretch of frames: at most 15 a
// second for a 30 fps stream thinned to half, so 32 runs cover two seconds,
// longer than any NACK takes to arrive.
const dropLogRuns = 32

// dropRun is n consecutive values from start that were not forwarded.
type dropRun struct{ start, n uint16 }

// dropLogHorizon is how far behind the newest value a run or the floor is
// kept: far beyond any packet cache, well within half the counter's range, so
// that signed 16-bit comparisons between kept values stay right.
const dropLogHorizon = 1 << 14

// DropLog maps the values of a 16-bit counter (RTP sequence numbers, or
// unwrapped VP8 picture ids) that a down-track forwards within one epoch onto
// a gap-free outgoing counter, although some values in between were dropped
// on purpose: out = in - offset(in), where offset(in) is the epoch's base plus
// the number of values dropped before in.
//
// Values are recorded in increasing order (Drop is only told of a value newer
// than all before it). Once more than dropLogRuns runs have been dropped, or
// a run lies dropLogHorizon behind the newest value, the oldest run is folded
// into the base: values before its end can no longer be mapped.
type DropLog struct {
	base    uint16 // offset of values after floor, before the oldest run kept
	total   uint16 // offset of values after the newest run: base plus all runs
	floor   uint16 // with floored, the oldest value that can still be mapped
	floored bool
	runs    [dropLogRuns]dropRun
	head    int // runs[head] is the oldest of the n runs kept
	n       int
}

// Reset starts a new epoch with offset base and no drops.
func (l *DropLog) Reset(base uint16) {
	*l = DropLog{base: base, total: base}
}

// Older reports whether counter value a comes before b, a 16-bit counter
// that wraps: whether b is less than half the range ahead of a.
func Older(a, b uint16) bool { return int16(a-b) < 0 }

func (l *DropLog) run(i int) *dropRun { return &l.runs[(l.head+i)%dropLogRuns] }

// fold forgets the oldest run.
func (l *DropLog) fold() {
	oldest := l.run(0)
	l.base += oldest.n
	l.floor, l.floored = oldest.start+oldest.n, true
	l.head = (l.head + 1) % dropLogRuns
	l.n--
}

// Advance tells the log that newest is the newest value seen, so that runs
// too far behind it are folded before comparisons with them could wrap.
func (l *DropLog) Advance(newest uint16) {
	for l.n > 0 && newest-l.run(0).start > dropLogHorizon {
		l.fold()
	}
	if l.floored && newest-l.floor > dropLogHorizon {
		l.floored = false // nothing that old is asked for any more
	}
}

// Drop records that v, newer than every value recorded so far, was not
// forwarded: from now on new values map one lower. Dropping the newest
// dropped value again changes nothing.
func (l *DropLog) Drop(v uint16) {
	l.Advance(v)
	if l.n > 0 {
		last := l.run(l.n - 1)
		if v == last.start+last.n {
			last.n++
			l.total++
			return
		}
		if v-last.start < last.n {
			return // already recorded
		}
	}
	if l.n == dropLogRuns {
		l.fold()
	}
	*l.run(l.n) = dropRun{start: v, n: 1}
	l.n++
	l.total++
}

// Offset returns in - out for value v. ok is false when v was dropped or is
// older than the oldest value the log can map.
func (l *DropLog) Offset(v uint16) (off uint16, ok bool) {
	if l.floored && Older(v, l.floor) {
		return 0, false
	}
	off = l.base
	for i := 0; i < l.n; i++ {
		run := l.run(i)
		if Older(v, run.start) {
			break
		}
		if v-run.start < run.n {
			return 0, false
		}
		off += run.n
	}
	return off, true
}

// Unmap returns the value that maps to out, the inverse of offset. ok is
// false when out lies before the oldest value the log can map. The value
// returned is never a dropped one; whether it was ever seen is the caller's
// to know.
func (l *DropLog) Unmap(out uint16) (v uint16, ok bool) {
	v = out + l.base
	if l.floored && Older(v, l.floor) {
		return 0, false
	}
	// Every run that starts at or before the candidate was dropped before
	// it: skip over it.
	for i := 0; i < l.n; i++ {
		run := l.run(i)
		if Older(v, run.start) {
			break
		}
		v += run.n
	}
	return v, true
}
