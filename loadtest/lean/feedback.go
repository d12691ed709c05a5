package lean

import (
	"encoding/binary"
	"time"

	"github.com/pion/rtcp"
)

// periodic sends receiver reports and transport-wide feedback when due.
func (s *Subscriber) periodic(now time.Time) {
	if s.srtpIn.Load() == nil {
		return
	}
	if now.Sub(s.lastTWCC) >= twccInterval && s.transportCC.Load() != 0 {
		s.lastTWCC = now
		if pkts := s.recorder.BuildFeedbackPacket(); len(pkts) > 0 {
			s.sendRTCP(pkts...)
		}
	}
	if now.Sub(s.lastRR) >= rrInterval {
		s.lastRR = now
		rr := &rtcp.ReceiverReport{SSRC: s.senderSSRC}
		for ssrc, lt := range *s.trackView.Load() {
			if !lt.started {
				continue
			}
			jitter := lt.stats.JitterMicros() * uint64(lt.clock) / 1e6
			rr.Reports = append(rr.Reports, rtcp.ReceptionReport{
				SSRC: ssrc, LastSequenceNumber: uint32(lt.lastSeq), Jitter: uint32(jitter),
			})
			if len(rr.Reports) == 31 {
				break // one report block list is at most 31 long
			}
		}
		s.sendRTCP(rr)
	}
}

// sendNACK asks again for count packets from the sequence number from.
func (s *Subscriber) sendNACK(ssrc uint32, from, count uint16) {
	seqs := make([]uint16, 0, count)
	for i := range count {
		seqs = append(seqs, from+i)
	}
	s.cfg.OnNACK(uint64(count))
	s.sendRTCP(&rtcp.TransportLayerNack{SenderSSRC: s.senderSSRC, MediaSSRC: ssrc,
		Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)})
}

// SendPLI asks the server for a keyframe on the track with the given SSRC.
// Read loop only: a Track's OnPacket calls it.
func (s *Subscriber) SendPLI(ssrc uint32) {
	s.cfg.OnPLI()
	s.sendRTCP(&rtcp.PictureLossIndication{SenderSSRC: s.senderSSRC, MediaSSRC: ssrc})
}

// sendRTCP encrypts and sends a compound packet; read loop only.
func (s *Subscriber) sendRTCP(pkts ...rtcp.Packet) {
	server := s.server.Load()
	if s.srtpIn.Load() == nil || server == nil {
		return
	}
	plain, err := rtcp.Marshal(pkts)
	if err != nil {
		return
	}
	enc, err := s.srtcpOut.EncryptRTCP(nil, plain, nil)
	if err != nil {
		return
	}
	_, _ = s.conn.WriteToUDPAddrPort(enc, *server)
}

// transportSeq reads the transport-wide sequence number from a one-byte
// header extension (RFC 8285) with the given id.
func transportSeq(pkt []byte, id uint8) (uint16, bool) {
	if pkt[0]&0x10 == 0 {
		return 0, false
	}
	off := 12 + 4*int(pkt[0]&0x0f)
	if len(pkt) < off+4 || binary.BigEndian.Uint16(pkt[off:]) != 0xBEDE {
		return 0, false
	}
	end := off + 4 + 4*int(binary.BigEndian.Uint16(pkt[off+2:]))
	if end > len(pkt) {
		return 0, false
	}
	for i := off + 4; i < end; {
		b := pkt[i]
		if b == 0 {
			i++
			continue
		}
		eid, l := b>>4, int(b&0x0f)+1
		if eid == 15 {
			break
		}
		if eid == id && l == 2 && i+3 <= end {
			return binary.BigEndian.Uint16(pkt[i+1:]), true
		}
		i += 1 + l
	}
	return 0, false
}
