package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// Page is one tab of a Browser. Its console (log calls, uncaught errors,
// the browser's log entries) is collected from its creation and written to
// the test log if the test fails.
type Page struct {
	b    *Browser
	name string
	ctx  context.Context

	mu      sync.Mutex
	console []string
}

// NewPage opens a blank tab; name labels its console lines and screenshots.
func (b *Browser) NewPage(name string) *Page {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	p := &Page{b: b, name: name, ctx: ctx}
	// Console subscribes now, before anything runs in the tab.
	messages := chromedp.Console(ctx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		b.t.Fatalf("browsertest: open tab %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return // the tab or the browser ended
			}
			p.addConsole(m)
		}
	}()
	b.t.Cleanup(func() {
		cancel()
		<-done
		if b.t.Failed() {
			b.t.Logf("browsertest: console of page %s:\n%s", name, strings.Join(p.Console(), "\n"))
		}
	})
	return p
}

func (p *Page) addConsole(m chromedp.ConsoleMessage) {
	line := time.Now().Format("15:04:05.000") + " " + m.String()
	if m.URL != "" {
		// Without the query: it can be long, and hold a token.
		where, _, _ := strings.Cut(m.URL, "?")
		line += fmt.Sprintf(" (%s:%d)", where, m.Line+1)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.console = append(p.console, line)
}

// Console returns the page's console lines so far, oldest first.
func (p *Page) Console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

// Open navigates to url and waits for the page's load event; it fails the
// test if the page cannot be loaded.
func (p *Page) Open(url string) {
	p.b.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Navigate(url)); err != nil {
		p.b.t.Fatalf("browsertest: page %s: open %s: %v", p.name, url, err)
	}
}

// Do runs chromedp actions in the page (chromedp.Click, chromedp.SendKeys,
// ...), within the browser's time bound.
func (p *Page) Do(steps ...chromedp.Action[chromedp.Void]) error {
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		return errorf(err, "page %s", p.name)
	}
	return nil
}

// Eval evaluates a JavaScript expression in the page, awaiting it if it is
// a promise, and decodes its JSON value into out (which may be nil).
func (p *Page) Eval(expr string, out any) error {
	raw, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return errorf(err, "page %s: evaluate %q", p.name, expr)
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return errorf(err, "page %s: decode the value of %q", p.name, expr)
	}
	return nil
}

// pollInterval is how often WaitFor evaluates its expression.
const pollInterval = 100 * time.Millisecond

// WaitFor evaluates expr (awaited if a promise) every 100 ms until it is
// true (strictly: any other value, a string say, is a progress report) or
// timeout passes. The error of a timeout carries the expression's
// last value (as JSON, or its exception), so the failure says how far the
// page got.
func (p *Page) WaitFor(expr string, timeout time.Duration) error {
	// The value is turned into text in the page: it may be anything,
	// including objects JSON cannot hold.
	probe := `(async () => {
		let v;
		try { v = await (` + expr + `); } catch (e) { return {ok: false, last: "exception: " + e}; }
		let s;
		try { s = JSON.stringify(v); } catch (e) { s = undefined; }
		return {ok: v === true, last: s === undefined ? String(v) : s};
	})()`
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	last := "(never evaluated)"
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		var r struct {
			OK   bool   `json:"ok"`
			Last string `json:"last"`
		}
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](probe, chromedp.EvalAwaitPromise))
		switch {
		case err == nil && json.Unmarshal(raw, &r) == nil:
			if r.OK {
				return nil
			}
			last = r.Last
		case err != nil && ctx.Err() == nil:
			last = "error: " + err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("page %s: %q still not true after %v; last value: %s", p.name, expr, timeout, last)
		case <-tick.C:
		}
	}
}

// Screenshot saves a full-page PNG of the page laid out at width×height
// CSS pixels (e.g. 1280×800, or 390×844 for a phone) as
// <artifacts>/<page>-<label>-<width>x<height>.png, logs and returns its path.
// The viewport stays at that size afterwards.
func (p *Page) Screenshot(label string, width, height int) string {
	p.b.t.Helper()
	var opts []chromedp.EmulateViewportOption
	if width < height {
		opts = append(opts, chromedp.EmulatePortrait)
	}
	if err := chromedp.Do(p.ctx, chromedp.EmulateViewport(int64(width), int64(height), opts...)); err != nil {
		p.b.t.Fatalf("browsertest: page %s: viewport %dx%d: %v", p.name, width, height, err)
	}
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.b.t.Fatalf("browsertest: page %s: screenshot: %v", p.name, err)
	}
	name := unsafeName.ReplaceAllString(fmt.Sprintf("%s-%s-%dx%d", p.name, label, width, height), "_") + ".png"
	path := filepath.Join(p.b.artifacts, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.b.t.Fatalf("browsertest: save screenshot: %v", err)
	}
	p.b.t.Logf("browsertest: screenshot %s", path)
	return path
}
