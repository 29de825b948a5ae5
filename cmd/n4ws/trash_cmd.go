package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

func newTrashCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trash",
		Short: "List, restore or empty what was removed from runs/ (kept for trash.retention, default 1d)",
		Long: "Folders and files removed below runs/ (rm -rf through the mount, n4ws runs delete) go to\n" +
			"the trash: one item per pipeline folder, or per dataset folder when the whole dataset goes.\n" +
			"n4ws gc removes items for good once trash.retention (n4ws config set trash.retention 48h)\n" +
			"has passed since their last removal. The catalog is unaffected either way.",
	}
	cmd.AddCommand(newTrashListCmd(g), newTrashRestoreCmd(g), newTrashEmptyCmd(g))
	return cmd
}

// trashRow is one item of `n4ws trash list`.
type trashRow struct {
	backing.TrashItem
	Expires time.Time `json:"expires"`
}

func newTrashListCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the trash: what, when it was removed, its size and when gc may drop it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			w, err := g.openWorkspace(ctx)
			if err != nil {
				return err
			}
			defer w.Close()
			rows, err := trashRows(ctx, w)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			return printTrash(cmd.OutOrStdout(), rows)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func trashRows(ctx context.Context, w *workspace) ([]trashRow, error) {
	keep, err := w.cat.TrashRetention(ctx)
	if err != nil {
		return nil, err
	}
	items, err := w.store.TrashItems(ctx)
	if err != nil {
		return nil, err
	}
	rows := []trashRow{}
	for _, it := range items {
		it.Deleted, it.Last = it.Deleted.UTC(), it.Last.UTC()
		rows = append(rows, trashRow{TrashItem: it, Expires: it.Last.Add(keep).UTC()})
	}
	return rows, nil
}

func printTrash(out io.Writer, rows []trashRow) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(out, "the trash is empty")
		return err
	}
	const layout = "2006-01-02 15:04:05"
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDELETED (UTC)\tEXPIRES (UTC)\tFILES\tSIZE\tWHAT")
	for _, r := range rows {
		what := r.Path
		if !r.Whole {
			what += " (some of its files; the folder stayed)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Last.Format(layout), r.Expires.Format(layout),
			r.Files, humanBytes(r.LogicalBytes), what)
	}
	return tw.Flush()
}

// findTrashItem resolves an item given by number or by the path it had
// (the latest item of that path).
func findTrashItem(ctx context.Context, s *backing.Store, arg string) (backing.TrashItem, error) {
	items, err := s.TrashItems(ctx)
	if err != nil {
		return backing.TrashItem{}, err
	}
	id, numErr := strconv.ParseUint(arg, 10, 64)
	want := "runs/" + strings.Trim(strings.TrimPrefix(path.Clean("/" + arg)[1:], "runs/"), "/")
	for i := len(items) - 1; i >= 0; i-- {
		if numErr == nil && items[i].ID == id || numErr != nil && items[i].Path == want {
			return items[i], nil
		}
	}
	return backing.TrashItem{}, fmt.Errorf("no trash item %q (n4ws trash list shows them)", arg)
}

func newTrashRestoreCmd(g *globals) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "restore <id|path> [--to runs/<dataset>/<folder>]",
		Short: "Put a trash item back where it was (or --to another place), content and names intact",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			w, err := g.openWorkspace(ctx)
			if err != nil {
				return err
			}
			defer w.Close()
			it, err := findTrashItem(ctx, w.store, args[0])
			if err != nil {
				return err
			}
			opts := backing.RestoreOptions{To: to}
			target := it.Path
			if to != "" {
				target = path.Clean("/" + to)[1:]
			}
			opts.UniquePrefix = pipelinePrefix(target)
			got, err := w.store.RestoreTrash(ctx, it.ID, opts)
			if errors.Is(err, backing.ErrExists) {
				return fmt.Errorf("%w\nrestore it elsewhere: n4ws trash restore %d --to runs/<dataset>/<free name>", err, it.ID)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %s (%d files, %s)\n", got, it.Files, humanBytes(it.LogicalBytes))
			_, err = w.cat.Refresh(ctx)
			return err
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "restore to this path instead (its folder is created if needed)")
	return cmd
}

// pipelinePrefix is the "NNNN_" a pipeline folder at p must have to itself
// in its dataset, or "" when p is no pipeline folder.
func pipelinePrefix(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) == 3 && parts[0] == "runs" && nirs4all.IsPipelineFolder(parts[2]) {
		return parts[2][:5]
	}
	return ""
}

func newTrashEmptyCmd(g *globals) *cobra.Command {
	var confirm bool
	cmd := &cobra.Command{
		Use:   "empty [<id|path>] --confirm",
		Short: "Remove one trash item, or all of them, for good now (n4ws gc then frees their space)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := g.openStore(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			var id uint64
			what := "every trash item"
			if len(args) == 1 {
				it, err := findTrashItem(ctx, s, args[0])
				if err != nil {
					return err
				}
				id, what = it.ID, fmt.Sprintf("trash item %d (%s)", it.ID, it.Path)
			}
			if !confirm {
				fmt.Fprintf(cmd.OutOrStdout(), "dry run: would remove %s for good; add --confirm\n", what)
				return nil
			}
			d, err := s.EmptyTrash(ctx, id)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d trash items for good (%d files, %s); n4ws gc frees their space\n",
				d.Items, d.Files, humanBytes(d.LogicalBytes))
			return nil
		},
	}
	cmd.Flags().BoolVar(&confirm, "confirm", false, "really remove")
	return cmd
}

// humanRetention prints a retention the way users write it: 1d, 48h, 90m.
func humanRetention(d time.Duration) string {
	switch {
	case d > 0 && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d > 0 && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d > 0 && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
