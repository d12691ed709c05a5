package compat_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// loopingVP8 plays the frames of a VP8 IVF file over and over, paced by the
// file's frame rate: real frames a browser decodes and shows. The file
// starts with a keyframe, so each loop starts with one.
type loopingVP8 struct {
	frames   [][]byte
	duration time.Duration
	next     int
}

// maxIVFFrames bounds what readIVF accepts: test files are a few seconds.
const maxIVFFrames = 10000

func readIVF(path string) (*loopingVP8, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open IVF: %w", err)
	}
	defer f.Close()
	r, hdr, err := ivfreader.NewWith(f)
	if err != nil {
		return nil, fmt.Errorf("IVF header of %s: %w", path, err)
	}
	if hdr.FourCC != "VP80" || hdr.TimebaseDenominator == 0 {
		return nil, fmt.Errorf("%s: codec %q, timebase %d/%d: want VP8 with a frame rate", path, hdr.FourCC, hdr.TimebaseNumerator, hdr.TimebaseDenominator)
	}
	l := &loopingVP8{duration: time.Second * time.Duration(hdr.TimebaseNumerator) / time.Duration(hdr.TimebaseDenominator)}
	for range maxIVFFrames {
		frame, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("IVF frame %d of %s: %w", len(l.frames), path, err)
		}
		l.frames = append(l.frames, frame)
	}
	if len(l.frames) == 0 || l.frames[0][0]&1 != 0 {
		return nil, fmt.Errorf("%s: %d frames, want at least one, the first a keyframe", path, len(l.frames))
	}
	return l, nil
}

// NextSample, OnBind, OnUnbind and Close make loopingVP8 an
// lksdk.SampleProvider; the SDK's write loop calls NextSample alone.
func (l *loopingVP8) NextSample(ctx context.Context) (media.Sample, error) {
	if err := ctx.Err(); err != nil {
		return media.Sample{}, err
	}
	frame := l.frames[l.next%len(l.frames)]
	l.next++
	return media.Sample{Data: frame, Duration: l.duration}, nil
}

func (l *loopingVP8) OnBind() error   { return nil }
func (l *loopingVP8) OnUnbind() error { return nil }
func (l *loopingVP8) Close() error    { return nil }

// vp8KeyframeSize reads the picture size from an RTP payload that starts a
// VP8 keyframe (RFC 7741 descriptor, then the keyframe's start code and
// 14-bit width and height); ok is false for any other packet.
func vp8KeyframeSize(payload []byte) (width, height int, ok bool) {
	var p codecs.VP8Packet
	if _, err := p.Unmarshal(payload); err != nil || p.S != 1 || p.PID != 0 {
		return 0, 0, false
	}
	b := p.Payload
	if len(b) < 10 || b[0]&1 != 0 || !bytes.Equal(b[3:6], []byte{0x9d, 0x01, 0x2a}) {
		return 0, 0, false
	}
	return int(binary.LittleEndian.Uint16(b[6:8]) & 0x3fff), int(binary.LittleEndian.Uint16(b[8:10]) & 0x3fff), true
}

// vp8FrameStart reports whether an RTP payload begins a VP8 frame (the
// descriptor's S bit set, partition 0).
func vp8FrameStart(payload []byte) bool {
	var p codecs.VP8Packet
	_, err := p.Unmarshal(payload)
	return err == nil && p.S == 1 && p.PID == 0
}
