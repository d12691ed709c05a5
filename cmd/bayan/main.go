// Command bayan runs a Bayan node and mints access tokens for it.
//
//	bayan serve --dev
//	bayan token create --dev --room demo --identity alice
//	bayan version
//
// The command line is built with github.com/spf13/cobra: it is the most used
// and actively maintained Go CLI library (kubectl, docker, gh, hugo), gives
// nested subcommands, POSIX flags via pflag, generated help and shell
// completion without code of our own, and is already a familiar shape to
// anyone who has used LiveKit's own `lk` tool or kubectl.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/bayan-dev/bayan/server"
)

// app holds what the commands read and write, so tests can run them
// in-process.
type app struct {
	stdout, stderr io.Writer
	// lookupEnv reads the environment (os.LookupEnv outside tests).
	lookupEnv func(string) (string, bool)
	// started, if set, is called once serve's node is up (tests).
	started func(*server.Server)
}

func main() {
	a := &app{stdout: os.Stdout, stderr: os.Stderr, lookupEnv: os.LookupEnv}
	if err := a.run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bayan:", err)
		os.Exit(1)
	}
}

// run executes the command line args.
func (a *app) run(ctx context.Context, args []string) error {
	root := a.rootCmd()
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "bayan",
		Short: "Bayan: a selective forwarding unit speaking the LiveKit protocol",
		Long: "Bayan is a WebRTC selective forwarding unit (SFU) that speaks the LiveKit client protocol,\n" +
			"so LiveKit SDKs and tools connect to it unchanged.\n\n" +
			"Start a local node with:  bayan serve --dev",
		SilenceUsage:  true, // errors are about configuration, not syntax: do not bury them under usage
		SilenceErrors: true, // main prints the error once
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.AddCommand(a.serveCmd(), a.tokenCmd(), a.classCmd(), a.versionCmd(), a.loadtestCmd())
	return root
}
