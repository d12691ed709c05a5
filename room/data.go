package room

import (
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"
)

// onDataChannel receives the client's data packets on the channels it opens
// (_reliable, _lossy) and hands them to the room for delivery.
func (p *Participant) onDataChannel(dc *webrtc.DataChannel) {
	kind := livekit.DataPacket_RELIABLE
	if dc.Label() == "_lossy" {
		kind = livekit.DataPacket_LOSSY
	} else if dc.Label() != "_reliable" {
		return
	}
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		p.handleData(msg.Data, kind)
	})
}

// maxDataPacket bounds a data message; larger ones are dropped.
const maxDataPacket = 64 << 10

func (p *Participant) handleData(b []byte, kind livekit.DataPacket_Kind) {
	if len(b) > maxDataPacket || !p.Permission().GetCanPublishData() {
		return
	}
	var pkt livekit.DataPacket
	if err := proto.Unmarshal(b, &pkt); err != nil {
		return // garbage from a client changes nothing
	}
	if !p.room.mgr.cfg.Hooks.Data(p.room, p, &pkt) {
		return
	}
	p.room.SendData(p, &pkt, kind)
}

// SendData sends one data packet from the server to p alone, on its
// reliable channel (or lossy when kind says so). It reports false when p's
// channel is not open yet (see Hooks.Ready) or the packet cannot be encoded.
func (p *Participant) SendData(pkt *livekit.DataPacket, kind livekit.DataPacket_Kind) bool {
	pkt.Kind = kind
	b, err := proto.Marshal(pkt)
	if err != nil {
		return false
	}
	return p.sendData(b, kind)
}

// watchReady tells the hooks when dc, the reliable channel toward p, opens.
func (p *Participant) watchReady(dc *webrtc.DataChannel) {
	if dc == nil || dc.Label() != "_reliable" {
		return
	}
	ready := func() { p.room.mgr.cfg.Hooks.Ready(p.room, p) }
	dc.OnOpen(ready)
	if dc.ReadyState() == webrtc.DataChannelStateOpen {
		ready()
	}
}

// sendData writes an encoded DataPacket on the subscriber data channel.
func (p *Participant) sendData(b []byte, kind livekit.DataPacket_Kind) bool {
	p.mu.Lock()
	dc := p.dcReliable
	if kind == livekit.DataPacket_LOSSY {
		dc = p.dcLossy
	}
	p.mu.Unlock()
	if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen {
		return false
	}
	return dc.Send(b) == nil
}
