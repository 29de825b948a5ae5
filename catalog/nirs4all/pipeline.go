package nirs4all

// pipeline.json (FORMATS.md §3.2): the design's object, and the bare array
// of steps nirs4all really wrote. manifest.yaml's pipeline.steps has the
// same step shapes, so the step walk here serves both parsers. Both work on
// the generic tree a JSON or YAML decoder yields (map[string]any, []any,
// strings and numbers).

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

const PipelineFile = "pipeline.json"

// ParsePipelineJSON reads pipeline.json: the design object {id, hash,
// created_at, duration_seconds, status, steps, artifacts} or the real bare
// array of steps. The model is the last step that names an estimator (see
// pipelineSteps); Preprocessing lists the short class names before it. The
// error is a *ParseError for invalid JSON, another top-level value, or a
// design field of the wrong type.
func ParsePipelineJSON(data []byte) (PipelineInfo, error) {
	v, err := DecodeJSON(data)
	if err != nil {
		return PipelineInfo{}, &ParseError{File: PipelineFile, Reason: err.Error()}
	}
	var info PipelineInfo
	switch doc := v.(type) {
	case []any:
		pipelineSteps(&info, doc)
	case map[string]any:
		err = readDesignPipeline(&info, doc)
	default:
		err = fmt.Errorf("want an array of steps or an object, got %s", TypeName(v))
	}
	if err != nil {
		return PipelineInfo{}, &ParseError{File: PipelineFile, Reason: err.Error()}
	}
	return info, nil
}

// readDesignPipeline fills info from the design object. An object with
// none of its keys is refused: it is some other file under this name.
func readDesignPipeline(info *PipelineInfo, doc map[string]any) error {
	if !hasAnyKey(doc, "id", "hash", "steps", "pipeline", "artifacts") {
		return errors.New("object has none of id, hash, steps, pipeline, artifacts")
	}
	var created string
	for _, f := range []struct {
		key string
		dst *string
	}{{"id", &info.ID}, {"hash", &info.Hash}, {"status", &info.Status}, {"name", &info.Name},
		{"dataset", &info.Dataset}, {"created_at", &created}} {
		s, err := stringField(doc, f.key)
		if err != nil {
			return err
		}
		*f.dst = s
	}
	info.CreatedAt = normalizeTime(created)
	if d, ok := doc["duration_seconds"]; ok && d != nil {
		f, ok := asFloat(d)
		if !ok || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("duration_seconds: want a non-negative number, got %s", TypeName(d))
		}
		info.DurationSec = f
	}
	if err := readStepsField(info, doc); err != nil {
		return err
	}
	arts, err := parseArtifactList(doc["artifacts"])
	info.Artifacts = arts
	return err
}

// readStepsField takes the steps from "steps", or from "pipeline" (a list,
// or an object holding steps), the shape nirs4all's own configs use.
func readStepsField(info *PipelineInfo, doc map[string]any) error {
	key, steps := "steps", doc["steps"]
	if steps == nil {
		key, steps = "pipeline", doc["pipeline"]
		if inner, ok := steps.(map[string]any); ok {
			key, steps = "pipeline.steps", inner["steps"]
		}
	}
	switch s := steps.(type) {
	case nil:
		return nil
	case []any:
		pipelineSteps(info, s)
		return nil
	default:
		return fmt.Errorf("%s: want an array, got %s", key, TypeName(steps))
	}
}

// parseArtifactList reads artifact records of every era: the design's
// {step, name, hash, path, size_kb}, the A/B manifest binaries {hash, name,
// path, format, size, step} and the V3 records {class_name, custom_name,
// content_hash, path, step_index}. Era A's output records (charts, folds:
// they carry "type") are not binaries and are left out.
func parseArtifactList(v any) ([]Artifact, error) {
	if v == nil {
		return nil, nil
	}
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("artifacts: want an array, got %s", TypeName(v))
	}
	var out []Artifact
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("artifacts[%d]: want an object, got %s", i, TypeName(it))
		}
		if _, output := m["type"]; output {
			continue
		}
		a := Artifact{Name: firstString(m, "name", "custom_name", "class_name"),
			Path: firstString(m, "path"), Hash: firstString(m, "hash", "content_hash")}
		for _, key := range []string{"step", "step_index"} {
			if n, ok := AsInt(m[key]); ok && n >= 0 && n <= math.MaxInt32 {
				a.Step = int(n)
				break
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// stepOp is one operator found in the steps, in pipeline order.
type stepOp struct {
	class string // full dotted path as written, or a bare class name
	model bool   // named by a "model" keyword or a design operator "model"
	skip  bool   // a splitter, or a design split/y_processing step: neither preprocessing nor model
}

// maxStepDepth stops the walk in absurdly nested steps; real pipelines nest
// a handful of levels (branches of lists of keyword objects).
const maxStepDepth = 64

// stepsSkipKeys hold keyword steps that are not X preprocessing: the split
// and the target scaling. stepsDataKeys hold values that are not steps.
var (
	stepsSkipKeys = map[string]bool{"split": true, "y_processing": true}
	stepsDataKeys = map[string]bool{"name": true, "params": true, "finetune_params": true,
		"train_params": true, "metadata": true, "_runtime_instance": true, "custom_name": true}
)

// pipelineSteps sets the model and preprocessing of info from a step list.
// The model is the last operator named by a "model" keyword (or design
// operator "model") or whose short class name looks like an estimator;
// preprocessing is the operators before it that are neither splitters nor
// earlier models (nirs4all trains every model step on the same data, so an
// earlier model is a sibling, not a transform of the last one's input).
func pipelineSteps(info *PipelineInfo, steps []any) {
	var ops []stepOp
	walkSteps(&ops, steps, 0)
	isModel := func(op stepOp) bool {
		return op.model || (!op.skip && looksLikeEstimator(ShortClass(op.class)))
	}
	end := len(ops)
	for i := len(ops) - 1; i >= 0; i-- {
		if isModel(ops[i]) {
			info.ModelClass, info.Model, end = ops[i].class, ShortClass(ops[i].class), i
			break
		}
	}
	info.Preprocessing = nil
	for _, op := range ops[:end] {
		if !op.skip && op.class != "" && !isModel(op) {
			info.Preprocessing = append(info.Preprocessing, ShortClass(op.class))
		}
	}
}

// walkSteps appends the operators of v in order. Strings count only when
// they look like a class (nirs4all's string keywords such as "chart_2d"
// are not operators); objects are a class/function/instance record, a
// "model" keyword, or keyword containers whose values are walked in key
// order. Other values (numbers, booleans) are not operators.
func walkSteps(ops *[]stepOp, v any, depth int) {
	if depth > maxStepDepth {
		return
	}
	switch x := v.(type) {
	case string:
		if looksLikeClass(x) {
			*ops = append(*ops, stepOp{class: strings.TrimSpace(x), skip: isSplitter(x)})
		}
	case []any:
		for _, e := range x {
			walkSteps(ops, e, depth+1)
		}
	case map[string]any:
		walkStepObject(ops, x, depth)
	}
}

func walkStepObject(ops *[]stepOp, m map[string]any, depth int) {
	if cls := classOf(m); cls != "" {
		op := stepOp{class: cls, skip: isSplitter(cls)}
		switch operator, _ := m["operator"].(string); strings.ToLower(operator) {
		case "model":
			op.model, op.skip = true, false
		case "split", "y_processing":
			op.skip = true
		}
		*ops = append(*ops, op)
		return
	}
	if mv, ok := m["model"]; ok {
		*ops = append(*ops, stepOp{class: modelClass(mv, depth), model: true})
		return
	}
	for _, k := range sortedKeys(m) {
		if !stepsSkipKeys[k] && !stepsDataKeys[k] {
			walkSteps(ops, m[k], depth+1)
		}
	}
}

// modelClass is the class a "model" keyword names: a class path, a
// {"class"|"function"|"instance": ..} record, or failing those the last
// operator found inside the value.
func modelClass(v any, depth int) string {
	if s, ok := v.(string); ok {
		return strings.TrimSpace(s)
	}
	var inner []stepOp
	walkSteps(&inner, v, depth+1)
	if len(inner) == 0 {
		return ""
	}
	return inner[len(inner)-1].class
}

// classOf is the non-empty "class", "function" or "instance" string of a
// serialized operator (nirs4all's serialize_component keys), else "".
func classOf(m map[string]any) string {
	for _, key := range []string{"class", "function", "instance"} {
		if s, ok := m[key].(string); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// ShortClass is the last dotted component: PLSRegression of
// sklearn.cross_decomposition._pls.PLSRegression.
func ShortClass(class string) string {
	return class[strings.LastIndexByte(class, '.')+1:]
}

// looksLikeClass accepts dotted identifiers whose last part is CapWords.
func looksLikeClass(s string) bool {
	s = strings.TrimSpace(s)
	short := ShortClass(s)
	if short == "" || short[0] < 'A' || short[0] > 'Z' {
		return false
	}
	for _, r := range s {
		if r != '.' && r != '_' && !('a' <= r && r <= 'z') && !('A' <= r && r <= 'Z') && !('0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// estimatorSuffixes and estimatorPrefixes recognise estimators by their
// short class name, since the files carry no type information; the list
// covers sklearn, xgboost, lightgbm, catboost and nirs4all's PLS models.
var (
	estimatorSuffixes = []string{"Regression", "Regressor", "Classifier", "SVR", "SVC", "PLSDA", "PLS",
		"Ridge", "Lasso", "Lars", "ElasticNet"}
	estimatorPrefixes = []string{"KNeighbors", "LGBM", "CatBoost", "MLP"}
)

func looksLikeEstimator(short string) bool {
	// RidgeCV, LassoCV, LogisticRegressionCV: the CV variant of an estimator.
	base := strings.TrimSuffix(short, "CV")
	for _, s := range estimatorSuffixes {
		if strings.HasSuffix(short, s) || strings.HasSuffix(base, s) {
			return true
		}
	}
	for _, p := range estimatorPrefixes {
		if strings.HasPrefix(short, p) {
			return true
		}
	}
	return strings.Contains(short, "Boost")
}

// isSplitter recognises CV splitters given as plain steps (nirs4all accepts
// ShuffleSplit(...) without a "split" keyword): they are not preprocessing.
func isSplitter(class string) bool {
	short := ShortClass(strings.TrimSpace(class))
	return strings.Contains(class, ".model_selection.") || strings.Contains(class, ".splitters.") ||
		strings.HasSuffix(short, "Split") || strings.HasSuffix(short, "Splitter") || strings.HasSuffix(short, "Fold")
}

// stringField reads an optional scalar field as a string; numbers are
// written back as text (a YAML name of 123 is still a name).
func stringField(m map[string]any, key string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := AsString(v)
	if !ok {
		return "", fmt.Errorf("%s: want a string, got %s", key, TypeName(v))
	}
	return s, nil
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := AsString(m[k]); ok && s != "" {
			return s
		}
	}
	return ""
}

func hasAnyKey(m map[string]any, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}
