package catalog

import "strings"

// IsDatasetViewName reports whether name can be a computed entry of a
// dataset folder (runs/<ds>/): best_<pipeline>.csv or run_summary.json.
func IsDatasetViewName(name string) bool {
	return name == "run_summary.json" || strings.HasPrefix(name, "best_") && strings.HasSuffix(name, ".csv")
}
