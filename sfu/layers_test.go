package sfu

import (
	"bytes"
	"testing"
	"time"

	"github.com/bayan-dev/bayan/sfu/codecs"
	"github.com/bayan-dev/bayan/sfu/codecs/codecstest"
)

// A down-track asked to switch layers keeps forwarding the old layer until
// the new one delivers a keyframe, switches on it without a gap in sequence
// numbers, PictureIDs or TL0PICIDX, then stops taking the old layer's
// packets.
func TestDownTrackSwitchesLayerOnKeyframe(t *testing.T) {
	low := newTestReceiver(vp8Codec, nil)
	high := newTestReceiver(vp8Codec, nil)
	dt := NewDownTrack(low, "TR_x", "PA_x|TR_x", nil)
	low.AddDownTrack(dt)
	w := &recordingWriter{}
	bindDownTrack(t, dt, testDownPT, testDownSSRC, w)
	lowFeed, highFeed := newFeeder(low), newFeeder(high)

	// Each packet is one frame; the layers number their pictures apart.
	lowPayload := func(i int, key bool) []byte {
		return append(codecstest.VP8Frame{Pic: 300 + uint16(i), Wide: true, TL0: uint8(i), Key: key}.Payload(0), []byte("LOW")...)
	}
	highPayload := func(i int, key bool) []byte {
		return append(codecstest.VP8Frame{Pic: 20000 + uint16(i), Wide: true, TL0: 77 + uint8(i), Key: key}.Payload(0), []byte("HIGH")...)
	}
	at := func(i int) time.Duration { return time.Duration(i) * 33 * time.Millisecond }

	for i := 0; i < 5; i++ {
		lowFeed.feed(t, uint16(1000+i), uint32(i*3000), lowPayload(i, i == 0), at(i))
	}
	dt.SwitchTo(high)
	if high.DownTrackCount() != 1 || low.DownTrackCount() != 1 {
		t.Fatalf("during the switch: %d on high, %d on low; want both", high.DownTrackCount(), low.DownTrackCount())
	}
	// The high layer's inter frames are not forwarded; low goes on.
	for i := 5; i < 8; i++ {
		highFeed.feed(t, uint16(50000+i), uint32(777+i*3000), highPayload(i, false), at(i))
		lowFeed.feed(t, uint16(1000+i), uint32(i*3000), lowPayload(i, false), at(i))
	}
	// The keyframe on high: from here on only high.
	highFeed.feed(t, 50008, 777+8*3000, highPayload(8, true), at(8))
	lowFeed.feed(t, 1008, 8*3000, lowPayload(8, false), at(8))
	highFeed.feed(t, 50009, 777+9*3000, highPayload(9, false), at(9))

	sent := w.sent()
	if len(sent) != 10 {
		t.Fatalf("sent %d packets, want 8 low then 2 high", len(sent))
	}
	for i, p := range sent {
		wantHigh := i >= 8
		if bytes.HasSuffix(p.payload, []byte("HIGH")) != wantHigh {
			t.Fatalf("packet %d: high=%v, want %v", i, !wantHigh, wantHigh)
		}
		if i > 0 && p.hdr.SequenceNumber != sent[i-1].hdr.SequenceNumber+1 {
			t.Fatalf("packet %d: seq %d after %d", i, p.hdr.SequenceNumber, sent[i-1].hdr.SequenceNumber)
		}
		if i > 0 && int32(p.hdr.Timestamp-sent[i-1].hdr.Timestamp) <= 0 {
			t.Fatalf("packet %d: timestamp %d does not advance from %d", i, p.hdr.Timestamp, sent[i-1].hdr.Timestamp)
		}
		// PictureID and TL0PICIDX go on from the low layer's.
		var d codecs.VP8Descriptor
		if !codecs.ParseVP8Descriptor(p.payload, &d) || d.PicID != 300+uint16(i) || d.TL0 != uint8(i) {
			t.Fatalf("packet %d: PictureID %d TL0PICIDX %d, want %d %d", i, d.PicID, d.TL0, 300+i, i)
		}
	}
	if !codecs.IsKeyframe(vp8Codec.MimeType, sent[8].payload) {
		t.Fatal("the first high packet is not a keyframe")
	}
	if low.DownTrackCount() != 0 || dt.Receiver() != high {
		t.Fatalf("after the switch the down-track still hangs on the low layer")
	}
	// A NACK for a packet of the new layer is answered from its cache.
	dt.retransmit(sent[9].hdr.SequenceNumber)
	// It goes out again with the PictureID it was first sent with.
	if again := w.sent(); len(again) != 11 || !bytes.Equal(again[10].payload, sent[9].payload) {
		t.Fatal("retransmission after the switch did not come from the new layer")
	}
	dt.Close()
	if high.DownTrackCount() != 0 {
		t.Fatal("Close left the down-track on its layer")
	}
}

// A switch asks the publisher for the target layer's keyframe at once,
// not at the next packet or periodic request: the subscriber sees the new
// layer one round trip after asking.
func TestSwitchAsksTheTargetForAKeyframeAtOnce(t *testing.T) {
	lowPLIs, highPLIs := &rtcpRecorder{}, &rtcpRecorder{}
	low := newTestReceiver(vp8Codec, lowPLIs.write)
	high := newTestReceiver(vp8Codec, highPLIs.write)
	dt := NewDownTrack(low, "TR_x", "PA_x|TR_x", nil)
	low.AddDownTrack(dt)
	bindDownTrack(t, dt, testDownPT, testDownSSRC, &recordingWriter{})
	if lowPLIs.count() != 1 || highPLIs.count() != 0 {
		t.Fatalf("after Bind: %d PLIs to low, %d to high; want 1, 0", lowPLIs.count(), highPLIs.count())
	}
	dt.SwitchTo(high)
	if highPLIs.count() != 1 {
		t.Fatalf("SwitchTo sent %d PLIs to the target layer, want 1", highPLIs.count())
	}
	dt.SwitchDown(low) // back: low's last request is recent, but it is the current layer
	if lowPLIs.count() != 1 {
		t.Fatalf("switching back to the layer forwarded sent %d PLIs to it, want none more", lowPLIs.count()-1)
	}
}

// ForwardingSince is zero until the down-track sends a packet, then the
// time that first packet reached the server.
func TestDownTrackForwardingSince(t *testing.T) {
	fx := newDownTrackFixture(t, vp8Codec, true)
	fx.f.feed(t, 1, 0, vp8Delta(20), 0) // not a keyframe: not sent
	if s := fx.dt.ForwardingSince(); !s.IsZero() {
		t.Fatalf("before any packet was sent: %v", s)
	}
	fx.f.feed(t, 2, 3000, vp8Key(20), 40*time.Millisecond)
	fx.f.feed(t, 3, 6000, vp8Delta(20), 80*time.Millisecond)
	if s := fx.dt.ForwardingSince(); !s.Equal(testEpoch.Add(40 * time.Millisecond)) {
		t.Fatalf("forwarding since %v, want the first packet sent's arrival %v", s, testEpoch.Add(40*time.Millisecond))
	}
}

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
