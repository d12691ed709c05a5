package sfu

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// topKReceiver is an Opus receiver attached to an active selector, in the
// given state, with n bound down-tracks gated by listeners, and a packet
// with an audio level to feed it.
func topKReceiver(tb testing.TB, n int, state int32) (*Receiver, []byte) {
	tb.Helper()
	sel := newAudioSelector(AudioSelectorConfig{})
	sel.SetActive(true)
	r := newAudioReceiver()
	sel.Attach(r)
	r.slot.Load().state.Store(state)
	for i := 0; i < n; i++ {
		dt := NewDownTrack(r, fmt.Sprintf("TR_%d", i), "PA|TR", nil)
		dt.SetAudioListener(&AudioListener{})
		r.AddDownTrack(dt)
		bindDownTrack(tb, dt, testDownPT, webrtc.SSRC(0x1000+i), nopWriter{})
	}
	p := &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 111, SSRC: testPubSSRC},
		Payload: make([]byte, 80),
	}
	if err := p.Header.SetExtension(testLevelExt, []byte{20}); err != nil {
		tb.Fatal(err)
	}
	pkt, err := p.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return r, pkt
}

// BenchmarkForwardAudioTopK is the per-packet cost of an audio track in a
// top-K room: selected (sent to every down-track) or not (withheld from
// every one), with 100 down-tracks.
func BenchmarkForwardAudioTopK(b *testing.B) {
	for _, c := range []struct {
		name  string
		state int32
	}{{"selected", audioSelected}, {"unselected", audioUnselected}} {
		b.Run(c.name, func(b *testing.B) {
			r, pkt := topKReceiver(b, 100, c.state)
			var hdr rtp.Header
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				seq, ts := uint16(i), uint32(i)*960
				pkt[2], pkt[3] = byte(seq>>8), byte(seq)
				pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
				r.forward(&hdr, pkt, time.Now())
			}
		})
	}
}

// The gate and the pre-roll keep the hot path allocation-free, including
// the packet on which a withheld track is let through again.
func TestForwardAudioTopKDoesNotAllocate(t *testing.T) {
	r, pkt := topKReceiver(t, 10, audioSelected)
	slot := r.slot.Load()
	var hdr rtp.Header
	seq := uint16(0)
	for range 300 { // the packet cache grows to fit the stream first
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		r.forward(&hdr, pkt, time.Now())
		seq++
	}
	allocs := testing.AllocsPerRun(500, func() {
		// Every fourth packet is withheld, so every fifth replays.
		if seq%4 == 3 {
			slot.state.Store(audioUnselected)
		} else {
			slot.state.Store(audioSelected)
		}
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		ts := uint32(seq) * 960
		pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
		r.forward(&hdr, pkt, time.Now())
		seq++
	})
	if allocs != 0 {
		t.Fatalf("forward allocates %.2f times per packet, want 0", allocs)
	}
	if r.stats.PrerollPackets.Load() == 0 {
		t.Fatal("no pre-roll was replayed")
	}
}
