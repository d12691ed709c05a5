package sfu

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// rtpWithTWCC returns an RTP packet of ssrc with sequence number seq that
// carries transport-wide sequence number tseq in header extension id.
func rtpWithTWCC(t *testing.T, ssrc uint32, seq, tseq uint16, id uint8) []byte {
	t.Helper()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, SSRC: ssrc}, Payload: []byte{1, 2, 3}}
	if err := p.SetExtension(id, []byte{byte(tseq >> 8), byte(tseq)}); err != nil {
		t.Fatal(err)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TWCC feedback reports when packets came off the socket, not when the
// receiver's goroutine read them: under load that goroutine reads a burst
// late and all at once, and the publisher would take the wait for a queue
// on its uplink. Two packets that arrived 40 ms apart and were read
// together are reported 40 ms apart.
func TestTWCCFeedbackUsesSocketArrival(t *testing.T) {
	const ssrc, ext = 0x1234, 5
	clock := newArrivalClock()
	i, err := (&twccFeedbackFactory{clock: clock}).NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	feedback := make(chan *rtcp.TransportLayerCC, 16)
	i.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			if fb, ok := p.(*rtcp.TransportLayerCC); ok {
				feedback <- fb
			}
		}
		return 0, nil
	}))
	var queue [][]byte
	reader := i.BindRemoteStream(&interceptor.StreamInfo{SSRC: ssrc, RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: ext}}},
		interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			n := copy(b, queue[0])
			queue = queue[1:]
			return n, a, nil
		}))

	a, b := rtpWithTWCC(t, ssrc, 100, 7, ext), rtpWithTWCC(t, ssrc, 101, 8, ext)
	clock.stamp(a)
	clock.epoch = clock.epoch.Add(-40 * time.Millisecond) // 40 ms pass
	clock.stamp(b)
	clock.epoch = clock.epoch.Add(-300 * time.Millisecond) // the goroutine reads them late
	queue = [][]byte{a, b}
	buf := make([]byte, 1500)
	for range 2 {
		if _, _, err := reader.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case fb := <-feedback:
		if fb.BaseSequenceNumber != 7 || fb.PacketStatusCount != 2 || len(fb.RecvDeltas) != 2 {
			t.Fatalf("feedback from %d for %d packets, %d deltas; want 7, 2, 2", fb.BaseSequenceNumber, fb.PacketStatusCount, len(fb.RecvDeltas))
		}
		if d := time.Duration(fb.RecvDeltas[1].Delta) * time.Microsecond; d < 39*time.Millisecond || d > 41*time.Millisecond {
			t.Fatalf("the second packet arrived %v after the first, want 40ms", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no feedback in 5 s")
	}
}

// Only the RTP packets of registered streams are stamped: RTCP, other
// datagrams and unknown SSRCs leave no trace, and a slot a later packet
// took is not mistaken for the one sought.
func TestArrivalClockStampsRegisteredRTPOnly(t *testing.T) {
	clock := newArrivalClock()
	clock.register(1)
	clock.stamp(rtpWithTWCC(t, 1, 5, 0, 3))
	clock.stamp(rtpWithTWCC(t, 2, 5, 0, 3))
	rr, _ := (&rtcp.ReceiverReport{SSRC: 1}).Marshal()
	clock.stamp(rr)
	clock.stamp([]byte{0x16, 0xfe, 0xfd}) // DTLS
	if _, ok := clock.arrival(1, 5); !ok {
		t.Fatal("a registered stream's packet was not stamped")
	}
	if _, ok := clock.arrival(2, 5); ok {
		t.Fatal("an unregistered stream's packet was stamped")
	}
	clock.stamp(rtpWithTWCC(t, 1, 5+arrivalRingSize, 0, 3))
	if _, ok := clock.arrival(1, 5); ok {
		t.Fatal("a packet a ring's length later was taken for the one sought")
	}
	clock.unregister(1)
	if _, ok := clock.arrival(1, 5+arrivalRingSize); ok {
		t.Fatal("an unregistered stream still answers")
	}
	clock.register(3)
	p := rtpWithTWCC(t, 3, 9, 0, 3)
	if allocs := testing.AllocsPerRun(100, func() { clock.stamp(p) }); allocs != 0 {
		t.Fatalf("stamp allocates %v times", allocs)
	}
}
