package compat_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"

	"github.com/bayan-dev/bayan/internal/browsertest"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/room"
	"github.com/bayan-dev/bayan/server"
)

// sdkDir holds page.html and the npm livekit-client that `npm ci` installs
// from its lock file.
const sdkDir = "testdata/browser-sdk"

// requireSDK skips the test (fails it when CI is set) unless npm ci has
// installed the page's livekit-client.
func requireSDK(t *testing.T) {
	t.Helper()
	esm := filepath.Join(sdkDir, "node_modules", "livekit-client", "dist", "livekit-client.esm.mjs")
	if _, err := os.Stat(esm); err == nil {
		return
	}
	msg := "needs the npm livekit-client: run `npm ci --prefix compat/testdata/browser-sdk` (" + esm + " is missing)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// browserMedia is what the Go SDK participant receives from the browser:
// RTP packets by kind, and the size of the last VP8 keyframe.
type browserMedia struct {
	mu       sync.Mutex
	packets  map[webrtc.RTPCodecType]int
	codecs   map[webrtc.RTPCodecType]string
	keySize  [2]int
	keys     int
	videoPub *lksdk.RemoteTrackPublication
	// How the video began: the frames started, whether the first one was a
	// keyframe, and the PLIs sent for want of one.
	frames     int
	firstIsKey bool
	plis       int
}

// keyframeWait is how long a receiver goes without a keyframe to start
// from before it asks for one, as a decoder does when the one it was sent
// was lost.
const keyframeWait = 2 * time.Second

func (m *browserMedia) subscribed(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	m.mu.Lock()
	m.codecs[track.Kind()] = track.Codec().MimeType
	video := track.Kind() == webrtc.RTPCodecTypeVideo
	if video {
		m.videoPub = pub
	}
	m.mu.Unlock()
	done := make(chan struct{})
	defer close(done)
	if video {
		go m.askForKeyframes(rp, track.SSRC(), done)
	}
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		w, h, key := vp8KeyframeSize(pkt.Payload)
		m.mu.Lock()
		m.packets[track.Kind()]++
		if video && vp8FrameStart(pkt.Payload) {
			if m.frames == 0 {
				m.firstIsKey = key
			}
			m.frames++
		}
		if key && video {
			m.keySize, m.keys = [2]int{w, h}, m.keys+1
		}
		m.mu.Unlock()
	}
}

// askForKeyframes sends a PLI for ssrc whenever video has come for
// keyframeWait without a keyframe, until done.
func (m *browserMedia) askForKeyframes(rp *lksdk.RemoteParticipant, ssrc webrtc.SSRC, done <-chan struct{}) {
	tick := time.NewTicker(keyframeWait)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		m.mu.Lock()
		ask := m.packets[webrtc.RTPCodecTypeVideo] > 0 && m.keys == 0
		if ask {
			m.plis++
		}
		m.mu.Unlock()
		if ask {
			rp.WritePLI(ssrc)
		}
	}
}

// videoStart describes how the video began, for failure messages.
func (m *browserMedia) videoStart() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprintf("%d video packets, %d frames begun (the first a keyframe: %v), %d keyframes, %d PLIs for want of one",
		m.packets[webrtc.RTPCodecTypeVideo], m.frames, m.firstIsKey, m.keys, m.plis)
}

func (m *browserMedia) counts() (audio, video int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.packets[webrtc.RTPCodecTypeAudio], m.packets[webrtc.RTPCodecTypeVideo]
}

// lastKeyframe returns the size of the last keyframe and how many came.
func (m *browserMedia) lastKeyframe() (size [2]int, count int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keySize, m.keys
}

// waitUntil polls cond every 100 ms until it holds or timeout passes; cond
// also says how far things got, for the failure message.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, progress := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, progress)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// remoteVideo is the page's element playing the Go SDK's video.
const remoteVideo = `document.querySelector('#remote video[data-identity="gosdk"]')`

// The npm livekit-client in Chromium joins a Bayan room, publishes its
// camera (VP8, simulcast) and microphone, and plays a video the LiveKit Go
// SDK publishes (real VP8 frames from an IVF file); the Go SDK receives the
// browser's audio and video, and can pick between the browser's simulcast
// layers.
func TestBrowserSDKPublishesAndSubscribes(t *testing.T) {
	browsertest.Require(t)
	requireSDK(t)
	// Short pings, so that the test spans several ping timeouts: both SDKs
	// must stay connected through them.
	srv := testserver.Start(t, func(c *server.Config) {
		c.Room.PingInterval = time.Second
		c.Room.PingTimeout = 3 * time.Second
	})
	const roomName = "compat"

	// The Go SDK participant: publishes a looping VP8 file, subscribes to
	// whatever the browser publishes.
	got := &browserMedia{packets: map[webrtc.RTPCodecType]int{}, codecs: map[webrtc.RTPCodecType]string{}}
	var reconnects atomic.Int32
	cb := lksdk.NewRoomCallback()
	cb.OnReconnecting = func() { reconnects.Add(1) }
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		if rp.Identity() == "browser" {
			go got.subscribed(track, pub, rp)
		}
	}
	goRoom := testserver.Join(t, srv, testserver.Token(t, roomName, "gosdk", nil), cb)
	frames, err := readIVF("testdata/testsrc2-320x240-15fps.ivf")
	if err != nil {
		t.Fatal(err)
	}
	track, err := lksdk.NewLocalTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000})
	if err != nil {
		t.Fatal(err)
	}
	track.OnBind(func() { _ = track.StartWrite(frames, nil) })
	t.Cleanup(func() { _ = track.Close() })
	if _, err := goRoom.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{
		Name: "gosdk-camera", Source: livekit.TrackSource_CAMERA, VideoWidth: 320, VideoHeight: 240,
	}); err != nil {
		t.Fatalf("Go SDK: publish: %v", err)
	}

	// The page and its SDK, served over loopback by the test.
	pages := httptest.NewServer(http.FileServer(http.Dir(sdkDir)))
	t.Cleanup(pages.Close)
	b := browsertest.Start(t, browsertest.Options{Timeout: 3 * time.Minute})
	page := b.NewPage("browser")
	q := url.Values{"url": {srv.URL()}, "token": {testserver.Token(t, roomName, "browser", nil)}}
	page.Open(pages.URL + "/page.html?" + q.Encode())
	t.Cleanup(func() {
		if t.Failed() {
			page.Screenshot("failed", 1280, 800)
		}
	})

	if err := page.WaitFor(`window.bayan?.status === "published" || window.bayan?.status`, 30*time.Second); err != nil {
		t.Fatalf("the browser did not join and publish: %v", err)
	}
	var version string
	if err := page.Eval(`window.bayan.sdkVersion`, &version); err != nil {
		t.Fatal(err)
	}
	t.Logf("livekit-client %s joined and published", version)

	// The browser plays the Go SDK's video: decoded at the file's size, and
	// its clock advancing.
	playing := `(() => {
		const v = ` + remoteVideo + `;
		if (!v) return "no video element for gosdk yet; subscribed: " + JSON.stringify(window.bayan.subscribed);
		const q = v.getVideoPlaybackQuality();
		return v.videoWidth > 0 && q.totalVideoFrames > 0 ||
			"videoWidth " + v.videoWidth + ", readyState " + v.readyState + ", frames " + q.totalVideoFrames;
	})()`
	if err := page.WaitFor(playing, 30*time.Second); err != nil {
		t.Fatalf("the browser does not play the Go SDK's video: %v", err)
	}
	var video struct {
		Width, Height int
		Time          float64
	}
	if err := page.Eval(`(() => { const v = `+remoteVideo+`; return {width: v.videoWidth, height: v.videoHeight, time: v.currentTime}; })()`, &video); err != nil {
		t.Fatal(err)
	}
	if video.Width != 320 || video.Height != 240 {
		t.Errorf("the browser decoded the Go SDK's video at %dx%d, want the file's 320x240", video.Width, video.Height)
	}
	advancing := fmt.Sprintf(`%s.currentTime > %g || "currentTime " + %s.currentTime`, remoteVideo, video.Time+1, remoteVideo)
	if err := page.WaitFor(advancing, 15*time.Second); err != nil {
		t.Fatalf("the Go SDK's video is not playing on: %v", err)
	}

	// The Go SDK receives the browser's microphone and camera.
	waitUntil(t, "RTP from the browser's audio and video at the Go SDK", 30*time.Second, func() (bool, string) {
		a, v := got.counts()
		return a >= 100 && v >= 100, fmt.Sprintf("%d audio and %d video packets", a, v)
	})
	got.mu.Lock()
	audioCodec, videoCodec := got.codecs[webrtc.RTPCodecTypeAudio], got.codecs[webrtc.RTPCodecTypeVideo]
	got.mu.Unlock()
	if audioCodec != webrtc.MimeTypeOpus || videoCodec != webrtc.MimeTypeVP8 {
		t.Errorf("the browser's tracks reached the Go SDK as %q and %q, want Opus and VP8", audioCodec, videoCodec)
	}

	// Simulcast, as the browser sees it: more than one RTP stream (rid)
	// of its camera carries packets.
	streams := `(async () => {
		const s = (await window.outboundStreams()).filter(x => x.kind === "video" && x.packetsSent > 0);
		return s.length >= 2 || JSON.stringify(s);
	})()`
	if err := page.WaitFor(streams, 20*time.Second); err != nil {
		t.Fatalf("the browser does not send simulcast layers: %v", err)
	}
	// As the node sees it: packets on more than one layer of the track.
	camera := browserCamera(t, srv.Rooms().Room(roomName).Participant("browser"))
	waitUntil(t, "packets on two simulcast layers at the node", 20*time.Second, func() (bool, string) {
		n := camera.LayerPackets()
		layers := 0
		for _, c := range n {
			if c > 0 {
				layers++
			}
		}
		return layers >= 2, fmt.Sprintf("packets by layer (low, medium, high): %v", n)
	})
	// As the Go SDK sees it: the track is announced with its layers, and
	// asking for the low one brings smaller keyframes than the default. The
	// default, once the Go SDK has had its second to ask and did not, is
	// the highest layer (it starts on the lowest).
	got.mu.Lock()
	pub := got.videoPub
	got.mu.Unlock()
	info := pub.TrackInfo()
	if len(info.GetLayers()) < 2 {
		t.Fatalf("the browser's camera is announced with layers %v, want two or more", info.GetLayers())
	}
	lowWidth := info.GetLayers()[0].GetWidth()
	for _, l := range info.GetLayers() {
		lowWidth = min(lowWidth, l.GetWidth())
	}
	waitUntil(t, "a keyframe of the browser's camera above the low layer at the Go SDK", 15*time.Second, func() (bool, string) {
		size, n := got.lastKeyframe()
		return n > 0 && uint32(size[0]) > lowWidth, fmt.Sprintf("%s; the low layer %d wide, the last keyframe %v", got.videoStart(), lowWidth, size)
	})
	t.Logf("the video began: %s; the low layer is announced %d wide", got.videoStart(), lowWidth)
	big, keys := got.lastKeyframe()
	if err := pub.SetVideoQuality(livekit.VideoQuality_LOW); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a smaller keyframe after asking for the low layer", 15*time.Second, func() (bool, string) {
		size, n := got.lastKeyframe()
		return n > keys && size[0] < big[0], fmt.Sprintf("%d keyframes, last %v; before %v", n, size, big)
	})
	small, _ := got.lastKeyframe()
	t.Logf("the Go SDK got the browser's camera at %dx%d by default and %dx%d on the low layer", big[0], big[1], small[0], small[1])

	// Neither SDK lost its connection on the way.
	if n := reconnects.Load(); n != 0 {
		t.Errorf("the Go SDK reconnected %d times", n)
	}
	var lost []string
	if err := page.Eval(`window.bayan.events.filter(e => e.startsWith("connection ") && !["connection connecting", "connection connected"].includes(e))`, &lost); err != nil {
		t.Fatal(err)
	}
	if len(lost) > 0 {
		t.Errorf("the browser's connection changed: %q", lost)
	}

	page.Screenshot("joined", 1280, 800)
	page.Screenshot("joined", 390, 844)
}

// browserCamera returns the node's view of the browser's camera track.
func browserCamera(t *testing.T, p *room.Participant) *room.PublishedTrack {
	t.Helper()
	if p == nil {
		t.Fatal("the node has no participant named browser")
	}
	for _, tr := range p.PublishedTracks() {
		if tr.Info().GetType() == livekit.TrackType_VIDEO {
			return tr
		}
	}
	t.Fatal("the node has no video track of the browser's")
	return nil
}
