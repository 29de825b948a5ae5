package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/bundle"
)

func newImportCmd(g *globals) *cobra.Command {
	var ds string
	cmd := &cobra.Command{
		Use:   "import FILE.zip --dataset D | import WORKSPACE_DIR [--dataset D]",
		Short: "Put a library or export zip back as pipeline folders of runs/D/ (next free numbers)",
		Long: "Put a library or export zip back as pipeline folders of runs/D/: each pipeline folder of the zip\n" +
			"gets the dataset's next free number; its _binaries/ and _data/ join the dataset's (a file already\n" +
			"there must have the same content). FILE may also be a library zip's path in the store\n" +
			"(library/trained/...). A zip with absolute or '..' paths, outside symlinks, duplicate entries\n" +
			"or an unreasonable expansion ratio is refused before anything is written.\n\n" +
			"When the argument is a folder, it is imported as a nirs4all workspace (eras A, B, C): every file is\n" +
			"kept under runs/<ds>/, metrics.json and predictions.csv are synthesised per pipeline, clashing\n" +
			"numbers are renumbered, and pipelines imported before are left alone (--dataset: only that one).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if st, err := os.Stat(args[0]); err == nil && st.IsDir() {
				return importWorkspace(cmd, g, args[0], ds)
			}
			if err := catalog.CheckDatasetName(ds); err != nil {
				return fmt.Errorf("--dataset: %w", err)
			}
			w, err := g.openWorkspace(ctx)
			if err != nil {
				return err
			}
			defer w.Close()
			es, closeFn, err := readImportZip(cmd, w, args[0])
			if err != nil {
				return err
			}
			defer closeFn()
			next, err := w.cat.NextID(ctx, ds)
			if err != nil {
				return err
			}
			plan, err := bundle.PlanImport(ctx, catalog.StoreTree{S: w.store}, es, ds, next)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			bar := newProgress(cmd.ErrOrStderr(), "importing")
			err = plan.Apply(ctx, catalog.StoreTree{S: w.store}, bar.set)
			bar.done()
			if err != nil {
				return err
			}
			if _, err := w.cat.Refresh(ctx); err != nil {
				return err
			}
			for _, p := range plan.Pipelines {
				fmt.Fprintf(cmd.OutOrStdout(), "imported %s as runs/%s/%s\n", p[0], ds, p[1])
			}
			if len(plan.Ignored) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "ignored %d entries outside pipeline folders, _binaries/ and _data/: %v\n", len(plan.Ignored), plan.Ignored)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&ds, "dataset", "", "the dataset to import into (runs/<dataset>/)")
	return cmd
}

// readImportZip opens and checks a zip file, or a library zip in the store.
func readImportZip(cmd *cobra.Command, w *workspace, name string) ([]*bundle.ZipEntry, func(), error) {
	st, serr := os.Stat(name)
	if serr != nil {
		it, err := findLibrary(cmd.Context(), w.store, name)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: no such file, nor library item", name)
		}
		return openStoreZip(cmd.Context(), w.store, it.Path)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	es, err := bundle.OpenZip(f, st.Size())
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return es, func() { f.Close() }, nil
}
