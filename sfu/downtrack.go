package sfu

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bayan-dev/bayan/sfu/bwe"
	"github.com/bayan-dev/bayan/sfu/codecs"
	"github.com/bayan-dev/bayan/sfu/seqmap"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// ErrCodecNotNegotiated is returned by Bind when the subscriber's peer
// connection did not accept the publisher's codec.
var ErrCodecNotNegotiated = errors.New("sfu: codec not negotiated by subscriber")

// DownTrack is one subscriber's copy of a published track. It implements
// webrtc.TrackLocal: added to the subscriber's peer connection, it is bound
// once negotiation settles and from then on rewrites and writes every packet
// its Receiver hands it.
//
// A simulcast track has one Receiver per layer. The down-track forwards one
// of them (current); SwitchTo names another (target), and the down-track
// keeps forwarding current until target delivers a keyframe, then switches
// on that keyframe, so the subscriber never sees a picture it cannot decode.
type DownTrack struct {
	id, streamID string
	receiver     *Receiver // the first layer: codec and kind of the track
	mime         string
	isVideo      bool
	stats        *Stats

	// mu serialises the packet path of this down-track only: the receivers'
	// read loops and retransmissions from the RTCP loop.
	mu           sync.Mutex
	current      *Receiver // the layer being forwarded
	target       *Receiver // the layer wanted; current until a switch is asked
	rw           *seqmap.Rewriter
	ssrc         uint32
	payloadType  uint8
	writer       webrtc.TrackLocalWriter
	needKeyframe bool
	redPrimary   bool // RED in, Opus out: forward the primary encoding only
	dropCurrent  bool // forward nothing of current until the target's keyframe
	hdr          rtp.Header
	ext          [2]rtp.Extension // room for interceptors' extensions
	rtxBuf       [MaxPacketSize]byte
	rtxHdr       rtp.Header
	rtxPayload   [MaxPacketSize + 2]byte
	rtxSSRC      uint32 // 0 unless RTX was negotiated
	rtxPT        uint8
	rtxSeq       uint16
	lastIn       uint16 // incoming sequence number of the newest packet sent
	sentAny      bool   // lastIn is valid
	// cursor follows the outgoing sequence for loss accounting (see
	// sendCursor); outStarted says cursor.highest is valid.
	cursor     sendCursor
	outStarted bool

	remote remoteStats // the subscriber's receiver reports

	// vp8 keeps PictureIDs continuous and thins temporal layers; nil for
	// other codecs. A payload it changes is built in out, never in the
	// receiver's buffer, which every down-track of the fan-out reads.
	vp8 *codecs.VP8Munger
	out [MaxPacketSize]byte

	// listener gates an audio track by its room's top-K selection; nil
	// forwards everything. gated records that a packet was withheld, so
	// the next one let through starts a new epoch with a pre-roll.
	listener atomic.Pointer[AudioListener]
	gated    atomic.Bool

	// est, when set, is told of every packet sent (by its transport-wide
	// sequence number, extension twccExt) and of the subscriber's feedback.
	est     atomic.Pointer[bwe.Estimator]
	twccExt uint8 // under mu

	// awaitSince is when the down-track was first seen awaiting a keyframe
	// by NudgeKeyframe, lastNudge when that last asked for one; both under
	// mu, zero when not awaiting.
	awaitSince, lastNudge time.Time

	bound  atomic.Bool
	paused atomic.Bool
	closed atomic.Bool

	packetsOut atomic.Uint64
	bytesOut   atomic.Uint64
	firstOut   atomic.Int64 // arrival (Unix ns) of the first packet sent; 0 before
}

// NewDownTrack returns a down-track fed by r. id and streamID become the
// subscriber's MediaStreamTrack id and stream id (LiveKit clients read the
// publisher's participant and track IDs from them).
func NewDownTrack(r *Receiver, id, streamID string, stats *Stats) *DownTrack {
	if stats == nil {
		stats = r.stats
	}
	d := &DownTrack{
		id:           id,
		streamID:     streamID,
		receiver:     r,
		current:      r,
		target:       r,
		mime:         r.codec.MimeType,
		isVideo:      r.kind == webrtc.RTPCodecTypeVideo,
		stats:        stats,
		rw:           seqmap.NewRewriter(r.codec.ClockRate),
		needKeyframe: r.kind == webrtc.RTPCodecTypeVideo,
		remote:       remoteStats{clockRate: int64(r.codec.ClockRate)},
	}
	if d.isVideo && strings.EqualFold(d.mime, webrtc.MimeTypeVP8) {
		d.vp8 = codecs.NewVP8Munger()
	}
	return d
}

// ID returns the track id the subscriber sees.
func (d *DownTrack) ID() string { return d.id }

// RID is empty: a down-track sends a single stream.
func (d *DownTrack) RID() string { return "" }

// StreamID returns the stream id the subscriber sees.
func (d *DownTrack) StreamID() string { return d.streamID }

// Kind returns audio or video.
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.receiver.kind }

// Codec returns the capability to offer the subscriber: the publisher's codec.
func (d *DownTrack) Codec() webrtc.RTPCodecCapability { return d.receiver.codec.RTPCodecCapability }

// Receiver returns the receiver this down-track forwards now.
func (d *DownTrack) Receiver() *Receiver {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.current
}

// Target returns the receiver this down-track forwards or is switching to.
func (d *DownTrack) Target() *Receiver {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.target
}

// SwitchTo makes r (another layer of the same track) the layer to forward.
// The switch happens on r's next keyframe, which is asked for now.
func (d *DownTrack) SwitchTo(r *Receiver) { d.switchTo(r, false) }

// SwitchDown is SwitchTo for a layer the link cannot carry any more: the
// current layer stops at once, and nothing is forwarded until the target's
// keyframe. A short freeze costs less than packets lost in a full queue.
func (d *DownTrack) SwitchDown(r *Receiver) { d.switchTo(r, true) }

func (d *DownTrack) switchTo(r *Receiver, dropCurrent bool) {
	d.mu.Lock()
	if d.closed.Load() || r == d.target {
		d.mu.Unlock()
		return
	}
	d.dropCurrent = dropCurrent && r != d.current
	abandoned := d.target
	if abandoned == d.current {
		abandoned = nil // still forwarded until the switch
	}
	d.target = r
	attach := r != d.current
	d.mu.Unlock()
	if abandoned != nil {
		abandoned.RemoveDownTrack(d)
	}
	if attach {
		r.AddDownTrack(d)
		r.RequestKeyFrame()
	}
}

// NudgeAfter is how long a down-track may await a keyframe before
// NudgeKeyframe asks for one again, and how often it asks after that.
const NudgeAfter = time.Second

// NudgeKeyframe is the down-track's watchdog, called periodically (every
// few hundred milliseconds) by its owner. A down-track that awaits a
// keyframe asks for one whenever a packet of the awaited layer arrives;
// a request that is lost (RTCP is UDP too) or that reaches an encoder not
// running yet (a layer about to resume, a camera being replaced) is asked
// again only by packets that may not come. So, when it has awaited one for
// NudgeAfter, NudgeKeyframe asks the awaited layer again, then at most
// every NudgeAfter while the wait lasts.
//
// It returns how long the down-track has awaited a keyframe (0 when it is
// not awaiting one: forwarding, paused or not bound) and whether a PLI
// went out for it.
func (d *DownTrack) NudgeKeyframe(now time.Time) (waited time.Duration, asked bool) {
	if !d.isVideo {
		return 0, false
	}
	d.mu.Lock()
	if !d.bound.Load() || d.paused.Load() || d.closed.Load() || !d.needKeyframe && d.target == d.current {
		d.awaitSince, d.lastNudge = time.Time{}, time.Time{}
		d.mu.Unlock()
		return 0, false
	}
	if d.awaitSince.IsZero() {
		d.awaitSince = now
	}
	waited = now.Sub(d.awaitSince)
	asked = waited >= NudgeAfter && now.Sub(d.lastNudge) >= NudgeAfter
	if asked {
		d.lastNudge = now
	}
	target := d.target
	d.mu.Unlock()
	if asked {
		// Throttled like every request: one just sent for another
		// subscriber serves this one too.
		asked = target.RequestKeyFrame()
	}
	return waited, asked
}

// keyframeSource is the receiver to ask for keyframes: the wanted layer.
func (d *DownTrack) keyframeSource() *Receiver {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.target
}

// Bind is called by pion when the subscriber's negotiation completes.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	if c, ok := d.bindCodec(ctx, d.mime, true); ok {
		return c, nil
	}
	if codecs.IsRED(d.mime) {
		// A subscriber without RED gets the primary encoding, as Opus.
		if c, ok := d.bindCodec(ctx, webrtc.MimeTypeOpus, false); ok {
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, fmt.Errorf("%w: %s", ErrCodecNotNegotiated, d.mime)
}

// bindCodec binds to the first negotiated codec of the given type (with
// the receiver's fmtp when exact); ok is false when there is none.
func (d *DownTrack) bindCodec(ctx webrtc.TrackLocalContext, mime string, exact bool) (webrtc.RTPCodecParameters, bool) {
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, mime) && (!exact || codecs.FmtpMatches(d.receiver.codec, c)) {
			d.mu.Lock()
			d.redPrimary = codecs.IsRED(d.mime) && !codecs.IsRED(c.MimeType)
			d.ssrc = uint32(ctx.SSRC())
			d.payloadType = uint8(c.PayloadType)
			d.writer = ctx.WriteStream()
			d.rtxSSRC, d.rtxPT = 0, 0
			d.twccExt = 0
			for _, e := range ctx.HeaderExtensions() {
				if e.URI == sdp.TransportCCURI {
					d.twccExt = uint8(e.ID)
				}
			}
			if pt, ok := codecs.RTXPayloadType(ctx.CodecParameters(), c.PayloadType); ok && ctx.SSRCRetransmission() != 0 {
				d.rtxSSRC, d.rtxPT = uint32(ctx.SSRCRetransmission()), pt
			}
			d.mu.Unlock()
			d.bound.Store(true)
			if d.isVideo {
				d.keyframeSource().RequestKeyFrame()
			}
			return c, true
		}
	}
	return webrtc.RTPCodecParameters{}, false
}

// Unbind is called by pion when the track is removed from the connection.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.bound.Store(false)
	return nil
}

// SetPaused stops (true) or resumes (false) forwarding, as when the
// publisher mutes or the subscriber disables the track. Resuming continues
// the outgoing sequence seamlessly and, for video, waits for a keyframe.
func (d *DownTrack) SetPaused(paused bool) {
	d.mu.Lock()
	if d.paused.Load() == paused {
		d.mu.Unlock()
		return
	}
	if !paused {
		// Re-arm before clearing the flag: a packet that sees the track
		// unpaused must also see the new epoch and the keyframe wait.
		d.newEpoch()
		d.needKeyframe = d.isVideo
	}
	d.paused.Store(paused)
	target := d.target
	d.mu.Unlock()
	if !paused && d.isVideo {
		target.RequestKeyFrame()
	}
}

// SetAudioListener makes the down-track forward only what the selector
// its receiver is attached to lets l hear (see AudioListener); nil removes
// the gate.
func (d *DownTrack) SetAudioListener(l *AudioListener) { d.listener.Store(l) }

// Paused reports whether forwarding is paused.
func (d *DownTrack) Paused() bool { return d.paused.Load() }

// SetEstimator makes the down-track feed est, the bandwidth estimator of
// the connection it is sent on. Call it before the track is bound.
func (d *DownTrack) SetEstimator(est *bwe.Estimator) { d.est.Store(est) }

// Close stops the down-track for good and detaches it from its receiver.
func (d *DownTrack) Close() {
	if d.closed.Swap(true) {
		return
	}
	d.mu.Lock()
	current, target := d.current, d.target
	d.mu.Unlock()
	current.RemoveDownTrack(d)
	if target != current {
		target.RemoveDownTrack(d)
	}
}

// PacketsSent returns how many packets (including retransmissions) were sent.
func (d *DownTrack) PacketsSent() uint64 { return d.packetsOut.Load() }

// ForwardingSince returns when the first packet the down-track sent reached
// the server, the zero time before any was sent: from then on the
// subscriber has the track.
func (d *DownTrack) ForwardingSince() time.Time {
	if n := d.firstOut.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// writeRTP forwards one packet from the receiver from, in three steps:
// admit it (switching layer, or resuming, on a keyframe), rewrite it onto
// the outgoing stream, send it. Called from that receiver's read loop.
func (d *DownTrack) writeRTP(from *Receiver, p *packet) {
	if !d.bound.Load() || d.paused.Load() || d.withheld(from) {
		return
	}
	d.mu.Lock()
	v, left := d.admit(from, p.keyframe)
	n, err, sent := 0, error(nil), false
	if v == take {
		if seq, ts, payload, ok := d.rewrite(from, p); ok {
			n, err, sent = len(payload), d.send(p, seq, ts, payload), true
		}
	}
	d.mu.Unlock()
	if v == awaitKeyframe {
		// Throttled: repeats at most every keyframeInterval while waiting.
		from.RequestKeyFrame()
	}
	if sent {
		d.account(n, err)
	}
	if left != nil {
		left.RemoveDownTrack(d)
	}
}

// verdict is what a down-track does with a packet of one of its layers.
type verdict uint8

const (
	skip          verdict = iota // not wanted: a layer being left, or current while switching down
	awaitKeyframe                // wanted, but the subscriber must start on a keyframe
	take                         // forwarded
)

// withheld reports whether top-K selection keeps from's audio from this
// down-track now. The check of a down-track without a listener inlines.
func (d *DownTrack) withheld(from *Receiver) bool {
	l := d.listener.Load()
	return l != nil && d.gate(l, from)
}

// gate reports whether l may not hear from now, noting it so that the next
// packet let through starts a new epoch with a pre-roll.
func (d *DownTrack) gate(l *AudioListener, from *Receiver) bool {
	if l.allows(from.slot.Load()) {
		return false
	}
	if !d.gated.Load() {
		d.gated.Store(true)
	}
	return true
}

// admit decides on a packet of from, keyframe or not; callers hold d.mu.
// Forwarding on as before, the common case, inlines.
func (d *DownTrack) admit(from *Receiver, keyframe bool) (v verdict, left *Receiver) {
	if from == d.current && !d.needKeyframe && !d.dropCurrent {
		return take, nil
	}
	return d.admitChange(from, keyframe)
}

// admitChange is admit while a layer switch, or a keyframe, is awaited. The
// target layer's keyframe makes it current, and left is the layer it
// replaces, for the caller to detach once d.mu is released.
func (d *DownTrack) admitChange(from *Receiver, keyframe bool) (v verdict, left *Receiver) {
	switch {
	case from == d.current && d.dropCurrent:
		return skip, nil
	case from != d.current && from != d.target:
		return skip, nil // a layer being left: packets still in its fan-out
	case (from != d.current || d.needKeyframe) && !keyframe:
		return awaitKeyframe, nil
	}
	if from != d.current {
		// The wanted layer's keyframe: switch here, seamlessly.
		left, d.current = d.current, from
		d.dropCurrent = false
		d.newEpoch()
	}
	d.needKeyframe = false
	return take, left
}

// rewrite maps p onto the outgoing stream: the sequence number, timestamp
// and payload it goes out with. ok is false when it is left out (a thinned
// VP8 temporal layer, a malformed RED payload, a packet of an earlier
// epoch). Callers hold d.mu.
func (d *DownTrack) rewrite(from *Receiver, p *packet) (seq uint16, ts uint32, payload []byte, ok bool) {
	if d.gated.Load() && d.gated.Swap(false) {
		// Let through again: continue the outgoing stream after what was
		// last sent, starting with the packets that got it selected.
		d.rw.Switch()
		d.replay(from, p.hdr, p.arrival)
	}
	in := p.hdr.SequenceNumber
	payload = p.payload
	var pic uint16
	var tl0 uint8
	vp8 := d.vp8 != nil && p.hasVP8
	if vp8 {
		if pic, tl0, ok = d.vp8.Forward(&p.vp8); !ok {
			d.rw.Drop(in) // later packets close the gap
			return 0, 0, nil, false
		}
	}
	if d.redPrimary {
		if payload, ok = codecs.REDPrimary(payload); !ok {
			d.rw.Drop(in) // later packets close the gap
			return 0, 0, nil, false
		}
	}
	if seq, ts, ok = d.rw.Rewrite(in, p.hdr.Timestamp, p.arrival); !ok {
		return 0, 0, nil, false
	}
	if vp8 {
		// Never in the receiver's buffer, which every down-track reads.
		payload = codecs.RewriteVP8(d.out[:], payload, &p.vp8, pic, tl0)
	}
	return seq, ts, payload, true
}

// send writes the rewritten packet and tells the loss cursor and the
// bandwidth estimator; it returns the writer's error. Callers hold d.mu.
func (d *DownTrack) send(p *packet, seq uint16, ts uint32, payload []byte) error {
	in := p.hdr.SequenceNumber
	if !d.sentAny {
		d.firstOut.Store(p.arrival)
	}
	if !d.sentAny || int16(in-d.lastIn) > 0 {
		d.lastIn, d.sentAny = in, true
	}
	d.fillHeader(&d.hdr, p.hdr, seq, ts)
	_, err := d.writer.WriteRTP(&d.hdr, payload)
	d.advanceCursor(seq, err == nil)
	if est := d.est.Load(); est != nil && d.twccExt != 0 && err == nil {
		// pion's TWCC interceptor has just numbered the packet in d.hdr.
		if ext := d.hdr.GetExtension(d.twccExt); len(ext) == 2 {
			est.OnSent(uint16(ext[0])<<8|uint16(ext[1]), d.hdr.MarshalSize()+len(payload), est.Now())
		}
	}
	return err
}

// advanceCursor records that outgoing sequence number seq was used, and
// whether its packet went out; callers hold d.mu.
func (d *DownTrack) advanceCursor(seq uint16, sent bool) {
	if !d.outStarted {
		d.outStarted = true
		d.cursor.highest = int64(seq)
	} else if delta := int64(int16(seq - uint16(d.cursor.highest))); delta > 0 {
		d.cursor.highest += delta
	}
	if sent {
		d.cursor.sent++
	}
}

// newEpoch makes the next packet sent continue the outgoing stream after the
// last one, whatever its source's numbering; callers hold d.mu.
func (d *DownTrack) newEpoch() {
	d.rw.Switch()
	if d.vp8 != nil {
		d.vp8.Switch()
	}
}

// SetMaxTemporalLayer sets the highest VP8 temporal layer forwarded (0 is
// the base layer); negative forwards all. Frames above it are left out
// without a gap in sequence numbers or PictureIDs; raising it takes effect
// at the next frame the subscriber can decode. Other codecs ignore it.
func (d *DownTrack) SetMaxTemporalLayer(tid int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.vp8 != nil {
		d.vp8.SetMaxTemporalLayer(tid)
	}
}

// fillHeader builds the outgoing header in out; callers hold d.mu.
func (d *DownTrack) fillHeader(out, in *rtp.Header, seq uint16, ts uint32) {
	*out = rtp.Header{
		Version:        2,
		Marker:         in.Marker,
		PayloadType:    d.payloadType,
		SequenceNumber: seq,
		Timestamp:      ts,
		SSRC:           d.ssrc,
		Extensions:     d.ext[:0],
	}
}

func (d *DownTrack) account(payloadLen int, err error) {
	if err != nil {
		d.stats.ForwardDropped.Add(1)
		return
	}
	d.packetsOut.Add(1)
	d.bytesOut.Add(uint64(payloadLen + 12))
	d.stats.PacketsOut.Add(1)
	d.stats.BytesOut.Add(uint64(payloadLen + 12))
}

// retransmit resends the packet that went out as outSeq, if the receiver's
// cache still has it and it belongs to the current epoch. A paused
// down-track resends nothing: its subscriber waits for the keyframe it
// resumes with, and a link too slow for the video has no room for its
// repairs either.
func (d *DownTrack) retransmit(outSeq uint16) {
	if d.paused.Load() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	inSeq, ok := d.rw.IncomingSeq(outSeq)
	if !ok || d.writer == nil {
		return
	}
	n := d.current.cache.Get(inSeq, d.rtxBuf[:])
	if n == 0 {
		return
	}
	hlen, err := d.rtxHdr.Unmarshal(d.rtxBuf[:n])
	if err != nil {
		return
	}
	payload, ok := rtpPayload(d.rtxBuf[:n], hlen, d.rtxHdr.Padding)
	if !ok {
		return
	}
	seq, ts, ok := d.rw.Map(inSeq, d.rtxHdr.Timestamp)
	if !ok {
		return
	}
	var desc codecs.VP8Descriptor
	if d.vp8 != nil && codecs.ParseVP8Descriptor(payload, &desc) {
		// The ids it first went out with; rtxBuf is ours to rewrite.
		pic, tl0, ok := d.vp8.Lookup(&desc)
		if !ok {
			return
		}
		payload = codecs.RewriteVP8(payload, payload, &desc, pic, tl0)
	}
	if d.redPrimary {
		if payload, ok = codecs.REDPrimary(payload); !ok {
			return
		}
	}
	var hdr rtp.Header
	d.fillHeader(&hdr, &d.rtxHdr, seq, ts)
	hdr.Extensions = nil
	if d.rtxSSRC != 0 {
		// RFC 4588: the original sequence number leads the payload of a
		// packet on the retransmission stream.
		d.rtxPayload[0], d.rtxPayload[1] = byte(seq>>8), byte(seq)
		n := copy(d.rtxPayload[2:], payload)
		payload = d.rtxPayload[:2+n]
		hdr.SSRC, hdr.PayloadType, hdr.SequenceNumber = d.rtxSSRC, d.rtxPT, d.rtxSeq
		d.rtxSeq++
	}
	_, err = d.writer.WriteRTP(&hdr, payload)
	if err == nil {
		d.stats.Retransmits.Add(1)
	}
	d.account(len(payload), err)
}

// HandleRTCP acts on RTCP the subscriber sent about this track: NACKs are
// answered from the cache, PLI/FIR are passed (throttled) to the publisher.
func (d *DownTrack) HandleRTCP(pkts []rtcp.Packet) {
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.TransportLayerNack:
			for _, pair := range p.Nacks {
				for _, seq := range pair.PacketList() {
					d.stats.NACKsIn.Add(1)
					d.retransmit(seq)
				}
			}
		case *rtcp.TransportLayerCC:
			if est := d.est.Load(); est != nil {
				est.OnFeedback(p, est.Now())
			}
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			d.stats.PLIsIn.Add(1)
			d.keyframeSource().RequestKeyFrame()
		case *rtcp.ReceiverReport:
			d.observeReports(p.Reports)
		case *rtcp.SenderReport:
			// A subscriber that also publishes (one peer connection) puts
			// its reception reports in its sender reports.
			d.observeReports(p.Reports)
		}
	}
}

// observeReports keeps the reception reports about this down-track's SSRC.
func (d *DownTrack) observeReports(reports []rtcp.ReceptionReport) {
	for _, rr := range reports {
		d.mu.Lock()
		mine, cur := rr.SSRC == d.ssrc && d.ssrc != 0, d.cursor
		d.mu.Unlock()
		if mine {
			d.remote.observe(rr, cur, time.Now())
		}
	}
}

// TakeDeliveryStats returns what the subscriber reported about this track
// since the last call: loss between this server and the subscriber,
// jitter and round-trip time (see DeliveryStats). A connection quality
// monitor calls it periodically.
func (d *DownTrack) TakeDeliveryStats() DeliveryStats { return d.remote.take() }

// ReportedLoss returns how many packets of this track the subscriber's
// receiver reports say the link to it lost, since its first report
// (packets that came late or were repaired by a retransmission are not
// lost: the count goes down again when a packet missing at one report
// arrives before the next), and how many they say were sent to it.
func (d *DownTrack) ReportedLoss() (lost, expected uint64) { return d.remote.lost() }

// ServeRTCP reads the subscriber's RTCP for this track from sender until it
// is closed. Run it in its own goroutine.
func (d *DownTrack) ServeRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, MaxPacketSize)
	for {
		n, _, err := sender.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue // garbage RTCP changes nothing
		}
		d.HandleRTCP(pkts)
	}
}
