package report

import (
	"fmt"
	"net/url"
	"sort"
	"time"

	"github.com/n4ws/n4ws/catalog"
)

// The global report, catalog/reports/global_performance.html: every
// dataset the catalog knows side by side — its best score, its models
// compared, how many pipelines, when it last ran.

type globalPage struct {
	Head     pageHead
	Datasets []globalRow
	Models   []string // every model name, the matrix's columns
	Matrix   []matrixRow
	Charts   []figure
}

type globalRow struct {
	Dataset, Task, Metric      string
	Best, BestV                string
	BestPID, BestModel         string
	Pipelines, Failed, Deleted int
	LastRun                    string
	SessionURL, HistoryURL     string
}

type matrixRow struct {
	Dataset, Metric string
	Cells           []matrixCell
}

type matrixCell struct {
	Text, V string
	Best    bool
}

// globalPart is what the global report shows of one dataset, drawn from
// its rows alone, so that it can be kept while the dataset does not change
// (catalog.EachDataset).
type globalPart struct {
	ds        string
	partition string // the best rule's partition
	metric    string
	row       globalRow
	scores    []modelScore // each model's best score, by model name
	chart     *figure      // the scores as bars; nil without scores
	mtime     time.Time
}

// newGlobalPart draws the global report's part of dataset r.
func newGlobalPart(r *dsReport) *globalPart {
	g := &globalPart{ds: r.ds, partition: r.rule.Partition, metric: r.metric(), row: newGlobalRow(r),
		scores: modelScores(r), mtime: r.mtime()}
	if len(g.scores) > 0 {
		p, err := modelBars(r.ds+": best score by model", g.scores)
		f := withWide(newFigure(p, err, wideW, modelBarsHeight(len(g.scores)), r.ds+" models"))
		g.chart = &f
	}
	return g
}

// globalReportOf renders the global report from each dataset's part.
func globalReportOf(parts []*globalPart) ([]byte, error) {
	pg := &globalPage{Head: pageHead{Title: "Global performance", Heading: "Global performance",
		Sub:    fmt.Sprintf("%s datasets · best pipeline of each by %s", fmtCount(len(parts)), ruleLabel(parts)),
		Footer: "Computed by n4ws from its catalog, run folders deleted or not; it changes only when the catalog does."}}
	models := map[string]bool{}
	for _, g := range parts {
		pg.Datasets = append(pg.Datasets, g.row)
		for _, m := range g.scores {
			models[m.model] = true
		}
	}
	for m := range models {
		pg.Models = append(pg.Models, m)
	}
	sort.Strings(pg.Models)
	for _, g := range parts {
		pg.Matrix = append(pg.Matrix, newMatrixRow(g.ds, g.metric, pg.Models, g.scores))
		if g.chart != nil {
			pg.Charts = append(pg.Charts, *g.chart)
		}
	}
	return renderPage("global", pg)
}

// ruleLabel says how bests are chosen ("test RMSE or accuracy").
func ruleLabel(parts []*globalPart) string {
	if len(parts) == 0 {
		return "the configured rule"
	}
	seen := map[string]bool{}
	var ms []string
	for _, g := range parts {
		if m := metricName(g.metric); !seen[m] {
			seen[m] = true
			ms = append(ms, m)
		}
	}
	sort.Strings(ms)
	label := parts[0].partition + " "
	for i, m := range ms {
		if i > 0 {
			label += " or "
		}
		label += m
	}
	return label
}

func newGlobalRow(r *dsReport) globalRow {
	g := globalRow{Dataset: r.ds, Task: "regression", Metric: metricName(r.metric()), LastRun: r.lastRun(),
		HistoryURL: "dataset_history/" + url.PathEscape(r.ds) + ".html"}
	if r.classification() {
		g.Task = "classification"
	}
	for i := range r.rows {
		switch p := &r.rows[i]; {
		case !p.Present:
			g.Deleted++
		case p.Status == "failed":
			g.Failed++
			g.Pipelines++
		default:
			g.Pipelines++
		}
	}
	if g.Pipelines > 0 {
		g.SessionURL = "../../exports/session_reports/" + url.PathEscape(r.ds) + ".html"
	}
	if r.best != nil {
		g.Best, g.BestV = fmtScore(r.bestScore.Value), sortKey(r.bestScore.Value)
		g.BestPID, g.BestModel = r.best.PID, r.best.Model
	}
	return g
}

// modelScores is each model's best score on the dataset (present,
// successful pipelines with predictions, as for exports/<dataset>/), by
// model name.
func modelScores(r *dsReport) []modelScore {
	var out []modelScore
	for _, p := range catalog.BestPerModel(r.rule, r.rows) {
		s, _ := r.rule.Pick(p)
		out = append(out, modelScore{model: p.Model, score: s, best: p.Best})
	}
	return out
}

func newMatrixRow(ds, metric string, models []string, ms []modelScore) matrixRow {
	row := matrixRow{Dataset: ds, Metric: metricName(metric)}
	by := map[string]modelScore{}
	for _, m := range ms {
		by[m.model] = m
	}
	for _, name := range models {
		m, ok := by[name]
		if !ok {
			row.Cells = append(row.Cells, matrixCell{})
			continue
		}
		row.Cells = append(row.Cells, matrixCell{Text: fmtScore(m.score.Value), V: sortKey(m.score.Value), Best: m.best})
	}
	return row
}

const globalHTML = `{{define "global"}}{{template "head" .Head}}
<h2 id="datasets">Datasets ({{len .Datasets}})</h2>
<p class="sub">Click a column heading to sort. Pipelines counts run folders that exist; deleted ones stay in the catalog.</p>
<table class="sortable" id="dataset-table">
<thead><tr><th>dataset</th><th>task</th><th>metric</th><th class="n">best score</th><th>best pipeline</th><th>model</th><th class="n">pipelines</th><th class="n">failed</th><th class="n">deleted</th><th>last run</th><th>reports</th></tr></thead>
<tbody>
{{range .Datasets}}<tr data-dataset="{{.Dataset}}"><td>{{.Dataset}}</td><td>{{.Task}}</td><td>{{.Metric}}</td><td class="n" data-v="{{.BestV}}">{{.Best}}</td><td>{{.BestPID}}</td><td>{{.BestModel}}</td><td class="n">{{.Pipelines}}</td><td class="n">{{.Failed}}</td><td class="n">{{.Deleted}}</td><td>{{.LastRun}}</td><td>{{if .SessionURL}}<a href="{{.SessionURL}}">session</a> · {{end}}<a href="{{.HistoryURL}}">history</a></td></tr>
{{end}}</tbody>
</table>
<h2 id="models">Models compared</h2>
{{if .Models}}<p class="sub">Best score of each model on each dataset; the dataset's best is highlighted.</p>
<table class="sortable" id="model-table">
<thead><tr><th>dataset</th><th>metric</th>{{range .Models}}<th class="n">{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Matrix}}<tr><td>{{.Dataset}}</td><td>{{.Metric}}</td>{{range .Cells}}<td class="n{{if .Best}} best{{end}}" data-v="{{.V}}">{{if .Best}}<b>{{.Text}}</b>{{else}}{{.Text}}{{end}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{template "charts" .Charts}}{{else}}<p class="note">No dataset has a scored model yet.</p>
{{end}}{{template "foot" .Head}}{{end}}`
