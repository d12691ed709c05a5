package sfu

import (
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// benchSubscriber is a real pion peer connection that receives one
// down-track over DTLS-SRTP on loopback and discards what it reads.
type benchSubscriber struct {
	srv    *Transport
	client *webrtc.PeerConnection
}

func newClientAPI(tb testing.TB) *webrtc.API {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		tb.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
}

// connectSubscriber negotiates dt from the engine to a fresh client peer
// connection and waits until the down-track is bound and ICE connected.
func connectSubscriber(tb testing.TB, e *Engine, api *webrtc.API, dt *DownTrack) *benchSubscriber {
	tb.Helper()
	srv, err := e.NewTransport()
	if err != nil {
		tb.Fatal(err)
	}
	client, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	connected := make(chan struct{})
	var once sync.Once
	client.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	client.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
		}
	})
	srv.PeerConnection().OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			_ = client.AddICECandidate(c.ToJSON())
		}
	})
	offers := make(chan webrtc.SessionDescription, 1)
	srv.OnOffer(func(sd webrtc.SessionDescription) { offers <- sd })
	sender, err := srv.PeerConnection().AddTrack(dt)
	if err != nil {
		tb.Fatal(err)
	}
	go dt.ServeRTCP(sender)
	if err := srv.Negotiate(false); err != nil {
		tb.Fatal(err)
	}
	if err := client.SetRemoteDescription(<-offers); err != nil {
		tb.Fatal(err)
	}
	answer, err := client.CreateAnswer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(client)
	if err := client.SetLocalDescription(answer); err != nil {
		tb.Fatal(err)
	}
	<-gathered
	if err := srv.HandleAnswer(*client.LocalDescription()); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		tb.Fatal("subscriber did not connect")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !dt.bound.Load() {
		if time.Now().After(deadline) {
			tb.Fatal("down-track not bound")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return &benchSubscriber{srv: srv, client: client}
}

// BenchmarkForwardPeerConnections forwards one VP8 packet to N subscribers
// through the whole real path: rewrite, pion's interceptors (sender
// reports, TWCC sequence numbers), AES-GCM SRTP and sendto on the shared UDP
// mux socket. ns/downtrack is the sending side's cost per forwarded packet;
// allocs/op includes the in-process subscribers' own reading and decryption.
func BenchmarkForwardPeerConnections(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			e, err := NewEngine(EngineConfig{UDPAddr: "127.0.0.1:0", LoopbackOnly: true})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			stats := &Stats{}
			r := NewReceiverFromSource(nil, ReceiverParams{
				Kind: webrtc.RTPCodecTypeVideo,
				Codec: webrtc.RTPCodecParameters{
					RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
					PayloadType:        96,
				},
				SSRC:  1234,
				Stats: stats,
			})
			api := newClientAPI(b)
			subs := make([]*benchSubscriber, 0, n)
			for i := 0; i < n; i++ {
				dt := NewDownTrack(r, fmt.Sprintf("TR_bench%d", i), "PA_bench|TR_bench", stats)
				r.AddDownTrack(dt)
				subs = append(subs, connectSubscriber(b, e, api, dt))
			}
			defer func() {
				for _, s := range subs {
					_ = s.client.Close()
					_ = s.srv.Close()
				}
			}()

			payload := make([]byte, 1200)
			payload[0] = 0x10 // VP8 descriptor: start of partition 0
			payload[1] = 0x00 // P bit clear: every packet is a keyframe start
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1234}, Payload: payload}
			buf, err := pkt.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			var hdr rtp.Header
			before := stats.PacketsOut.Load()
			b.SetBytes(int64(len(buf) * n))
			b.ReportAllocs()
			// The forward path runs synchronously on this goroutine, down to
			// the sendto syscall: pinned to one OS thread, that thread's CPU
			// time is the server's cost, apart from the subscribers' work.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ResetTimer()
			cpuStart := threadCPU(b)
			start := time.Now()
			for i := 0; i < b.N; i++ {
				seq := uint16(i)
				ts := uint32(i) * 3000
				buf[2], buf[3] = byte(seq>>8), byte(seq)
				buf[4], buf[5], buf[6], buf[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
				r.forward(&hdr, buf, time.Now())
			}
			elapsed := time.Since(start)
			cpu := threadCPU(b) - cpuStart
			b.StopTimer()
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*n), "ns/downtrack")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/downtrack")
			if sent := stats.PacketsOut.Load() - before; sent < uint64(b.N*n)*9/10 {
				b.Fatalf("only %d of %d packets were sent", sent, b.N*n)
			}
		})
	}
}

// threadCPU returns the CPU time (user and system) of the calling OS thread.
func threadCPU(tb testing.TB) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ts.Nano())
}
