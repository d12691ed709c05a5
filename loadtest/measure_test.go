package loadtest

import "testing"

func TestExtendRTPSeq(t *testing.T) {
	var ts trackStats
	for _, c := range []struct {
		in   uint16
		want uint32
	}{{65534, 65534}, {65535, 65535}, {0, 65536}, {65535, 65535}, {2, 65538}, {1, 65537}} {
		if got := ts.extendRTPSeq(c.in); got != c.want {
			t.Errorf("extendRTPSeq(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}
