package loadtest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bayan-dev/bayan/sfu/codecs"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// A synthetic publisher: a camera track (three simulcast encodings on one
// transceiver, or one) and a microphone track, fed by a single goroutine
// from the encoders in media.go.

var (
	vp8Capability  = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	opusCapability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	opusPT         = byte(111) // the Opus payload type inside RED blocks
	redCapability  = webrtc.RTPCodecCapability{MimeType: "audio/red", ClockRate: 48000, Channels: 2, SDPFmtpLine: "111/111"}

	// The audio codecs as newAPI registers them.
	opusCodec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType: webrtc.PayloadType(opusPT),
	}
	redCodec = webrtc.RTPCodecParameters{RTPCodecCapability: redCapability, PayloadType: 63}
)

// sendStats counts what one encoding sent. Its bitrate, like a receiver's
// (measure.go), is the bytes of the frames after the first of each run of
// frames over the time from that first frame to the last: pauses (dynacast)
// are left out.
type sendStats struct {
	packets   atomic.Uint64
	bytes     atomic.Uint64 // RTP payload bytes
	rateBytes atomic.Uint64 // bytes of frames that followed another
	active    atomic.Int64  // ns between consecutive frames
	prev      int64         // Unix ns of the previous frame; 0 after a pause
}

// frame accounts a frame (or audio packet) of payload bytes sent at now.
func (s *sendStats) frame(payload, packets int, now int64) {
	s.packets.Add(uint64(packets))
	s.bytes.Add(uint64(payload))
	if s.prev != 0 {
		s.active.Add(now - s.prev)
		s.rateBytes.Add(uint64(payload))
	}
	s.prev = now
}

// pause leaves the time until the next frame out of the active time.
func (s *sendStats) pause() { s.prev = 0 }

// kbps is the encoding's payload bitrate while it was sending.
func (s *sendStats) kbps() float64 { return kbps(s.rateBytes.Load(), s.activeSeconds()) }

func (s *sendStats) activeSeconds() float64 { return float64(s.active.Load()) / 1e9 }

// totalBytes is what the publisher sent on all its encodings.
func (pb *publisher) totalBytes() uint64 {
	var n uint64
	for _, l := range pb.video {
		n += l.sent.bytes.Load()
	}
	if pb.audio != nil {
		n += pb.audio.sent.bytes.Load()
	}
	return n
}

// videoLayer is one encoding of the camera track.
type videoLayer struct {
	spec   layerSpec
	enc    *vp8Encoder
	track  *webrtc.TrackLocalStaticRTP
	pkt    rtp.Packet
	exts   []rtp.Extension // MID and RID, set once
	ts0    uint32
	keyReq atomic.Bool
	plis   atomic.Uint64
	// paused is set while the server says nobody watches the layer
	// (dynacast); sending resumes with a keyframe.
	paused    atomic.Bool
	wasPaused bool
	sent      sendStats
}

// audioTrack is the microphone track.
type audioTrack struct {
	enc   *audioEncoder
	track *webrtc.TrackLocalStaticRTP
	pkt   rtp.Packet
	exts  []rtp.Extension // the audio level, whose payload is level
	level [1]byte
	ts0   uint32
	sent  sendStats
	// red wraps each payload in RFC 2198 RED with the previous one as
	// redundancy, as LiveKit's web client does with red: true.
	red    bool
	redBuf [512]byte
	prev   [128]byte
	prevN  int
}

// publisher is the sending half of a participant.
type publisher struct {
	index     uint32
	audio     *audioTrack
	video     []*videoLayer
	simulcast bool

	audioCID, videoCID string
	audioTr, videoTr   *webrtc.RTPTransceiver
	videoSID           atomic.Value // string: the server's sid of the camera track
	ssrcSimulcast      bool

	// Set by run; read once it has returned.
	started, stopped time.Time
}

func newPublisher(spec *participantSpec) *publisher {
	pb := &publisher{index: uint32(spec.index), simulcast: spec.simulcast, ssrcSimulcast: spec.ssrcSimulcast}
	seed := uint64(spec.index)*0x9e3779b97f4a7c15 + uint64(time.Now().UnixNano())
	if spec.publishAudio {
		pb.audioCID = spec.identity + "-mic"
		pb.audio = &audioTrack{enc: newAudioEncoder(pb.index, seed), ts0: uint32(seed >> 7), red: spec.redAudio}
	}
	if spec.publishVideo {
		pb.videoCID = spec.identity + "-cam"
		layers := []layerSpec{singleLayer}
		if spec.simulcast {
			layers = simulcastLayers
		}
		for i, ls := range layers {
			s := seed + uint64(i+1)*0x2545f4914f6cdd1d
			pb.video = append(pb.video, &videoLayer{spec: ls, enc: newVP8Encoder(ls, pb.index, s), ts0: uint32(s >> 11)})
		}
	}
	return pb
}

// addTrackRequests are what the server is told before the offer.
func (pb *publisher) addTrackRequests() []*livekit.AddTrackRequest {
	var reqs []*livekit.AddTrackRequest
	if pb.audio != nil {
		reqs = append(reqs, &livekit.AddTrackRequest{
			Cid: pb.audioCID, Name: "microphone", Type: livekit.TrackType_AUDIO, Source: livekit.TrackSource_MICROPHONE,
			DisableRed: !pb.audio.red, // as LiveKit's web client says it with red: false
		})
	}
	if len(pb.video) > 0 {
		req := &livekit.AddTrackRequest{
			Cid: pb.videoCID, Name: "camera", Type: livekit.TrackType_VIDEO, Source: livekit.TrackSource_CAMERA,
			Width: 1280, Height: 720,
		}
		for _, l := range pb.video {
			req.Layers = append(req.Layers, &livekit.VideoLayer{
				Quality: l.spec.quality, Width: l.spec.width, Height: l.spec.height, Bitrate: uint32(l.spec.bitrate), Rid: l.spec.rid,
			})
		}
		reqs = append(reqs, req)
	}
	return reqs
}

// addTracks creates the local tracks on pc: simulcast as pion's
// simulcast sender does it, the "q" encoding added with the transceiver and
// "h" and "f" with AddEncoding on its sender. The RTCP readers start with
// the transceivers; they return when pc closes.
func (pb *publisher) addTracks(p *participant, pc *webrtc.PeerConnection) error {
	sendonly := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}
	stream := p.spec.identity
	if pb.audio != nil {
		// Opus binds to any answer; negotiated switches to RED if the
		// answer prefers it. Only what may be sent is offered: a server
		// that prefers RED (LiveKit) would answer it to an Opus-only
		// sender and drop its packets.
		t, err := webrtc.NewTrackLocalStaticRTP(opusCapability, pb.audioCID, stream)
		if err != nil {
			return err
		}
		pb.audio.track = t
		if pb.audioTr, err = pc.AddTransceiverFromTrack(t, sendonly); err != nil {
			return fmt.Errorf("add audio transceiver: %w", err)
		}
		offered := []webrtc.RTPCodecParameters{opusCodec}
		if pb.audio.red {
			offered = []webrtc.RTPCodecParameters{redCodec, opusCodec}
		}
		if err := pb.audioTr.SetCodecPreferences(offered); err != nil {
			return fmt.Errorf("audio codecs: %w", err)
		}
		sender := pb.audioTr.Sender()
		p.goTracked(func() { readRTCP(sender.Read, nil) })
	}
	for i, l := range pb.video {
		var opts []func(*webrtc.TrackLocalStaticRTP)
		if l.spec.rid != "" {
			opts = append(opts, webrtc.WithRTPStreamID(l.spec.rid))
		}
		t, err := webrtc.NewTrackLocalStaticRTP(vp8Capability, pb.videoCID, stream, opts...)
		if err != nil {
			return err
		}
		l.track = t
		if i == 0 {
			if pb.videoTr, err = pc.AddTransceiverFromTrack(t, sendonly); err != nil {
				return fmt.Errorf("add video transceiver: %w", err)
			}
		} else if err := pb.videoTr.Sender().AddEncoding(t); err != nil {
			return fmt.Errorf("add simulcast encoding %q: %w", l.spec.rid, err)
		}
	}
	if pb.videoTr != nil {
		sender := pb.videoTr.Sender()
		for _, l := range pb.video {
			onPLI := func() {
				l.plis.Add(1)
				l.keyReq.Store(true)
			}
			if l.spec.rid == "" {
				p.goTracked(func() { readRTCP(sender.Read, onPLI) })
			} else {
				rid := l.spec.rid
				p.goTracked(func() {
					readRTCP(func(b []byte) (int, interceptor.Attributes, error) { return sender.ReadSimulcast(b, rid) }, onPLI)
				})
			}
		}
	}
	return nil
}

// negotiated prepares sending once answer is applied: the microphone
// sends the codec the answer lists first (RED or Opus), and the header
// extensions are filled in: MID and RID on simulcast packets (the server
// maps the encodings' SSRCs to their rids with them), the audio level on
// audio packets.
func (pb *publisher) negotiated(answer string) error {
	if pb.audio != nil {
		a := pb.audio
		if err := a.useAnswered(answer, pb.audioTr); err != nil {
			return err
		}
		a.pkt.Version = 2
		for _, e := range pb.audioTr.Sender().GetParameters().HeaderExtensions {
			if e.URI == sdp.AudioLevelURI {
				if err := a.pkt.SetExtension(uint8(e.ID), a.level[:]); err != nil {
					return fmt.Errorf("audio level extension: %w", err)
				}
				a.exts = clip(a.pkt.Extensions)
			}
		}
	}
	if pb.videoTr == nil {
		return nil
	}
	var midID, ridID uint8
	for _, e := range pb.videoTr.Sender().GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		}
	}
	mid := pb.videoTr.Mid()
	for _, l := range pb.video {
		l.pkt.Version = 2
		if l.spec.rid == "" || pb.ssrcSimulcast {
			continue // the SSRC says which encoding a packet is
		}
		if midID == 0 || ridID == 0 || mid == "" {
			return errors.New("the server did not negotiate the MID and RID header extensions simulcast needs")
		}
		if err := l.pkt.SetExtension(midID, []byte(mid)); err != nil {
			return fmt.Errorf("mid extension: %w", err)
		}
		if err := l.pkt.SetExtension(ridID, []byte(l.spec.rid)); err != nil {
			return fmt.Errorf("rid extension: %w", err)
		}
		l.exts = clip(l.pkt.Extensions)
	}
	return nil
}

// useAnswered makes the microphone send the codec answer lists first for
// its transceiver tr: RED-wrapped Opus on a RED track, or plain Opus on the
// Opus track it was created with.
func (a *audioTrack) useAnswered(answer string, tr *webrtc.RTPTransceiver) error {
	mime, err := answeredCodec(answer, tr.Mid())
	if err != nil {
		return fmt.Errorf("microphone: %w", err)
	}
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeOpus):
		a.red = false
		return nil
	case !strings.EqualFold(mime, redCapability.MimeType):
		return fmt.Errorf("microphone: answered with %s, want Opus or RED", mime)
	}
	t, err := webrtc.NewTrackLocalStaticRTP(redCapability, a.track.ID(), a.track.StreamID())
	if err != nil {
		return err
	}
	if err := tr.Sender().ReplaceTrack(t); err != nil {
		return fmt.Errorf("microphone: switch to RED: %w", err)
	}
	a.track, a.red = t, true
	return nil
}

// announce returns the offer the server is sent: as made, or with the
// simulcast encodings declared the older way, by SSRC in a SIM group
// (lowest first) with the RID lines and RID header extensions taken out.
func (pb *publisher) announce(offer string) string {
	if !pb.ssrcSimulcast || pb.videoTr == nil {
		return offer
	}
	var group strings.Builder
	group.WriteString("a=ssrc-group:SIM")
	for _, e := range pb.videoTr.Sender().GetParameters().Encodings {
		fmt.Fprintf(&group, " %d", e.SSRC)
	}
	lines := strings.SplitAfter(offer, "\n")
	kept := make([]string, 0, len(lines)+1) // one line more: not in place
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "a=rid:"), strings.HasPrefix(l, "a=simulcast:"),
			strings.HasPrefix(l, "a=extmap:") && strings.Contains(l, "rtp-stream-id"):
			continue
		case strings.HasPrefix(l, "a=mid:"+pb.videoTr.Mid()+"\r"):
			kept = append(kept, l, group.String()+"\r\n")
			continue
		}
		kept = append(kept, l)
	}
	return strings.Join(kept, "")
}

// clip returns s with its capacity cut to its length: an interceptor
// appending its extension (TWCC) to a packet's copy then gets its own
// array instead of writing into ours.
func clip(s []rtp.Extension) []rtp.Extension { return s[:len(s):len(s)] }

// run sends media until ctx ends or stop is closed: a frame on every encoding 30 times a
// second (a keyframe every 2 s, and on an encoding whose RTCP carried a
// PLI), an audio packet every 20 ms.
func (pb *publisher) run(ctx context.Context, stop <-chan struct{}) {
	start := time.Now()
	pb.started = start
	defer func() { pb.stopped = time.Now() }()
	var videoC, audioC <-chan time.Time
	if len(pb.video) > 0 {
		t := time.NewTicker(time.Second / videoFPS)
		defer t.Stop()
		videoC = t.C
	}
	if pb.audio != nil {
		t := time.NewTicker(audioInterval)
		defer t.Stop()
		audioC = t.C
	}
	frame := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-videoC:
			periodic := frame%gopFrames == 0
			frame++
			for _, l := range pb.video {
				if l.paused.Load() {
					if !l.wasPaused {
						l.wasPaused = true
						l.sent.pause()
					}
					continue
				}
				key := l.keyReq.Swap(false) || periodic || l.wasPaused
				l.wasPaused = false
				l.sendFrame(start, key)
			}
		case <-audioC:
			pb.audio.send(start)
		}
	}
}

// rtpTime converts time since start to RTP units.
func rtpTime(d time.Duration, clock int64) uint32 {
	return uint32(int64(d) * clock / int64(time.Second))
}

// sendFrame packetizes and sends one frame. The packet, its extensions and
// the payload buffer are reused.
func (l *videoLayer) sendFrame(start time.Time, key bool) {
	now := time.Now()
	l.enc.startFrame(key, now)
	l.pkt.Timestamp = l.ts0 + rtpTime(now.Sub(start), 90000)
	var bytes, packets int
	for {
		payload, last := l.enc.nextPacket()
		l.pkt.Marker = last
		l.pkt.Payload = payload
		l.pkt.Extensions = l.exts
		if err := l.track.WriteRTP(&l.pkt); err == nil {
			bytes += len(payload)
			packets++
		}
		l.pkt.SequenceNumber++
		if last {
			break
		}
	}
	l.sent.frame(bytes, packets, now.UnixNano())
}

func (a *audioTrack) send(start time.Time) {
	now := time.Now()
	payload, level := a.enc.next(now)
	a.level[0] = level
	a.pkt.Timestamp = a.ts0 + rtpTime(now.Sub(start), 48000)
	a.pkt.Marker = false
	a.pkt.Payload = payload
	if a.red {
		a.pkt.Payload = codecs.WrapRED(a.redBuf[:0], opusPT, a.prev[:a.prevN], 960, payload)
		a.prevN = copy(a.prev[:], payload)
	}
	a.pkt.Extensions = a.exts
	if err := a.track.WriteRTP(&a.pkt); err == nil {
		a.sent.frame(len(payload), 1, now.UnixNano())
	}
	a.pkt.SequenceNumber++
}

// onQualityUpdate pauses the layers nobody watches and resumes the others,
// as browsers do for LiveKit's dynacast.
func (pb *publisher) onQualityUpdate(u *livekit.SubscribedQualityUpdate) {
	sid, _ := pb.videoSID.Load().(string)
	if sid == "" || u.GetTrackSid() != sid || !pb.simulcast {
		return
	}
	qualities := u.GetSubscribedQualities()
	for _, c := range u.GetSubscribedCodecs() {
		if strings.EqualFold(c.GetCodec(), "vp8") && len(c.GetQualities()) > 0 {
			qualities = c.GetQualities()
		}
	}
	for _, q := range qualities {
		for _, l := range pb.video {
			if l.spec.quality == q.GetQuality() {
				l.paused.Store(!q.GetEnabled())
			}
		}
	}
}

// readRTCP reads a sender's RTCP until the connection closes (the
// interceptors, the NACK responder among them, act on what is read) and
// calls onPLI for picture loss indications and full intra requests.
func readRTCP(read func([]byte) (int, interceptor.Attributes, error), onPLI func()) {
	buf := make([]byte, 1500)
	for {
		n, _, err := read(buf)
		if err != nil {
			return
		}
		if onPLI != nil && hasKeyframeRequest(buf[:n]) {
			onPLI()
		}
	}
}

// hasKeyframeRequest walks a compound RTCP packet for PLI or FIR without
// unmarshalling it.
func hasKeyframeRequest(b []byte) bool {
	for len(b) >= 4 {
		pt, fmtField := b[1], b[0]&0x1f
		if pt == 206 && (fmtField == 1 || fmtField == 4) {
			return true
		}
		n := (int(binary.BigEndian.Uint16(b[2:])) + 1) * 4
		if n > len(b) {
			return false
		}
		b = b[n:]
	}
	return false
}
