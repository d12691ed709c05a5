package sfu

import (
	"sync/atomic"
	"time"
)

// DelayBuckets are the upper bounds, in seconds, of the forwarding delay
// histogram: the time from a packet leaving SRTP decryption to being handed
// to the subscriber's SRTP writer.
// Under overload the delay runs to tens of milliseconds, so the buckets go
// that far: a p99 at the top bucket only says "this or more".
var DelayBuckets = [...]float64{5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3}

// Stats counts what the media plane does. Counters are plain atomics so the
// packet path never locks; a metrics exporter reads them when scraped.
type Stats struct {
	PacketsIn, BytesIn   atomic.Uint64
	PacketsOut, BytesOut atomic.Uint64
	NACKsIn              atomic.Uint64 // NACKed packets requested by subscribers
	Retransmits          atomic.Uint64 // packets resent from the cache
	NACKsOut             atomic.Uint64 // NACK RTCP packets sent to publishers
	PLIsIn               atomic.Uint64 // PLI/FIR received from subscribers
	PLIsOut              atomic.Uint64 // PLIs sent to publishers (after throttling)
	ForwardDropped       atomic.Uint64 // packets a down-track could not write
	PrerollPackets       atomic.Uint64 // withheld audio packets sent when top-K selection let a track through

	delayCount [len(DelayBuckets) + 1]atomic.Uint64
	delaySumNs atomic.Uint64
	delayTotal atomic.Uint64
}

// observeDelay records one forwarding delay.
func (s *Stats) observeDelay(d time.Duration) {
	sec := d.Seconds()
	i := 0
	for i < len(DelayBuckets) && sec > DelayBuckets[i] {
		i++
	}
	s.delayCount[i].Add(1)
	s.delaySumNs.Add(uint64(d))
	s.delayTotal.Add(1)
}

// DelayHistogram returns the cumulative bucket counts (aligned with
// DelayBuckets), the number of observations and their sum in seconds.
func (s *Stats) DelayHistogram() (cumulative []uint64, count uint64, sumSeconds float64) {
	cumulative = make([]uint64, len(DelayBuckets))
	var acc uint64
	for i := range DelayBuckets {
		acc += s.delayCount[i].Load()
		cumulative[i] = acc
	}
	return cumulative, s.delayTotal.Load(), float64(s.delaySumNs.Load()) / 1e9
}
