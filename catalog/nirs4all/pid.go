package nirs4all

// Pipeline folder names (FORMATS.md §2, DESIGN "NNNN_[name_]hash"):
// 0001_a1b2c3, 0042_pls_baseline_x9y8z7. The number makes the folder unique
// within its dataset; the hash is the last underscore-separated part, since
// the name itself may contain underscores.

import "strings"

// ParsePipelineID splits a pipeline folder name NNNN_[name_]hash into its
// number (exactly four digits, 0001 to 9999), name ("" when absent) and
// hash (any non-empty last part: nirs4all writes 6 hex digits, but other
// writers are not held to that). ok is false for any other name.
func ParsePipelineID(folder string) (number int, name, hash string, ok bool) {
	if len(folder) < 6 || folder[4] != '_' || strings.ContainsAny(folder, "/\x00") {
		return 0, "", "", false
	}
	for _, c := range []byte(folder[:4]) {
		if c < '0' || c > '9' {
			return 0, "", "", false
		}
		number = number*10 + int(c-'0')
	}
	if number == 0 {
		return 0, "", "", false
	}
	rest := folder[5:]
	i := strings.LastIndexByte(rest, '_')
	if i < 0 {
		return number, "", rest, true
	}
	name, hash = rest[:i], rest[i+1:]
	if name == "" || hash == "" {
		return 0, "", "", false
	}
	return number, name, hash, true
}

// IsPipelineFolder reports whether name is a pipeline folder name, so that
// _binaries/, best_*.csv and other dataset-level entries are told apart.
func IsPipelineFolder(name string) bool {
	_, _, _, ok := ParsePipelineID(name)
	return ok
}
