package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/bundle"
)

func newExportCmd(g *globals) *cobra.Command {
	var ds, pid, output string
	var include []string
	var force bool
	cmd := &cobra.Command{
		Use:   "export --dataset D --pipeline P [--include binaries,data] --output FILE.zip",
		Short: "Write a pipeline folder as a zip to share (n4ws import reads it back)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			spec := bundle.Spec{Kind: bundle.KindExport}
			for _, inc := range include {
				switch strings.TrimSpace(inc) {
				case "binaries":
					spec.Binaries = true
				case "data":
					spec.Data = true
				default:
					return fmt.Errorf("--include %q: want binaries and/or data", inc)
				}
			}
			if output == "" {
				return fmt.Errorf("--output FILE.zip is required")
			}
			if _, err := os.Lstat(output); err == nil && !force {
				return fmt.Errorf("%s exists already (use --force to replace it)", output)
			}
			return exportRun(cmd, g, spec, ds+"/"+pid, output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&ds, "dataset", "", "dataset")
	f.StringVar(&pid, "pipeline", "", "pipeline folder (NNNN_[name_]hash)")
	f.StringSliceVar(&include, "include", nil, "also include: binaries (those the pipeline references), data (runs/<dataset>/_data/)")
	f.StringVar(&output, "output", "", "the zip file to write")
	f.BoolVar(&force, "force", false, "replace an existing output file")
	return cmd
}

func exportRun(cmd *cobra.Command, g *globals, spec bundle.Spec, from, output string) error {
	ctx := cmd.Context()
	ds, pid, err := parseFrom(from)
	if err != nil {
		return err
	}
	w, err := g.openWorkspace(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	base, err := w.bundleSpec(ctx, bundle.KindExport, strings.TrimSuffix(filepath.Base(output), ".zip"), ds, pid)
	if err != nil {
		return err
	}
	base.Binaries, base.Data = spec.Binaries, spec.Data
	plan, err := bundle.NewPlan(ctx, catalog.StoreTree{S: w.store}, base)
	if err != nil {
		return err
	}
	f, err := buildZipFile(ctx, cmd.ErrOrStderr(), filepath.Dir(output), plan.Files, "exporting "+pid)
	if err != nil {
		return err
	}
	defer dropTemp(f)
	if err := f.Sync(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), output); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "exported runs/%s/%s to %s (%d files)\n", ds, pid, output, plan.Meta.Files+1)
	return nil
}
