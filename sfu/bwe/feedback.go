package bwe

import "github.com/pion/rtcp"

// ack is one packet a feedback message reports on.
type ack struct {
	seq      uint16
	received bool
	arrival  int64 // µs, on the receiver's clock (only differences matter)
}

// expandFeedback appends to acks every packet status of fb, in sequence
// order, with arrival times for the received ones. It stops at the first
// inconsistency (a truncated or malformed message reports less).
func expandFeedback(fb *rtcp.TransportLayerCC, acks []ack) []ack {
	arrival := int64(fb.ReferenceTime) * 64000 // 64 ms units
	seq := fb.BaseSequenceNumber
	left := int(fb.PacketStatusCount)
	deltas := fb.RecvDeltas
	status := func(symbol uint16) bool {
		if left == 0 {
			return false
		}
		left--
		a := ack{seq: seq}
		seq++
		switch symbol {
		case rtcp.TypeTCCPacketReceivedSmallDelta, rtcp.TypeTCCPacketReceivedLargeDelta:
			if len(deltas) == 0 {
				return false
			}
			arrival += deltas[0].Delta
			deltas = deltas[1:]
			a.received, a.arrival = true, arrival
		case rtcp.TypeTCCPacketReceivedWithoutDelta:
			a.received, a.arrival = true, arrival
		}
		acks = append(acks, a)
		return true
	}
	for _, chunk := range fb.PacketChunks {
		switch c := chunk.(type) {
		case *rtcp.RunLengthChunk:
			for range c.RunLength {
				if !status(c.PacketStatusSymbol) {
					return acks
				}
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range c.SymbolList {
				if c.SymbolSize == rtcp.TypeTCCSymbolSizeOneBit && s == 1 {
					s = rtcp.TypeTCCPacketReceivedSmallDelta
				}
				if !status(s) {
					return acks
				}
			}
		}
	}
	return acks
}
