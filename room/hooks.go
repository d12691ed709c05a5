package room

import "github.com/livekit/protocol/livekit"

// Hooks lets a layer above rooms (the classroom) follow participants and
// take the data packets meant for the server. Every call runs on the
// goroutine of the participant concerned and must return quickly: work that
// waits on a database or the network belongs on the hook's own goroutines.
type Hooks interface {
	// Joined is called once p is in r and has its JoinResponse.
	Joined(r *Room, p *Participant)
	// Ready is called when packets sent with Participant.SendData can reach
	// p: its reliable data channel from the server is open. It may be
	// called again after a reconnection.
	Ready(r *Room, p *Participant)
	// Left is called once p is out of r, for whatever reason.
	Left(r *Room, p *Participant, reason livekit.DisconnectReason)
	// Data sees each data packet p sends, before anyone else does; it
	// returns false to keep the packet from the room (handled or refused).
	Data(r *Room, p *Participant, pkt *livekit.DataPacket) bool
}

// noHooks is the Hooks of a node without a layer above rooms.
type noHooks struct{}

func (noHooks) Joined(*Room, *Participant)                         {}
func (noHooks) Ready(*Room, *Participant)                          {}
func (noHooks) Left(*Room, *Participant, livekit.DisconnectReason) {}
func (noHooks) Data(*Room, *Participant, *livekit.DataPacket) bool { return true }
