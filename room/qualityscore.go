package room

import (
	"time"

	"github.com/livekit/protocol/livekit"
)

// Connection quality scoring. A stream's score runs from 0 (unusable) to
// 100 (perfect), in the spirit of the R factor of the ITU-T E-model (G.107)
// reduced to what RTCP tells us: the delay impairment grows slowly up to
// 160 ms of effective one-way delay and quickly beyond, and every percent of
// loss costs lossWeight points. A participant's score is its worst stream's,
// smoothed over time; the levels are
//
//	EXCELLENT above 80: under 5 % loss with ordinary delay
//	GOOD      above 40: loss up to about 15 %, or long delays
//	POOR      the rest
//	LOST      a microphone that has stopped arriving altogether
//
// Opus with in-band FEC and video with NACK hide a few percent of loss,
// which is why 5 % is still GOOD rather than POOR.
const (
	scoreMax       = 100.0
	scoreExcellent = 80.0
	scoreGood      = 40.0
	// scoreFloor bounds how low smoothing may carry a score, so that a
	// recovered connection climbs back within a few intervals.
	scoreFloor = 20.0
	lossWeight = 4.0 // points per percent of packets lost
	// minLossSample is the fewest packets a stream must have expected in an
	// interval for its loss to count: one lost packet in three says little.
	minLossSample = 10
	// Smoothing weights of the newest interval: a drop shows quickly, a
	// recovery is believed more slowly.
	smoothDown = 0.7
	smoothUp   = 0.4
)

// streamScore returns the score of one stream that lost the fraction loss
// (0 to 1) of its packets and showed the given jitter and round trip; rtt
// is 0 when unknown.
func streamScore(loss float64, jitter, rtt time.Duration) float64 {
	// Effective one-way delay in ms: half the round trip plus the jitter
	// buffer a receiver needs, about twice the jitter.
	delay := rtt.Seconds()*1000/2 + 2*jitter.Seconds()*1000
	penalty := delay / 40
	if delay > 160 {
		penalty = (delay - 120) / 10
	}
	score := scoreMax - penalty - lossWeight*loss*100
	return min(max(score, 0), scoreMax)
}

// smoothScore moves prev towards the newest interval's score next.
func smoothScore(prev, next float64) float64 {
	f := smoothUp
	if next < prev {
		f = smoothDown
	}
	return max(f*next+(1-f)*prev, scoreFloor)
}

// qualityOf maps a score to the level clients show.
func qualityOf(score float64) livekit.ConnectionQuality {
	switch {
	case score > scoreExcellent:
		return livekit.ConnectionQuality_EXCELLENT
	case score > scoreGood:
		return livekit.ConnectionQuality_GOOD
	}
	return livekit.ConnectionQuality_POOR
}

// mosOf turns a score into the mean opinion score (1 to 4.5) that
// ConnectionQualityInfo.Score carries, with the E-model's R-to-MOS formula.
func mosOf(score float64) float32 {
	switch {
	case score <= 0:
		return 1
	case score >= scoreMax:
		return 4.5
	}
	// The cubic dips just under 1 for the lowest scores.
	return float32(max(1, 1+0.035*score+7e-6*score*(score-60)*(100-score)))
}
