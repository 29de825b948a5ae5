package catalog

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The fast path of decodeSampleIDs gives what encoding/json gives, for
// ids as the catalog stores them (json.Marshal) and for text it did not.
func TestDecodeSampleIDsAsJSON(t *testing.T) {
	lists := [][]string{{}, {"S0001"}, {"S0001", "S0002", ""}, {"a,b", `q"uote`, `back\slash`, "<html>&", "tab\t", "é ü", ","},
		{`","`, "x"}, {"\xff invalid utf-8"}}
	var texts []string
	for _, ids := range lists {
		b, err := json.Marshal(ids)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(b))
	}
	texts = append(texts, `[ "a" , "b" ]`, `["a",1]`, `not json`, `[`, `[""]`, `["a""b"]`, `{}`)
	for _, text := range texts {
		var want []string
		if err := json.Unmarshal([]byte(text), &want); err != nil {
			want = nil
		}
		if got := decodeSampleIDs(text); !reflect.DeepEqual(got, want) {
			t.Errorf("decodeSampleIDs(%s) = %q, want %q", text, got, want)
		}
	}
}
