package bwe

// sendHistory remembers the packets sent on one connection by their
// transport-wide sequence number, long enough for their feedback to come
// back: a fixed ring, so recording a packet never allocates.
type sendHistory struct {
	slots [historySize]sentPacket
}

// historySize covers about 4 s at 1000 packets/s.
const historySize = 4096

type sentPacket struct {
	seq   uint16
	valid bool
	size  int32
	at    int64 // µs, on the sender's clock
}

func (h *sendHistory) add(seq uint16, size int, at int64) {
	h.slots[seq%historySize] = sentPacket{seq: seq, valid: true, size: int32(size), at: at}
}

func (h *sendHistory) get(seq uint16) (sentPacket, bool) {
	p := h.slots[seq%historySize]
	return p, p.valid && p.seq == seq
}
