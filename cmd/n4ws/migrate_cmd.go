package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/live"
)

func newMigrateCmd(g *globals) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "migrate --to DIR",
		Short: "Copy this store into a new store (local to team, or back), then fsck both",
		Long: "Copy this store (--store) into the store at DIR, which must be new: made with `n4ws init`\n" +
			"(a local store) or `n4ws init --index --blobs` (a team store) and not written since. Every\n" +
			"blob, node, name, attribute, trash item, the catalog and nirs4all's own files at the root\n" +
			"(store.sqlite, arrays/, logs/...) are copied as they are; then both\n" +
			"stores are checked with fsck and the command fails if either is not clean. Neither store\n" +
			"may be mounted meanwhile.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMigrate(cmd, g, to)
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the new store to copy into")
	cmd.MarkFlagRequired("to")
	return cmd
}

func runMigrate(cmd *cobra.Command, g *globals, to string) error {
	ctx := cmd.Context()
	srcDir, err := g.storeDir()
	if err != nil {
		return err
	}
	dstDir, err := filepath.Abs(to)
	if err != nil {
		return err
	}
	if srcDir == dstDir {
		return fmt.Errorf("--to is the store itself")
	}
	for _, d := range []string{srcDir, dstDir} {
		if backing.LockHeld(d) {
			return fmt.Errorf("%s is mounted: unmount it first", d)
		}
	}
	src, err := openForMigrate(ctx, srcDir)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := openForMigrate(ctx, dstDir)
	if err != nil {
		return err
	}
	defer dst.Close()
	bar := newProgress(cmd.ErrOrStderr(), "copying blobs")
	rep, err := src.CopyTo(ctx, dst, bar.set)
	bar.done()
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "copied %d blobs (%s) and %d index rows into %s\n", rep.Blobs, humanBytes(rep.BlobBytes), rep.Rows, dstDir)
	// nirs4all's own files and the id its live projection records go too,
	// so that the new store's mount goes on projecting that store.sqlite.
	native, err := backing.CopyNative(srcDir, dstDir)
	if err != nil {
		return err
	}
	if err := live.CopyWorkspaceID(srcDir, dstDir); err != nil {
		return err
	}
	fmt.Fprintf(out, "copied %d native files (nirs4all's own files at the root)\n", native)
	clean := true
	for _, s := range []*backing.Store{src, dst} {
		r, err := s.Fsck(ctx, backing.FsckOptions{})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "fsck %s: %d nodes, %d blobs, %d problems\n", s.Dir(), r.Nodes, r.Blobs, len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintf(out, "  %s\n", p)
		}
		clean = clean && r.Clean()
	}
	if !clean {
		return exitError{1}
	}
	return nil
}

// openForMigrate opens a store and its catalog's tables, so that both
// stores have every table the copy needs.
func openForMigrate(ctx context.Context, dir string) (*backing.Store, error) {
	s, err := backing.Open(ctx, dir, backing.Options{Logger: slog.Default()})
	if err != nil {
		return nil, err
	}
	if _, err := catalog.Open(ctx, s, catalog.Options{Logger: slog.Default()}); err != nil {
		s.Close()
		return nil, err
	}
	if err := live.EnsureSchema(ctx, s); err != nil { // live_pipelines
		s.Close()
		return nil, err
	}
	return s, nil
}
