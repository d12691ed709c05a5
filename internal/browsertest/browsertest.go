// Package browsertest drives a headless Chromium from tests: fake camera and microphone, bounded waits, console capture and screenshots.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bayan-dev/bayan/internal/testlog"
	"github.com/bayan-dev/bayan/internal/testnet"
)

// DefaultTimeout bounds a whole browser session when Options.Timeout is 0.
const DefaultTimeout = 2 * time.Minute

// Options adjust Start; the zero value is the usual choice.
type Options struct {
	// Timeout bounds the browser's whole life (every page, eval and wait);
	// 0 means DefaultTimeout.
	Timeout time.Duration
	// Flags are extra Chromium switches (name without the dashes → value;
	// true for a bare switch), added to or overriding the defaults.
	Flags map[string]any
}

// Browser is one headless Chromium process for one test, ended with it.
type Browser struct {
	t         testing.TB
	ctx       context.Context // the browser's first tab; pages are new tabs under it
	artifacts string
	output    *testlog.Buffer // Chromium's own stdout and stderr
}

// Path returns Chromium's executable: $BAYAN_CHROMIUM, or the first of the
// usual names found on PATH, or "" when there is none.
func Path() string {
	if p := os.Getenv("BAYAN_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Require skips the test (fails it when CI is set) unless Chromium is
// installed and the test runs inside the test network namespace: Chromium
// leaves loopback out of its ICE candidates, so it needs the namespace's
// veth address, and it must never touch the machine's real network.
func Require(t testing.TB) {
	t.Helper()
	testnet.Require(t)
	if Path() != "" {
		return
	}
	msg := "needs Chromium: `apt-get install chromium` (or set BAYAN_CHROMIUM to its executable)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Start launches Chromium (after Require) with a fresh profile, fake media
// devices that need no permission prompt, and no background traffic. It
// stops when the test ends or opts.Timeout passes, whichever is first.
func Start(t testing.TB, opts Options) *Browser {
	t.Helper()
	Require(t)
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	b := &Browser{t: t, artifacts: artifactsDir(t), output: &testlog.Buffer{}}

	alloc := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path()),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
		chromedp.CombinedOutput(b.output),
		// The machine has no outside network: without these, Chromium
		// waits on refused connections to update and sync services.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		// A tab in the background must keep its media and timers running.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		// Fake camera (a moving test pattern) and microphone (a beep),
		// granted without a prompt; media may play without a gesture.
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	}
	for name, value := range opts.Flags {
		alloc = append(alloc, chromedp.Flag(name, value))
	}

	ctx, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, alloc...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for the process to exit
		cancelTimeout()
		if t.Failed() {
			b.saveOutput()
		}
	})
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start Chromium %s: %v\n%s", Path(), err, b.output.String())
	}
	b.ctx = browserCtx
	t.Logf("browsertest: artifacts (screenshots, logs) in %s", b.artifacts)
	return b
}

// Artifacts is the folder the test's screenshots and logs are saved in:
// $BAYAN_ARTIFACTS/<test name> when that is set, else a temporary folder
// removed after the test.
func (b *Browser) Artifacts() string { return b.artifacts }

func (b *Browser) saveOutput() {
	path := filepath.Join(b.artifacts, "chromium.log")
	if err := os.WriteFile(path, []byte(b.output.String()), 0o644); err != nil {
		b.t.Logf("browsertest: save Chromium's output: %v", err)
		return
	}
	b.t.Logf("browsertest: Chromium's own output is in %s", path)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func artifactsDir(t testing.TB) string {
	root := os.Getenv("BAYAN_ARTIFACTS")
	if root == "" {
		return t.TempDir()
	}
	dir := filepath.Join(root, unsafeName.ReplaceAllString(t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts folder: %v", err)
	}
	return dir
}

// errorf wraps err with what failed.
func errorf(err error, format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), err)
}
