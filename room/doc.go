// Package room owns who is in a room, what they publish and who subscribes
// to what. It turns signaling requests into calls on the media plane (sfu)
// and into SignalResponses for the signaling layer to deliver.
package room
