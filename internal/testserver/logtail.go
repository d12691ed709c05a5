package testserver

import (
	"bytes"
	"sync"
)

// logTail keeps the last lines a node logged, to show them when its test
// fails: a CI run's failure then comes with the server's side of it
// (dynacast, liveness, allocation, keyframe decisions), without the whole
// log of every passing test.
type logTail struct {
	mu    sync.Mutex
	lines [][]byte
	next  int
	full  bool
}

func newLogTail(n int) *logTail { return &logTail{lines: make([][]byte, n)} }

// Write implements io.Writer for a slog text handler, which writes one
// line per call.
func (l *logTail) Write(p []byte) (int, error) {
	line := bytes.Clone(bytes.TrimRight(p, "\n"))
	l.mu.Lock()
	l.lines[l.next] = line
	l.next = (l.next + 1) % len(l.lines)
	if l.next == 0 {
		l.full = true
	}
	l.mu.Unlock()
	return len(p), nil
}

// String returns the lines kept, oldest first.
func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b bytes.Buffer
	start, n := 0, l.next
	if l.full {
		start, n = l.next, len(l.lines)
	}
	for i := range n {
		b.Write(l.lines[(start+i)%len(l.lines)])
		b.WriteByte('\n')
	}
	return b.String()
}
