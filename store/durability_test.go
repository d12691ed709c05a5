package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writerEnv, when set, makes TestChatSurvivesKill act as the child writer:
// its value is "<sqlite path> <class id>".
const writerEnv = "BAYAN_STORE_TEST_WRITER"

// TestChatSurvivesKill kills a process that is writing chat messages with
// SIGKILL and checks that every message it was told was stored is there.
func TestChatSurvivesKill(t *testing.T) {
	if v := os.Getenv(writerEnv); v != "" {
		runWriter(v)
		return
	}
	path := filepath.Join(t.TempDir(), DefaultFile)
	s := openTest(t, path)
	c := mustClass(t, s, "Durable")
	s.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // kills the child at worst
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChatSurvivesKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), writerEnv+"="+path+" "+c.ID)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const killAfter = 200
	acked := map[int64]string{}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		// Lines are "ack <id> <body>"; anything else (test framework
		// output) is ignored.
		f := strings.SplitN(sc.Text(), " ", 3)
		if len(f) != 3 || f[0] != "ack" {
			continue
		}
		id, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			t.Fatalf("bad ack line %q", sc.Text())
		}
		acked[id] = f[2]
		if len(acked) == killAfter && !killed {
			// Acks already in the pipe still count: they were
			// acknowledged before the kill.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	werr := cmd.Wait()
	if !killed {
		t.Fatalf("writer ended before %d acks (got %d): %v", killAfter, len(acked), werr)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("writer was not killed by SIGKILL: %v", werr)
	}

	s2 := openTest(t, path)
	got, err := s2.RecentChat(testContext(t), c.ID, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int64]string{}
	for _, m := range got {
		stored[m.ID] = m.Body
	}
	for id, body := range acked {
		if stored[id] != body {
			t.Errorf("acknowledged message %d %q: stored as %q", id, body, stored[id])
		}
	}
	t.Logf("%d acknowledged, %d stored", len(acked), len(stored))
}

// runWriter is the child: it stores chat messages in a bounded loop and
// prints each one's id once AddChatMessage has returned.
func runWriter(arg string) {
	path, classID, _ := strings.Cut(arg, " ")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		os.Exit(2)
	}
	for i := range 100000 {
		body := fmt.Sprintf("message-%d", i)
		m, err := s.AddChatMessage(ctx, ChatMessage{ClassID: classID, Sender: "writer", Body: body})
		if err != nil {
			fmt.Fprintln(os.Stderr, "writer:", err)
			os.Exit(2)
		}
		// os.Stdout is unbuffered: the line leaves with the write call.
		fmt.Printf("ack %d %s\n", m.ID, body)
	}
	os.Exit(0)
}
