package catalog

import (
	"context"
	"sort"
	"strconv"
)

// XattrPrefix starts every attribute the catalog computes.
const XattrPrefix = "user.n4ws."

// PipelineXattrs returns the read-only attributes of a pipeline folder:
// status, model, task, number, best, and every score as
// user.n4ws.<partition>_<metric>. nil when the catalog does not know it.
func (c *Catalog) PipelineXattrs(ctx context.Context, ds, pid string) (map[string]string, error) {
	if _, err := c.Refresh(ctx); err != nil {
		return nil, err
	}
	rows, err := c.Pipelines(ctx, ds)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		p := &rows[i]
		if p.PID != pid {
			continue
		}
		x := map[string]string{
			XattrPrefix + "status":    p.Status,
			XattrPrefix + "model":     p.Model,
			XattrPrefix + "task_type": p.TaskType,
			XattrPrefix + "number":    strconv.Itoa(p.Number),
			XattrPrefix + "best":      strconv.FormatBool(p.Best),
		}
		for part, ms := range p.Scores {
			for m, v := range ms {
				x[XattrPrefix+part+"_"+m] = strconv.FormatFloat(v, 'g', -1, 64)
			}
		}
		return x, nil
	}
	return nil, nil
}

// SortedNames returns a map's keys in order (for listxattr).
func SortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
