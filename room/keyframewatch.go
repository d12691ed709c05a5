package room

import "time"

// keyframeWaitReported is how long a wait lasts before it is logged: past
// it a subscriber has seen a frozen or blank tile for longer than a layer
// switch or a resume takes.
const keyframeWaitReported = 3 * time.Second

// nudgeKeyframes runs every tick of the room's ticker, asking every
// down-track whether it still awaits a keyframe: each video down-track that has awaited a keyframe for
// sfu.NudgeAfter asks its layer again, and a wait that lasts is logged
// with what the track's layers are doing, once, as it passes
// keyframeWaitReported.
func (r *Room) nudgeKeyframes(now time.Time) {
	for _, p := range r.Participants() {
		for _, s := range p.subscriptions() {
			waited, _ := s.down.NudgeKeyframe(now)
			if waited >= keyframeWaitReported && waited < keyframeWaitReported+tickInterval {
				dynacast, told := s.track.dynacastState()
				p.log.Debug("still awaiting a keyframe", "track", s.track.SID(), "waited", waited,
					"target", s.track.qualityOf(s.down.Target()), "current", s.track.qualityOf(s.down.Receiver()),
					"layer_packets", s.track.LayerPackets(), "dynacast", dynacast, "dynacast_told", told)
			}
		}
	}
}
