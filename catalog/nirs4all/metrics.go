package nirs4all

// metrics.json (FORMATS.md §00). nirs4all never wrote this file; it is the
// design's canonical score file, so the parser is lenient about what it
// cannot use (odd values are skipped) and strict only when nothing is left.
// The JSON and value helpers at the end serve the other parsers too.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

const MetricsFile = "metrics.json"

// regressionMetrics mark a regression task when task_type is missing.
var regressionMetrics = []string{"rmse", "mse", "mae", "r2"}

// ParseMetrics reads metrics.json: per partition (train, val, test) the
// finite numeric metrics, lowercased, and "samples"; cross_validation.folds;
// and task_type. Values that are not finite numbers are skipped, and
// unknown keys ignored, so one odd value does not lose the whole file. A
// missing or unknown task_type is inferred: regression when any partition
// has rmse, mse, mae or r2, else TaskMulticlass (a binary task cannot be
// told from scores alone). The error is a *ParseError when the file is not
// a JSON object or holds no usable score.
func ParseMetrics(data []byte) (Metrics, error) {
	v, err := DecodeJSON(data)
	if err != nil {
		return Metrics{}, &ParseError{File: MetricsFile, Reason: err.Error()}
	}
	top, ok := v.(map[string]any)
	if !ok {
		return Metrics{}, &ParseError{File: MetricsFile, Reason: "want a JSON object, got " + TypeName(v)}
	}
	m := Metrics{Scores: map[string]map[string]float64{}}
	var skipped string // the first value dropped, to explain an empty result
	for _, part := range Partitions {
		raw, ok := top[part]
		if !ok {
			continue
		}
		obj, ok := raw.(map[string]any)
		if !ok {
			noteSkip(&skipped, "%s is %s, not an object", part, TypeName(raw))
			continue
		}
		readMetricsPartition(&m, part, obj, &skipped)
	}
	if len(m.Scores) == 0 {
		reason := "no usable score in train, val or test"
		if skipped != "" {
			reason += " (" + skipped + ")"
		}
		return Metrics{}, &ParseError{File: MetricsFile, Reason: reason}
	}
	m.CVFolds = cvFolds(top["cross_validation"])
	m.TaskType, m.TaskSaid = metricsTaskType(top["task_type"], m.Scores)
	return m, nil
}

// readMetricsPartition adds one partition's finite numbers to m. Keys are
// visited in sorted order and an already-lowercase key wins over another
// spelling of the same name ("rmse" over "RMSE"), so the result does not
// depend on Go's map order.
func readMetricsPartition(m *Metrics, part string, obj map[string]any, skipped *string) {
	scores := map[string]float64{}
	for _, key := range sortedKeys(obj) {
		name := strings.ToLower(strings.TrimSpace(key))
		if _, seen := scores[name]; (seen && key != name) || name == "" {
			continue
		}
		f, ok := asFloat(obj[key])
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			noteSkip(skipped, "%s.%s is not a finite number", part, key)
			continue
		}
		if name == "samples" {
			if f >= 0 && f <= math.MaxInt32 && f == math.Trunc(f) {
				if m.Samples == nil {
					m.Samples = map[string]int{}
				}
				m.Samples[part] = int(f)
			}
			continue
		}
		scores[name] = f
	}
	if len(scores) > 0 {
		m.Scores[part] = scores
	}
}

// cvFolds reads cross_validation.folds; a list there, or fold_results
// without folds, gives its length, since both spell out one entry per fold.
func cvFolds(v any) int {
	cv, ok := v.(map[string]any)
	if !ok {
		return 0
	}
	switch folds := cv["folds"].(type) {
	case []any:
		return len(folds)
	case nil:
		if results, ok := cv["fold_results"].([]any); ok {
			return len(results)
		}
		return 0
	default:
		n, ok := AsInt(folds)
		if !ok || n < 0 || n > math.MaxInt32 {
			return 0
		}
		return int(n)
	}
}

// metricsTaskType maps the file's task_type to the Task constants, taking
// the short forms people write by hand, and infers it when absent (said
// is false then).
func metricsTaskType(v any, scores map[string]map[string]float64) (task string, said bool) {
	s, _ := v.(string)
	s = strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(strings.TrimSpace(s)))
	switch s {
	case TaskRegression:
		return TaskRegression, true
	case TaskBinary, "binary":
		return TaskBinary, true
	case TaskMulticlass, "multiclass", "classification":
		return TaskMulticlass, true
	}
	for _, part := range scores {
		for _, name := range regressionMetrics {
			if _, ok := part[name]; ok {
				return TaskRegression, false
			}
		}
	}
	return TaskMulticlass, false
}

func noteSkip(skipped *string, format string, args ...any) {
	if *skipped == "" {
		*skipped = fmt.Sprintf(format, args...)
	}
}

// DecodeJSON decodes one JSON value with numbers kept as json.Number (so
// 1e400 is a value to skip, not a failed file) after turning Python's bare
// NaN/Infinity literals, which json.dump writes by default, into null.
func DecodeJSON(data []byte) (any, error) {
	clean := pythonJSONLiterals(stripBOM(data))
	if len(bytes.TrimSpace(clean)) == 0 {
		return nil, errors.New("empty file")
	}
	dec := json.NewDecoder(bytes.NewReader(clean))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(clean, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("invalid JSON on line %d: data after the top-level value",
			lineAt(clean, int(dec.InputOffset())))
	}
	return v, nil
}

// jsonError names the line of a syntax error. Lines, unlike byte offsets,
// are the same in the original file: the literal rewrite adds no newline.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("invalid JSON on line %d: %v", lineAt(data, int(syn.Offset)), err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("invalid JSON: unexpected end of file")
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

func lineAt(data []byte, offset int) int {
	offset = min(max(offset, 0), len(data))
	return 1 + bytes.Count(data[:offset], []byte{'\n'})
}

// pythonJSONLiterals replaces NaN, Infinity and -Infinity outside strings
// with null. Outside strings valid JSON has no other letters than those of
// true/false/null, so any match there is one of Python's literals.
func pythonJSONLiterals(data []byte) []byte {
	if !bytes.Contains(data, []byte("NaN")) && !bytes.Contains(data, []byte("Infinity")) {
		return data
	}
	out := make([]byte, 0, len(data)+8)
	inString, escaped := false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			inString = escaped || c != '"'
			escaped = !escaped && c == '\\'
		case c == '"':
			inString = true
		case bytes.HasPrefix(data[i:], []byte("NaN")):
			out, i = append(out, "null"...), i+2
			continue
		case bytes.HasPrefix(data[i:], []byte("-Infinity")):
			out, i = append(out, "null"...), i+8
			continue
		case bytes.HasPrefix(data[i:], []byte("Infinity")):
			out, i = append(out, "null"...), i+7
			continue
		}
		out = append(out, c)
	}
	return out
}

// stripBOM drops a UTF-8 byte order mark, which Excel and Windows tools put
// at the start of files they save.
func stripBOM(data []byte) []byte {
	return bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TypeName names a decoded JSON or YAML value's kind for error messages.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return "a number"
	}
}

// AsString reads a scalar as text: YAML and JSON numbers keep their
// written form where the decoder kept it (json.Number), booleans are words.
func AsString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case int, int64, uint64, float64:
		return fmt.Sprint(x), true
	}
	return "", false
}

// asFloat reads a JSON or YAML number; strings are not numbers.
func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// AsInt reads an integral number, or a decimal string of one (YAML writers
// sometimes quote step numbers).
func AsInt(v any) (int64, bool) {
	if s, ok := v.(string); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		return n, err == nil
	}
	f, ok := asFloat(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}
