package room

// publisherFPS is the frame rate assumed for a published video track: what
// LiveKit's clients encode at by default. With three temporal layers (L1T3)
// layer 0 carries a quarter of the frames, layers 0 and 1 half.
const publisherFPS = 30

// temporalLayerForFPS returns the highest VP8 temporal layer to forward to
// a subscriber that asked for fps frames a second (UpdateTrackSettings.Fps):
// the fewest layers that give at least that rate; -1 (all) when it asked
// for 0 (no preference) or more than half the publisher's rate.
func temporalLayerForFPS(fps uint32) int {
	switch {
	case fps == 0:
		return -1
	case fps*4 <= publisherFPS:
		return 0
	case fps*2 <= publisherFPS:
		return 1
	default:
		return -1
	}
}
