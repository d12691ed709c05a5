package sfu

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
	"golang.org/x/sys/unix"
)

// Forwarding benchmarks: one received packet (a 1200-byte VP8 payload) fanned
// out by Receiver.forward to N bound down-tracks, as the read loop does it.
//
//	BenchmarkForward       no-op writer: Bayan's own cost (parse, cache,
//	                       rewrite, header) per packet and down-track
//	BenchmarkForwardVP8Munged  the same with a full VP8 descriptor whose
//	                       PictureID and TL0PICIDX each down-track rewrites
//	BenchmarkForwardSRTP   each down-track encrypts with its own AES-128-GCM
//	                       SRTP context and sends with sendto on loopback
//	BenchmarkForwardSRTPBatched  the same through a BatchConn: one sendmmsg
//	                       per fan-out (per 64 packets) instead of a sendto each
//
// ns/downtrack is wall time divided by packets written; cpu-ns/downtrack is
// the forwarding thread's CPU time (user + system) divided likewise.

const benchPayloadSize = 1200

// benchReceiver builds a VP8 receiver with n down-tracks bound to the
// writers newWriter returns, and a marshalled packet to feed it. The first
// packet fed must be a keyframe; the returned one is.
func benchReceiver(b *testing.B, n int, newWriter func(i int) webrtc.TrackLocalWriter) (*Receiver, []byte) {
	b.Helper()
	r := newTestReceiver(vp8Codec, nil)
	for i := 0; i < n; i++ {
		dt := NewDownTrack(r, fmt.Sprintf("TR_%d", i), "PA|TR", nil)
		r.AddDownTrack(dt)
		bindDownTrack(b, dt, testDownPT, webrtc.SSRC(0x1000+i), newWriter(i))
	}
	// Received packets are inter frames. (The first one fed is made a
	// keyframe by runForward.)
	pkt, err := (&rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 96, SSRC: testPubSSRC, Marker: true},
		Payload: vp8Delta(benchPayloadSize),
	}).Marshal()
	if err != nil {
		b.Fatal(err)
	}
	return r, pkt
}

// vp8PHeaderByte is where the VP8 payload header (its P bit) sits in the
// marshalled benchmark packet: 12-byte RTP header, 1-byte descriptor.
const vp8PHeaderByte = 13

// runForward feeds b.N packets with advancing sequence numbers and
// timestamps through r.forward and reports ns/downtrack.
func runForward(b *testing.B, r *Receiver, pkt []byte, n int) {
	runForwardWith(b, r, pkt, n, vp8PHeaderByte, func(int) {})
}

// runForwardWith is runForward for packets whose VP8 payload header is at
// pHeader, calling prep(i) to adjust packet i (0: the warm-up keyframe).
func runForwardWith(b *testing.B, r *Receiver, pkt []byte, n, pHeader int, prep func(i int)) {
	var hdr rtp.Header
	setSeq := func(i int) {
		seq, ts := uint16(i), uint32(i)*3000
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
	}
	// Warm up: a keyframe starts every down-track.
	setSeq(0)
	prep(0)
	pkt[pHeader] = 0x00
	r.forward(&hdr, pkt, time.Now())
	pkt[pHeader] = 0x01 // from now on inter frames
	out0 := r.stats.PacketsOut.Load()

	// forward runs synchronously down to the writer (and its sendto): on a
	// locked OS thread, that thread's CPU time is the cost of forwarding,
	// whatever else the machine is busy with.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.SetBytes(int64(len(pkt) * n))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := benchThreadCPU(b)
	start := time.Now()
	for i := 1; i <= b.N; i++ {
		setSeq(i)
		prep(i)
		r.forward(&hdr, pkt, time.Now())
	}
	elapsed := time.Since(start)
	cpu := benchThreadCPU(b) - cpu0
	b.StopTimer()
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*n), "ns/downtrack")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/downtrack")
	if sent := r.stats.PacketsOut.Load() - out0; sent != uint64(b.N*n) {
		b.Fatalf("%d packets written, want %d", sent, b.N*n)
	}
}

var benchFanouts = []int{1, 10, 100}

func BenchmarkForward(b *testing.B) {
	for _, n := range benchFanouts {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			r, pkt := benchReceiver(b, n, func(int) webrtc.TrackLocalWriter { return nopWriter{} })
			runForward(b, r, pkt, n)
		})
	}
}

// BenchmarkForwardVP8Munged is BenchmarkForward with the load tester's
// 6-byte VP8 descriptor (15-bit PictureID, TL0PICIDX, TID 0), one frame a
// packet, on down-tracks whose ids are shifted as after a simulcast switch:
// every packet is copied into the down-track's buffer and rewritten.
func BenchmarkForwardVP8Munged(b *testing.B) {
	for _, n := range benchFanouts {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			r, _ := benchReceiver(b, n, func(int) webrtc.TrackLocalWriter { return nopWriter{} })
			payload := vp8Delta(benchPayloadSize)
			copy(payload, []byte{0x90, 0xe0, 0x80, 0x00, 0x00, 0x00})
			payload[6] = 0x01 // the VP8 payload header
			pkt, err := (&rtp.Packet{
				Header:  rtp.Header{Version: 2, PayloadType: 96, SSRC: testPubSSRC, Marker: true},
				Payload: payload,
			}).Marshal()
			if err != nil {
				b.Fatal(err)
			}
			setIDs := func(pic uint16) {
				pkt[14], pkt[15], pkt[16] = 0x80|byte(pic>>8)&0x7f, byte(pic), byte(pic)
			}
			// A first epoch, then a new one whose keyframe has ids far
			// from those sent: from then on every id is shifted.
			var hdr rtp.Header
			setIDs(9000)
			pkt[18] = 0x00
			r.forward(&hdr, pkt, time.Now())
			for _, dt := range *r.downTracks.Load() {
				dt.SetPaused(true)
				dt.SetPaused(false)
			}
			runForwardWith(b, r, pkt, n, 18, func(i int) { setIDs(uint16(100 + i)) })
		})
	}
}

// srtpUDPWriter is what pion does per down-track after Bind, minus the
// interceptors: marshal, encrypt with the subscriber's SRTP context, sendto.
type srtpUDPWriter struct {
	ctx   *srtp.Context
	send  func([]byte, netip.AddrPort) (int, error)
	to    netip.AddrPort
	plain []byte // reused: marshalled header + payload
	enc   []byte // reused: SRTP packet
	hdr   rtp.Header
}

func newSRTPUDPWriter(b *testing.B, send func([]byte, netip.AddrPort) (int, error), to netip.AddrPort) *srtpUDPWriter {
	profile := srtp.ProtectionProfileAeadAes128Gcm
	keyLen, err := profile.KeyLen()
	if err != nil {
		b.Fatal(err)
	}
	saltLen, err := profile.SaltLen()
	if err != nil {
		b.Fatal(err)
	}
	key, salt := make([]byte, keyLen), make([]byte, saltLen)
	_, _ = rand.Read(key)
	_, _ = rand.Read(salt)
	ctx, err := srtp.CreateContext(key, salt, profile)
	if err != nil {
		b.Fatal(err)
	}
	return &srtpUDPWriter{
		ctx: ctx, send: send, to: to,
		plain: make([]byte, MaxPacketSize),
		enc:   make([]byte, MaxPacketSize+64),
	}
}

func (w *srtpUDPWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	n, err := h.MarshalTo(w.plain)
	if err != nil {
		return 0, err
	}
	if n+len(payload) > len(w.plain) {
		return 0, errors.New("packet too large")
	}
	n += copy(w.plain[n:], payload)
	enc, err := w.ctx.EncryptRTP(w.enc[:0], w.plain[:n], &w.hdr)
	if err != nil {
		return 0, err
	}
	return w.send(enc, w.to)
}

func (w *srtpUDPWriter) Write(b []byte) (int, error) {
	enc, err := w.ctx.EncryptRTP(w.enc[:0], b, &w.hdr)
	if err != nil {
		return 0, err
	}
	return w.send(enc, w.to)
}

// udpSink is a loopback socket that a goroutine drains until Close.
type udpSink struct {
	conn *net.UDPConn
	wg   sync.WaitGroup
}

func newUDPSink(b *testing.B) *udpSink {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	s := &udpSink{conn: conn}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 2048)
		for {
			if _, _, err := conn.ReadFromUDPAddrPort(buf); err != nil {
				return // closed
			}
		}
	}()
	return s
}

func (s *udpSink) addr() netip.AddrPort { return s.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (s *udpSink) Close() {
	_ = s.conn.Close()
	s.wg.Wait()
}

func BenchmarkForwardSRTP(b *testing.B) { benchForwardSRTP(b, false) }

func BenchmarkForwardSRTPBatched(b *testing.B) { benchForwardSRTP(b, true) }

func benchForwardSRTP(b *testing.B, batched bool) {
	for _, n := range benchFanouts {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			sink := newUDPSink(b)
			defer sink.Close()
			conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetWriteBuffer(4 << 20)
			send := conn.WriteToUDPAddrPort
			var bc *BatchConn
			if batched {
				bc = NewBatchConn(conn)
				send = bc.WriteToAddrPort
			}
			to := sink.addr()
			r, pkt := benchReceiver(b, n, func(int) webrtc.TrackLocalWriter { return newSRTPUDPWriter(b, send, to) })
			if bc != nil {
				r.batch = bc
			}
			runForward(b, r, pkt, n)
			if bc != nil {
				pkts, calls, dropped := bc.BatchStats()
				if dropped > 0 {
					b.Fatalf("%d batched packets dropped", dropped)
				}
				if calls > 0 {
					b.ReportMetric(float64(pkts)/float64(calls), "pkts/syscall")
				}
			}
		})
	}
}

// TestForwardDoesNotAllocate guards the hot path: forwarding to bound
// down-tracks with a no-op writer must not allocate.
func TestForwardDoesNotAllocate(t *testing.T) {
	r := newTestReceiver(vp8Codec, nil)
	for i := 0; i < 10; i++ {
		dt := NewDownTrack(r, "a", "b", nil)
		r.AddDownTrack(dt)
		bindDownTrack(t, dt, testDownPT, webrtc.SSRC(i+1), nopWriter{})
	}
	pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1},
		Payload: vp8Key(benchPayloadSize)}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var hdr rtp.Header
	seq := uint16(0)
	// The packet cache grows to fit the stream in its first second (a
	// handful of allocations per stream, ever); what is measured is the
	// steady state after it.
	for range 1000 {
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		r.forward(&hdr, pkt, time.Now())
		seq++
	}
	allocs := testing.AllocsPerRun(500, func() {
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		r.forward(&hdr, pkt, time.Now())
		seq++
	})
	if allocs != 0 {
		t.Fatalf("forward allocates %.2f times per packet, want 0", allocs)
	}
	if got := r.stats.PacketsOut.Load(); got < 10*500 {
		t.Fatalf("only %d packets written", got)
	}
}

// benchThreadCPU returns the CPU time (user and system) of the calling OS
// thread.
func benchThreadCPU(tb testing.TB) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

// BenchmarkNudgeKeyframe is the keyframe watchdog's cost per down-track
// and call (a room calls it for every down-track four times a second):
// one forwarding, and one awaiting a keyframe from a layer that sends
// nothing (its requests throttled, as most of them are).
func BenchmarkNudgeKeyframe(b *testing.B) {
	for _, awaiting := range []bool{false, true} {
		b.Run(fmt.Sprintf("awaiting=%v", awaiting), func(b *testing.B) {
			r := newTestReceiver(vp8Codec, func([]rtcp.Packet) error { return nil })
			dt := NewDownTrack(r, "TR_sub", "PA_pub|TR_pub", nil)
			r.AddDownTrack(dt)
			bindDownTrack(b, dt, testDownPT, testDownSSRC, nopWriter{})
			if !awaiting {
				newFeeder(r).feed(b, 1, 3000, vp8Key(64), 0)
			}
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				dt.NudgeKeyframe(now.Add(time.Duration(i) * time.Millisecond))
			}
			b.StopTimer()
			if waited, _ := dt.NudgeKeyframe(now.Add(time.Duration(b.N) * time.Millisecond)); (waited > 0) != awaiting {
				b.Fatalf("awaiting %v, but waited %v", awaiting, waited)
			}
		})
	}
}
