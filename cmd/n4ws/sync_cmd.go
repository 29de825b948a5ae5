package main

import (
	"github.com/spf13/cobra"
)

// newSyncCmd is syncfs(2) for a workspace: the kernel does not pass sync(1)
// or syncfs(2) on a FUSE mount to the server, so this is how to make every
// closed file durable at once without unmounting.
func newSyncCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "sync",
		Short: "Make every file closed so far durable against a power cut (sync(1) does not reach a FUSE mount)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			return s.SyncAll(cmd.Context())
		},
	}
}
