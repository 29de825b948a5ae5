package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/catalog/demo"
)

func newDemoCmd(g *globals) *cobra.Command {
	opts := demo.Options{Datasets: 3, Pipelines: 150, Samples: 100, Seed: 42}
	var toDir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Fill the store with a synthetic nirs4all workspace (with or without a mount)",
		Long: "Fill the store with a synthetic nirs4all workspace (with or without a mount).\n" +
			"With --to-dir, write the same files into an ordinary folder instead (no store needed),\n" +
			"for example to copy them into a mount later.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			write, where, closeFn, err := demoWriter(cmd.Context(), g, toDir)
			if err != nil {
				return err
			}
			defer closeFn()
			bar := newProgress(cmd.ErrOrStderr(), "writing demo workspace")
			total := int64(opts.Datasets * opts.Pipelines)
			var files int
			emit := func(ctx context.Context, path string, data []byte) error {
				files++
				if files%6 == 0 {
					bar.set(int64(files/6), total)
				}
				return write(ctx, path, data)
			}
			err = demo.Generate(cmd.Context(), opts, emit)
			bar.done()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d files: %d datasets x %d pipelines into %s\n", files, opts.Datasets, opts.Pipelines, where)
			return nil
		},
	}
	cmd.Flags().IntVar(&opts.Datasets, "datasets", opts.Datasets,
		fmt.Sprintf("number of datasets (1-%d; past 6 the names repeat with a suffix: wheat_protein_02...)", demo.MaxDatasets))
	cmd.Flags().IntVar(&opts.Pipelines, "pipelines", opts.Pipelines, "pipelines per dataset (1-9999)")
	cmd.Flags().IntVar(&opts.Samples, "samples", opts.Samples,
		fmt.Sprintf("rows of each predictions.csv: 60%% train, 20%% val, 20%% test (10-%d)", demo.MaxSamples))
	cmd.Flags().Uint64Var(&opts.Seed, "seed", opts.Seed, "random seed: the same seed gives the same files")
	cmd.Flags().StringVar(&toDir, "to-dir", "", "write the workspace into this ordinary folder instead of the store")
	return cmd
}

// demoWriter returns where the demo's files go: the store, or an ordinary
// folder when toDir is set (the store is then not opened at all).
func demoWriter(ctx context.Context, g *globals, toDir string) (write demo.Emit, where string, closeFn func(), err error) {
	if toDir != "" {
		dir, err := filepath.Abs(toDir)
		if err != nil {
			return nil, "", nil, err
		}
		write := func(_ context.Context, p string, data []byte) error {
			full := filepath.Join(dir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				return err
			}
			return os.WriteFile(full, data, 0o644)
		}
		return write, dir, func() {}, nil
	}
	s, err := g.openStore(ctx)
	if err != nil {
		return nil, "", nil, err
	}
	write = func(ctx context.Context, p string, data []byte) error {
		_, err := s.WriteFile(ctx, p, bytes.NewReader(data), 0o644, time.Time{})
		return err
	}
	return write, s.Dir(), func() { s.Close() }, nil
}
