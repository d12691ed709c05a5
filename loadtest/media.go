package loadtest

import (
	"encoding/binary"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/loadtest/report"
)

// Synthetic media: VP8 and Opus-sized RTP payloads produced without an
// encoder. Every payload carries a media header after its codec-specific
// prefix (the VP8 payload descriptor and, on a frame's first packet, the VP8
// payload header; nothing for audio), so that receivers know who sent it, on
// which layer, in what order and when.

// Layer ids carried in the media header.
const (
	layerQ      uint8 = 0 // simulcast low (rid "q")
	layerH      uint8 = 1 // simulcast medium (rid "h")
	layerF      uint8 = 2 // simulcast high (rid "f")
	layerAudio  uint8 = 3
	layerSingle uint8 = 4 // one VP8 stream without simulcast
	numLayers         = 5
)

// layerNames are the keys of report.Report.Layers, by layer id.
var layerNames = [numLayers]string{report.LayerQ, report.LayerH, report.LayerF, report.LayerAudio, report.LayerSingle}

// Media header layout: magic (4), publisher index (4), layer id (1),
// flags (1), reserved (2), per-layer sequence (4), send time in Unix
// nanoseconds (8).
const (
	mediaMagic      uint32 = 0x42594e31 // "BYN1"
	mediaHeaderSize        = 24
	flagKeyframe    uint8  = 1
)

// mediaHeader is what a receiver learns from one payload.
type mediaHeader struct {
	publisher uint32
	layer     uint8
	flags     uint8
	seq       uint32
	sendTime  int64
}

func putMediaHeader(b []byte, h *mediaHeader) {
	_ = b[mediaHeaderSize-1]
	binary.BigEndian.PutUint32(b[0:], mediaMagic)
	binary.BigEndian.PutUint32(b[4:], h.publisher)
	b[8] = h.layer
	b[9] = h.flags
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint32(b[12:], h.seq)
	binary.BigEndian.PutUint64(b[16:], uint64(h.sendTime))
}

// parseMediaHeader reads a media header at the start of b.
func parseMediaHeader(b []byte, h *mediaHeader) bool {
	if len(b) < mediaHeaderSize || binary.BigEndian.Uint32(b) != mediaMagic {
		return false
	}
	h.publisher = binary.BigEndian.Uint32(b[4:])
	h.layer = b[8]
	h.flags = b[9]
	h.seq = binary.BigEndian.Uint32(b[12:])
	h.sendTime = int64(binary.BigEndian.Uint64(b[16:]))
	return h.layer < numLayers
}

// layerSpec describes one encoding a publisher sends.
type layerSpec struct {
	id      uint8
	rid     string // "" without simulcast
	quality livekit.VideoQuality
	width   uint32
	height  uint32
	bitrate int // payload bits per second
}

// simulcastLayers are the three encodings of a simulcast camera track, low
// to high, as a browser sends them for a 720p camera.
var simulcastLayers = []layerSpec{
	{id: layerQ, rid: "q", quality: livekit.VideoQuality_LOW, width: 320, height: 180, bitrate: 150_000},
	{id: layerH, rid: "h", quality: livekit.VideoQuality_MEDIUM, width: 640, height: 360, bitrate: 500_000},
	{id: layerF, rid: "f", quality: livekit.VideoQuality_HIGH, width: 1280, height: 720, bitrate: 1_700_000},
}

// singleLayer is the camera track of --simulcast=false.
var singleLayer = layerSpec{id: layerSingle, quality: livekit.VideoQuality_HIGH, width: 1280, height: 720, bitrate: 1_700_000}

// Video timing.
const (
	videoFPS         = 30
	keyframeInterval = 2 * time.Second
	gopFrames        = int(keyframeInterval * videoFPS / time.Second)
	// keyframeWeight is how much larger a keyframe is than a delta frame.
	keyframeWeight = 4
	// maxPayload bounds an RTP payload (descriptor included).
	maxPayload = 1200
	// audioInterval is one Opus frame.
	audioInterval = 20 * time.Millisecond
)

// VP8 payload descriptor (RFC 7741 section 4.2) as written here: X=1;
// I=1 with a 15-bit picture ID, L=1 with TL0PICIDX, T=1 with TID, Y and
// KEYIDX.
const vp8DescriptorSize = 6

// temporalPattern is the TID of successive frames (three temporal layers);
// layerSync says which of them depend only on the base layer (Y bit).
var (
	temporalPattern = [4]uint8{0, 2, 1, 2}
	layerSync       = [4]bool{true, true, true, false}
)

// vp8Encoder produces the payloads of one VP8 encoding, packet by packet,
// into a buffer it owns.
type vp8Encoder struct {
	spec      layerSpec
	publisher uint32
	pictureID uint16 // 15 bits
	tl0PicIdx uint8
	sinceKey  int // frames since the last keyframe
	seq       uint32
	rng       uint64
	buf       [maxPayload]byte

	// current frame
	frameLeft int // filler bytes still to packetize
	first     bool
	key       bool
	tid       uint8
	sync      bool
	sendTime  int64
}

func newVP8Encoder(spec layerSpec, publisher uint32, seed uint64) *vp8Encoder {
	e := &vp8Encoder{spec: spec, publisher: publisher, rng: seed | 1}
	e.pictureID = uint16(seed) & 0x7fff
	// Filler: fixed pseudo-random bytes, written once; each packet only
	// overwrites its prefix.
	r := e.rng
	for i := range e.buf {
		r ^= r << 13
		r ^= r >> 7
		r ^= r << 17
		e.buf[i] = byte(r)
	}
	return e
}

func (e *vp8Encoder) random() uint64 {
	e.rng ^= e.rng << 13
	e.rng ^= e.rng >> 7
	e.rng ^= e.rng << 17
	return e.rng
}

// frameBytes returns the payload size of the next frame so that the layer
// averages its bitrate over a GOP: one keyframe keyframeWeight times the
// size of a delta frame, sizes varying by ±10%.
func (e *vp8Encoder) frameBytes(key bool) int {
	perFrame := float64(e.spec.bitrate) / 8 / videoFPS
	delta := perFrame * float64(gopFrames) / float64(gopFrames-1+keyframeWeight)
	size := delta
	if key {
		size = delta * keyframeWeight
	}
	size *= 0.9 + 0.2*float64(e.random()%1000)/1000
	return int(size)
}

// startFrame begins a frame sent at sendTime; nextPacket then yields its
// packets.
func (e *vp8Encoder) startFrame(key bool, sendTime time.Time) {
	if key {
		e.sinceKey = 0
	}
	pos := e.sinceKey % len(temporalPattern)
	e.tid = temporalPattern[pos]
	e.sync = layerSync[pos]
	if e.tid == 0 {
		e.tl0PicIdx++
	}
	e.sinceKey++
	e.pictureID = (e.pictureID + 1) & 0x7fff
	e.key = key
	e.first = true
	e.sendTime = sendTime.UnixNano()
	total := e.frameBytes(key)
	// What is not descriptor, VP8 header or media header is filler.
	packets := (total + maxPayload - 1) / maxPayload
	overhead := packets*(vp8DescriptorSize+mediaHeaderSize) + vp8HeaderSize(key)
	e.frameLeft = max(total-overhead, 0)
}

func vp8HeaderSize(key bool) int {
	if key {
		return 10
	}
	return 3
}

// nextPacket writes the next packet of the current frame into e.buf and
// returns the payload and whether it is the frame's last packet.
func (e *vp8Encoder) nextPacket() (payload []byte, last bool) {
	b := e.buf[:]
	b[0] = 0x80 // X
	if e.first {
		b[0] |= 0x10 // S, partition 0
	}
	b[1] = 0x80 | 0x40 | 0x20 // I, L, T
	b[2] = 0x80 | byte(e.pictureID>>8)&0x7f
	b[3] = byte(e.pictureID)
	b[4] = e.tl0PicIdx
	b[5] = e.tid << 6
	if e.sync {
		b[5] |= 0x20 // Y
	}
	n := vp8DescriptorSize
	if e.first {
		n += e.putVP8Header(b[n:])
	}
	var flags uint8
	if e.key {
		flags = flagKeyframe
	}
	putMediaHeader(b[n:], &mediaHeader{publisher: e.publisher, layer: e.spec.id, flags: flags, seq: e.seq, sendTime: e.sendTime})
	e.seq++
	n += mediaHeaderSize
	fill := min(maxPayload-n, e.frameLeft)
	e.frameLeft -= fill
	n += fill
	e.first = false
	return b[:n], e.frameLeft == 0
}

// putVP8Header writes the VP8 payload header (RFC 6386 section 9.1): the
// 3-byte frame tag (P bit clear on keyframes), then on keyframes the start
// code and the dimensions.
func (e *vp8Encoder) putVP8Header(b []byte) int {
	firstPart := uint32(300)
	tag := firstPart<<5 | 1<<4 // show_frame, version 0
	if !e.key {
		tag |= 1 // P: interframe
	}
	b[0], b[1], b[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	if !e.key {
		return 3
	}
	b[3], b[4], b[5] = 0x9d, 0x01, 0x2a
	binary.LittleEndian.PutUint16(b[6:], uint16(e.spec.width&0x3fff))
	binary.LittleEndian.PutUint16(b[8:], uint16(e.spec.height&0x3fff))
	return 10
}

// vp8MediaOffset returns where the media header starts in a VP8 payload
// written by vp8Encoder: after the payload descriptor and, on a frame's first
// packet, the VP8 payload header. It returns -1 for a malformed payload.
func vp8MediaOffset(p []byte) int {
	if len(p) < 1 {
		return -1
	}
	i := 1
	if p[0]&0x80 != 0 {
		if len(p) < 2 {
			return -1
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 {
			if len(p) <= i {
				return -1
			}
			if p[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 {
			i++
		}
		if x&0x30 != 0 {
			i++
		}
	}
	if p[0]&0x10 != 0 && p[0]&0x07 == 0 {
		if len(p) <= i {
			return -1
		}
		i += vp8HeaderSize(p[i]&0x01 == 0)
	}
	if i > len(p) {
		return -1
	}
	return i
}

// audioEncoder produces Opus-sized payloads: 60 to 100 bytes, the media
// header first.
type audioEncoder struct {
	publisher uint32
	seq       uint32
	rng       uint64
	buf       [128]byte
}

func newAudioEncoder(publisher uint32, seed uint64) *audioEncoder {
	e := &audioEncoder{publisher: publisher, rng: seed | 1}
	for i := range e.buf {
		e.buf[i] = byte(i * 7)
	}
	return e
}

// next returns the next payload and its RFC 6464 level byte (voice
// activity set, -30 to -50 dBov).
func (e *audioEncoder) next(sendTime time.Time) (payload []byte, level byte) {
	e.rng ^= e.rng << 13
	e.rng ^= e.rng >> 7
	e.rng ^= e.rng << 17
	size := 60 + int(e.rng%41)
	putMediaHeader(e.buf[:], &mediaHeader{publisher: e.publisher, layer: layerAudio, seq: e.seq, sendTime: sendTime.UnixNano()})
	e.seq++
	return e.buf[:size], 0x80 | byte(30+(e.rng>>8)%21)
}
