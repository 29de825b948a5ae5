package report

import (
	"fmt"
	"sort"

	"github.com/n4ws/n4ws/catalog"
)

// The history report, catalog/reports/dataset_history/<dataset>.html: a
// dataset's best score over time, from every pipeline the catalog knows —
// those whose run folders were deleted too. The running best follows
// pipeline order; each pipeline is placed at its run date (created_at,
// else when n4ws first saw it).

type historyPage struct {
	Head                   pageHead
	Known, Deleted, Scored int
	FirstRun, LastRun      string
	Current, AllTime       *historyBest
	Metric                 string
	Charts                 []figure
	Records                []historyRecord
	Days                   []historyDay
}

type historyBest struct {
	PID, Model, Score string
	Present           bool
}

// historyRecord is a pipeline that beat every one before it.
type historyRecord struct {
	When, PID, Model, Score, V string
	Present                    bool
}

// historyDay sums up one run date.
type historyDay struct {
	Date                 string
	Pipelines            int
	DayBest, BestSoFar   string
	DayBestV, BestSoFarV string // raw values to sort by
}

// historyReport renders the history of r.
func historyReport(r *dsReport) ([]byte, error) {
	all := r.all()
	rows := r.scored(all)
	metric := r.metric()
	pg := &historyPage{Known: len(all), Scored: len(rows), Metric: metricLabel(metric)}
	pg.Head = pageHead{Title: r.ds + " · history", Heading: r.ds + ": history",
		Sub: fmt.Sprintf("Best %s %s over time · %s pipelines in the catalog, deleted run folders included",
			r.rule.Partition, metricName(metric), fmtCount(len(all))),
		Footer: "Computed by n4ws from its catalog; it changes only when the catalog does. Last change: " + fmtTime(r.mtime()) + " UTC."}
	for _, p := range all {
		if !p.Present {
			pg.Deleted++
		}
		d := p.RunDate()
		if pg.FirstRun == "" || d < pg.FirstRun {
			pg.FirstRun = d
		}
		if d > pg.LastRun {
			pg.LastRun = d
		}
	}
	if r.best != nil {
		pg.Current = &historyBest{PID: r.best.PID, Model: r.best.Model, Score: fmtScore(r.bestScore.Value), Present: true}
	}
	pg.Records, pg.AllTime = historyRecords(rows)
	pg.Days = historyDays(rows)
	p, err := historyChart(rows)
	pg.Charts = []figure{withWide(newFigure(p, err, wideW*1.6, wideH+20, "Best score over time"))}
	return renderPage("history", pg)
}

// historyRecords lists, in pipeline order, each pipeline that beat all
// before it; the last is the best of all time.
func historyRecords(rows []scoredRow) ([]historyRecord, *historyBest) {
	var out []historyRecord
	var top *scoredRow
	for i := range rows {
		r := &rows[i]
		if top != nil && !catalog.Better(r.s, r.p.Number, top.s, top.p.Number) {
			continue
		}
		top = r
		out = append(out, historyRecord{When: fmtTime(*r.p.CreatedTime()), PID: r.p.PID, Model: r.p.Model,
			Score: fmtScore(r.s.Value), V: sortKey(r.s.Value), Present: r.p.Present})
	}
	if top == nil {
		return out, nil
	}
	return out, &historyBest{PID: top.p.PID, Model: top.p.Model, Score: fmtScore(top.s.Value), Present: top.p.Present}
}

// historyDays groups the pipelines by run date, in date order, with the
// day's best and the best up to the end of that day.
func historyDays(rows []scoredRow) []historyDay {
	type acc struct {
		n    int
		best catalog.Score
	}
	days := map[string]*acc{}
	var order []string
	for _, r := range rows {
		d := r.p.RunDate()
		a := days[d]
		if a == nil {
			a = &acc{best: r.s}
			days[d] = a
			order = append(order, d)
		} else if catalog.Better(r.s, 0, a.best, 0) {
			a.best = r.s
		}
		a.n++
	}
	sort.Strings(order)
	var out []historyDay
	var run *catalog.Score
	for _, d := range order {
		a := days[d]
		if run == nil || catalog.Better(a.best, 0, *run, 0) {
			b := a.best
			run = &b
		}
		out = append(out, historyDay{Date: d, Pipelines: a.n, DayBest: fmtScore(a.best.Value), BestSoFar: fmtScore(run.Value),
			DayBestV: sortKey(a.best.Value), BestSoFarV: sortKey(run.Value)})
	}
	return out
}

const historyHTML = `{{define "history"}}{{template "head" .Head}}
<section class="cards">
<div class="card"><span>pipelines in the catalog</span><b>{{.Known}}</b>{{.Deleted}} with run folder deleted</div>
{{with .Current}}<div class="card best"><span>current best</span><b id="current-best">{{.PID}}</b>{{.Model}} · {{.Score}}</div>
{{end}}{{with .AllTime}}<div class="card"><span>best of all time</span><b id="alltime-best">{{.PID}}</b>{{.Model}} · {{.Score}}{{if not .Present}} · <span class="gone">run folder deleted</span>{{end}}</div>
{{end}}{{if .FirstRun}}<div class="card"><span>runs</span><b>{{.FirstRun}}</b>to {{.LastRun}}</div>
{{end}}</section>
<h2 id="chart">Best score over time</h2>
<p class="sub">{{.Metric}}. Rings: pipelines whose run folders were deleted; the catalog keeps their scores.</p>
{{template "charts" .Charts}}<h2 id="records">Improvements ({{len .Records}})</h2>
{{if .Records}}<table class="sortable" id="record-table">
<thead><tr><th>run time (UTC)</th><th>pipeline</th><th>model</th><th class="n">score</th><th>run folder</th></tr></thead>
<tbody>
{{range .Records}}<tr data-pid="{{.PID}}"><td>{{.When}}</td><td>{{.PID}}</td><td>{{.Model}}</td><td class="n" data-v="{{.V}}">{{.Score}}</td><td{{if not .Present}} class="gone"{{end}}>{{if .Present}}present{{else}}deleted{{end}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p class="note">No pipeline of this dataset has a score.</p>
{{end}}{{if .Days}}<h2 id="days">By run date</h2>
<table class="sortable" id="day-table">
<thead><tr><th>run date</th><th class="n">scored pipelines</th><th class="n">best that day</th><th class="n">best so far</th></tr></thead>
<tbody>
{{range .Days}}<tr><td>{{.Date}}</td><td class="n">{{.Pipelines}}</td><td class="n" data-v="{{.DayBestV}}">{{.DayBest}}</td><td class="n" data-v="{{.BestSoFarV}}">{{.BestSoFar}}</td></tr>
{{end}}</tbody>
</table>
{{end}}{{template "foot" .Head}}{{end}}`
