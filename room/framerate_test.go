package room

import "testing"

func TestTemporalLayerForFPS(t *testing.T) {
	for fps, want := range map[uint32]int{0: -1, 1: 0, 7: 0, 8: 1, 15: 1, 16: -1, 30: -1, 60: -1} {
		if got := temporalLayerForFPS(fps); got != want {
			t.Errorf("fps %d: layer %d, want %d", fps, got, want)
		}
	}
}
