package sfu

import (
	"bytes"
	"testing"
	"time"

	"github.com/bayan-dev/bayan/sfu/codecs"
	"github.com/bayan-dev/bayan/sfu/codecs/codecstest"
)

// The down-track thins layers with continuous sequence numbers, PictureIDs
// and TL0PICIDX, and answers a NACK after drops with the very packet sent.
func TestDownTrackDropsTemporalLayers(t *testing.T) {
	r := newTestReceiver(vp8Codec, nil)
	dt := NewDownTrack(r, "TR_x", "PA_x|TR_x", nil)
	r.AddDownTrack(dt)
	w := &recordingWriter{}
	bindDownTrack(t, dt, testDownPT, testDownSSRC, w)
	dt.SetMaxTemporalLayer(0)
	feed := newFeeder(r)
	seq := uint16(65500) // wraps on the way
	for i := 0; i < 40; i++ {
		f := codecstest.L1T3(i)
		for p := 0; p < 2; p++ {
			feed.feed(t, seq, uint32(i*3000), f.Payload(p), time.Duration(i)*33*time.Millisecond)
			seq++
		}
	}
	sent := w.sent()
	if len(sent) != 20 {
		t.Fatalf("sent %d packets, want the 2 of each of 10 layer-0 frames", len(sent))
	}
	var prev codecs.VP8Descriptor
	for i, p := range sent {
		var d codecs.VP8Descriptor
		if !codecs.ParseVP8Descriptor(p.payload, &d) || d.TID != 0 {
			t.Fatalf("packet %d: %+v", i, d)
		}
		if i > 0 && p.hdr.SequenceNumber != sent[i-1].hdr.SequenceNumber+1 {
			t.Fatalf("packet %d: seq %d after %d", i, p.hdr.SequenceNumber, sent[i-1].hdr.SequenceNumber)
		}
		if i%2 == 1 && (d.PicID != prev.PicID || d.TL0 != prev.TL0) {
			t.Fatalf("packet %d: ids differ within a frame", i)
		}
		if i%2 == 0 && i > 0 && (d.PicID != prev.PicID+1 || d.TL0 != prev.TL0+1) {
			t.Fatalf("packet %d: id %d tl0 %d after %d %d", i, d.PicID, d.TL0, prev.PicID, prev.TL0)
		}
		prev = d
	}
	for _, i := range []int{19, 14, 12} { // still in the 32-slot cache
		dt.retransmit(sent[i].hdr.SequenceNumber)
		again := w.sent()
		got := again[len(again)-1]
		if got.hdr.SequenceNumber != sent[i].hdr.SequenceNumber || !bytes.Equal(got.payload, sent[i].payload) {
			t.Fatalf("NACK for packet %d resent seq %d %x, want %d %x", i, got.hdr.SequenceNumber, got.payload, sent[i].hdr.SequenceNumber, sent[i].payload)
		}
	}
}
