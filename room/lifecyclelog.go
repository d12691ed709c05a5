package room

import "github.com/livekit/protocol/livekit"

// logLifecycle writes an INFO line for a room starting or finishing and for
// a participant joining or leaving: the comings and goings an operator
// follows. It logs the webhook events that say so, which are sent once each.
func (m *Manager) logLifecycle(e *livekit.WebhookEvent) {
	room, p := e.GetRoom(), e.GetParticipant()
	switch e.GetEvent() {
	case "room_started":
		m.log.Info("room started", "room", room.GetName(), "sid", room.GetSid())
	case "room_finished":
		m.log.Info("room finished", "room", room.GetName(), "sid", room.GetSid())
	case "participant_joined":
		m.log.Info("participant joined", "room", room.GetName(), "identity", p.GetIdentity(), "sid", p.GetSid())
	case "participant_left":
		m.log.Info("participant left", "room", room.GetName(), "identity", p.GetIdentity(), "sid", p.GetSid(),
			"reason", p.GetDisconnectReason().String())
	}
}
