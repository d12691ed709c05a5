package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
)

// event is one line of go test -json (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// tally follows go test's events, prints each package's result and each
// failure's output as they come, and counts tests (subtests included).
type tally struct {
	w                       io.Writer
	passed, failed, skipped int
	output                  map[string][]string // by package and test, while it runs
	skips                   map[string][]string // skip reason -> "pkg.Test"
	failedPkgs              []string
}

func newTally(w io.Writer) *tally {
	return &tally{w: w, output: map[string][]string{}, skips: map[string][]string{}}
}

// read consumes go test's standard output until it ends. Lines that are not
// events (a build's own words) are printed as they are.
func (t *tally) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.Action == "" {
			fmt.Fprintln(t.w, sc.Text())
			continue
		}
		t.add(ev)
	}
	return sc.Err()
}

func (t *tally) add(ev event) {
	key := ev.Package + " " + ev.Test
	switch ev.Action {
	case "output", "build-output":
		t.output[key] = append(t.output[key], ev.Output)
	case "pass", "fail", "skip":
		if ev.Test == "" {
			t.packageDone(ev)
			return
		}
		switch ev.Action {
		case "pass":
			t.passed++
		case "fail":
			t.failed++
			fmt.Fprintf(t.w, "--- FAIL: %s (%s)\n%s", ev.Test, ev.Package, strings.Join(t.output[key], ""))
		case "skip":
			t.skipped++
			reason := skipReason(t.output[key])
			t.skips[reason] = append(t.skips[reason], shortPackage(ev.Package)+"."+ev.Test)
		}
		delete(t.output, key)
	}
}

// packageDone prints a package's line: ok, FAIL (with what it printed
// outside any test: a panic, a build error), or nothing for one without
// tests.
func (t *tally) packageDone(ev event) {
	key := ev.Package + " "
	defer delete(t.output, key)
	elapsed := time.Duration(ev.Elapsed * float64(time.Second)).Round(10 * time.Millisecond)
	switch ev.Action {
	case "pass":
		fmt.Fprintf(t.w, "ok   %s %v\n", ev.Package, elapsed)
	case "fail":
		t.failedPkgs = append(t.failedPkgs, ev.Package)
		fmt.Fprintf(t.w, "%sFAIL %s %v\n", strings.Join(t.output[key], ""), ev.Package, elapsed)
	}
}

// frameworkLine matches what the testing package itself prints around a
// test's own words.
var frameworkLine = regexp.MustCompile(`^\s*(=== |--- |PASS$|FAIL$|ok\s)`)

// skipReason returns the message a skipped test gave: its last line of its
// own, without the file:line prefix.
func skipReason(lines []string) string {
	for _, l := range slices.Backward(lines) {
		l = strings.TrimRight(l, "\n")
		if strings.TrimSpace(l) == "" || frameworkLine.MatchString(l) {
			continue
		}
		l = strings.TrimSpace(l)
		if i := strings.Index(l, ": "); i > 0 && strings.Contains(l[:i], ".go:") {
			l = l[i+2:]
		}
		return l
	}
	return "(no reason given)"
}

func shortPackage(p string) string {
	return strings.TrimPrefix(p, "github.com/bayan-dev/bayan/")
}

// summary prints the skipped tests by reason, then the closing line.
func (t *tally) summary() {
	if len(t.failedPkgs) > 0 {
		fmt.Fprintf(t.w, "\nfailed packages: %s\n", strings.Join(t.failedPkgs, " "))
	}
	if t.skipped > 0 {
		fmt.Fprintf(t.w, "\n%d tests skipped:\n", t.skipped)
		reasons := make([]string, 0, len(t.skips))
		for r := range t.skips {
			reasons = append(reasons, r)
		}
		slices.SortFunc(reasons, func(a, b string) int { return len(t.skips[b]) - len(t.skips[a]) })
		for _, r := range reasons {
			tests := t.skips[r]
			names := tests
			more := ""
			if len(names) > 6 {
				names, more = names[:6], fmt.Sprintf(" and %d more", len(tests)-6)
			}
			fmt.Fprintf(t.w, "- %d: %s\n    %s%s\n", len(tests), r, strings.Join(names, ", "), more)
		}
	}
	fmt.Fprintf(t.w, "\n%d passed, %d failed, %d skipped\n", t.passed, t.failed, t.skipped)
}
