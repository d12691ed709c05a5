// Package loadtest is Bayan's load tester: synthetic participants that speak
// the LiveKit protocol, publish realistic synthetic media and measure what
// they receive, driven by scenarios (conference, class, audio).
//
//	bayan loadtest class --url ws://127.0.0.1:7880 --api-key devkey --api-secret secret --students 50
//
// Each participant is a LiveKit client of its own (participant.go): a
// WebSocket to /rtc carrying binary protobuf (signal.go), a subscriber peer
// connection the server offers, and, when it publishes, a publisher peer
// connection it offers after AddTrack/TrackPublished. All of them share one
// pion API (pion.go: VP8 and Opus, NACK, RTCP reports, TWCC, loopback ICE
// candidates, UDP4, no mDNS) and one DTLS certificate. Unless
// --pion-subscribers, the subscriber side is a lean one instead
// (loadtest/lean, leansubscriber.go): no peer connection, far less CPU.
//
// Media is synthetic and needs no encoder (media.go, publish.go): a camera
// track sends three VP8 simulcast encodings (q/h/f, 320x180 at 150 kbps,
// 640x360 at 500 kbps, 1280x720 at 1.7 Mbps, 30 fps, a keyframe every 2 s
// and on PLI) with correct payload descriptors, and pauses the encodings the
// server says nobody watches (dynacast); a microphone track sends 50
// Opus-sized packets a second with the RFC 6464 audio level, as plain Opus
// or as Opus RED, whichever the server's answer lists first (answered.go). Every payload
// carries a 24-byte media header (publisher, layer, sequence, send time)
// after its codec prefix, from which subscribers (measure.go) count loss
// per publisher and layer, the end-to-end delay into a log histogram, and
// the bitrate per layer, without decoding anything and without allocating
// per packet.
//
// The runner (run.go) ramps participants in, prints a progress line every
// second, reads the server's /metrics (promscrape.go) and its own CPU
// (cpu.go) at the start and the end of the steady part, and assembles the
// report (loadtest/report: its JSON form, text summary and HTML page). Where the load tester's CPU goes: nearly all of it is pion's
// receive path (the UDP read, SRTP, the interceptors, three goroutine hand-
// offs per packet); the measuring itself is about 1%.
package loadtest
