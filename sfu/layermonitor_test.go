package sfu

import (
	"testing"
	"time"
)

// monitorRun feeds a LayerMonitor one sample per LayerCheckInterval.
type monitorRun struct {
	t        *testing.T
	m        LayerMonitor
	now      time.Time
	counts   [MaxLayers]uint64
	present  [MaxLayers]bool
	expected [MaxLayers]bool
	flowing  [MaxLayers]bool // layers whose count grows every sample
}

func newMonitorRun(t *testing.T) *monitorRun {
	all := [MaxLayers]bool{true, true, true}
	return &monitorRun{t: t, now: time.Unix(1000, 0), present: all, expected: all, flowing: all}
}

// step takes one sample and returns the dead layers and whether they changed.
func (r *monitorRun) step() ([MaxLayers]bool, bool) {
	r.now = r.now.Add(LayerCheckInterval)
	for q, on := range r.flowing {
		if on {
			r.counts[q] += 8
		}
	}
	return r.m.Observe(r.now, r.counts, r.present, r.expected)
}

// stepsUntilDead returns after how many samples layer q is reported dead,
// failing after limit samples.
func (r *monitorRun) stepsUntilDead(q, limit int) int {
	r.t.Helper()
	for i := 1; i <= limit; i++ {
		if dead, _ := r.step(); dead[q] {
			return i
		}
	}
	r.t.Fatalf("layer %d not dead after %d samples", q, limit)
	return 0
}

// An expected layer that stops is dead within a second and only then; it
// is live again on its first packet, and the others are unaffected.
func TestLayerMonitorNoticesStopAndResume(t *testing.T) {
	r := newMonitorRun(t)
	for range 10 {
		if dead, changed := r.step(); dead != [MaxLayers]bool{} || changed {
			t.Fatalf("flowing layers reported dead %v (changed %v)", dead, changed)
		}
	}
	r.flowing[2] = false
	n := r.stepsUntilDead(2, 20)
	// The last packet may have arrived just after the previous sample.
	if silent := time.Duration(n) * LayerCheckInterval; silent < LayerTimeout || silent+LayerCheckInterval > time.Second {
		t.Fatalf("dead after %v of sampled silence, want between %v and 1s including one interval", silent, LayerTimeout)
	}
	dead, _ := r.step()
	if dead != [MaxLayers]bool{false, false, true} {
		t.Fatalf("dead = %v, want only the high layer", dead)
	}
	r.flowing[2] = true
	dead, changed := r.step()
	if dead != [MaxLayers]bool{} || !changed {
		t.Fatalf("after the layer resumed: dead %v, changed %v", dead, changed)
	}
}

// A layer the publisher was told not to send is never dead, however long
// it is silent, so that it can be asked for again; once asked for, it has
// LayerResumeTimeout to resume before it is dead.
func TestLayerMonitorIgnoresUnwantedSilence(t *testing.T) {
	r := newMonitorRun(t)
	r.step()
	r.flowing[1], r.expected[1] = false, false
	for range 20 {
		if dead, _ := r.step(); dead[1] {
			t.Fatal("an unwanted silent layer was reported dead")
		}
	}
	r.expected[1] = true
	n := r.stepsUntilDead(1, 20)
	if silent := time.Duration(n-1) * LayerCheckInterval; silent < LayerResumeTimeout || silent > LayerResumeTimeout+LayerCheckInterval {
		t.Fatalf("dead %v after being asked for, want %v (one sample later at most)", silent, LayerResumeTimeout)
	}
	// Asked for and resuming within the grace period: never dead.
	r2 := newMonitorRun(t)
	r2.step()
	r2.flowing[1], r2.expected[1] = false, false
	for range 8 {
		r2.step()
	}
	r2.expected[1] = true
	r2.step()
	r2.step()
	r2.flowing[1] = true
	for range 8 {
		if dead, _ := r2.step(); dead[1] {
			t.Fatal("a layer that resumed in time was reported dead")
		}
	}
	// A dead layer nobody wants any more is not dead: it may be asked for.
	r.expected[1] = false
	if dead, changed := r.step(); dead[1] || !changed {
		t.Fatalf("unwanted dead layer: dead %v, changed %v", dead, changed)
	}
}

// A layer that has never sent a packet is dead once expected for the
// resume timeout (a publisher starting a layer is like one resuming it);
// an absent layer never is.
func TestLayerMonitorNeverSentAndAbsent(t *testing.T) {
	r := newMonitorRun(t)
	r.flowing[0] = false
	r.present[2], r.flowing[2] = false, false
	if n := r.stepsUntilDead(0, 15); time.Duration(n)*LayerCheckInterval < LayerResumeTimeout {
		t.Fatalf("a layer that never sent was dead after %d samples, before the resume timeout", n)
	}
	for range 10 {
		if dead, _ := r.step(); dead[2] || dead[1] {
			t.Fatalf("dead = %v: an absent or flowing layer reported dead", dead)
		}
	}
}

// The monitor reads real receivers: it sees a Receiver's packets stop and
// resume through PacketCount.
func TestLayerMonitorWithReceiver(t *testing.T) {
	r := newTestReceiver(vp8Codec, nil)
	f := newFeeder(r)
	var m LayerMonitor
	now := time.Unix(1000, 0)
	present := [MaxLayers]bool{true}
	sample := func() bool {
		now = now.Add(LayerCheckInterval)
		dead, _ := m.Observe(now, [MaxLayers]uint64{r.PacketCount()}, present, present)
		return dead[0]
	}
	seq := uint16(0)
	send := func() {
		seq++
		f.feed(t, seq, uint32(seq)*3000, vp8Delta(20), time.Duration(seq)*time.Millisecond)
	}
	for range 6 {
		send()
		if sample() {
			t.Fatal("flowing receiver reported dead")
		}
	}
	dead := false
	for i := 0; i < 5 && !dead; i++ {
		dead = sample()
	}
	if !dead {
		t.Fatal("silent receiver not reported dead")
	}
	send()
	if sample() {
		t.Fatal("resumed receiver still reported dead")
	}
}
