package loadtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"math/bits"
	"net"
	"sync/atomic"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// rtcpCounters counts the feedback the load tester's peer connections send:
// NACKed packets and picture loss indications. Only subscriber connections
// receive media, so this is what subscribers ask of the server.
type rtcpCounters struct {
	nacks atomic.Uint64 // packets asked for again
	plis  atomic.Uint64 // PLI and FIR messages
}

// rtcpCounterFactory makes the interceptor that counts outgoing RTCP. It is
// registered first, so it wraps the writer closest to the transport and sees
// what every other interceptor (the NACK generator) writes.
type rtcpCounterFactory struct{ c *rtcpCounters }

func (f rtcpCounterFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &rtcpCounter{c: f.c}, nil
}

type rtcpCounter struct {
	interceptor.NoOp
	c *rtcpCounters
}

func (r *rtcpCounter) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.TransportLayerNack:
				var n int
				for _, pair := range p.Nacks {
					n += 1 + bits.OnesCount16(uint16(pair.LostPackets))
				}
				r.c.nacks.Add(uint64(n))
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				r.c.plis.Add(1)
			}
		}
		return w.Write(pkts, a)
	})
}

// newAPI returns the one webrtc.API all synthetic participants share: VP8
// and Opus only (no RTX, so NACKs are answered on the media stream), the
// simulcast and audio-level header extensions, NACK generator and responder,
// RTCP reports and TWCC; ICE over UDP4 with loopback candidates and without
// mDNS. loopbackOnly restricts gathering to loopback addresses.
func newAPI(counters *rtcpCounters, loopbackOnly bool) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(opusCodec, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register opus: %w", err)
	}
	if err := me.RegisterCodec(redCodec, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register red: %w", err)
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"}}},
		PayloadType: 96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("register vp8: %w", err)
	}
	for _, ext := range []struct {
		uri   string
		kinds []webrtc.RTPCodecType
	}{
		{sdp.SDESMidURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}},
		{sdp.SDESRTPStreamIDURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}},
		{sdp.SDESRepairRTPStreamIDURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}},
		{sdp.AudioLevelURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio}},
	} {
		for _, k := range ext.kinds {
			if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: ext.uri}, k); err != nil {
				return nil, fmt.Errorf("register extension %s: %w", ext.uri, err)
			}
		}
	}

	// pion's logs (errors about closed pipes at shutdown, mostly) would
	// garble the progress line.
	lf := logging.NewDefaultLoggerFactory()
	lf.Writer = io.Discard

	ir := &interceptor.Registry{}
	ir.Add(rtcpCounterFactory{c: counters})
	if err := webrtc.ConfigureNackWithOptions(me, ir, []nack.GeneratorOption{nack.WithGeneratorLoggerFactory(lf)},
		nack.WithResponderLoggerFactory(lf)); err != nil {
		return nil, fmt.Errorf("nack: %w", err)
	}
	if err := webrtc.ConfigureRTCPReportsWithOptions(ir, []report.ReceiverOption{report.WithReceiverLoggerFactory(lf)},
		report.WithSenderLoggerFactory(lf)); err != nil {
		return nil, fmt.Errorf("rtcp reports: %w", err)
	}
	if err := webrtc.ConfigureTWCCSenderWithOptions(me, ir, twcc.WithLoggerFactory(lf)); err != nil {
		return nil, fmt.Errorf("twcc: %w", err)
	}
	hx, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return nil, fmt.Errorf("twcc header extension: %w", err)
	}
	ir.Add(hx)

	se := webrtc.SettingEngine{LoggerFactory: lf}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	if loopbackOnly {
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// newCertificate makes the DTLS certificate every peer connection of a run
// shares: generating one per connection costs CPU at every join.
func newCertificate() (webrtc.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return webrtc.Certificate{}, err
	}
	c, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return webrtc.Certificate{}, err
	}
	return *c, nil
}
