package room

import (
	"sync"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"github.com/bayan-dev/bayan/sfu"
)

// PublishedTrack is a track a participant publishes: its advertised info and
// the receiver that forwards its media.
type PublishedTrack struct {
	owner    *Participant
	receiver *sfu.Receiver

	mu   sync.Mutex
	info *livekit.TrackInfo
}

// Info returns a copy of the track's current info.
func (t *PublishedTrack) Info() *livekit.TrackInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	return proto.Clone(t.info).(*livekit.TrackInfo)
}

// SID returns the track's server-assigned ID.
func (t *PublishedTrack) SID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.info.Sid
}

// Muted reports whether the publisher has muted the track.
func (t *PublishedTrack) Muted() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.info.Muted
}

func (t *PublishedTrack) setMuted(muted bool) (changed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	changed = t.info.Muted != muted
	t.info.Muted = muted
	return changed
}
