// Package bwe estimates how much a subscriber's downlink carries, from the
// transport-wide congestion control feedback (TWCC) it sends back: a
// send-side estimator in the spirit of Google Congestion Control, with a
// delay-gradient detector, a loss-based limit and AIMD rate control.
//
// The per-packet part (Estimator.OnSent) takes the connection's own lock
// and allocates nothing; feedback is handled about ten times a second.
package bwe
