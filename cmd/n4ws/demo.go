package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/catalog"
)

func newDemoCmd(g *globals) *cobra.Command {
	opts := catalog.DemoOptions{Datasets: 3, Pipelines: 150, Seed: 42}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Fill the store with a synthetic nirs4all workspace (with or without a mount)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			bar := newProgress(cmd.ErrOrStderr(), "writing demo workspace")
			total := int64(opts.Datasets * opts.Pipelines)
			var files int
			emit := func(ctx context.Context, path string, data []byte) error {
				files++
				if files%6 == 0 {
					bar.set(int64(files/6), total)
				}
				_, err := s.WriteFile(ctx, path, bytes.NewReader(data), 0o644, time.Time{})
				return err
			}
			err = catalog.Demo(cmd.Context(), opts, emit)
			bar.done()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d files: %d datasets x %d pipelines into %s\n", files, opts.Datasets, opts.Pipelines, s.Dir())
			return nil
		},
	}
	cmd.Flags().IntVar(&opts.Datasets, "datasets", opts.Datasets, "number of datasets (1-6)")
	cmd.Flags().IntVar(&opts.Pipelines, "pipelines", opts.Pipelines, "pipelines per dataset")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", opts.Seed, "random seed: the same seed gives the same files")
	return cmd
}
