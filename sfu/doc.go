// Package sfu is Bayan's media plane: receivers, down-tracks, the packet cache,
// RTP rewriting, RTCP handling and the WebRTC engine they run on. It knows
// nothing of tokens, HTTP or classrooms.
package sfu
