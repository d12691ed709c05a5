package codecs

import "github.com/bayan-dev/bayan/sfu/seqmap"

// allTemporalLayers is the max temporal layer that forwards everything: the
// TID field has two bits.
const allTemporalLayers = 3

// VP8Munger rewrites the PictureID and TL0PICIDX of the VP8 packets one
// down-track forwards so that the subscriber sees one continuous stream:
// each simulcast layer numbers its pictures on its own, so at a switch
// (Switch, a new epoch) the new layer's ids are moved to follow the last ones
// sent; and frames of temporal layers above the max (SetMaxTemporalLayer)
// are left out without using up PictureIDs.
//
// The first epoch keeps the publisher's own numbering, so a down-track that
// neither switches nor drops sends payloads untouched.
//
// A VP8Munger is not safe for concurrent use; its DownTrack serialises access.
type VP8Munger struct {
	started   bool
	switching bool

	// Incoming PictureIDs are unwrapped onto a 16-bit counter whose values,
	// less the drops before them, are the outgoing ids (written modulo the
	// field's width).
	havePic    bool   // the epoch's packets carry PictureIDs
	highestRaw uint16 // newest incoming PictureID of the epoch
	highestExt uint16 // ... unwrapped
	dropped    bool   // the newest picture is being dropped
	pics       seqmap.DropLog
	sentPic    bool   // lastPic is valid
	lastPic    uint16 // newest PictureID sent, before masking

	tl0Offset uint8 // in - out of TL0PICIDX in this epoch
	sentTL0   bool  // lastTL0 is valid
	lastTL0   uint8 // newest TL0PICIDX sent

	max uint8 // highest temporal layer wanted
	cur uint8 // highest temporal layer forwarded now: max, once safe
}

// NewVP8Munger returns a munger that forwards every temporal layer.
func NewVP8Munger() *VP8Munger {
	return &VP8Munger{max: allTemporalLayers, cur: allTemporalLayers}
}

// Switch makes the next packet the first of a new epoch: a keyframe, whose
// ids follow the last ones sent.
func (m *VP8Munger) Switch() { m.switching = true }

// SetMaxTemporalLayer sets the highest temporal layer to forward; negative
// forwards all. Going down takes effect at the next frame; going
// up waits for a frame the subscriber can decode without the frames it did
// not get (see admit).
func (m *VP8Munger) SetMaxTemporalLayer(tid int) {
	if tid < 0 || tid > allTemporalLayers {
		tid = allTemporalLayers
	}
	m.max = uint8(tid)
}

// MaxTemporalLayer returns the highest temporal layer forwarded now.
func (m *VP8Munger) MaxTemporalLayer() int { return int(m.cur) }

// Forward decides whether the packet described by d is sent and returns the
// PictureID and TL0PICIDX it goes out with (meaningful only for the fields
// d has). Call it for packets in arrival order, Switch having been called
// before the first packet of each epoch, which must be a keyframe.
func (m *VP8Munger) Forward(d *VP8Descriptor) (pic uint16, tl0 uint8, ok bool) {
	if !m.started || m.switching {
		m.startEpoch(d)
	}
	if d.PicAt == 0 || !m.havePic {
		// Without PictureIDs frames are told apart by their first packets.
		if d.Start {
			m.admit(d)
		}
		if d.HasTID && d.TID > m.cur {
			return 0, 0, false
		}
	} else {
		diff := d.picDiff(m.highestRaw)
		ext := m.highestExt + uint16(diff)
		switch {
		case diff > 0: // a new picture: decide its fate once for all its packets
			m.highestRaw, m.highestExt = d.PicID, ext
			m.dropped = !m.admit(d)
			if m.dropped {
				m.pics.Drop(ext)
				return 0, 0, false
			}
			m.pics.Advance(ext)
		case diff == 0:
			if m.dropped {
				return 0, 0, false
			}
		}
		off, found := m.pics.Offset(ext)
		if !found {
			return 0, 0, false // of a dropped picture, or too old
		}
		pic = ext - off
		if !m.sentPic || seqmap.Older(m.lastPic, pic) {
			m.lastPic, m.sentPic = pic, true
		}
	}
	tl0 = d.TL0 - m.tl0Offset
	if d.TL0At != 0 && (!m.sentTL0 || int8(tl0-m.lastTL0) > 0) {
		m.lastTL0, m.sentTL0 = tl0, true
	}
	return pic, tl0, true
}

// startEpoch places the ids of the epoch starting with d after those sent.
func (m *VP8Munger) startEpoch(d *VP8Descriptor) {
	first := !m.started
	m.started, m.switching = true, false
	m.cur = m.max // a keyframe: every layer can follow
	m.havePic = d.PicAt != 0
	m.dropped = false
	if m.havePic {
		ext := d.PicID
		if m.sentPic {
			ext = m.lastPic + 1
		}
		m.highestRaw, m.highestExt = d.PicID, ext
		m.pics.Reset(0)
	}
	m.tl0Offset = 0
	if d.TL0At != 0 && m.sentTL0 && !first {
		m.tl0Offset = d.TL0 - (m.lastTL0 + 1)
	}
}

// admit applies a pending change of the max temporal layer at the start of
// the frame d and reports whether the frame is forwarded. Going down is
// always safe. Going up is safe on a keyframe, or one layer at a time on a
// frame of that layer with the Y bit: it depends only on layer 0, and the
// frames of that layer after it depend only on frames the subscriber gets.
// (A layer-0 frame alone is not enough: the next upper-layer frame may
// reference earlier upper-layer frames that were dropped.)
func (m *VP8Munger) admit(d *VP8Descriptor) bool {
	if !d.HasTID {
		return true
	}
	switch {
	case m.max < m.cur:
		m.cur = m.max
	case m.max > m.cur && d.Keyframe:
		m.cur = m.max
	case m.max > m.cur && d.Sync && d.TID == m.cur+1:
		m.cur = d.TID
	}
	return d.TID <= m.cur
}

// Lookup returns the ids a packet of the current epoch that was forwarded
// went out with, without changing any state; it serves retransmissions. ok
// is false for packets of frames that were dropped or are too old to place.
func (m *VP8Munger) Lookup(d *VP8Descriptor) (pic uint16, tl0 uint8, ok bool) {
	if !m.started || m.switching {
		return 0, 0, false
	}
	if d.PicAt != 0 && m.havePic {
		diff := d.picDiff(m.highestRaw)
		if diff > 0 || diff == 0 && m.dropped {
			return 0, 0, false
		}
		ext := m.highestExt + uint16(diff)
		off, found := m.pics.Offset(ext)
		if !found {
			return 0, 0, false
		}
		pic = ext - off
	} else if d.HasTID && d.TID > m.cur {
		return 0, 0, false
	}
	return pic, d.TL0 - m.tl0Offset, true
}
