package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/bundle"
)

// libraryShow is the JSON of `n4ws library show --json`.
type libraryShow struct {
	bundle.LibraryItem
	Meta     *bundle.Meta `json:"bundle,omitempty"`
	Contents []zipContent `json:"contents,omitempty"`
}

type zipContent struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

func newLibraryShowCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a library item: type, source pipeline, scores, contents and size",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := g.openStore(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			it, err := findLibrary(ctx, s, args[0])
			if err != nil {
				return err
			}
			r := libraryShow{LibraryItem: it}
			if strings.HasSuffix(it.Path, ".zip") {
				es, closeFn, err := openStoreZip(ctx, s, it.Path)
				if err != nil {
					return err
				}
				defer closeFn()
				if r.Meta, err = bundle.ReadMeta(es); err != nil {
					return fmt.Errorf("%s: %w", it.Path, err)
				}
				for _, e := range es {
					r.Contents = append(r.Contents, zipContent{e.Path, e.Size})
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), r)
			}
			return printLibraryShow(cmd.OutOrStdout(), &r)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printLibraryShow(out io.Writer, r *libraryShow) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "name:\t%s\ntype:\t%s\npath:\t%s\nsize:\t%d bytes\n", r.Name, r.Type, r.Path, r.Size)
	if m := r.Meta; m != nil {
		fmt.Fprintf(tw, "source:\truns/%s/%s\n", m.Dataset, m.Pipeline)
		fmt.Fprintf(tw, "pipelines:\t%d\n", len(m.Pipelines))
		fmt.Fprintf(tw, "model:\t%s\ntask:\t%s\n", orDash(m.Model), orDash(m.TaskType))
		var parts []string
		for _, part := range catalog.Partitions {
			var ms []string
			for k := range m.Scores[part] {
				ms = append(ms, k)
			}
			sort.Strings(ms)
			for _, k := range ms {
				parts = append(parts, fmt.Sprintf("%s %s=%s", part, k, formatScore(m.Scores[part][k], true)))
			}
		}
		fmt.Fprintf(tw, "scores:\t%s\n", orDash(strings.Join(parts, ", ")))
		if len(m.Missing) > 0 {
			fmt.Fprintf(tw, "missing binaries:\t%s\n", strings.Join(m.Missing, ", "))
		}
	} else if r.Type != "template" {
		fmt.Fprintf(tw, "source:\t- (not saved by n4ws)\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Contents) > 0 {
		fmt.Fprintf(out, "contents (%d files):\n", len(r.Contents))
		for _, c := range r.Contents {
			fmt.Fprintf(out, "  %10d  %s\n", c.Size, c.Path)
		}
	}
	return nil
}

func newLibraryDeleteCmd(g *globals) *cobra.Command {
	var confirm bool
	cmd := &cobra.Command{
		Use:   "delete NAME --confirm",
		Short: "Delete a library item (without --confirm, only say what would go)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := g.openStore(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			it, err := findLibrary(ctx, s, args[0])
			if err != nil {
				return err
			}
			if !confirm {
				return fmt.Errorf("would delete %s (%d bytes): add --confirm to delete it", it.Path, it.Size)
			}
			if _, err := s.RemoveAll(ctx, it.Path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", it.Path)
			return nil
		},
	}
	cmd.Flags().BoolVar(&confirm, "confirm", false, "really delete")
	return cmd
}
