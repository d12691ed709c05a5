package main

import (
	"strings"
	"testing"
)

// A stream as go test -json writes it: a pass, a skip with its reason, a
// failure with its output, a package without tests.
const stream = `{"Action":"start","Package":"m/a"}
{"Action":"run","Package":"m/a","Test":"TestOK"}
{"Action":"output","Package":"m/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"pass","Package":"m/a","Test":"TestOK","Elapsed":0.1}
{"Action":"run","Package":"m/a","Test":"TestBrowser"}
{"Action":"output","Package":"m/a","Test":"TestBrowser","Output":"=== RUN   TestBrowser\n"}
{"Action":"output","Package":"m/a","Test":"TestBrowser","Output":"    browsertest.go:70: needs Chromium: apt-get install chromium\n"}
{"Action":"output","Package":"m/a","Test":"TestBrowser","Output":"--- SKIP: TestBrowser (0.00s)\n"}
{"Action":"skip","Package":"m/a","Test":"TestBrowser"}
{"Action":"output","Package":"m/a","Test":"TestOther","Output":"    browsertest.go:70: needs Chromium: apt-get install chromium\n"}
{"Action":"skip","Package":"m/a","Test":"TestOther"}
{"Action":"output","Package":"m/a","Test":"TestBad","Output":"    a_test.go:9: want 2, got 3\n"}
{"Action":"fail","Package":"m/a","Test":"TestBad","Elapsed":0.2}
{"Action":"output","Package":"m/a","Output":"FAIL\n"}
{"Action":"fail","Package":"m/a","Elapsed":1.5}
a build error, not an event
{"Action":"skip","Package":"m/b"}
`

func TestTallyCountsAndExplains(t *testing.T) {
	var out strings.Builder
	tl := newTally(&out)
	if err := tl.read(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	tl.summary()
	got := out.String()
	if tl.passed != 1 || tl.failed != 1 || tl.skipped != 2 {
		t.Errorf("counted %d passed, %d failed, %d skipped; want 1, 1, 2", tl.passed, tl.failed, tl.skipped)
	}
	for _, want := range []string{
		"--- FAIL: TestBad (m/a)\n    a_test.go:9: want 2, got 3\n",
		"FAIL\nFAIL m/a 1.5s\n",
		"a build error, not an event\n",
		"2 tests skipped:\n- 2: needs Chromium: apt-get install chromium\n    m/a.TestBrowser, m/a.TestOther\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "\n1 passed, 1 failed, 2 skipped\n") {
		t.Errorf("output does not end with the closing line:\n%s", got)
	}
	if strings.Contains(got, "m/b") {
		t.Errorf("a package without tests is listed:\n%s", got)
	}
}

func TestDefaultsGiveWayToArguments(t *testing.T) {
	for _, c := range []struct {
		args       []string
		race       bool
		flags, pkg string
	}{
		{nil, true, "-count=1 -p=1 -timeout=30m -race", "./..."},
		{[]string{"-count=3", "-run", "TestX", "./test/"}, false, "-p=1 -timeout=30m -count=3 -run TestX", "./test/"},
		{[]string{"-race=false", "-timeout", "5m", ".", "./web/"}, true, "-count=1 -p=1 -race=false -timeout 5m", ". ./web/"},
	} {
		flags, pkgs := splitArgs(c.args)
		if got := strings.Join(withDefaults(flags, c.race), " "); got != c.flags {
			t.Errorf("%v: flags %q, want %q", c.args, got, c.flags)
		}
		if got := strings.Join(pkgs, " "); got != c.pkg {
			t.Errorf("%v: packages %q, want %q", c.args, got, c.pkg)
		}
	}
}
