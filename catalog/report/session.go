package report

import (
	"context"
	"fmt"
	"strings"

	"gonum.org/v1/plot/vg"

	"github.com/n4ws/n4ws/catalog"
)

// The session report, exports/session_reports/<dataset>.html: one
// dataset's run as it is now (the pipelines whose folders exist), to be
// judged by eye: every pipeline in a sortable table, the failed ones with
// their error, and charts of the best pipeline and of all scores.

type sessionPage struct {
	Head                    pageHead
	Best                    *bestCard
	Pipelines, OK, Failures int
	Incomplete, Deleted     int
	Metric                  string
	Pred, Scores            []figure
	SecondTitle             string
	Second                  []figure
	Rows                    []sessionRow
	Failed                  []failedRow
	Problems                []catalog.ErrorRow
}

type bestCard struct {
	PID, Model, Score, Metric, Partition string
}

type sessionRow struct {
	Number              int
	PID, Model, Prep    string
	Test, Val, Train    string
	TestV, ValV, TrainV string // raw values to sort by
	Duration, DurationV string
	Status              string
	Best                bool
}

type failedRow struct {
	PID, Model, Error, Log string
}

// sessionInput is a dataset's report inputs plus what only the session
// report needs: the best pipeline's predictions and the failed
// pipelines' error.log tails.
type sessionInput struct {
	*dsReport
	preds []predRow
	logs  map[string]string // pid → error.log tail
}

// loadSession completes r with the best's predictions and error logs.
func loadSession(ctx context.Context, c *catalog.Catalog, r *dsReport) (*sessionInput, error) {
	in := &sessionInput{dsReport: r, logs: map[string]string{}}
	if r.best != nil {
		preds, err := bestPredictions(ctx, c, r.ds, r.best.PID)
		if err != nil {
			return nil, err
		}
		in.preds = preds
	}
	for _, p := range r.present() {
		if p.Status == "failed" {
			in.logs[p.PID] = c.ErrorLogTail(ctx, r.ds, p.PID)
		}
	}
	return in, nil
}

// sessionReport renders the session report of in.
func sessionReport(in *sessionInput) ([]byte, error) {
	rows := in.present()
	metric := in.metric()
	pg := &sessionPage{Metric: metricName(metric), Problems: presentErrors(in.dsReport)}
	pg.Head = pageHead{Title: in.ds + " · session report", Heading: in.ds,
		Sub:    fmt.Sprintf("Session report · %s pipelines · ranked by %s %s", fmtCount(len(rows)), in.rule.Partition, metricLabel(metric)),
		Footer: "Computed by n4ws from its catalog; it changes only when the catalog does. Last change: " + fmtTime(in.mtime()) + " UTC."}
	for i := range in.rows {
		if !in.rows[i].Present {
			pg.Deleted++
		}
	}
	for _, p := range rows {
		pg.Rows = append(pg.Rows, newSessionRow(in.rule, metric, p))
		switch p.Status {
		case "ok":
			pg.OK++
		case "failed":
			pg.Failures++
			log := in.logs[p.PID]
			pg.Failed = append(pg.Failed, failedRow{PID: p.PID, Model: p.Model, Error: failReason(log), Log: log})
		default:
			pg.Incomplete++
		}
	}
	pg.Pipelines = len(rows)
	if b := in.best; b != nil {
		pg.Best = &bestCard{PID: b.PID, Model: b.Model, Score: fmtScore(in.bestScore.Value),
			Metric: metricName(in.bestScore.Metric), Partition: in.bestScore.Partition}
	}
	pg.Pred, pg.SecondTitle, pg.Second = bestCharts(in)
	pg.Scores = scoreCharts(in.scored(rows), in.best, in.bestScore)
	return renderPage("session", pg)
}

func newSessionRow(rule catalog.BestRule, metric string, p *catalog.PipelineRow) sessionRow {
	r := sessionRow{Number: p.Number, PID: p.PID, Model: p.Model, Prep: prepLabel(p.Preprocessing),
		Status: p.Status, Best: p.Best}
	for _, c := range []struct {
		part      string
		txt, sort *string
	}{{"test", &r.Test, &r.TestV}, {"val", &r.Val, &r.ValV}, {"train", &r.Train, &r.TrainV}} {
		if v, ok := p.Scores[c.part][metric]; ok {
			*c.txt, *c.sort = fmtScore(v), sortKey(v)
		}
	}
	if p.DurationSec != nil {
		r.Duration, r.DurationV = fmtDuration(*p.DurationSec), sortKey(*p.DurationSec)
	}
	return r
}

// failReason is the line that says why a pipeline failed.
func failReason(log string) string {
	if strings.TrimSpace(log) == "" {
		return "no error.log to read"
	}
	return lastLine(log)
}

// presentErrors are the ingestion errors of folders that still exist.
func presentErrors(r *dsReport) []catalog.ErrorRow {
	present := map[string]bool{}
	for i := range r.rows {
		present[r.rows[i].PID] = r.rows[i].Present
	}
	var out []catalog.ErrorRow
	for _, e := range r.errs {
		if present[e.PID] {
			out = append(out, e)
		}
	}
	return out
}

// Chart sizes: panels side by side on a laptop screen, two per row for
// the wider ones.
var (
	panelW, panelH = vg.Points(300), vg.Points(290)
	wideW, wideH   = vg.Points(430), vg.Points(290)
)

// bestCharts draws the best pipeline's predicted-vs-true panels and the
// residuals (regression) or confusion matrix (classification).
func bestCharts(in *sessionInput) (pred []figure, secondTitle string, second []figure) {
	secondTitle = "Residuals of the best pipeline"
	if in.classification() {
		secondTitle = "Confusion matrix of the best pipeline"
	}
	if in.best == nil || len(in.preds) == 0 {
		note := []figure{{Note: "No best pipeline with stored predictions yet."}}
		return note, secondTitle, note
	}
	task := in.best.TaskType
	for _, pr := range in.preds {
		p, err := predVsTrueChart([]predRow{pr}, task, pr.partition)
		pred = append(pred, newFigure(p, err, panelW, panelH, "Predicted vs true, "+pr.partition))
	}
	if in.classification() {
		pr := partitionOf(in.preds, in.bestScore.Partition)
		p, err := confusionChart(pr)
		return pred, secondTitle, []figure{newFigure(p, err, wideW, wideH+40, "Confusion matrix, "+pr.partition)}
	}
	p, err := residualChart(in.preds)
	return pred, secondTitle, []figure{withWide(newFigure(p, err, wideW*1.6, wideH, "Residuals"))}
}

// partitionOf returns the predictions of partition part, else the last
// (test comes last).
func partitionOf(preds []predRow, part string) predRow {
	for _, pr := range preds {
		if pr.partition == part {
			return pr
		}
	}
	return preds[len(preds)-1]
}

// scoreCharts draws the distribution of scores and the best so far.
func scoreCharts(rows []scoredRow, best *catalog.PipelineRow, bestScore catalog.Score) []figure {
	var b *catalog.Score
	if best != nil {
		b = &bestScore
	}
	h, herr := scoreHistogram(rows, b)
	s, serr := bestSoFarChart(rows)
	return []figure{
		withWide(newFigure(h, herr, wideW, wideH, "Distribution of scores")),
		withWide(newFigure(s, serr, wideW, wideH, "Best so far by pipeline number")),
	}
}

func withWide(f figure) figure {
	f.Wide = true
	return f
}

const sessionHTML = `{{define "session"}}{{template "head" .Head}}
<section class="cards">
{{with .Best}}<div class="card best"><span>best pipeline</span><b id="best-pipeline">{{.PID}}</b>{{.Model}} · {{.Partition}} {{.Metric}} {{.Score}}</div>
{{else}}<div class="card"><span>best pipeline</span><b>none yet</b>no pipeline has a score and predictions</div>
{{end}}<div class="card"><span>pipelines</span><b>{{.Pipelines}}</b>{{.OK}} ok · {{.Failures}} failed · {{.Incomplete}} incomplete</div>
{{if .Deleted}}<div class="card"><span>run folders deleted</span><b>{{.Deleted}}</b>kept in the catalog</div>
{{end}}</section>
<h2 id="predictions">Best pipeline: predicted vs true</h2>
{{template "charts" .Pred}}<h2 id="residuals">{{.SecondTitle}}</h2>
{{template "charts" .Second}}<h2 id="scores">Scores across pipelines</h2>
{{template "charts" .Scores}}<h2 id="pipelines">All pipelines ({{len .Rows}})</h2>
<p class="sub">Scores are {{.Metric}}. Click a column heading to sort.</p>
<table class="sortable" id="pipeline-table">
<thead><tr><th class="n">#</th><th>pipeline</th><th>model</th><th>preprocessing</th><th class="n">test</th><th class="n">val</th><th class="n">train</th><th class="n">duration</th><th>status</th></tr></thead>
<tbody>
{{range .Rows}}<tr data-pid="{{.PID}}"{{if .Best}} class="best"{{end}}><td class="n">{{.Number}}</td><td>{{.PID}}</td><td>{{.Model}}</td><td>{{.Prep}}</td><td class="n" data-v="{{.TestV}}">{{.Test}}</td><td class="n" data-v="{{.ValV}}">{{.Val}}</td><td class="n" data-v="{{.TrainV}}">{{.Train}}</td><td class="n" data-v="{{.DurationV}}">{{.Duration}}</td><td{{if eq .Status "failed"}} class="failed"{{end}}>{{.Status}}</td></tr>
{{end}}</tbody>
</table>
<h2 id="failed">Failed pipelines ({{len .Failed}})</h2>
{{if .Failed}}<table id="failed-table">
<thead><tr><th>pipeline</th><th>model</th><th>error</th></tr></thead>
<tbody>
{{range .Failed}}<tr data-failed="{{.PID}}"><td>{{.PID}}</td><td>{{.Model}}</td><td class="failed">{{.Error}}{{if .Log}}<details><summary>error.log (end)</summary><pre>{{.Log}}</pre></details>{{end}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p class="note">No pipeline failed.</p>
{{end}}{{if .Problems}}<h2 id="unreadable">Files the catalog could not read ({{len .Problems}})</h2>
<table>
<thead><tr><th>pipeline</th><th>file</th><th>reason</th></tr></thead>
<tbody>
{{range .Problems}}<tr><td>{{.PID}}</td><td>{{.File}}</td><td>{{.Reason}}</td></tr>
{{end}}</tbody>
</table>
{{end}}{{template "foot" .Head}}{{end}}`
