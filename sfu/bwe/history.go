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
	seq    uint16
	valid  bool
	status fate
	size   int32
	at     int64 // µs, on the sender's clock
}

// fate is what feedback has said of a packet so far. A receiver reports a
// packet missing when a later one arrived first, and again (received, or
// still missing) when it repeats a stretch of its window for one that came
// late; each packet must count once, with its final status.
type fate uint8

const (
	fateUnreported fate = iota
	fateMissing         // reported not received; lost unless reported received within lossSettle
	fateArrived         // reported received: final
	fateLost            // missing for lossSettle: final
)

func (h *sendHistory) add(seq uint16, size int, at int64) {
	h.slots[seq%historySize] = sentPacket{seq: seq, valid: true, size: int32(size), at: at}
}

// get returns the packet sent as seq, if the history still has it.
func (h *sendHistory) get(seq uint16) (*sentPacket, bool) {
	p := &h.slots[seq%historySize]
	return p, p.valid && p.seq == seq
}
