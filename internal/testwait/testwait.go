// Package testwait waits, in tests, for a condition or for goroutines to
// end, within a bound.
package testwait

import (
	"runtime"
	"testing"
	"time"
)

// Until polls cond every 20 ms until it holds or timeout passes, and
// reports whether it held.
func Until(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// For fails the test now unless cond holds within timeout; what says what
// was awaited, for the failure message.
func For(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	if !Until(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// Goroutines waits up to timeout for the number of goroutines to fall to
// baseline+slack, and reports the test as failed if it does not: what
// started them leaked some.
func Goroutines(t testing.TB, baseline, slack int, timeout time.Duration) {
	t.Helper()
	n := runtime.NumGoroutine()
	Until(timeout, func() bool {
		n = runtime.NumGoroutine()
		return n <= baseline+slack
	})
	if n > baseline+slack {
		t.Errorf("%d goroutines %v after the end, %d before the start: a leak", n, timeout, baseline)
	}
}
