package nirs4all

// manifest.yaml (FORMATS.md §3.1), written by nirs4all's ManifestManager in
// eras A-C. Before 2025-12-06 enums could be dumped as !!python/... tags,
// which a plain yaml.Unmarshal refuses; decoding into yaml.Node and walking
// it ourselves reads every tagged value as the plain value under the tag.

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

const ManifestFile = "manifest.yaml"

// yamlNodeBudget bounds the values built from one manifest. Aliases are
// expanded by the walk, and nested aliases grow exponentially ("billion
// laughs"); real manifests hold a few thousand nodes.
const yamlNodeBudget = 1 << 20

// ParseManifest reads manifest.yaml: pipeline_id, name, dataset,
// created_at, pipeline.steps (model and preprocessing as for pipeline.json)
// and artifacts, either the A/B list or era C's {schema_version, items}.
// The error is a *ParseError for invalid YAML, a top level that is not a
// mapping, or a known key of the wrong type.
func ParseManifest(data []byte) (PipelineInfo, error) {
	info, err := parseManifest(data)
	if err != nil {
		return PipelineInfo{}, &ParseError{File: ManifestFile, Reason: err.Error()}
	}
	return info, nil
}

func parseManifest(data []byte) (PipelineInfo, error) {
	v, err := decodeYAML(data)
	if err != nil {
		return PipelineInfo{}, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return PipelineInfo{}, fmt.Errorf("want a mapping, got %s", TypeName(v))
	}
	var info PipelineInfo
	var created string
	for _, f := range []struct {
		key string
		dst *string
	}{{"pipeline_id", &info.ID}, {"name", &info.Name}, {"dataset", &info.Dataset}, {"created_at", &created}} {
		if *f.dst, err = stringField(top, f.key); err != nil {
			return PipelineInfo{}, err
		}
	}
	info.CreatedAt = normalizeTime(created)
	switch p := top["pipeline"].(type) {
	case nil:
	case []any:
		pipelineSteps(&info, p)
	case map[string]any:
		if err := readStepsField(&info, p); err != nil {
			return PipelineInfo{}, fmt.Errorf("pipeline.%w", err)
		}
	default:
		return PipelineInfo{}, fmt.Errorf("pipeline: want a mapping with steps, got %s", TypeName(p))
	}
	arts := top["artifacts"]
	if m, ok := arts.(map[string]any); ok {
		// Era C: {schema_version: "2.0", items: [...]}.
		arts = m["items"]
	}
	if info.Artifacts, err = parseArtifactList(arts); err != nil {
		return PipelineInfo{}, err
	}
	return info, nil
}

// decodeYAML parses the first YAML document into the generic tree the
// step walk reads (map[string]any, []any, scalars).
func decodeYAML(data []byte) (v any, err error) {
	// yaml.v3 has panicked on crafted input before (go-yaml/yaml#666);
	// a manifest must never take the ingest worker down with it.
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("invalid YAML: %v", r)
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(stripBOM(data), &doc); err != nil {
		return nil, fmt.Errorf("invalid YAML: %v", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, errors.New("empty file")
	}
	c := yamlConv{budget: yamlNodeBudget}
	return c.value(doc.Content[0], 0)
}

type yamlConv struct {
	budget int // nodes left to build before the document is refused
}

func (c *yamlConv) value(n *yaml.Node, depth int) (any, error) {
	c.budget--
	if c.budget < 0 {
		return nil, errors.New("YAML too large after alias expansion")
	}
	if depth > 2*maxStepDepth {
		return nil, errors.New("YAML nested too deep")
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, nil
		}
		return c.value(n.Alias, depth+1)
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := c.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	case yaml.MappingNode:
		return c.mapping(n, depth)
	case yaml.ScalarNode:
		return yamlScalar(n), nil
	}
	return nil, nil
}

// mapping builds a map; keys that are not scalars (legal YAML, never in a
// manifest) are dropped rather than failing the file.
func (c *yamlConv) mapping(n *yaml.Node, depth int) (any, error) {
	m := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		v, err := c.value(n.Content[i+1], depth+1)
		if err != nil {
			return nil, err
		}
		if k.Kind == yaml.ScalarNode {
			m[k.Value] = v
		}
	}
	return m, nil
}

// yamlScalar resolves the core YAML types (int, float, bool, null); any
// other tag, !!python/... included, and timestamps stay the text written.
func yamlScalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!int", "!!float", "!!bool", "!!null":
		var v any
		if err := n.Decode(&v); err == nil {
			return v
		}
	}
	return n.Value
}

// normalizeTime turns the ISO-8601 forms Python writes (with or without a
// zone, "T" or space) into RFC 3339 UTC, so dates sort as text; a zoneless
// time is taken as UTC, as nirs4all stamps UTC. Unreadable dates give "".
func normalizeTime(s string) string {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05",
		"2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339Nano)
		}
	}
	return ""
}
