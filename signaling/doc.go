// Package signaling speaks the LiveKit client protocol: WebSocket signaling,
// access tokens, the Twirp RoomService API and webhooks. It drives rooms and
// never touches RTP.
package signaling
