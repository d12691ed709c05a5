package sfu

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bayan-dev/bayan/sfu/codecs"
	"github.com/bayan-dev/bayan/sfu/packetcache"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// keyframeInterval is the minimum time between two PLIs sent to a publisher
// for the same track, however many subscribers ask.
const keyframeInterval = 500 * time.Millisecond

// cacheKeep is how long a received packet stays available for
// retransmission, at least.
const cacheKeep = time.Second

// RTPSource is what a Receiver reads packets from: a *webrtc.TrackRemote in
// production, anything that yields decrypted RTP packets in tests.
type RTPSource interface {
	Read(b []byte) (int, error)
}

// trackRemoteSource adapts *webrtc.TrackRemote to RTPSource.
type trackRemoteSource struct{ t *webrtc.TrackRemote }

func (s trackRemoteSource) Read(b []byte) (int, error) {
	n, _, err := s.t.Read(b)
	return n, err
}

// Receiver reads one incoming RTP stream (one track, one simulcast layer),
// keeps its recent packets for retransmission and fans every packet out to
// the down-tracks subscribed to it.
type Receiver struct {
	kind   webrtc.RTPCodecType
	codec  webrtc.RTPCodecParameters
	ssrc   uint32
	source RTPSource
	cache  *packetcache.Cache
	stats  *Stats

	// writeRTCP sends RTCP to the publisher (PLI); nil in benchmarks.
	writeRTCP func([]rtcp.Packet) error
	// batch, when set, gathers the writes of one fan-out into one send.
	batch SendBatcher

	mu         sync.Mutex                   // serialises changes to downTracks
	downTracks atomic.Pointer[[]*DownTrack] // read lock-free per packet

	lastPLI atomic.Int64
	packets atomic.Uint64 // packets received on this stream
	bytes   atomic.Uint64 // bytes of those packets
	// temporalBytes splits bytes by VP8 temporal layer (0, 1, 2 and
	// above); a stream without temporal layers counts all as layer 0.
	temporalBytes [3]atomic.Uint64
	vp8           bool
	levels        audioLevels
	rx            receptionStats // loss and jitter, for connection quality
	// slot is the receiver's place in its room's AudioSelector; nil when
	// it is not ranked (video, or top-K forwarding off).
	slot   atomic.Pointer[audioSlot]
	closed chan struct{}
	done   chan struct{}
	once   sync.Once
}

// ReceiverParams describes the stream a Receiver forwards.
type ReceiverParams struct {
	Kind      webrtc.RTPCodecType
	Codec     webrtc.RTPCodecParameters
	SSRC      uint32
	Stats     *Stats
	WriteRTCP func([]rtcp.Packet) error
	// AudioLevelExtID is the negotiated id of the RFC 6464 audio level
	// header extension; 0 when it was not negotiated.
	AudioLevelExtID uint8
	// Batch, when set, is told where each fan-out begins and ends, so that
	// the socket below can send its packets together (see BatchConn).
	Batch SendBatcher
}

// SendBatcher gathers the packets written between BeginBatch and EndBatch
// and sends them together; *BatchConn is one.
type SendBatcher interface {
	BeginBatch()
	EndBatch()
}

// NewReceiver returns a Receiver for a track received from a publisher.
func NewReceiver(track *webrtc.TrackRemote, p ReceiverParams) *Receiver {
	p.Codec = track.Codec()
	p.SSRC = uint32(track.SSRC())
	p.Kind = track.Kind()
	return NewReceiverFromSource(trackRemoteSource{track}, p)
}

// AudioLevelExtensionID returns the id negotiated for the audio level header
// extension on recv, or 0.
func AudioLevelExtensionID(recv *webrtc.RTPReceiver) uint8 {
	for _, e := range recv.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			return uint8(e.ID)
		}
	}
	return 0
}

// NewReceiverFromSource returns a Receiver reading from any RTPSource.
func NewReceiverFromSource(src RTPSource, p ReceiverParams) *Receiver {
	// The cache only has to outlive a NACK round trip (and give top-K audio
	// its 100 ms of pre-roll): a second of packets, in full-size slots,
	// grown to fit the stream's rate. That is 32 slots for a low simulcast
	// layer and up to 512 (over 3 s of 720p at 1.7 Mbit/s) for a high one.
	cache := packetcache.NewGrowing(32, 512, cacheKeep)
	if p.Kind == webrtc.RTPCodecTypeAudio {
		cache = packetcache.NewGrowing(16, 128, cacheKeep)
	}
	if p.Stats == nil {
		p.Stats = &Stats{}
	}
	r := &Receiver{
		kind:      p.Kind,
		codec:     p.Codec,
		ssrc:      p.SSRC,
		source:    src,
		cache:     cache,
		stats:     p.Stats,
		writeRTCP: p.WriteRTCP,
		batch:     p.Batch,
		closed:    make(chan struct{}),
		done:      make(chan struct{}),
	}
	r.rx.clockRate = int64(p.Codec.ClockRate)
	r.vp8 = strings.EqualFold(p.Codec.MimeType, webrtc.MimeTypeVP8)
	if p.Kind == webrtc.RTPCodecTypeAudio {
		r.levels.extID = p.AudioLevelExtID
	}
	empty := []*DownTrack{}
	r.downTracks.Store(&empty)
	return r
}

// Codec returns the negotiated codec of the incoming stream.
func (r *Receiver) Codec() webrtc.RTPCodecParameters { return r.codec }

// Kind returns whether the stream is audio or video.
func (r *Receiver) Kind() webrtc.RTPCodecType { return r.kind }

// Start runs the read loop until the source ends or Close is called.
func (r *Receiver) Start() {
	go r.readLoop()
}

// Done is closed when the read loop has ended.
func (r *Receiver) Done() <-chan struct{} { return r.done }

func (r *Receiver) readLoop() {
	defer close(r.done)
	buf := make([]byte, MaxPacketSize)
	var hdr rtp.Header
	for {
		n, err := r.source.Read(buf)
		if err != nil {
			return // io.EOF or a closed transport: the track has ended
		}
		r.forward(&hdr, buf[:n], time.Now())
	}
}

// forward stores and fans out one packet. It is the hot path: no allocation,
// no lock shared with other tracks.
func (r *Receiver) forward(hdr *rtp.Header, pkt []byte, arrival time.Time) {
	hlen, err := hdr.Unmarshal(pkt)
	if err != nil || hlen > len(pkt) {
		return
	}
	now := arrival.UnixNano()
	// Padding-only probes count too: they take sequence numbers.
	r.rx.observe(hdr.SequenceNumber, hdr.Timestamp, now)
	payload, ok := rtpPayload(pkt, hlen, hdr.Padding)
	if !ok || hdr.Padding && len(payload) == 0 {
		return // malformed padding, or a padding-only probe: nothing to forward
	}
	r.packets.Add(1)
	r.bytes.Add(uint64(len(pkt)))
	p := packet{hdr: hdr, payload: payload, arrival: now}
	r.parse(&p)
	if r.vp8 {
		tid := 0
		if p.hasVP8 && p.vp8.HasTID {
			tid = min(int(p.vp8.TID), 2)
		}
		r.temporalBytes[tid].Add(uint64(len(pkt)))
	}
	if r.levels.extID != 0 && hdr.Extension {
		if ext := hdr.GetExtension(r.levels.extID); len(ext) > 0 {
			amp := amplitudeMillionths[ext[0]&0x7f] // 0 is the loudest, 127 silence
			r.levels.add(amp)
			if slot := r.slot.Load(); slot != nil {
				slot.levels.add(amp)
			}
		}
	}
	r.stats.PacketsIn.Add(1)
	r.stats.BytesIn.Add(uint64(len(pkt)))
	r.cache.Store(hdr.SequenceNumber, pkt, now)
	dts := *r.downTracks.Load()
	if len(dts) == 0 {
		return
	}
	if r.batch != nil {
		r.batch.BeginBatch()
	}
	for _, dt := range dts {
		dt.writeRTP(r, &p)
	}
	if r.batch != nil {
		r.batch.EndBatch()
	}
	r.stats.observeDelay(time.Since(arrival))
}

// parse reads, once for all down-tracks, what they decide on: the VP8
// descriptor and whether the packet starts a keyframe.
func (r *Receiver) parse(p *packet) {
	if r.vp8 {
		p.hasVP8 = codecs.ParseVP8Descriptor(p.payload, &p.vp8)
		p.keyframe = p.hasVP8 && p.vp8.Keyframe
		return
	}
	p.keyframe = codecs.IsKeyframe(r.codec.MimeType, p.payload)
}

// AddDownTrack makes dt receive every packet from now on.
func (r *Receiver) AddDownTrack(dt *DownTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.downTracks.Load()
	next := make([]*DownTrack, 0, len(old)+1)
	next = append(next, old...)
	next = append(next, dt)
	r.downTracks.Store(&next)
}

// RemoveDownTrack stops forwarding to dt.
func (r *Receiver) RemoveDownTrack(dt *DownTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.downTracks.Load()
	next := make([]*DownTrack, 0, len(old))
	for _, d := range old {
		if d != dt {
			next = append(next, d)
		}
	}
	r.downTracks.Store(&next)
}

// DownTrackCount returns how many down-tracks the receiver feeds.
func (r *Receiver) DownTrackCount() int { return len(*r.downTracks.Load()) }

// RequestKeyFrame asks the publisher for a keyframe, at most once per
// keyframeInterval. It reports whether a PLI was actually sent.
func (r *Receiver) RequestKeyFrame() bool {
	if r.kind != webrtc.RTPCodecTypeVideo || r.writeRTCP == nil {
		return false
	}
	now := time.Now().UnixNano()
	last := r.lastPLI.Load()
	if now-last < int64(keyframeInterval) || !r.lastPLI.CompareAndSwap(last, now) {
		return false
	}
	r.stats.PLIsOut.Add(1)
	_ = r.writeRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: r.ssrc}})
	return true
}

// Close stops forwarding. The read loop ends when the underlying track does.
func (r *Receiver) Close() {
	r.once.Do(func() { close(r.closed) })
}

// ByteCount returns how many bytes of RTP the stream has delivered.
func (r *Receiver) ByteCount() uint64 { return r.bytes.Load() }

// TemporalByteCounts returns the bytes of ByteCount by VP8 temporal layer
// (the last counts layer 2 and above); all of a stream without temporal
// layers (or not VP8) is in layer 0, when VP8, and nowhere otherwise.
func (r *Receiver) TemporalByteCounts() (b [3]uint64) {
	for i := range b {
		b[i] = r.temporalBytes[i].Load()
	}
	return b
}

// PacketCount returns how many packets the stream has delivered.
func (r *Receiver) PacketCount() uint64 { return r.packets.Load() }

// TakeAudioLevel returns the mean linear amplitude (0 silence, 1 full scale)
// of the audio since the last call and the number of packets it covers; a
// speaker detector calls it periodically.
func (r *Receiver) TakeAudioLevel() (level float64, packets uint64) { return r.levels.take() }

// TakeReceptionStats returns the loss and jitter of the stream since the
// last call (since it started for the first); a connection quality monitor
// calls it periodically. Loss here is loss between the publisher and this
// server, after retransmissions that arrived in time.
func (r *Receiver) TakeReceptionStats() ReceptionStats { return r.rx.take() }
