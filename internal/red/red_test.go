package red

import (
	"bytes"
	"testing"
)

func TestWrapThenPrimary(t *testing.T) {
	prev, primary := bytes.Repeat([]byte{7}, 80), []byte("newest")
	for _, p := range [][]byte{nil, prev} {
		b := Wrap(make([]byte, 0, 256), 111, p, 960, primary)
		got, ok := Primary(b)
		if !ok || !bytes.Equal(got, primary) {
			t.Errorf("prev %d bytes: primary %q, %v", len(p), got, ok)
		}
		if want := len(primary) + 1 + len(p) + 4*min(1, len(p)); len(b) != want {
			t.Errorf("prev %d bytes: payload %d bytes, want %d", len(p), len(b), want)
		}
	}
}
