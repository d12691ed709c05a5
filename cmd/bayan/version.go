package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/bayan-dev/bayan/server"
)

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(a.stdout, "bayan %s (LiveKit protocol %d, %s %s/%s)\n",
				server.Version, server.ProtocolVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
