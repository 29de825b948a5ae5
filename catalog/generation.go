package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/n4ws/n4ws/backing"
)

// Generations: the catalog counts its changes in cat_state. 'generation'
// moves with every change; each dataset also keeps the generation of its
// own last change ('generation.ds/<ds>'), and a change of the best rule
// is recorded apart ('generation.config'), since it changes every
// dataset's views. A dataset's computed files (runs/<ds>/, exports/<ds>/)
// stay valid while its own generation and the rule's do not move, so a
// busy dataset does not make the others render again; the workspace-wide
// files (catalog/, exports/best_predictions...) follow 'generation'.

const configGenerationKey = "generation.config"

func datasetGenerationKey(ds string) string { return "generation.ds/" + ds }

// bumpGeneration moves the catalog's generation inside tx and stamps the
// datasets that changed with it (and the best rule, when config is true).
func bumpGeneration(tx *backing.Tx, datasets []string, config bool) error {
	if _, err := tx.Exec(`INSERT INTO cat_state (key, value) VALUES ('generation', 1)
		ON CONFLICT (key) DO UPDATE SET value = cat_state.value + 1`); err != nil {
		return fmt.Errorf("bump generation: %w", err)
	}
	var gen int64
	if err := tx.QueryRow(`SELECT value FROM cat_state WHERE key = 'generation'`).Scan(&gen); err != nil {
		return fmt.Errorf("bump generation: %w", err)
	}
	keys := make([]string, 0, len(datasets)+1)
	for _, ds := range datasets {
		keys = append(keys, datasetGenerationKey(ds))
	}
	if config {
		keys = append(keys, configGenerationKey)
	}
	for _, k := range keys {
		if _, err := tx.Exec(`INSERT INTO cat_state (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, gen); err != nil {
			return fmt.Errorf("bump generation of %s: %w", k, err)
		}
	}
	return nil
}

// viewGeneration is the generation dir's computed files were rendered at
// while they are valid: the dataset's own for a dataset folder, the
// catalog's for the others.
func (c *Catalog) viewGeneration(ctx context.Context, dir string) (int64, error) {
	ds, ok := datasetOfView(dir)
	if !ok {
		return c.Generation(ctx)
	}
	// A dataset no refresh has stamped yet (a store from before
	// per-dataset generations) follows the catalog's generation.
	var own, rule int64
	err := c.store.Reader().QueryRowContext(ctx, `SELECT
		coalesce((SELECT value FROM cat_state WHERE key = ?), (SELECT value FROM cat_state WHERE key = 'generation'), 0),
		coalesce((SELECT value FROM cat_state WHERE key = ?), 0)`,
		datasetGenerationKey(ds), configGenerationKey).Scan(&own, &rule)
	if err != nil {
		return 0, fmt.Errorf("generation of %s: %w", ds, err)
	}
	return max(own, rule), nil
}

// datasetOfView names the dataset whose folder dir is (runs/<ds> or
// exports/<ds>), if it is one.
func datasetOfView(dir string) (string, bool) {
	top, ds, ok := strings.Cut(dir, "/")
	if !ok || strings.Contains(ds, "/") {
		return "", false
	}
	switch {
	case top == "runs":
		return ds, true
	case top == "exports" && ds != "best_predictions" && ds != "session_reports":
		return ds, true
	}
	return "", false
}
