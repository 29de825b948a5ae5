package catalog

import "encoding/json"

// Documents rendered as JSON. Field order is fixed by the structs and
// slices are sorted by their producers, so the bytes are deterministic.

type summaryDoc struct {
	Dataset        string         `json:"dataset"`
	Task           string         `json:"task"`      // the dataset's one task
	TaskFrom       string         `json:"task_from"` // declared, labels, metric names or default
	Ranking        rankingDoc     `json:"ranking"`   // the one metric and partition its pipelines are ranked by
	Pipelines      int            `json:"pipelines"`
	Succeeded      int            `json:"succeeded"`
	Failed         int            `json:"failed"`
	Incomplete     int            `json:"incomplete"`
	Unscored       int            `json:"unscored"` // succeeded, but no score under the ranking: never best
	Deleted        int            `json:"deleted"`
	Rule           BestRule       `json:"rule"`
	Best           *bestDoc       `json:"best"`
	FailedRuns     []string       `json:"failed_pipelines"`
	IncompleteRuns []string       `json:"incomplete_pipelines"`
	UnscoredRuns   []string       `json:"unscored_pipelines"`
	Errors         []errorDoc     `json:"errors"`
	Models         map[string]int `json:"models"`
}

type rankingDoc struct {
	Metric        string `json:"metric"`
	Partition     string `json:"partition"`
	LowerIsBetter bool   `json:"lower_is_better"`
}

type bestDoc struct {
	Pipeline  string  `json:"pipeline"`
	Model     string  `json:"model"`
	Metric    string  `json:"metric"`
	Partition string  `json:"partition"`
	Score     float64 `json:"score"`
	File      string  `json:"file"`
}

type errorDoc struct {
	Pipeline string `json:"pipeline"`
	File     string `json:"file"`
	Reason   string `json:"reason"`
}

func runSummary(ds string, rule BestRule, rows []PipelineRow, errs []ErrorRow) summaryDoc {
	d := summaryDoc{Dataset: ds, Rule: rule, FailedRuns: []string{}, IncompleteRuns: []string{},
		UnscoredRuns: []string{}, Errors: []errorDoc{}, Models: map[string]int{}}
	if len(rows) > 0 {
		r := rows[0].Ranking
		d.Task, d.TaskFrom = r.Task, r.TaskFrom
		d.Ranking = rankingDoc{Metric: r.Metric, Partition: r.Partition, LowerIsBetter: r.LowerIsBetter()}
	}
	for i := range rows {
		p := &rows[i]
		if !p.Present {
			d.Deleted++
			continue
		}
		d.Pipelines++
		switch p.Status {
		case "ok":
			d.Succeeded++
			if _, ok := rule.Pick(p); !ok {
				d.Unscored++
				d.UnscoredRuns = append(d.UnscoredRuns, p.PID)
			}
		case "failed":
			d.Failed++
			d.FailedRuns = append(d.FailedRuns, p.PID)
		default:
			d.Incomplete++
			d.IncompleteRuns = append(d.IncompleteRuns, p.PID)
		}
		if p.Model != "" {
			d.Models[p.Model]++
		}
		if p.Best {
			s, _ := rule.Pick(p)
			d.Best = &bestDoc{Pipeline: p.PID, Model: p.Model, Metric: s.Metric, Partition: s.Partition,
				Score: s.Value, File: "best_" + p.PID + ".csv"}
		}
	}
	present := map[string]bool{}
	for i := range rows {
		present[rows[i].PID] = rows[i].Present
	}
	for _, e := range errs {
		if present[e.PID] { // a removed folder's files are no longer a problem
			d.Errors = append(d.Errors, errorDoc{Pipeline: e.PID, File: e.File, Reason: e.Reason})
		}
	}
	return d
}

type modelDoc struct {
	Dataset    string   `json:"dataset"`
	ModelName  string   `json:"model_name"`
	ModelClass string   `json:"model_class,omitempty"`
	PipelineID string   `json:"pipeline_id"`
	TaskType   string   `json:"task_type"`
	Metric     string   `json:"metric"`
	Partition  string   `json:"partition"`
	Score      float64  `json:"score"`
	TestScore  *float64 `json:"test_score"`
	ValScore   *float64 `json:"val_score"`
	TrainScore *float64 `json:"train_score"`
	RunDate    string   `json:"run_date"`
}

func modelSummary(rule BestRule, p *PipelineRow) modelDoc {
	s, _ := rule.Pick(p)
	get := func(part string) *float64 {
		if v, ok := p.Scores[part][s.Metric]; ok {
			return &v
		}
		return nil
	}
	return modelDoc{Dataset: p.Dataset, ModelName: p.Model, ModelClass: p.ModelClass, PipelineID: p.PID,
		TaskType: p.TaskType, Metric: s.Metric, Partition: s.Partition, Score: s.Value,
		TestScore: get("test"), ValScore: get("val"), TrainScore: get("train"), RunDate: p.RunDate()}
}

// jsonBytes renders v indented, with a final newline. Scores are finite
// (parsers drop NaN and Inf), so encoding cannot fail on them; a failure
// would be a bug, rendered visibly rather than hidden.
func jsonBytes(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	// Exactly sized: the bytes are kept while the view is valid, and
	// MarshalIndent's buffer has room for twice its content.
	out := make([]byte, len(b)+1)
	copy(out, b)
	out[len(b)] = '\n'
	return out
}
