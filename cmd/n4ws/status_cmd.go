package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
)

// statusReport is the JSON of `n4ws status`.
type statusReport struct {
	Store string `json:"store"`
	// StagedUploads: blobs written here with --writeback, not in the
	// object store yet (other machines cannot read those files).
	StagedUploads int `json:"staged_uploads,omitempty"`
	catalog.Status
}

func newStatusCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show datasets, pipeline counts, pending ingestion, files that could not be used and stray folders",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			w, err := g.openWorkspace(ctx)
			if err != nil {
				return outageOr(ctx, g, err)
			}
			defer w.Close()
			st, err := w.cat.Status(ctx)
			if err != nil {
				return outageOr(ctx, g, err)
			}
			r := statusReport{Store: w.store.Dir(), StagedUploads: w.store.StagedUploads(), Status: st}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), r)
			}
			return printStatus(cmd.OutOrStdout(), &r)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func printStatus(out io.Writer, r *statusReport) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "store\t%s\n", r.Store)
	if r.StagedUploads > 0 {
		fmt.Fprintf(w, "uploads pending\t%d blobs staged on this machine\n", r.StagedUploads)
	}
	fmt.Fprintf(w, "datasets\t%d\n", len(r.Datasets))
	if len(r.Pending) == 0 {
		fmt.Fprintf(w, "pending ingestion\tnone\n")
	} else {
		fmt.Fprintf(w, "pending ingestion\t%d directories\n", len(r.Pending))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, p := range r.Pending {
		fmt.Fprintf(out, "  %s\n", p)
	}
	if len(r.Datasets) > 0 {
		fmt.Fprintln(out)
		w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "DATASET\tPIPELINES\tOK\tFAILED\tINCOMPLETE\tDELETED\tBEST")
		for _, d := range r.Datasets {
			name := d.Dataset
			if !d.Folder {
				name += " (folder removed)"
			}
			fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%s\n", name, d.Pipelines, d.OK, d.Failed, d.Incomplete, d.Deleted, orDash(d.Best))
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(out, "\nfiles the catalog could not use (%d; stored as they are):\n", len(r.Errors))
		w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "  FILE\tREASON")
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %s\t%s\n", e.File, e.Reason)
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if len(r.NotPipelines) > 0 {
		fmt.Fprintf(out, "\nfolders that are not pipeline folders (want NNNN_[name_]hash; not in the catalog):\n")
		for _, p := range r.NotPipelines {
			fmt.Fprintf(out, "  %s\n", p)
		}
	}
	return nil
}

// outageOr turns a failure of a team store whose server is down into one
// line per unavailable server (which service, where, the cause); any
// other error is returned as it is.
func outageOr(ctx context.Context, g *globals, err error) error {
	dir, derr := g.storeDir()
	if derr != nil {
		return err
	}
	down := backing.CheckServers(ctx, dir)
	if len(down) == 0 {
		return err
	}
	lines := make([]string, len(down))
	for i, e := range down {
		lines[i] = "outage: " + e.Error()
	}
	return errors.New(strings.Join(lines, "\n"))
}
