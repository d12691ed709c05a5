// Package loadtest is Bayan's load tester: synthetic participants that speak
// the LiveKit protocol, publish realistic synthetic media and measure what
// they receive, driven by scenarios (conference, class, audio).
package loadtest
