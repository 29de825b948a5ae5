package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/importer"
)

// importWorkspace imports a nirs4all folder workspace (FORMATS.md §00):
// its run folders become pipeline folders of runs/<ds>/, with every
// original file kept and metrics.json and predictions.csv synthesised.
// only, when not "", restricts the import to one dataset.
func importWorkspace(cmd *cobra.Command, g *globals, dir, only string) error {
	ctx := cmd.Context()
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if only != "" {
		if err := catalog.CheckDatasetName(only); err != nil {
			return fmt.Errorf("--dataset: %w", err)
		}
	}
	w, err := g.openWorkspace(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	src := importer.OSDir(abs) // store.sqlite is read with SQLite's backup API
	tree := catalog.StoreTree{S: w.store}
	plan, err := importer.PlanWorkspace(ctx, src, tree, only)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	write := func(ctx context.Context, dst string, r io.Reader, mtime time.Time) error {
		_, err := w.store.WriteFile(ctx, dst, r, 0o644, mtime)
		return err
	}
	bar := newProgress(cmd.ErrOrStderr(), "importing")
	err = plan.Apply(ctx, src, write, tree.RemoveAll, bar.set)
	bar.done()
	if err != nil {
		return err
	}
	if _, err := w.cat.Refresh(ctx); err != nil {
		return err
	}
	printWSImport(cmd.OutOrStdout(), cmd.ErrOrStderr(), abs, plan)
	return nil
}

// printWSImport reports the imported pipelines and renumberings on
// stdout, notes and skipped entries on stderr.
func printWSImport(out, errw io.Writer, dir string, plan *importer.Plan) {
	already := 0
	for _, p := range plan.Pipelines {
		if p.Already {
			already++
			continue
		}
		extra := ""
		if p.Synthesized {
			extra = " (+ metrics.json, predictions.csv)"
		}
		fmt.Fprintf(out, "imported %s as runs/%s/%s%s\n", p.Source, p.Dataset, p.Dest, extra)
	}
	fmt.Fprintf(out, "%s: %d new pipeline folders, %d already imported, %d shared files already there\n",
		dir, plan.New(), already, plan.Unchanged)
	for _, n := range plan.Notes {
		fmt.Fprintf(errw, "note: %s\n", n)
	}
	for _, s := range plan.Skipped {
		fmt.Fprintf(errw, "skipped %s: %s\n", s.Path, s.Reason)
	}
}
