package lean

import (
	"testing"

	"github.com/pion/rtp"
)

func TestTransportSeq(t *testing.T) {
	h := rtp.Header{Version: 2, SSRC: 1, SequenceNumber: 7}
	if err := h.SetExtension(1, []byte{0x40}); err != nil {
		t.Fatal(err)
	}
	if err := h.SetExtension(3, []byte{0x12, 0x34}); err != nil {
		t.Fatal(err)
	}
	pkt, err := (&rtp.Packet{Header: h, Payload: []byte{1, 2, 3}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if seq, ok := transportSeq(pkt, 3); !ok || seq != 0x1234 {
		t.Errorf("transportSeq = %#x, %v", seq, ok)
	}
	if _, ok := transportSeq(pkt, 5); ok {
		t.Error("found an extension that is not there")
	}
	for n := range len(pkt) {
		if n >= 12 {
			transportSeq(pkt[:n], 3) // truncated: must not panic
		}
	}
}
