package sfu

import (
	"time"

	"github.com/bayan-dev/bayan/sfu/codecs"
	"github.com/pion/rtp"
)

// Pre-roll: a track that top-K selection lets through is selected because
// it just became loud, so the packets that made it loud were withheld. They
// are still in the receiver's cache; sending the last audioPreroll of them
// first means the subscriber hears the first syllable instead of missing it.
const (
	audioPreroll      = 100 * time.Millisecond
	maxPrerollPackets = 10 // 100 ms of 10 ms Opus frames
)

// replay sends the packets of from that arrived within audioPreroll before
// in and were never sent, oldest first, and stops at the first gap in the
// cache. The caller holds d.mu and has just started a new epoch: the first
// replayed packet follows the last one sent, so sequence numbers stay
// continuous, and in continues after the replayed ones.
func (d *DownTrack) replay(from *Receiver, in *rtp.Header, nowNanos int64) {
	if d.isVideo || d.writer == nil {
		return
	}
	window := uint32(uint64(from.codec.ClockRate) * uint64(audioPreroll) / uint64(time.Second))
	first := in.SequenceNumber
	for i := 1; i <= maxPrerollPackets; i++ {
		seq := in.SequenceNumber - uint16(i)
		if d.sentAny && int16(seq-d.lastIn) <= 0 {
			break // already sent, in an earlier epoch
		}
		n := from.cache.Get(seq, d.rtxBuf[:])
		if n == 0 {
			break
		}
		if _, err := d.rtxHdr.Unmarshal(d.rtxBuf[:n]); err != nil || in.Timestamp-d.rtxHdr.Timestamp > window {
			break // too old, or a timestamp from before a wrap or reset
		}
		first = seq
	}
	for seq := first; seq != in.SequenceNumber; seq++ {
		n := from.cache.Get(seq, d.rtxBuf[:])
		if n == 0 {
			return
		}
		hlen, err := d.rtxHdr.Unmarshal(d.rtxBuf[:n])
		if err != nil || hlen > n {
			return
		}
		payload, ok := rtpPayload(d.rtxBuf[:n], hlen, d.rtxHdr.Padding)
		if !ok {
			continue
		}
		if d.redPrimary {
			if payload, ok = codecs.REDPrimary(payload); !ok {
				continue
			}
		}
		outSeq, outTS, ok := d.rw.Rewrite(seq, d.rtxHdr.Timestamp, nowNanos)
		if !ok {
			continue
		}
		d.fillHeader(&d.hdr, &d.rtxHdr, outSeq, outTS)
		_, err = d.writer.WriteRTP(&d.hdr, payload)
		d.account(len(payload), err)
		if err == nil {
			d.stats.PrerollPackets.Add(1)
		}
	}
}
