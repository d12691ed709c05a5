package browsertest_test

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bayan-dev/bayan/internal/browsertest"
)

// cameraPage plays the fake camera in a video element and logs to the console.
const cameraPage = `<!doctype html>
<html><body style="margin:0;background:#234">
<h1 style="color:white">browsertest</h1>
<video id="v" autoplay muted playsinline style="max-width:100%"></video>
<script>
window.ticks = 0;
setInterval(() => window.ticks++, 50);
console.log("page says hello");
navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}, audio: true}).then(s => {
	document.getElementById("v").srcObject = s;
	window.tracks = s.getTracks().map(t => t.kind).sort().join(",");
}, e => console.error("getUserMedia: " + e));
</script></body></html>`

func TestBrowserFakeMediaConsoleAndScreenshots(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{Timeout: time.Minute})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, cameraPage)
	}))
	defer srv.Close()

	p := b.NewPage("camera")
	p.Open(srv.URL)

	if err := p.WaitFor(`window.tracks === "audio,video"`, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(`document.getElementById("v").videoWidth > 0`, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	var width int
	if err := p.Eval(`document.getElementById("v").videoWidth`, &width); err != nil {
		t.Fatal(err)
	}
	if width != 640 {
		t.Errorf("fake camera width %d, want 640", width)
	}

	// A condition that never holds times out with its last value.
	err := p.WaitFor(`window.ticks < 0 ? true : "ticks=" + window.ticks`, 500*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "ticks=") {
		t.Errorf("WaitFor of a false condition: %v, want a timeout naming the last value", err)
	}
	// An exception is a value too, not the end of the wait.
	if err := p.WaitFor(`undefinedThing.x`, 300*time.Millisecond); err == nil || !strings.Contains(err.Error(), "ReferenceError") {
		t.Errorf("WaitFor of a throwing expression: %v, want its exception", err)
	}

	// Actions: a click through chromedp reaches the page.
	if err := p.Eval(`document.body.addEventListener("click", () => window.clicked = true), true`, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Do(chromedp.Click(chromedp.CSS("h1"))); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(`window.clicked === true`, 5*time.Second); err != nil {
		t.Fatal(err)
	}

	found := false
	for _, line := range p.Console() {
		found = found || strings.Contains(line, "page says hello")
	}
	if !found {
		t.Errorf("console lines %q lack the page's log", p.Console())
	}

	for _, size := range [][2]int{{1280, 800}, {390, 844}} {
		path := p.Screenshot("check", size[0], size[1])
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("screenshot %s: %v", path, err)
		}
		if w := img.Bounds().Dx(); w != size[0] {
			t.Errorf("screenshot %s is %d wide, want %d", path, w, size[0])
		}
	}
}
