package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/catalog"
)

func newRunsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "Work with the pipeline folders of runs/",
	}
	cmd.AddCommand(newRunsNextIDCmd(g))
	return cmd
}

func newRunsNextIDCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "next-id <dataset>",
		Short: "Print the next free pipeline number of a dataset (0001 when it has none)",
		Long: "Print the next free pipeline number of a dataset: the highest NNNN among the folders of\n" +
			"runs/<dataset>/ plus one, as four digits; 0001 for an empty or missing dataset. Two writers\n" +
			"that race for a number cannot both win: mkdir of a taken number fails with \"File exists\".",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, ds := cmd.Context(), args[0]
			if err := catalog.CheckDatasetName(ds); err != nil {
				return err
			}
			w, err := g.openWorkspace(ctx)
			if err != nil {
				return err
			}
			defer w.Close()
			n, err := w.cat.NextID(ctx, ds)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%04d\n", n)
			return err
		},
	}
}
