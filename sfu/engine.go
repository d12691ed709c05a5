package sfu

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/bayan-dev/bayan/sfu/bwe"
	"github.com/bayan-dev/bayan/sfu/codecs"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// EngineConfig says where the media plane listens.
type EngineConfig struct {
	// UDPAddr is the one UDP address all ICE traffic shares (UDP mux),
	// e.g. "127.0.0.1:7882"; port 0 picks a free port.
	UDPAddr string
	// TCPAddr is the ICE-TCP fallback address, e.g. "127.0.0.1:7881"; empty
	// disables ICE-TCP.
	TCPAddr string
	// NodeIPs, when set, are the only addresses offered in ICE candidates
	// (e.g. the public address behind a 1:1 NAT).
	NodeIPs []string
	// LoopbackOnly offers only loopback candidates (development and tests).
	LoopbackOnly bool
	// LoggerFactory receives pion's logs; nil sends them to slog.Default().
	LoggerFactory logging.LoggerFactory
	// NoBatching sends every packet with its own sendto instead of one
	// sendmmsg per fan-out (for comparison).
	NoBatching bool
	// Bandwidth bounds every subscriber's downlink estimate.
	Bandwidth bwe.Config
}

// Engine owns the shared sockets and the webrtc.API every peer connection of
// the server is created from.
type Engine struct {
	API       *webrtc.API
	udpConn   *BatchConn
	bweConfig bwe.Config
	tcpLn     net.Listener
	taggers   *taggerFactory // SSRC-based simulcast, per connection
}

// udpSocketBuffer is the receive and send buffer asked for the shared ICE
// UDP socket: about 3,000 full-size packets each way.
const udpSocketBuffer = 4 << 20

// NewEngine opens the ICE sockets and configures codecs, header extensions
// and interceptors. Close releases the sockets.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	lf := cfg.LoggerFactory
	if lf == nil {
		lf = NewPionLoggerFactory(slog.Default())
	}
	udpAddr, err := net.ResolveUDPAddr("udp4", cfg.UDPAddr)
	if err != nil {
		return nil, fmt.Errorf("sfu: ICE UDP address %q: %w", cfg.UDPAddr, err)
	}
	sock, err := net.ListenUDP("udp4", udpAddr)
	if err != nil {
		return nil, fmt.Errorf("sfu: listen ICE UDP %s: %w", cfg.UDPAddr, err)
	}
	// Every publisher's media arrives on this one socket and every
	// subscriber's leaves by it: the kernel's default 208 KiB holds a few
	// tens of milliseconds of a busy node's traffic, so a reader stalled by
	// a GC pause or a starved CPU would lose packets for every participant
	// at once. The kernel caps the request at net.core.rmem_max/wmem_max.
	_ = sock.SetReadBuffer(udpSocketBuffer)
	_ = sock.SetWriteBuffer(udpSocketBuffer)
	udpConn := NewBatchConn(sock)
	if cfg.NoBatching {
		udpConn = &BatchConn{UDPConn: sock}
	}
	udpConn.arrivals = newArrivalClock()
	e := &Engine{udpConn: udpConn, bweConfig: cfg.Bandwidth}

	se := webrtc.SettingEngine{LoggerFactory: lf}
	se.SetICEUDPMux(webrtc.NewICEUDPMux(lf.NewLogger("udpmux"), udpConn))
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if cfg.TCPAddr != "" {
		ln, err := net.Listen("tcp4", cfg.TCPAddr)
		if err != nil {
			_ = udpConn.Close()
			return nil, fmt.Errorf("sfu: listen ICE TCP %s: %w", cfg.TCPAddr, err)
		}
		e.tcpLn = ln
		se.SetICETCPMux(webrtc.NewICETCPMux(lf.NewLogger("tcpmux"), ln, 32))
		networks = append(networks, webrtc.NetworkTypeTCP4)
	}
	se.SetNetworkTypes(networks)
	// AES-GCM first: pion's GCM costs a fraction of AES-CM+HMAC per packet.
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if cfg.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	if len(cfg.NodeIPs) > 0 {
		se.SetNAT1To1IPs(cfg.NodeIPs, webrtc.ICECandidateTypeHost)
	}

	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me); err != nil {
		e.Close()
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := registerInterceptors(me, ir, udpConn.arrivals, lf); err != nil {
		e.Close()
		return nil, err
	}
	// Last, so that the others see packets as they came.
	e.taggers = newTaggerFactory()
	ir.Add(e.taggers)
	e.API = webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir))
	return e, nil
}

// Batch returns the shared UDP socket, which receivers tell where their
// fan-outs begin and end.
func (e *Engine) Batch() *BatchConn { return e.udpConn }

// UDPPort returns the port of the shared ICE UDP socket.
func (e *Engine) UDPPort() int { return e.udpConn.LocalAddr().(*net.UDPAddr).Port }

// Close releases the shared sockets.
func (e *Engine) Close() {
	_ = e.udpConn.Close()
	if e.tcpLn != nil {
		_ = e.tcpLn.Close()
	}
}

var videoFeedback = []webrtc.RTCPFeedback{
	{Type: webrtc.TypeRTCPFBGoogREMB},
	{Type: webrtc.TypeRTCPFBTransportCC},
	{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
	{Type: webrtc.TypeRTCPFBNACK},
	{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
}

func registerCodecs(me *webrtc.MediaEngine) error {
	audio := []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1", RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}}},
			PayloadType: 111},
		// RED (RFC 2198) carrying Opus, as LiveKit's clients publish with
		// red: true; subscribers without it get plain Opus (DownTrack).
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: codecs.MimeTypeRED, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "111/111"}, PayloadType: 63},
	}
	for _, c := range audio {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return fmt.Errorf("sfu: register %s: %w", c.MimeType, err)
		}
	}
	video := []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}, PayloadType: 96},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", RTCPFeedback: videoFeedback}, PayloadType: 125},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", RTCPFeedback: videoFeedback}, PayloadType: 108},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032", RTCPFeedback: videoFeedback}, PayloadType: 123},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000,
			SDPFmtpLine: "profile-id=0", RTCPFeedback: videoFeedback}, PayloadType: 98},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000, RTCPFeedback: videoFeedback}, PayloadType: 35},
	}
	// Each video codec gets an RTX payload type (RFC 4588), so that
	// publishers retransmit on a separate stream (pion restores those
	// packets transparently) and down-tracks can answer NACKs the same way.
	rtxPT := map[webrtc.PayloadType]webrtc.PayloadType{96: 97, 125: 107, 108: 109, 123: 118, 98: 99, 35: 36}
	for _, c := range video {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return fmt.Errorf("sfu: register %s: %w", c.MimeType, err)
		}
		rtx := webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000,
				SDPFmtpLine: fmt.Sprintf("apt=%d", c.PayloadType)},
			PayloadType: rtxPT[c.PayloadType],
		}
		if err := me.RegisterCodec(rtx, webrtc.RTPCodecTypeVideo); err != nil {
			return fmt.Errorf("sfu: register rtx for %s: %w", c.MimeType, err)
		}
	}
	for _, ext := range []struct {
		uri   string
		kinds []webrtc.RTPCodecType
	}{
		{sdp.SDESMidURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}},
		{sdp.SDESRTPStreamIDURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}},
		{sdp.SDESRepairRTPStreamIDURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}},
		{sdp.AudioLevelURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio}},
		{sdp.ABSSendTimeURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}},
	} {
		for _, k := range ext.kinds {
			if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: ext.uri}, k); err != nil {
				return fmt.Errorf("sfu: register extension %s: %w", ext.uri, err)
			}
		}
	}
	return nil
}

// registerInterceptors sets up what pion does per connection: NACKs and
// receiver reports towards publishers, sender reports towards subscribers,
// and transport-wide congestion control feedback, whose arrival times
// come from arrivals (the shared socket's stamps). NACKs from subscribers
// are not answered by an interceptor: DownTrack answers them from the
// receiver's single packet cache. Their logs go to lf, as pion's others do:
// pion's default logger would write their errors to stderr, unlimited.
func registerInterceptors(me *webrtc.MediaEngine, ir *interceptor.Registry, arrivals *arrivalClock, lf logging.LoggerFactory) error {
	gen, err := nack.NewGeneratorInterceptor(nack.WithGeneratorLoggerFactory(lf))
	if err != nil {
		return fmt.Errorf("sfu: nack generator: %w", err)
	}
	ir.Add(gen)
	rr, err := report.NewReceiverInterceptor(report.WithReceiverLoggerFactory(lf))
	if err != nil {
		return fmt.Errorf("sfu: receiver reports: %w", err)
	}
	ir.Add(rr)
	sr, err := report.NewSenderInterceptor(report.WithSenderLoggerFactory(lf))
	if err != nil {
		return fmt.Errorf("sfu: sender reports: %w", err)
	}
	ir.Add(sr)
	// What webrtc.ConfigureTWCCSender does, with our feedback interceptor.
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, kind)
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return fmt.Errorf("sfu: twcc feedback: %w", err)
		}
	}
	ir.Add(&twccFeedbackFactory{clock: arrivals, log: lf.NewLogger("twcc")})
	hx, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return fmt.Errorf("sfu: twcc header extension: %w", err)
	}
	ir.Add(hx)
	return nil
}
