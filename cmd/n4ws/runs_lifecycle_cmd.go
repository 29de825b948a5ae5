package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/bundle"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// parseAge reads --older-than: Nd, Nh, or a Go duration (90m).
func parseAge(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.ParseFloat(n, 64)
		if err == nil && d >= 0 {
			return time.Duration(d * 24 * float64(time.Hour)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--older-than %q: want a duration such as 30d, 12h or 90m", s)
	}
	return d, nil
}

// runRow is one dataset or pipeline of `n4ws runs list`.
type runRow struct {
	Dataset  string    `json:"dataset"`
	Pipeline string    `json:"pipeline,omitempty"` // "" for the dataset's row
	Path     string    `json:"path"`
	Mtime    time.Time `json:"mtime"`
	AgeSec   int64     `json:"age_seconds"`
	backing.Usage
}

// runRows measures the datasets (all when ds is "") and their pipelines.
func runRows(ctx context.Context, s *backing.Store, ds string) ([]runRow, error) {
	t := catalog.StoreTree{S: s}
	var datasets []string
	if ds != "" {
		datasets = []string{ds}
	} else {
		ents, err := t.List(ctx, "runs")
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if e.Dir {
				datasets = append(datasets, e.Name)
			}
		}
	}
	var out []runRow
	for _, d := range datasets {
		row, err := measure(ctx, s, d, "")
		if err != nil {
			return nil, err
		}
		out = append(out, row)
		ents, err := t.List(ctx, "runs/"+d)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if e.Dir && nirs4all.IsPipelineFolder(e.Name) {
				row, err := measure(ctx, s, d, e.Name)
				if err != nil {
					return nil, err
				}
				out = append(out, row)
			}
		}
	}
	return out, nil
}

func measure(ctx context.Context, s *backing.Store, ds, pid string) (runRow, error) {
	p := "runs/" + ds
	if pid != "" {
		p += "/" + pid
	}
	a, err := s.ResolvePath(ctx, p)
	if errors.Is(err, backing.ErrNotFound) {
		return runRow{}, fmt.Errorf("no folder %s", p)
	}
	if err != nil {
		return runRow{}, err
	}
	u, err := s.Usage(ctx, a.Ino)
	if err != nil {
		return runRow{}, err
	}
	return runRow{Dataset: ds, Pipeline: pid, Path: p, Mtime: a.Mtime.UTC(),
		AgeSec: int64(time.Since(a.Mtime) / time.Second), Usage: u}, nil
}

func humanAge(sec int64) string {
	switch {
	case sec >= 86400:
		return fmt.Sprintf("%dd", sec/86400)
	case sec >= 3600:
		return fmt.Sprintf("%dh", sec/3600)
	}
	return fmt.Sprintf("%dm", sec/60)
}

func newRunsListCmd(g *globals) *cobra.Command {
	var asJSON bool
	var older string
	cmd := &cobra.Command{
		Use:   "list [--older-than 30d] [--json]",
		Short: "List datasets and pipelines with their age, size and the bytes deleting them would free",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			age, err := parseAge(older)
			if err != nil {
				return err
			}
			s, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			rows, err := runRows(cmd.Context(), s, "")
			if err != nil {
				return err
			}
			kept := []runRow{}
			for _, r := range rows {
				if time.Duration(r.AgeSec)*time.Second >= age {
					kept = append(kept, r)
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), kept)
			}
			return printRuns(cmd.OutOrStdout(), kept)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&older, "older-than", "", "only folders not changed for this long (30d, 12h)")
	return cmd
}

func printRuns(out io.Writer, rows []runRow) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tAGE\tFILES\tSIZE\tFREES")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\n", r.Path, humanAge(r.AgeSec), r.Files, r.LogicalBytes, r.ExclusiveBytes)
	}
	return tw.Flush()
}

// deleteTargets are the folders `runs delete` removes.
func deleteTargets(ctx context.Context, s *backing.Store, target string, age time.Duration) ([]runRow, error) {
	ds, pid, _ := strings.Cut(strings.Trim(strings.TrimPrefix(target, "runs/"), "/"), "/")
	if err := catalog.CheckDatasetName(ds); err != nil {
		return nil, err
	}
	if pid != "" && !nirs4all.IsPipelineFolder(pid) {
		return nil, fmt.Errorf("%q is not a pipeline folder name (NNNN_[name_]hash)", pid)
	}
	if pid != "" || age == 0 {
		r, err := measure(ctx, s, ds, pid)
		if err != nil || time.Duration(r.AgeSec)*time.Second < age {
			return nil, err
		}
		return []runRow{r}, nil
	}
	rows, err := runRows(ctx, s, ds)
	if err != nil {
		return nil, err
	}
	var out []runRow
	for _, r := range rows {
		if r.Pipeline != "" && time.Duration(r.AgeSec)*time.Second >= age {
			out = append(out, r)
		}
	}
	return out, nil
}

func newRunsDeleteCmd(g *globals) *cobra.Command {
	var confirm bool
	var older string
	cmd := &cobra.Command{
		Use:   "delete <dataset>[/<pipeline>] [--older-than 30d] --confirm",
		Short: "Delete run folders (without --confirm: a dry run saying what would go and what the catalog keeps)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			age, err := parseAge(older)
			if err != nil {
				return err
			}
			w, err := g.openWorkspace(ctx)
			if err != nil {
				return err
			}
			defer w.Close()
			targets, err := deleteTargets(ctx, w.store, args[0], age)
			if err != nil {
				return err
			}
			return runsDelete(cmd, w, targets, confirm)
		},
	}
	cmd.Flags().BoolVar(&confirm, "confirm", false, "really delete")
	cmd.Flags().StringVar(&older, "older-than", "", "only pipeline folders not changed for this long (30d, 12h)")
	return cmd
}

func runsDelete(cmd *cobra.Command, w *workspace, targets []runRow, confirm bool) error {
	out, ctx := cmd.OutOrStdout(), cmd.Context()
	verb := "would delete"
	if confirm {
		verb = "deleted"
	}
	if len(targets) == 0 {
		fmt.Fprintln(out, "nothing to delete")
		return nil
	}
	var freed int64
	bar := newProgress(cmd.ErrOrStderr(), "deleting")
	for i, r := range targets {
		if confirm {
			if _, err := w.store.Trash(ctx, r.Path); err != nil {
				bar.done()
				return err
			}
			bar.set(int64(i+1), int64(len(targets)))
		}
		freed += r.ExclusiveBytes
		fmt.Fprintf(out, "%s %s (%d files, %d bytes, frees %d bytes)\n", verb, r.Path, r.Files, r.LogicalBytes, r.ExclusiveBytes)
	}
	bar.done()
	kept, err := w.catalogKept(ctx, targets)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "the catalog keeps the scores and predictions of %d pipeline(s) (n4ws catalog list --all), and catalog/archives/\n", kept)
	keep, err := w.cat.TrashRetention(ctx)
	if err != nil {
		return err
	}
	if !confirm {
		fmt.Fprintf(out, "dry run: %d folder(s), %d bytes to free once out of the trash; add --confirm to delete\n", len(targets), freed)
		return nil
	}
	fmt.Fprintf(out, "the trash keeps them for %s (n4ws trash list, n4ws trash restore); n4ws gc frees their space after that\n", humanRetention(keep))
	_, err = w.cat.Refresh(ctx)
	return err
}

// catalogKept counts the catalog's pipelines inside the targets.
func (w *workspace) catalogKept(ctx context.Context, targets []runRow) (int, error) {
	rows, err := w.cat.Pipelines(ctx, targets[0].Dataset)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range rows {
		for _, t := range targets {
			if p.Dataset == t.Dataset && (t.Pipeline == "" || t.Pipeline == p.PID) {
				n++
				break
			}
		}
	}
	return n, nil
}

func newRunsArchiveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "archive <dataset>",
		Short: "Write runs/<dataset>/ as catalog/archives/pipeline/<dataset>_<date>.tar.gz, then delete it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, ds := cmd.Context(), strings.Trim(strings.TrimPrefix(args[0], "runs/"), "/")
			if err := catalog.CheckDatasetName(ds); err != nil {
				return err
			}
			w, err := g.openWorkspace(ctx)
			if err != nil {
				return err
			}
			defer w.Close()
			row, err := measure(ctx, w.store, ds, "")
			if err != nil {
				return err
			}
			dst := fmt.Sprintf("%s/pipeline/%s_%s.tar.gz", archivesDir, ds, time.Now().UTC().Format("2006-01-02"))
			if _, err := w.store.ResolvePath(ctx, dst); err == nil {
				return fmt.Errorf("%s exists already (n4ws catalog forget %s --confirm removes it)", dst, dst)
			}
			f, err := os.CreateTemp("", ".n4ws-*.tar.gz.tmp")
			if err != nil {
				return err
			}
			defer dropTemp(f)
			bar := newProgress(cmd.ErrOrStderr(), "archiving "+ds)
			err = bundle.WriteTarGz(ctx, catalog.StoreTree{S: w.store}, row.Path, ds, f, bar.set)
			bar.done()
			if err != nil {
				return err
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			a, err := w.store.WriteArchive(ctx, dst, f, time.Time{})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "archived runs/%s to %s (%d bytes)\n", ds, dst, a.Size)
			return runsDelete(cmd, w, []runRow{row}, true)
		},
	}
}
