package bwe

import (
	"testing"

	"github.com/pion/rtcp"
)

// Feedback comes from clients: whatever it says, the estimator must not
// panic and the estimate must stay within its bounds.
func FuzzOnFeedback(f *testing.F) {
	good := &rtcp.TransportLayerCC{BaseSequenceNumber: 1, PacketStatusCount: 2, ReferenceTime: 5,
		PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 2}},
		RecvDeltas:   []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 500}}}
	if b, err := good.Marshal(); err == nil {
		f.Add(b)
	}
	f.Add([]byte{0x8f, 0xcd, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var fb rtcp.TransportLayerCC
		if fb.Unmarshal(b) != nil {
			return
		}
		e := New(Config{Initial: 1_000_000, Min: 100_000, Max: 5_000_000})
		for i := range 64 {
			e.OnSent(uint16(i), 1200, int64(i)*1000)
		}
		e.OnFeedback(&fb, 100_000)
		e.OnFeedback(&fb, 200_000)
		if got := e.Target(); got < 100_000 || got > 5_000_000 {
			t.Fatalf("estimate %d outside its bounds", got)
		}
	})
}
