// Command testrun runs every test of the module, WebRTC and browser tests
// included, and ends by saying how many passed, failed and skipped, and why
// those that skipped did.
//
//	go run ./internal/testrun                      # the whole suite, as CI runs it
//	go run ./internal/testrun -run TestClass ./test/
//
// It runs go test -json with the suite's defaults (-count=1 -p 1
// -timeout 30m, and -race where cgo has a C compiler), each of which an
// argument of the same name replaces. Arguments from the first that starts
// with "." are packages (./... when there is none). The suites that need
// the isolated test network make it themselves (internal/testnet).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run runs go test with args and returns the exit status: go test's, or 1
// when a test failed and go test said nothing of it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags, pkgs := splitArgs(args)
	race := raceDefault(ctx)
	goArgs := append([]string{"test", "-json"}, withDefaults(flags, race.on)...)
	goArgs = append(goArgs, pkgs...)
	fmt.Fprintf(stdout, "go %s\n%s\n", strings.Join(goArgs, " "), race.note)

	cmd := exec.CommandContext(ctx, "go", goArgs...)
	cmd.Stderr = stderr
	events, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintf(stderr, "testrun: %v\n", err)
		return 2
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "testrun: start go test: %v\n", err)
		return 2
	}
	tally := newTally(stdout)
	if err := tally.read(events); err != nil {
		fmt.Fprintf(stderr, "testrun: reading go test's output: %v\n", err)
	}
	status := 0
	if err := cmd.Wait(); err != nil {
		status = 1
		if exit, ok := err.(*exec.ExitError); ok && exit.ExitCode() > 0 {
			status = exit.ExitCode()
		}
	}
	tally.summary()
	if status == 0 && tally.failed > 0 {
		status = 1
	}
	return status
}

// splitArgs returns the go test flags and the packages of args.
func splitArgs(args []string) (flags, pkgs []string) {
	for i, a := range args {
		if strings.HasPrefix(a, ".") {
			return args[:i], args[i:]
		}
	}
	return args, []string{"./..."}
}

// withDefaults returns flags with the suite's defaults added for those not
// given.
func withDefaults(flags []string, race bool) []string {
	given := func(name string) bool {
		for _, f := range flags {
			f = strings.TrimLeft(f, "-")
			if f == name || strings.HasPrefix(f, name+"=") {
				return true
			}
		}
		return false
	}
	var out []string
	for _, d := range []struct{ name, value string }{{"count", "1"}, {"p", "1"}, {"timeout", "30m"}} {
		if !given(d.name) {
			out = append(out, "-"+d.name+"="+d.value)
		}
	}
	if race && !given("race") {
		out = append(out, "-race")
	}
	return append(out, flags...)
}

type raceChoice struct {
	on   bool
	note string
}

// raceDefault tells whether -race can be on: it needs cgo, and so a C
// compiler.
func raceDefault(ctx context.Context) raceChoice {
	out, err := exec.CommandContext(ctx, "go", "env", "CGO_ENABLED", "CC").Output()
	if err != nil {
		return raceChoice{note: "race detector off: `go env` failed: " + err.Error()}
	}
	env := strings.Fields(string(out))
	if len(env) < 2 || env[0] != "1" {
		return raceChoice{note: "race detector off: cgo is disabled (CGO_ENABLED=1 turns it on)"}
	}
	if _, err := exec.LookPath(env[1]); err != nil {
		return raceChoice{note: "race detector off: no C compiler (" + env[1] + "); `apt-get install gcc` turns it on"}
	}
	return raceChoice{on: true, note: "race detector on"}
}
