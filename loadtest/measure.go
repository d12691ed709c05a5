package loadtest

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/bayan-dev/bayan/sfu/codecs"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Receiver-side statistics. Each subscribed track is read by one goroutine
// into a reused buffer; nothing is decoded. What a sampler reads while the
// track runs is kept in atomics; the rest belongs to the reading goroutine
// until it ends.

// PLI policy of a subscriber: a video track whose loss has not been repaired
// (by retransmission) for pliAfter asks for a keyframe, at most every
// pliInterval, as a decoder that lost a frame would.
const (
	pliAfter    = 300 * time.Millisecond
	pliInterval = time.Second
)

// trackStats is what one subscriber measured on one track.
type trackStats struct {
	sid   string
	ssrc  uint32
	video bool
	red   bool  // RED payloads: the primary encoding is measured
	clock int64 // RTP clock rate

	packets  atomic.Uint64
	bytes    atomic.Uint64 // RTP payload bytes
	expected atomic.Uint64 // packets expected, from the media header sequence
	received atomic.Uint64 // packets received that count towards expected
	// rtpExpected and rtpReceived count by the server's RTP sequence
	// numbers: what was lost on the way, whatever the server chose not to
	// forward (frames of thinned temporal layers, top-K audio).
	rtpExpected atomic.Uint64
	rtpReceived atomic.Uint64
	jitterUs    atomic.Uint64 // RFC 3550 interarrival jitter, µs
	first       atomic.Int64  // arrival of the first packet, Unix ns; 0 before
	last        atomic.Int64
	// layerNow is the layer of the packet received last, -1 before any.
	layerNow atomic.Int32
	// layerBytes counts payload bytes by the layer the media header names.
	layerBytes [numLayers]atomic.Uint64

	// Owned by the reading goroutine.
	hdr           mediaHeader
	segment       bool // a sequence segment is open
	segLayer      uint8
	segPublisher  uint32
	segBase       uint32
	segMax        uint32
	segRecv       uint64
	accExpected   uint64 // closed segments
	accReceived   uint64
	segSendFirst  int64 // send times (from the media headers) spanned by the segment
	segSendLast   int64
	segBytes      uint64
	segFirstBytes uint64 // the segment's first frame (its keyframe, for video)
	// Per layer over closed segments: the send time they span and their
	// bytes after each one's first frame, the frames those spans cover.
	layerNanos     [numLayers]int64
	layerRateBytes [numLayers]uint64
	haveTransit    bool
	transit        uint32
	jitter         float64 // RTP units
	gapSince       int64
	lostAcked      uint64
	lastPLI        int64
	foreign        uint64 // packets without a media header
	rtpSeqSeen     bool
	rtpSeqMax      uint32 // highest extended RTP sequence number
	rtpSeqBase     uint32 // the first one
	publisherSeen  uint32
}

// trackResult is a finished track's figures.
type trackResult struct {
	sid             string
	video           bool
	publisher       uint32
	packets, bytes  uint64
	expected, lost  uint64
	jitterMs        float64
	first, last     time.Time
	layerBytes      [numLayers]uint64
	layerSeconds    [numLayers]float64
	layerKbps       [numLayers]float64
	foreignPackets  uint64
	dominantLayer   int // the layer with the most bytes, -1 if none
	dominantKbps    float64
	finalLayer      int // the layer received last, -1 if none
	finalKbps       float64
	receivedSeconds float64
}

// onPacket accounts one RTP packet that arrived at now (Unix ns). It is the
// receive hot path: no allocation.
func (t *trackStats) onPacket(p *participant, b []byte, now int64) {
	if len(b) < 12 {
		return
	}
	cc := int(b[0] & 0x0f)
	off := 12 + 4*cc
	if b[0]&0x10 != 0 { // header extension
		if len(b) < off+4 {
			return
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 { // padding
		end -= int(b[end-1])
	}
	if off > end {
		return
	}
	rtpTS := binary.BigEndian.Uint32(b[4:])
	payload := b[off:end]
	if t.red {
		p, ok := codecs.REDPrimary(payload)
		if !ok {
			t.foreign++
			return
		}
		payload = p
	}

	t.packets.Add(1)
	t.bytes.Add(uint64(len(payload)))
	if t.first.Load() == 0 {
		t.first.Store(now)
		p.firstMedia.CompareAndSwap(0, now)
	}
	t.last.Store(now)

	mo := 0
	if t.video {
		mo = vp8MediaOffset(payload)
	}
	h := &t.hdr
	if mo < 0 || !parseMediaHeader(payload[mo:], h) {
		t.foreign++
		return
	}
	t.layerBytes[h.layer].Add(uint64(len(payload)))

	if d := now - h.sendTime; d >= 0 {
		p.delays.Observe(d / 1000)
		for {
			m := p.maxDelay.Load()
			if d <= m || p.maxDelay.CompareAndSwap(m, d) {
				break
			}
		}
	}

	// Loss: a segment is one publisher's layer; switching layers (the
	// server picking another simulcast encoding) starts a new one, whose
	// first packet is the base. A layer's bitrate is its bytes over the
	// send time its segments span, which queueing on the way (a stalled
	// process catching up) does not distort.
	// Audio loss counts the server's (extended) RTP sequence numbers, not
	// the publisher's: top-K audio withholds a microphone's packets while it
	// is not among the loudest, and the server's numbering skips nothing
	// for them, so only packets lost on the way leave a gap.
	rtpSeq := t.extendRTPSeq(binary.BigEndian.Uint16(b[2:4]))
	t.rtpExpected.Store(uint64(t.rtpSeqMax-t.rtpSeqBase) + 1)
	if int32(rtpSeq-t.rtpSeqBase) >= 0 {
		t.rtpReceived.Add(1)
	}
	seq := h.seq
	if !t.video {
		seq = rtpSeq
	}
	if !t.segment || h.layer != t.segLayer || h.publisher != t.segPublisher {
		if t.segment {
			t.accExpected += uint64(t.segMax-t.segBase) + 1
			t.accReceived += t.segRecv
			t.closeSegment()
		}
		t.segment = true
		t.segLayer, t.segPublisher = h.layer, h.publisher
		t.layerNow.Store(int32(h.layer))
		t.segBase, t.segMax, t.segRecv = seq, seq, 1
		t.segSendFirst, t.segSendLast = h.sendTime, h.sendTime
		t.segBytes, t.segFirstBytes = 0, 0
		t.haveTransit = false
		t.gapSince, t.lostAcked = 0, 0
		t.publisherSeen = h.publisher
	} else {
		t.segSendFirst = min(t.segSendFirst, h.sendTime)
		t.segSendLast = max(t.segSendLast, h.sendTime)
		switch {
		case int32(seq-t.segMax) > 0:
			t.segMax = seq
			t.segRecv++
		case int32(seq-t.segBase) >= 0:
			t.segRecv++ // late, retransmitted or duplicate
		}
	}
	t.segBytes += uint64(len(payload))
	if h.sendTime == t.segSendFirst {
		t.segFirstBytes += uint64(len(payload))
	}
	segExpected := uint64(t.segMax-t.segBase) + 1
	t.expected.Store(t.accExpected + segExpected)
	t.received.Store(t.accReceived + t.segRecv)

	// RFC 3550 jitter, in RTP units, arrival time measured from the track's
	// first packet.
	arrival := uint32((now - t.first.Load()) * t.clock / 1e9)
	transit := arrival - rtpTS
	if t.haveTransit {
		d := int32(transit - t.transit)
		if d < 0 {
			d = -d
		}
		t.jitter += (float64(d) - t.jitter) / 16
		t.jitterUs.Store(uint64(t.jitter * 1e6 / float64(t.clock)))
	}
	t.transit, t.haveTransit = transit, true

	if t.video {
		t.checkPLI(p, segExpected, now)
	}
}

// extendRTPSeq extends a 16-bit RTP sequence number to 32 bits, from the
// highest seen so far.
func (t *trackStats) extendRTPSeq(seq uint16) uint32 {
	if !t.rtpSeqSeen {
		t.rtpSeqSeen, t.rtpSeqMax, t.rtpSeqBase = true, uint32(seq), uint32(seq)
		return t.rtpSeqMax
	}
	ext := t.rtpSeqMax&^0xffff | uint32(seq)
	switch d := int16(seq - uint16(t.rtpSeqMax)); {
	case d > 0 && ext < t.rtpSeqMax:
		ext += 1 << 16 // wrapped forward
	case d < 0 && ext > t.rtpSeqMax:
		ext -= 1 << 16 // late, from before a wrap
	}
	if int32(ext-t.rtpSeqMax) > 0 {
		t.rtpSeqMax = ext
	}
	return ext
}

// checkPLI asks for a keyframe when packets have stayed missing too long.
func (t *trackStats) checkPLI(p *participant, segExpected uint64, now int64) {
	var lost uint64
	if segExpected > t.segRecv {
		lost = segExpected - t.segRecv
	}
	if lost <= t.lostAcked {
		t.gapSince = 0
		return
	}
	if t.gapSince == 0 {
		t.gapSince = now
		return
	}
	if now-t.gapSince < int64(pliAfter) || now-t.lastPLI < int64(pliInterval) {
		return
	}
	t.lastPLI, t.lostAcked, t.gapSince = now, lost, 0
	p.sendPLI(t)
}

// finish closes the open segment; called by the reading goroutine when the
// track ends.
func (t *trackStats) finish() {
	if t.segment {
		t.closeSegment()
	}
}

// closeSegment adds the open segment to its layer's bitrate figures: the
// bytes after its first frame over the send time from the first frame to
// the last, so the keyframe a segment starts with does not inflate a short
// segment's rate.
func (t *trackStats) closeSegment() {
	t.layerNanos[t.segLayer] += t.segSendLast - t.segSendFirst
	t.layerRateBytes[t.segLayer] += t.segBytes - t.segFirstBytes
}

// result summarises the track; call after the reading goroutine ended.
func (t *trackStats) result() trackResult {
	r := trackResult{
		sid:            t.sid,
		video:          t.video,
		publisher:      t.publisherSeen,
		packets:        t.packets.Load(),
		bytes:          t.bytes.Load(),
		expected:       t.expected.Load(),
		jitterMs:       float64(t.jitterUs.Load()) / 1000,
		foreignPackets: t.foreign,
		dominantLayer:  -1,
	}
	if rcv := t.received.Load(); r.expected > rcv {
		r.lost = r.expected - rcv
	}
	if f := t.first.Load(); f != 0 {
		r.first = time.Unix(0, f)
		r.last = time.Unix(0, t.last.Load())
		r.receivedSeconds = r.last.Sub(r.first).Seconds()
	}
	var best uint64
	for l := range numLayers {
		r.layerBytes[l] = t.layerBytes[l].Load()
		r.layerSeconds[l] = float64(t.layerNanos[l]) / 1e9
		r.layerKbps[l] = kbps(t.layerRateBytes[l], r.layerSeconds[l])
		if r.layerBytes[l] > best {
			best = r.layerBytes[l]
			r.dominantLayer = l
		}
	}
	if r.dominantLayer >= 0 {
		r.dominantKbps = r.layerKbps[r.dominantLayer]
	}
	r.finalLayer = -1
	if t.segment {
		r.finalLayer = int(t.segLayer)
		r.finalKbps = r.layerKbps[r.finalLayer]
	}
	return r
}

// kbps converts bytes over seconds to kbit/s, 0 for an empty interval.
func kbps(bytes uint64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(bytes) * 8 / 1000 / seconds
}

// readTrack reads one subscribed track until it ends.
func (p *participant) readTrack(tr *webrtc.TrackRemote, t *trackStats) {
	defer t.finish()
	buf := make([]byte, 1500)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		t.onPacket(p, buf[:n], time.Now().UnixNano())
	}
}

// sendPLI asks the server for a keyframe on a subscribed track.
func (p *participant) sendPLI(t *trackStats) {
	if p.lean != nil {
		p.lean.SendPLI(t.ssrc)
		return
	}
	_ = p.sub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: t.ssrc}})
}
