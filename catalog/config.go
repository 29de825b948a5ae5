package catalog

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// ConfigKeys are the settings a workspace can change, with their defaults.
var ConfigKeys = map[string]string{
	"best.partition":  "test",
	"best.metric":     "auto",
	"trash.retention": "1d",
}

// SetConfig changes a setting and re-picks every dataset's best at once,
// in the same transaction, so computed files follow immediately.
func (c *Catalog) SetConfig(ctx context.Context, key, value string) error {
	if err := checkConfig(key, value); err != nil {
		return err
	}
	if !strings.HasPrefix(key, "best.") { // nothing computed depends on it
		return c.store.Update(ctx, func(tx *backing.Tx) error {
			_, err := tx.Exec(`INSERT INTO cat_config VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
			return err
		})
	}
	if _, err := c.Refresh(ctx); err != nil {
		return err
	}
	datasets, err := c.Datasets(ctx)
	if err != nil {
		return err
	}
	return c.store.Update(ctx, func(tx *backing.Tx) error {
		v := value
		if key == "best.metric" && value == "auto" {
			v = ""
		}
		if _, err := tx.Exec(`INSERT INTO cat_config VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, v); err != nil {
			return err
		}
		for _, ds := range datasets {
			if err := c.updateBest(tx, ds); err != nil {
				return err
			}
		}
		return bumpGeneration(tx, nil, true)
	})
}

func checkConfig(key, value string) error {
	if _, ok := ConfigKeys[key]; !ok {
		keys := make([]string, 0, len(ConfigKeys))
		for k := range ConfigKeys {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return fmt.Errorf("unknown setting %q: known are %s", key, strings.Join(keys, ", "))
	}
	switch key {
	case "best.partition":
		if value != "train" && value != "val" && value != "test" {
			return fmt.Errorf("best.partition %q: want train, val or test", value)
		}
	case "best.metric":
		if value == "" || strings.ContainsAny(value, " \t/") {
			return fmt.Errorf("best.metric %q: want a metric name such as rmse, r2, accuracy, or auto", value)
		}
	case "trash.retention":
		if _, err := ParseRetention(value); err != nil {
			return err
		}
	}
	return nil
}

// ParseRetention reads a trash retention: Nd (days), or a Go duration
// such as 48h, 90m or 10s; 0 lets gc drop the trash at once.
func ParseRetention(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.ParseFloat(n, 64); err == nil && d >= 0 && d < 1e5 {
			return time.Duration(d * 24 * float64(time.Hour)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("trash.retention %q: want a duration such as 1d, 48h or 90m", s)
	}
	return d, nil
}

// TrashRetention returns how long the trash keeps what is removed.
func (c *Catalog) TrashRetention(ctx context.Context) (time.Duration, error) {
	cfg, err := c.Config(ctx)
	if err != nil {
		return 0, err
	}
	return ParseRetention(cfg["trash.retention"])
}

// Config returns every setting with its current value.
func (c *Catalog) Config(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range ConfigKeys {
		out[k] = v
	}
	rows, err := c.store.Reader().QueryContext(ctx, `SELECT key, value FROM cat_config`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		if v == "" && k == "best.metric" {
			v = "auto"
		}
		out[k] = v
	}
	return out, rows.Err()
}
