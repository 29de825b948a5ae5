package nirs4all

// Era A's <ds>.json (FORMATS.md §3.7) stores arrays and dicts as JSON
// inside a JSON string ("y_true": "[12.5, 14.2]"), and best_params may be
// a Python repr, itself JSON-quoted ("\"{'n_components': 5}\""). unwrapValue
// peels those layers; parsePyLiteral reads the Python literals.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// UnwrapValue decodes strings that hold JSON or a Python literal, layer
// by layer, and returns the innermost value. A plain string that is
// neither stays as it is.
func UnwrapValue(v any) any {
	for range 4 {
		s, ok := v.(string)
		if !ok {
			return v
		}
		t := strings.TrimSpace(s)
		if t == "" {
			return s
		}
		if d, err := DecodeJSON([]byte(t)); err == nil {
			v = d
			continue
		}
		if d, err := ParsePyLiteral(t); err == nil && !isBareWord(t) {
			v = d
			continue
		}
		return s
	}
	return v
}

// isBareWord reports a string that parsePyLiteral would read as a name
// (True, None, nan): kept as text unless it was quoted.
func isBareWord(s string) bool {
	return s != "" && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z')
}

// FloatsOf reads a decoded array of numbers (null and strings skipped as
// NaN placeholders would be: they fail the file instead).
func FloatsOf(v any) ([]float64, error) {
	v = UnwrapValue(v)
	if v == nil {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want an array of numbers, got %s", TypeName(v))
	}
	out := make([]float64, 0, len(arr))
	for _, e := range arr {
		if inner, ok := e.([]any); ok && len(inner) == 1 { // [[1.2], [3.4]]: a column vector
			e = inner[0]
		}
		f, ok := asFloat(e)
		if !ok {
			return nil, fmt.Errorf("array holds %s, not a number", TypeName(e))
		}
		out = append(out, f)
	}
	return out, nil
}

type pyParser struct {
	s string
	i int
}

// ParsePyLiteral reads a Python literal: dict, list, tuple, str, int,
// float, True, False, None, nan, inf. Tuples become arrays.
func ParsePyLiteral(s string) (any, error) {
	p := &pyParser{s: s}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("python literal: trailing text at %d", p.i)
	}
	return v, nil
}

func (p *pyParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *pyParser) value(depth int) (any, error) {
	if depth > 64 {
		return nil, errors.New("python literal: nested too deep")
	}
	p.space()
	if p.i >= len(p.s) {
		return nil, errors.New("python literal: unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.dict(depth)
	case c == '[' || c == '(':
		return p.list(depth)
	case c == '\'' || c == '"':
		return p.str()
	default:
		return p.atom()
	}
}

func (p *pyParser) dict(depth int) (any, error) {
	out := map[string]any{}
	p.i++
	for {
		p.space()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return out, nil
		}
		k, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, errors.New("python literal: want ':' in dict")
		}
		p.i++
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		ks, _ := AsString(k)
		out[ks] = v
		if err := p.sep('}'); err != nil {
			return nil, err
		}
	}
}

func (p *pyParser) list(depth int) (any, error) {
	end := byte(']')
	if p.s[p.i] == '(' {
		end = ')'
	}
	p.i++
	out := []any{}
	for {
		p.space()
		if p.i < len(p.s) && p.s[p.i] == end {
			p.i++
			return out, nil
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if err := p.sep(end); err != nil {
			return nil, err
		}
	}
}

// sep consumes a ',' or peeks at the closing end.
func (p *pyParser) sep(end byte) error {
	p.space()
	switch {
	case p.i < len(p.s) && p.s[p.i] == ',':
		p.i++
		return nil
	case p.i < len(p.s) && p.s[p.i] == end:
		return nil
	}
	return fmt.Errorf("python literal: want ',' or %q at %d", end, p.i)
}

func (p *pyParser) str() (any, error) {
	q := p.s[p.i]
	var b strings.Builder
	for p.i++; p.i < len(p.s); p.i++ {
		c := p.s[p.i]
		switch {
		case c == q:
			p.i++
			return b.String(), nil
		case c == '\\' && p.i+1 < len(p.s):
			p.i++
			switch e := p.s[p.i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return nil, errors.New("python literal: unterminated string")
}

func (p *pyParser) atom() (any, error) {
	start := p.i
	for p.i < len(p.s) && strings.IndexByte(",:]})", p.s[p.i]) < 0 {
		p.i++
	}
	w := strings.TrimSpace(p.s[start:p.i])
	switch w {
	case "True":
		return true, nil
	case "False":
		return false, nil
	case "None":
		return nil, nil
	case "nan", "inf", "-inf":
		return nil, nil // not representable in JSON: dropped like NaN in metrics.json
	}
	if n, err := strconv.ParseInt(w, 10, 64); err == nil {
		return json.Number(strconv.FormatInt(n, 10)), nil
	}
	if f, err := strconv.ParseFloat(w, 64); err == nil && !math.IsInf(f, 0) {
		return json.Number(w), nil
	}
	return nil, fmt.Errorf("python literal: unknown value %q", w)
}
