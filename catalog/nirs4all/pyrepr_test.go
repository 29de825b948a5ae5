package nirs4all

import (
	"fmt"
	"strings"
	"testing"
)

func TestParsePyLiteral(t *testing.T) {
	for in, want := range map[string]string{
		`{'n_components': 5, 'scale': True}`:         "map[n_components:5 scale:true]",
		`{"a": [1, 2.5, -3e-2], 'b': (None, False)}`: "map[a:[1 2.5 -3e-2] b:[<nil> false]]",
		`['it\'s', "x"]`:                             "[it's x]",
		`{'alpha': nan, 'k': {}}`:                    "map[alpha:<nil> k:map[]]",
		`[]`:                                         "[]",
	} {
		got, err := ParsePyLiteral(in)
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("%s: got %v (%v), want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{`{'a' 1}`, `[1, 2`, `'open`, `np.float64(1)`, `{1: }`, strings.Repeat("[", 100)} {
		if _, err := ParsePyLiteral(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestUnwrapValue(t *testing.T) {
	for in, want := range map[string]string{
		`[12.5, 14.2]`:                "[12.5 14.2]",
		`"{'n_components': 5}"`:       "map[n_components:5]",
		`"\"[1, 2]\""`:                "[1 2]",
		`PLSRegression`:               "PLSRegression",
		`None`:                        "None",
		``:                            "",
		`{"x": "{'nested': 'kept'}"}`: "map[x:{'nested': 'kept'}]",
	} {
		if got := fmt.Sprint(UnwrapValue(in)); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
	if v, err := FloatsOf(`[[1.5], [2.5]]`); err != nil || fmt.Sprint(v) != "[1.5 2.5]" {
		t.Errorf("column vector: %v %v", v, err)
	}
	if _, err := FloatsOf(`["a"]`); err == nil {
		t.Error("strings read as numbers")
	}
}
