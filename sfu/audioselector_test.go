package sfu

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// selectorFixture is a selector without ticker and n attached audio
// receivers whose levels the test sets per tick.
type selectorFixture struct {
	sel  *AudioSelector
	recv []*Receiver
	now  time.Time
}

const testLevelExt = 1

func newAudioReceiver() *Receiver {
	return NewReceiverFromSource(nil, ReceiverParams{
		Kind: webrtc.RTPCodecTypeAudio, Codec: opusCodec, SSRC: testPubSSRC, AudioLevelExtID: testLevelExt,
	})
}

func newSelectorFixture(t *testing.T, n int, cfg AudioSelectorConfig) *selectorFixture {
	t.Helper()
	f := &selectorFixture{sel: newAudioSelector(cfg), now: testEpoch}
	f.sel.SetActive(true)
	for i := 0; i < n; i++ {
		r := newAudioReceiver()
		f.sel.Attach(r)
		f.recv = append(f.recv, r)
	}
	return f
}

// step records one 20 ms packet per receiver at the given dBov (127 is
// silence; a negative level sends nothing) and ticks.
func (f *selectorFixture) step(dBov []int) {
	for i, r := range f.recv {
		if dBov[i] >= 0 {
			r.slot.Load().levels.add(amplitudeMillionths[dBov[i]])
		}
	}
	f.now = f.now.Add(20 * time.Millisecond)
	f.sel.tick(f.now)
}

// selected returns the indexes of the selected receivers.
func (f *selectorFixture) selected() []int {
	var out []int
	for i, r := range f.recv {
		if f.sel.Selected(r) {
			out = append(out, i)
		}
	}
	return out
}

func (f *selectorFixture) state(i int) int32 { return f.recv[i].slot.Load().state.Load() }

func levels(n, rest int, set map[int]int) []int {
	l := make([]int, n)
	for i := range l {
		l[i] = rest
		if v, ok := set[i]; ok {
			l[i] = v
		}
	}
	return l
}

func TestAudioSelectorPicksLoudest(t *testing.T) {
	f := newSelectorFixture(t, 6, AudioSelectorConfig{K: 3})
	lv := levels(6, 127, map[int]int{1: 10, 2: 30, 4: 20, 5: 35})
	for range 5 {
		f.step(lv)
	}
	if got := fmt.Sprint(f.selected()); got != "[1 2 4]" {
		t.Fatalf("selected %s, want [1 2 4]", got)
	}
	if f.state(5) != audioSpare {
		t.Fatalf("the fourth loudest is in state %d, want spare", f.state(5))
	}
	if f.state(0) != audioUnselected || f.state(3) != audioUnselected {
		t.Fatal("a silent track is selected or spare")
	}
}

func TestAudioSelectorHysteresis(t *testing.T) {
	f := newSelectorFixture(t, 4, AudioSelectorConfig{K: 3})
	f.step(levels(4, 127, map[int]int{0: 20, 1: 20, 2: 20}))
	for range 10 {
		f.step(levels(4, 127, map[int]int{0: 20, 1: 20, 2: 20}))
	}
	// 2 dB louder is within the margin: no place changes hands.
	for range 50 {
		f.step(levels(4, 127, map[int]int{0: 20, 1: 20, 2: 20, 3: 18}))
		if got := fmt.Sprint(f.selected()); got != "[0 1 2]" {
			t.Fatalf("a newcomer 2 dB louder displaced a speaker: selected %s", got)
		}
	}
	// 10 dB louder takes a place at once.
	f.step(levels(4, 127, map[int]int{0: 20, 1: 20, 2: 20, 3: 10}))
	if !f.sel.Selected(f.recv[3]) || len(f.selected()) != 3 {
		t.Fatalf("a newcomer 10 dB louder is not selected at the next tick: %v", f.selected())
	}
}

func TestAudioSelectorHangover(t *testing.T) {
	f := newSelectorFixture(t, 2, AudioSelectorConfig{K: 3, Hangover: time.Second})
	for range 10 {
		f.step([]int{15, 127})
	}
	// Track 0 falls silent: kept through the hang-over, then dropped.
	quietTicks := 0
	for range 100 {
		f.step([]int{127, 127})
		if !f.sel.Selected(f.recv[0]) {
			break
		}
		quietTicks++
	}
	if d := time.Duration(quietTicks) * 20 * time.Millisecond; d < 900*time.Millisecond || d > 1300*time.Millisecond {
		t.Fatalf("a silent track stayed selected for %v, want about the 1 s hang-over", d)
	}
	// A track that sends nothing at all (DTX) is silent too.
	for range 10 {
		f.step([]int{15, -1})
	}
	for range 80 {
		f.step([]int{-1, -1})
	}
	if f.sel.Selected(f.recv[0]) {
		t.Fatal("a track that stopped sending is still selected after 1.6 s")
	}
}

// The main property: with 60 tracks, many talking at once and the loudest
// moving around, never more than K are selected and the loudest one always
// is from the tick after it became the loudest.
func TestAudioSelectorAtMostKAndLoudest(t *testing.T) {
	const n, k = 60, 3
	f := newSelectorFixture(t, n, AudioSelectorConfig{K: k})
	rnd := uint64(1)
	next := func() int { // xorshift: deterministic chatter
		rnd ^= rnd << 13
		rnd ^= rnd >> 7
		rnd ^= rnd << 17
		return int(rnd % 1000)
	}
	loudest := 0
	for tick := 0; tick < 1500; tick++ {
		if tick%100 == 0 {
			loudest = (loudest + 17) % n
		}
		lv := make([]int, n)
		for i := range lv {
			switch {
			case i == loudest:
				lv[i] = 6 + next()%4 // -6..-9 dBov
			case i%5 == 0:
				lv[i] = 25 + next()%15 // background talkers, -25..-40 dBov
			default:
				lv[i] = 127
			}
		}
		f.step(lv)
		sel := f.selected()
		if len(sel) > k {
			t.Fatalf("tick %d: %d tracks selected: %v", tick, len(sel), sel)
		}
		if !f.sel.Selected(f.recv[loudest]) {
			t.Fatalf("tick %d: the loudest track %d is not selected (selected %v)", tick, loudest, sel)
		}
	}
}

func TestAudioListener(t *testing.T) {
	f := newSelectorFixture(t, 5, AudioSelectorConfig{K: 3})
	f.step(levels(5, 127, map[int]int{0: 10, 1: 12, 2: 14, 3: 16}))
	var l, own AudioListener
	own.SetOwn(f.recv[0]) // a listener whose microphone is selected
	for i, want := range []bool{true, true, true, false, false} {
		if got := l.allows(f.recv[i].slot.Load()); got != want {
			t.Errorf("track %d allowed %v to a listener without a selected mic, want %v", i, got, want)
		}
	}
	for i, want := range []bool{true, true, true, true, false} {
		if got := own.allows(f.recv[i].slot.Load()); got != want {
			t.Errorf("track %d allowed %v to the selected speaker, want %v", i, got, want)
		}
	}
	own.ClearOwn(f.recv[0])
	if own.allows(f.recv[3].slot.Load()) {
		t.Error("the spare is still allowed after ClearOwn")
	}
	f.sel.SetActive(false)
	if !l.allows(f.recv[4].slot.Load()) {
		t.Error("an inactive selector withholds a track")
	}
	f.sel.Detach(f.recv[4])
	f.sel.SetActive(true)
	if !l.allows(f.recv[4].slot.Load()) {
		t.Error("a detached track is withheld")
	}
}

func TestAudioSelectorClose(t *testing.T) {
	s := NewAudioSelector(AudioSelectorConfig{Interval: time.Millisecond})
	r := newAudioReceiver()
	s.Attach(r)
	s.SetActive(true)
	time.Sleep(5 * time.Millisecond)
	s.Close()
	s.Close() // idempotent
	newAudioSelector(AudioSelectorConfig{}).Close()
}

// audioFeeder feeds Opus packets with an audio level extension, 20 ms apart.
type audioFeeder struct {
	*packetFeeder
	seq uint16
	ts  uint32
	at  time.Duration
}

// send feeds one packet at level dBov whose payload names its sequence
// number, and returns that payload.
func (a *audioFeeder) send(t *testing.T, dBov byte) []byte {
	t.Helper()
	p := &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: a.seq, Timestamp: a.ts, SSRC: testPubSSRC},
		Payload: []byte{0xF8, byte(a.seq >> 8), byte(a.seq), 0xAA},
	}
	if err := p.Header.SetExtension(testLevelExt, []byte{dBov}); err != nil {
		t.Fatal(err)
	}
	a.feedPacket(t, p, a.at)
	a.seq++
	a.ts += 960
	a.at += 20 * time.Millisecond
	return p.Payload
}

// A track that becomes selected starts with the packets that made it loud
// (the last 100 ms), and the subscriber's sequence numbers and timestamps
// run on without a gap or a repeat.
func TestDownTrackPrerollOnSelection(t *testing.T) {
	sel := newAudioSelector(AudioSelectorConfig{K: 1})
	r := newAudioReceiver()
	other := newAudioReceiver()
	sel.Attach(r)
	sel.Attach(other)
	dt := NewDownTrack(r, "TR_a", "PA|TR_a", nil)
	var l AudioListener
	dt.SetAudioListener(&l)
	r.AddDownTrack(dt)
	w := &recordingWriter{}
	bindDownTrack(t, dt, testDownPT, testDownSSRC, w)
	f := &audioFeeder{packetFeeder: newFeeder(r), seq: 65530, ts: 1 << 31}
	now := testEpoch

	// Inactive: everything flows.
	var want [][]byte
	for range 5 {
		want = append(want, f.send(t, 127))
	}
	// Active, with another track the loudest: withheld.
	sel.SetActive(true)
	other.slot.Load().levels.add(amplitudeMillionths[10])
	now = now.Add(20 * time.Millisecond)
	sel.tick(now)
	for range 20 {
		f.send(t, 127)
	}
	now = now.Add(400 * time.Millisecond)
	sel.tick(now)
	if n := len(w.sent()); n != 5 {
		t.Fatalf("%d packets sent while the track was not selected, want the 5 sent before", n)
	}
	// It becomes loud; the next tick selects it (the other one falls silent
	// and is outshouted).
	var loud [][]byte
	for range 8 {
		loud = append(loud, f.send(t, 3))
	}
	now = now.Add(160 * time.Millisecond)
	sel.tick(now)
	if !sel.Selected(r) {
		t.Fatal("the loud track is not selected")
	}
	want = append(want, loud[len(loud)-5:]...) // 100 ms of pre-roll
	for range 3 {
		want = append(want, f.send(t, 3))
	}
	got := w.sent()
	if len(got) != len(want) {
		t.Fatalf("sent %d packets, want %d (5 live, 5 pre-roll, 3 live)", len(got), len(want))
	}
	for i := range got {
		if string(got[i].payload) != string(want[i]) {
			t.Fatalf("packet %d carries %x, want %x", i, got[i].payload, want[i])
		}
		if i == 0 {
			continue
		}
		if got[i].hdr.SequenceNumber != got[i-1].hdr.SequenceNumber+1 {
			t.Fatalf("packet %d has sequence number %d after %d", i, got[i].hdr.SequenceNumber, got[i-1].hdr.SequenceNumber)
		}
		if d := int32(got[i].hdr.Timestamp - got[i-1].hdr.Timestamp); d <= 0 {
			t.Fatalf("packet %d: timestamp goes back by %d", i, -d)
		}
	}
	if n := r.stats.PrerollPackets.Load(); n != 5 {
		t.Fatalf("PrerollPackets = %d, want 5", n)
	}

	// Withheld again, and let through after only two packets: the pre-roll
	// replays only what was never sent.
	sel.SetActive(true)
	r.slot.Load().state.Store(audioUnselected)
	f.send(t, 3)
	f.send(t, 3)
	r.slot.Load().state.Store(audioSelected)
	w.reset()
	f.send(t, 3)
	if n := len(w.sent()); n != 3 {
		t.Fatalf("after a 40 ms gap %d packets were sent, want the 2 withheld and the live one", n)
	}
}
