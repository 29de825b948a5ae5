package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/backing"
)

func newStatsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show files, logical and stored bytes, blobs and the dedup ratio",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			st, err := s.Stats(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "store\t%s\n", s.Dir())
			fmt.Fprintf(w, "files\t%d\n", st.Files)
			fmt.Fprintf(w, "directories\t%d\n", st.Dirs)
			fmt.Fprintf(w, "symlinks\t%d\n", st.Symlinks)
			fmt.Fprintf(w, "logical size\t%s\n", humanBytes(st.LogicalBytes))
			fmt.Fprintf(w, "stored size\t%s in %d blobs\n", humanBytes(st.StoredBytes), st.Blobs)
			fmt.Fprintf(w, "dedup ratio\t%.2f\n", st.DedupRatio)
			if st.TrashStats.Items > 0 {
				fmt.Fprintf(w, "trash\t%d items: %d files, %s (n4ws trash list)\n", st.TrashStats.Items, st.TrashStats.Files, humanBytes(st.TrashStats.LogicalBytes))
			}
			fmt.Fprintf(w, "native files\t%d files, %d directories, %s (nirs4all's own files at the root)\n",
				st.Native.Files, st.Native.Dirs, humanBytes(st.Native.Bytes))
			if st.GarbageBlobs > 0 {
				fmt.Fprintf(w, "reclaimable\t%s in %d blobs (run n4ws gc)\n", humanBytes(st.GarbageBytes), st.GarbageBlobs)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func newFsckCmd(g *globals) *cobra.Command {
	var repair bool
	cmd := &cobra.Command{
		Use:   "fsck",
		Short: "Check that every file's blob exists and hashes right, refcounts and links; exit 1 if not clean",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			bar := newProgress(cmd.ErrOrStderr(), "checking blobs")
			rep, err := s.Fsck(cmd.Context(), backing.FsckOptions{Repair: repair, Progress: bar.set})
			bar.done()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, p := range rep.Problems {
				fmt.Fprintln(out, p.String())
			}
			fmt.Fprintf(out, "checked %d nodes, %d entries, %d blobs (%s)\n",
				rep.Nodes, rep.Entries, rep.Blobs, humanBytes(rep.BytesHashed))
			if rep.GarbageBlobs > 0 {
				fmt.Fprintf(out, "reclaimable: %d unreferenced blobs, %s (run n4ws gc)\n", rep.GarbageBlobs, humanBytes(rep.GarbageBytes))
			}
			if rep.PendingPurge > 0 {
				fmt.Fprintf(out, "pending: %d unlinked files are purged when the store is next mounted\n", rep.PendingPurge)
			}
			if rep.Lost > 0 {
				fmt.Fprintf(out, "LOST: the content of %d files could not be recovered; they are now empty\n", rep.Lost)
			}
			switch {
			case rep.Clean():
				fmt.Fprintln(out, "clean")
			case repair && rep.Unrepaired() == 0:
				fmt.Fprintf(out, "repaired %d problems\n", len(rep.Problems))
			default:
				fmt.Fprintf(out, "NOT CLEAN: %d problems\n", rep.Unrepaired())
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "fix what can be fixed (refcounts, link counts, dangling entries)")
	return cmd
}

func newGCCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "gc",
		Short: "Drop trash items older than trash.retention, then delete unreferenced blobs and stale spool files",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			w, err := g.openWorkspace(ctx)
			if err != nil {
				return err
			}
			defer w.Close()
			keep, err := w.cat.TrashRetention(ctx)
			if err != nil {
				return err
			}
			d, err := w.store.ExpireTrash(ctx, time.Now().Add(-keep))
			if err != nil {
				return err
			}
			if d.Items > 0 {
				fmt.Fprintf(out, "expired %d trash items older than %s (%d files, %s)\n", d.Items, humanRetention(keep), d.Files, humanBytes(d.LogicalBytes))
			}
			if err := waitPurged(ctx, w.store, d.Pending); err != nil {
				fmt.Fprintf(out, "note: %v\n", err)
			}
			rep, err := w.store.GC(ctx, backing.GCOptions{SpoolToo: true})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "freed %s: %d blobs, %d spool files\n", humanBytes(rep.Bytes), rep.Blobs, rep.SpoolFiles)
			return nil
		},
	}
}

// waitPurged gives a running mount the time to purge the files that lost
// their last name (it does within a second, unless one is still open), so
// that gc frees their content in the same run.
func waitPurged(ctx context.Context, s *backing.Store, inos []uint64) error {
	deadline := time.Now().Add(5 * time.Second)
	for len(inos) > 0 {
		left, err := s.Unpurged(ctx, inos)
		if err != nil || left == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d expired files are still open in the mount; the next gc after their last close frees them", left)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// humanBytes formats a byte count with binary units.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
