package bwe

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// Config bounds an Estimator; zero fields take the defaults.
type Config struct {
	Initial, Min, Max int64 // bits per second
}

const (
	defaultInitial = 10_000_000
	defaultMin     = 100_000
	defaultMax     = 50_000_000

	groupSpan      = 5_000 // µs: packets sent this close together form a group
	trendWindow    = 12    // groups in the delay trend
	trendGain      = 4.0   // as in GCC
	thresholdInit  = 12.5  // ms: the overuse threshold, adapted to the trend's noise
	thresholdMin   = 6.0
	thresholdMax   = 600.0
	thresholdUp    = 0.01      // per ms, while the trend is above the threshold (GCC's k_u)
	thresholdDown  = 0.00018   // per ms, while below (k_d)
	overuseTimeMs  = 10.0      // the trend must stay above the threshold this long
	holdAfterDrop  = 300_000   // µs without increase after a decrease
	nearCongestion = 1_000_000 // µs of cautious, additive increase after a congestion
	ackedWindow    = 500_000   // µs of arrivals the acked rate is measured over
	lossDecay      = 0.75      // per feedback message (about 100 ms)
	// lossSettle is how long a packet reported missing may still be
	// reported received before it counts as lost. Packets reach the
	// socket a little out of the order they were numbered in when several
	// goroutines send on one connection (a busy CPU stretches that), and a
	// receiver reports the one that came late in its next feedback, 50 to
	// 250 ms on.
	lossSettle = 300_000 // µs
	// maxMissing bounds the packets awaiting lossSettle; past it the
	// oldest counts as lost at once.
	maxMissing = 256
)

// Estimator estimates one connection's downlink capacity. OnSent records
// each packet sent, OnFeedback digests the receiver's TWCC feedback; Target
// is the estimate, in bits per second.
type Estimator struct {
	cfg    Config
	target atomic.Int64
	epoch  time.Time // Now counts from here, on the monotonic clock

	mu   sync.Mutex
	hist sendHistory
	acks []ack // reused by OnFeedback

	// delay-gradient detector
	haveGroup    bool
	group        arrivalGroup
	prev         arrivalGroup
	havePrev     bool
	accDelay     float64 // ms
	smoothDelay  float64 // ms
	trend        [trendWindow][2]float64
	trendN       int
	trendNext    int
	numDeltas    int // group deltas seen, up to 60: GCC's gain on the trend
	firstArrival int64
	overusing    bool // the newest feedback's groups show a growing queue
	threshold    float64
	lastTrend    float64
	overuseFor   float64 // ms the trend has been above the threshold
	lastGroupMs  float64
	congested    bool // what control acts on

	// acked rate: received bytes by arrival time
	recv    [64]recvSample
	recvN   int
	recvPos int

	// rate control
	rate          float64
	lastDecrease  int64 // µs, sender clock
	lastUpdate    int64
	lastCongested float64
	lastLoss      float64
	lostW, totalW float64 // packets lost and reported, decaying
	lastAcked     float64

	// missing are the packets reported not received whose lossSettle has
	// not passed, oldest first: a ring of missingN from missingHead.
	missing     [maxMissing]missingPacket
	missingHead int
	missingN    int
}

// missingPacket is a packet reported not received, and when (µs).
type missingPacket struct {
	seq uint16
	at  int64
}

type arrivalGroup struct {
	firstSend, lastSend int64
	lastArrival         int64
}

type recvSample struct {
	arrival int64
	bytes   int64
}

// New returns an estimator starting at cfg.Initial.
func New(cfg Config) *Estimator {
	if cfg.Initial <= 0 {
		cfg.Initial = defaultInitial
	}
	if cfg.Min <= 0 {
		cfg.Min = defaultMin
	}
	if cfg.Max <= 0 {
		cfg.Max = defaultMax
	}
	e := &Estimator{cfg: cfg, rate: float64(cfg.Initial), threshold: thresholdInit, epoch: time.Now()}
	e.target.Store(cfg.Initial)
	return e
}

// Now returns the time to give OnSent and OnFeedback, in µs: the moment a
// packet is handed to the socket, not when it reached the server, so that
// the server's own delays (a busy CPU) are not taken for a queue on the
// link.
func (e *Estimator) Now() int64 { return time.Since(e.epoch).Microseconds() }

// Target returns the estimate in bits per second.
func (e *Estimator) Target() int64 { return e.target.Load() }

// Stats returns the last feedback's loss fraction and the acked bitrate
// (bits per second) over the last half second, for logs and tests.
func (e *Estimator) Stats() (loss, acked float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastLoss, e.lastAcked
}

// OnSent records a packet of size bytes sent at (µs) with transport-wide
// sequence number seq.
func (e *Estimator) OnSent(seq uint16, size int, at int64) {
	e.mu.Lock()
	e.hist.add(seq, size, at)
	e.mu.Unlock()
}

// OnFeedback digests a TWCC feedback message received at now (µs, the
// clock of OnSent) and updates the estimate.
func (e *Estimator) OnFeedback(fb *rtcp.TransportLayerCC, now int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.acks = expandFeedback(fb, e.acks[:0])
	// Overuse is judged afresh from each feedback's packets: a trend left
	// from before a pause in sending says nothing about the queue now.
	e.overusing = false
	var lost, total int
	for _, a := range e.acks {
		sent, ok := e.hist.get(a.seq)
		if !ok || sent.status == fateArrived || sent.status == fateLost {
			continue // not ours, older than the history, or counted already
		}
		if !a.received {
			if sent.status == fateUnreported {
				sent.status = fateMissing
				lost += e.addMissing(a.seq, now)
			}
			continue
		}
		// Received, perhaps after a report that it was missing: it counts
		// once, as received.
		sent.status = fateArrived
		total++
		e.addRecv(a.arrival, int64(sent.size))
		e.onArrival(sent.at, a.arrival)
	}
	lost += e.settleMissing(now)
	total += lost
	if total == 0 {
		return
	}
	// Loss is judged over the last half second or so of feedback, not
	// one message: a tenth of a second holds too few packets, and random
	// loss of a few per cent would now and then look like ten.
	e.lostW = lossDecay*e.lostW + float64(lost)
	e.totalW = lossDecay*e.totalW + float64(total)
	e.lastLoss = e.lostW / e.totalW
	e.lastAcked = e.ackedRate()
	e.congested = e.overusing
	e.control(now)
}

// addMissing records that packet seq was reported not received at now;
// it returns 1 when that made the oldest missing packet count as lost at
// once (the ring was full), else 0.
func (e *Estimator) addMissing(seq uint16, now int64) int {
	settled := 0
	if e.missingN == maxMissing {
		settled = e.settleOldest()
	}
	e.missing[(e.missingHead+e.missingN)%maxMissing] = missingPacket{seq: seq, at: now}
	e.missingN++
	return settled
}

// settleMissing counts as lost the missing packets reported lossSettle or
// more before now and not received since; it returns how many.
func (e *Estimator) settleMissing(now int64) int {
	n := 0
	for e.missingN > 0 && now-e.missing[e.missingHead].at >= lossSettle {
		n += e.settleOldest()
	}
	return n
}

// settleOldest takes the oldest missing packet off the ring and returns 1
// if it is lost: still missing, and not yet overwritten in the history.
func (e *Estimator) settleOldest() int {
	m := e.missing[e.missingHead]
	e.missingHead = (e.missingHead + 1) % maxMissing
	e.missingN--
	if p, ok := e.hist.get(m.seq); ok && p.status == fateMissing {
		p.status = fateLost
		return 1
	}
	return 0
}

// onArrival feeds the delay-gradient detector with one received packet.
func (e *Estimator) onArrival(sent, arrival int64) {
	if !e.haveGroup {
		e.group = arrivalGroup{firstSend: sent, lastSend: sent, lastArrival: arrival}
		e.haveGroup = true
		e.firstArrival = arrival
		return
	}
	if sent-e.group.firstSend <= groupSpan && sent >= e.group.firstSend {
		e.group.lastSend = max(e.group.lastSend, sent)
		e.group.lastArrival = max(e.group.lastArrival, arrival)
		return
	}
	if sent < e.group.firstSend {
		return // reordered from an earlier group
	}
	// A group is complete: compare it with the previous one.
	if e.havePrev {
		d := float64((e.group.lastArrival-e.prev.lastArrival)-(e.group.lastSend-e.prev.lastSend)) / 1000
		e.accDelay += d
		e.smoothDelay = 0.6*e.smoothDelay + 0.4*e.accDelay
		e.trend[e.trendNext] = [2]float64{float64(e.group.lastArrival-e.firstArrival) / 1000, e.smoothDelay}
		e.trendNext = (e.trendNext + 1) % trendWindow
		e.trendN = min(e.trendN+1, trendWindow)
		e.numDeltas = min(e.numDeltas+1, 60)
		if e.trendN >= 4 {
			at := float64(e.group.lastArrival-e.firstArrival) / 1000
			e.detect(slope(e.trend[:e.trendN])*trendGain*float64(e.numDeltas), at)
		}
	}
	e.prev, e.havePrev = e.group, true
	e.group = arrivalGroup{firstSend: sent, lastSend: sent, lastArrival: arrival}
}

// detect compares the modified trend m (ms) of a group arriving at (ms)
// with a threshold that follows the trend's own noise, as GCC does: the
// queue is growing when m stays above it for overuseTimeMs and keeps
// rising. Jitter on the receiving host (a busy client reading late) raises
// the threshold instead of cutting the estimate.
func (e *Estimator) detect(m, at float64) {
	dt := math.Min(at-e.lastGroupMs, 100)
	if e.lastGroupMs == 0 || dt < 0 {
		dt = 0
	}
	e.lastGroupMs = at
	if m > e.threshold {
		e.overuseFor += dt
		if e.overuseFor >= overuseTimeMs && m >= e.lastTrend {
			e.overusing = true
		}
	} else {
		e.overuseFor = 0
	}
	e.lastTrend = m
	if abs := math.Abs(m); abs-e.threshold <= 15 {
		k := thresholdDown
		if abs > e.threshold {
			k = thresholdUp
		}
		e.threshold += dt * k * (abs - e.threshold)
		e.threshold = math.Max(thresholdMin, math.Min(thresholdMax, e.threshold))
	}
}

// slope is the least-squares slope of y over x.
func slope(pts [][2]float64) float64 {
	var sx, sy float64
	for _, p := range pts {
		sx += p[0]
		sy += p[1]
	}
	n := float64(len(pts))
	mx, my := sx/n, sy/n
	var num, den float64
	for _, p := range pts {
		num += (p[0] - mx) * (p[1] - my)
		den += (p[0] - mx) * (p[0] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

func (e *Estimator) addRecv(arrival, bytes int64) {
	e.recv[e.recvPos] = recvSample{arrival: arrival, bytes: bytes}
	e.recvPos = (e.recvPos + 1) % len(e.recv)
	e.recvN = min(e.recvN+1, len(e.recv))
}

// ackedRate is the received bitrate: the higher of its rates over the
// newest ackedWindow of arrivals and over the newest fifth of a second. The
// short window matters after a pause in sending: the burst that follows
// (a keyframe) arrives at the link's rate, which the long window, half of
// it silence, would halve.
func (e *Estimator) ackedRate() float64 {
	return max(e.ackedOver(ackedWindow), e.ackedOver(ackedWindow/2.5))
}

func (e *Estimator) ackedOver(window int64) float64 {
	if e.recvN < 2 {
		return 0
	}
	newest := e.recv[(e.recvPos-1+len(e.recv))%len(e.recv)].arrival
	oldest := newest
	var bytes int64
	for i := range e.recvN {
		s := e.recv[(e.recvPos-1-i+2*len(e.recv))%len(e.recv)]
		if newest-s.arrival > window {
			break
		}
		oldest = s.arrival
		bytes += s.bytes
	}
	if span := newest - oldest; span > 10_000 {
		return float64(bytes) * 8 * 1e6 / float64(span)
	}
	return 0
}

// control is AIMD rate control: heavy loss or a growing queue cut the
// estimate at once; otherwise it grows, slowly just after a congestion,
// quickly (x1.8 a second) when none was seen for a second. The quick
// growth is safe because Bayan turns a higher estimate into a higher
// simulcast layer only as a trial, withdrawn at the first sign of
// congestion (room's bandwidth allocation).
func (e *Estimator) control(now int64) {
	dt := float64(now-e.lastUpdate) / 1e6
	if e.lastUpdate == 0 || dt < 0 {
		dt = 0
	}
	dt = math.Min(dt, 1)
	e.lastUpdate = now
	acked := e.lastAcked
	switch {
	case (e.lastLoss > 0.1 || e.congested) && now-e.lastDecrease < holdAfterDrop:
		// Decreased a moment ago: what this feedback reports was
		// already in flight then.
	case e.lastLoss > 0.1:
		e.rate *= 1 - 0.5*e.lastLoss
		if acked > 0 {
			e.rate = math.Max(math.Min(e.rate, acked), 0.5*acked)
		}
		e.lastDecrease, e.lastCongested = now, acked
	case e.congested:
		if acked > 0 {
			e.rate = math.Min(e.rate, 0.85*acked)
		} else {
			e.rate *= 0.85
		}
		e.lastDecrease, e.lastCongested = now, acked
	case now-e.lastDecrease < holdAfterDrop || e.lastLoss > 0.02:
		// hold
	case e.lastCongested > 0 && now-e.lastDecrease < nearCongestion && e.rate < 1.3*e.lastCongested:
		e.rate += math.Max(10_000, 0.05*e.rate) * dt
	default:
		e.rate *= math.Pow(1.8, dt)
	}
	e.rate = math.Max(float64(e.cfg.Min), math.Min(float64(e.cfg.Max), e.rate))
	e.target.Store(int64(e.rate))
}
