package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/catalog"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show or change workspace settings (best.partition, best.metric, trash.retention)",
	}
	cmd.AddCommand(newConfigGetCmd(g), newConfigSetCmd(g))
	return cmd
}

func configKeys() []string {
	keys := make([]string, 0, len(catalog.ConfigKeys))
	for k := range catalog.ConfigKeys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func checkConfigKey(key string) error {
	if _, ok := catalog.ConfigKeys[key]; !ok {
		return fmt.Errorf("unknown setting %q: known are %s", key, strings.Join(configKeys(), ", "))
	}
	return nil
}

func newConfigGetCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "get [<key>]",
		Short: "Print one setting's value, or every setting",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if len(args) == 1 {
				if err := checkConfigKey(args[0]); err != nil {
					return err
				}
			}
			w, err := g.openWorkspace(ctx)
			if err != nil {
				return err
			}
			defer w.Close()
			cfg, err := w.cat.Config(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(args) == 1 {
				if asJSON {
					return printJSON(out, map[string]string{args[0]: cfg[args[0]]})
				}
				_, err := fmt.Fprintln(out, cfg[args[0]])
				return err
			}
			if asJSON {
				return printJSON(out, cfg)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			for _, k := range configKeys() {
				fmt.Fprintf(tw, "%s\t%s\n", k, cfg[k])
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func newConfigSetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "set <key> <value>",
		Short: "Change a setting; every dataset's best pipeline is picked again at once",
		Long: "Change a setting. best.partition: train, val or test (the partition whose score ranks pipelines;\n" +
			"a pipeline without it falls back to test or val). best.metric: auto (rmse for regression,\n" +
			"balanced_accuracy else accuracy for classification) or a metric name such as rmse, r2, mae,\n" +
			"accuracy; lower is better for rmse, mse, mae, sep and bias, higher for the others.\n" +
			"trash.retention: how long the trash keeps what was removed from runs/ before n4ws gc drops\n" +
			"it, as Nd or a duration such as 48h or 90m (default 1d).",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, key, value := cmd.Context(), args[0], args[1]
			if err := checkConfigKey(key); err != nil {
				return err
			}
			w, err := g.openWorkspace(ctx)
			if err != nil {
				return err
			}
			defer w.Close()
			if key == "best.metric" && value != "auto" {
				known, err := w.cat.KnownMetrics(ctx)
				if err != nil {
					return err
				}
				if !contains(known, value) {
					return fmt.Errorf("best.metric %q: not a metric n4ws knows or any pipeline was scored with; want auto or one of %s",
						value, strings.Join(known, ", "))
				}
			}
			if err := w.cat.SetConfig(ctx, key, value); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s = %s\n", key, value)
			if !strings.HasPrefix(key, "best.") {
				return nil
			}
			return printBests(cmd, w)
		},
	}
}

// printBests lists each dataset's best pipeline after a change of rule.
func printBests(cmd *cobra.Command, w *workspace) error {
	ctx := cmd.Context()
	st, err := w.cat.Status(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	for _, d := range st.Datasets {
		if d.Folder {
			fmt.Fprintf(tw, "best of %s\t%s\n", d.Dataset, orDash(d.Best))
		}
	}
	return tw.Flush()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
