package room

import (
	"testing"

	"github.com/livekit/protocol/livekit"
)

// A permission withdrawn while a track is announced (AddTrack answered)
// but its media not yet arrived: the announcement goes too, so the media
// cannot publish it afterwards.
func TestWithdrawnPermissionDropsAnnouncedTracks(t *testing.T) {
	m := NewManager(nil, nil, nil, Config{}, nil)
	r := m.GetOrCreate("class")
	defer m.Close(livekit.DisconnectReason_ROOM_DELETED)
	p := &Participant{room: r, identity: "ana",
		info:    &livekit.ParticipantInfo{Identity: "ana", Permission: &livekit.ParticipantPermission{CanPublish: true}},
		pending: map[string]*livekit.TrackInfo{}, published: map[string]*PublishedTrack{}, subs: map[string]*subscription{}}
	for _, req := range []*livekit.AddTrackRequest{
		{Cid: "mic", Type: livekit.TrackType_AUDIO, Source: livekit.TrackSource_MICROPHONE},
		{Cid: "cam", Type: livekit.TrackType_VIDEO, Source: livekit.TrackSource_CAMERA},
	} {
		if err := p.AddTrack(req); err != nil {
			t.Fatalf("add %s: %v", req.Cid, err)
		}
	}
	p.UpdateInfo(nil, nil, nil, &livekit.ParticipantPermission{CanPublish: true,
		CanPublishSources: []livekit.TrackSource{livekit.TrackSource_CAMERA}})
	if _, mic := p.pending["mic"]; mic || p.pending["cam"] == nil {
		t.Fatalf("camera only: pending %v", p.pending)
	}
	p.UpdateInfo(nil, nil, nil, &livekit.ParticipantPermission{CanPublish: false})
	if len(p.pending) != 0 {
		t.Fatalf("no publishing: pending %v", p.pending)
	}
}
