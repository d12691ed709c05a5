package testserver

import (
	"fmt"
	"strings"
	"testing"
)

func TestLogTailKeepsTheLastLinesInOrder(t *testing.T) {
	l := newLogTail(3)
	if got := l.String(); got != "" {
		t.Fatalf("empty tail: %q", got)
	}
	fmt.Fprintf(l, "one\n")
	fmt.Fprintf(l, "two\n")
	if got := l.String(); got != "one\ntwo\n" {
		t.Fatalf("two lines: %q", got)
	}
	for _, s := range []string{"three", "four", "five"} {
		fmt.Fprintf(l, "%s\n", s)
	}
	if got := l.String(); got != "three\nfour\nfive\n" {
		t.Fatalf("after wrapping: %q", got)
	}
	if strings.Contains(l.String(), "one") {
		t.Fatal("an old line kept")
	}
}
