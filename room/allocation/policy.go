package allocation

import "time"

// The allocation policy: the room ticks every 250 ms, fitting each
// subscriber's videos (audio first) into the estimate of its downlink.
//
// A video is paused only when its lowest layer has not fitted for
// PauseGrace while the link was losing packets (PauseLoss): estimates dip
// for a moment when a client is busy, and a delay-based estimate falls
// when a client's CPU, not its link, is short, where a blank tile would be
// a worse answer than a late one.
//
// When the link shrinks under a layer that had held, the layers above it
// are not tried for coolDown: a link that just lost capacity rarely gets it
// back at once, and every failed trial costs a keyframe's worth of queue.
//
// A raise is a trial: if the estimate falls within trialTime, the layer is
// withdrawn at once and not tried again for a back-off that doubles, from
// BackoffFirst up to backoffMax, at each failure (twice that for resuming
// a paused video). That is how a subscriber finds out, without probing
// packets, that its link carries more again.
const (
	trialTime = 3 * time.Second
	// BackoffFirst is the first back-off after a failed raise.
	BackoffFirst = 4 * time.Second
	backoffMax   = 8 * time.Second
	// AudioReserve is the budget, in bits per second, set aside for each
	// forwarded audio track before videos are fitted.
	AudioReserve   = 40_000
	trialTolerance = 0.9 // the estimate may sag this much during a trial
	keepFactor     = 0.6 // a layer in use is kept until the budget falls below this share of its rate
	// PauseGrace is how long a video's lowest layer must go short, with
	// loss on the link, before the video is paused.
	PauseGrace = 2 * time.Second
	// PauseLoss is the loss fraction that shows the link, not the client,
	// is short.
	PauseLoss = 0.02
	coolDown  = 10 * time.Second // after the link shrank, before trying higher layers
)
