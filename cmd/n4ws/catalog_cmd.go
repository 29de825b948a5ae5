package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/report"
)

// workspace is an open store and its catalog, brought up to date.
type workspace struct {
	store *backing.Store
	cat   *catalog.Catalog
}

// openWorkspace opens the store (logging changes, so a mount drops stale
// caches) and its catalog, and refreshes the catalog, so that a command
// answers the same with or without a mount.
func (g *globals) openWorkspace(ctx context.Context) (*workspace, error) {
	s, err := g.openStore(ctx)
	if err != nil {
		return nil, err
	}
	cat, err := catalog.Open(ctx, s, catalog.Options{Logger: slog.Default(), Reports: report.Views{}})
	if err != nil {
		s.Close()
		return nil, err
	}
	if _, err := cat.Refresh(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return &workspace{store: s, cat: cat}, nil
}

func (w *workspace) Close() error { return w.store.Close() }

// requireDataset fails with a clear message when ds is not a dataset.
func (w *workspace) requireDataset(ctx context.Context, ds string) error {
	if err := catalog.CheckDatasetName(ds); err != nil {
		return err
	}
	ok, err := w.cat.HasDataset(ctx, ds)
	if err != nil || ok {
		return err
	}
	known, err := w.cat.Status(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, d := range known.Datasets {
		names = append(names, d.Dataset)
	}
	list := "none yet"
	if len(names) > 0 {
		list = strings.Join(names, ", ")
	}
	return fmt.Errorf("unknown dataset %q: no folder runs/%s and no pipeline of it in the catalog (datasets: %s)", ds, ds, list)
}

// printJSON writes v indented, with a final newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// formatScore prints a score, "-" when missing.
func formatScore(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// taskMetrics are the two scores shown for a task.
func taskMetrics(task string) []string {
	if task == catalog.TaskRegression || task == "" {
		return []string{"rmse", "r2"}
	}
	return []string{"accuracy", "balanced_accuracy"}
}

func newCatalogCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Query the catalog: best pipelines and every pipeline's scores",
	}
	cmd.AddCommand(newCatalogBestCmd(g), newCatalogListCmd(g))
	return cmd
}

// bestReport is the JSON of `n4ws catalog best`.
type bestReport struct {
	Dataset  string                        `json:"dataset"`
	Pipeline string                        `json:"pipeline"`
	Number   int                           `json:"number"`
	Model    string                        `json:"model"`
	TaskType string                        `json:"task_type"`
	Date     string                        `json:"date"`
	TestRMSE *float64                      `json:"test_rmse,omitempty"`
	TestR2   *float64                      `json:"test_r2,omitempty"`
	TestAcc  *float64                      `json:"test_accuracy,omitempty"`
	TestBAcc *float64                      `json:"test_balanced_accuracy,omitempty"`
	Score    scoreReport                   `json:"score"`
	Ranking  catalog.Ranking               `json:"ranking"` // the dataset's one task, metric and partition
	Rule     catalog.BestRule              `json:"rule"`
	Path     string                        `json:"path"`
	BestFile string                        `json:"best_file"`
	Scores   map[string]map[string]float64 `json:"scores"`
}

type scoreReport struct {
	Metric        string  `json:"metric"`
	Partition     string  `json:"partition"`
	Value         float64 `json:"value"`
	LowerIsBetter bool    `json:"lower_is_better"`
}

func newCatalogBestCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "best <dataset>",
		Short: "Show a dataset's best pipeline: date, test scores, score under the rule, its folder and best file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, ds := cmd.Context(), args[0]
			w, err := g.openWorkspace(ctx)
			if err != nil {
				return err
			}
			defer w.Close()
			if err := w.requireDataset(ctx, ds); err != nil {
				return err
			}
			p, s, err := w.cat.BestOf(ctx, ds)
			if err != nil {
				return fmt.Errorf("dataset %s has no best pipeline: none of its pipeline folders has predictions.csv and a score under the rule (see n4ws status)", ds)
			}
			rule, err := w.cat.Rule(ctx)
			if err != nil {
				return err
			}
			if rule.Metric == "" {
				rule.Metric = "auto"
			}
			r := bestReport{Dataset: ds, Pipeline: p.PID, Number: p.Number, Model: p.Model, TaskType: p.TaskType,
				Date: p.RunDate(), Ranking: p.Ranking, Rule: rule, Scores: p.Scores,
				Score: scoreReport{Metric: s.Metric, Partition: s.Partition, Value: s.Value, LowerIsBetter: catalog.LowerIsBetter(s.Metric)},
				Path:  "runs/" + ds + "/" + p.PID, BestFile: "runs/" + ds + "/best_" + p.PID + ".csv"}
			get := func(m string) *float64 {
				if v, ok := p.Scores["test"][m]; ok {
					return &v
				}
				return nil
			}
			if p.TaskType == catalog.TaskRegression || p.TaskType == "" {
				r.TestRMSE, r.TestR2 = get("rmse"), get("r2")
			} else {
				r.TestAcc, r.TestBAcc = get("accuracy"), get("balanced_accuracy")
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), r)
			}
			return printBest(cmd.OutOrStdout(), &r)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func printBest(out io.Writer, r *bestReport) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "dataset\t%s\n", r.Dataset)
	fmt.Fprintf(w, "pipeline\t%s\n", r.Pipeline)
	fmt.Fprintf(w, "model\t%s\n", orDash(r.Model))
	task := orDash(r.TaskType)
	if r.Ranking.TaskFrom != "" {
		task += " (" + taskFromText(r.Ranking.TaskFrom) + ")"
	}
	fmt.Fprintf(w, "task\t%s\n", task)
	fmt.Fprintf(w, "date\t%s\n", r.Date)
	for _, m := range taskMetrics(r.TaskType) {
		v, ok := r.Scores["test"][m]
		fmt.Fprintf(w, "test %s\t%s\n", m, formatScore(v, ok))
	}
	dir := "higher is better"
	if r.Score.LowerIsBetter {
		dir = "lower is better"
	}
	fmt.Fprintf(w, "ranked by\t%s on %s (%s), the same for every pipeline of the dataset\n", r.Score.Metric, r.Score.Partition, dir)
	fmt.Fprintf(w, "score\t%s = %s on %s\n", r.Score.Metric, formatScore(r.Score.Value, true), r.Score.Partition)
	fmt.Fprintf(w, "path\t%s\n", r.Path)
	fmt.Fprintf(w, "best file\t%s\n", r.BestFile)
	return w.Flush()
}

// taskFromText says where a dataset's task was decided from.
func taskFromText(from string) string {
	switch from {
	case catalog.FromDeclared:
		return "declared in metrics.json by most pipelines"
	case catalog.FromLabels:
		return "inferred from the labels of predictions.csv"
	case catalog.FromMetrics:
		return "inferred from the metric names of metrics.json"
	}
	return "nothing said it: the default"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// listRow is one pipeline in the JSON of `n4ws catalog list`.
type listRow struct {
	Dataset    string                        `json:"dataset"`
	Pipeline   string                        `json:"pipeline"`
	Number     int                           `json:"number"`
	Model      string                        `json:"model"`
	Status     string                        `json:"status"`
	TaskType   string                        `json:"task_type"`
	Date       string                        `json:"date"`
	Best       bool                          `json:"best"`
	RunDeleted bool                          `json:"run_deleted"`
	DeletedAt  string                        `json:"deleted_at,omitempty"`
	Metric     string                        `json:"metric,omitempty"`
	Score      *float64                      `json:"score"`
	Scores     map[string]map[string]float64 `json:"scores"`
}

func newCatalogListCmd(g *globals) *cobra.Command {
	var asJSON, all bool
	var sortKey string
	cmd := &cobra.Command{
		Use:   "list [<dataset>]",
		Short: "List pipelines with their model, status and test/val/train scores",
		Long: "List the pipelines of a dataset (of every dataset without one). --sort takes number, pipeline, model,\n" +
			"status, date, score (under the best rule) or <partition>_<metric> (test_rmse, test_r2, val_rmse, ...):\n" +
			"scores sort best first. --all adds pipelines whose run folder was deleted, marked as such.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			w, err := g.openWorkspace(ctx)
			if err != nil {
				return err
			}
			defer w.Close()
			ds := ""
			if len(args) == 1 {
				ds = args[0]
				if err := w.requireDataset(ctx, ds); err != nil {
					return err
				}
			}
			rule, err := w.cat.Rule(ctx)
			if err != nil {
				return err
			}
			rows, err := w.cat.Pipelines(ctx, ds)
			if err != nil {
				return err
			}
			kept, hidden := rows[:0], 0
			for _, p := range rows {
				if p.Present || all {
					kept = append(kept, p)
				} else {
					hidden++
				}
			}
			if err := catalog.SortPipelines(kept, sortKey, rule); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), listRows(rule, kept))
			}
			return printList(cmd.OutOrStdout(), kept, ds == "", sortKey, hidden)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	cmd.Flags().BoolVar(&all, "all", false, "include pipelines whose run folder was deleted")
	cmd.Flags().StringVar(&sortKey, "sort", "number", "sort key: number, pipeline, model, status, date, score or <partition>_<metric>")
	return cmd
}

func listRows(rule catalog.BestRule, rows []catalog.PipelineRow) []listRow {
	out := make([]listRow, 0, len(rows))
	for i := range rows {
		p := &rows[i]
		r := listRow{Dataset: p.Dataset, Pipeline: p.PID, Number: p.Number, Model: p.Model, Status: p.Status,
			TaskType: p.TaskType, Date: p.RunDate(), Best: p.Best && p.Present, RunDeleted: !p.Present, Scores: p.Scores}
		if !p.DeletedAt.IsZero() {
			r.DeletedAt = p.DeletedAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		if s, ok := rule.Pick(p); ok {
			v := s.Value
			r.Metric, r.Score = s.Metric, &v
		}
		out = append(out, r)
	}
	return out
}

// printList prints a table; its score columns follow the tasks listed
// (rmse and r2 for regression, accuracy and balanced_accuracy for
// classification) plus the sort metric.
func printList(out io.Writer, rows []catalog.PipelineRow, withDataset bool, sortKey string, hidden int) error {
	var metrics []string
	add := func(m string) {
		for _, have := range metrics {
			if have == m {
				return
			}
		}
		metrics = append(metrics, m)
	}
	for i := range rows {
		for _, m := range taskMetrics(rows[i].TaskType) {
			add(m)
		}
	}
	if part, m, ok := strings.Cut(sortKey, "_"); ok && (part == "test" || part == "val" || part == "train") {
		add(m)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	var head []string
	if withDataset {
		head = append(head, "DATASET")
	}
	head = append(head, "PIPELINE", "MODEL", "STATUS")
	for _, part := range []string{"test", "val", "train"} {
		for _, m := range metrics {
			head = append(head, strings.ToUpper(part+"_"+m))
		}
	}
	fmt.Fprintln(w, strings.Join(append(head, "NOTE"), "\t"))
	for i := range rows {
		p := &rows[i]
		var cells []string
		if withDataset {
			cells = append(cells, p.Dataset)
		}
		cells = append(cells, p.PID, orDash(p.Model), p.Status)
		for _, part := range []string{"test", "val", "train"} {
			for _, m := range metrics {
				v, ok := p.Scores[part][m]
				cells = append(cells, formatScore(v, ok))
			}
		}
		note := ""
		switch {
		case !p.Present:
			note = "run deleted"
		case p.Best:
			note = "best"
		}
		if note != "" {
			cells = append(cells, note)
		}
		fmt.Fprintln(w, strings.Join(cells, "\t")) // no trailing padding without a note
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if hidden > 0 {
		fmt.Fprintf(out, "(%d pipelines whose run folder was deleted are not shown; use --all)\n", hidden)
	}
	return nil
}
