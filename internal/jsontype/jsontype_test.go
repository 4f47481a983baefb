package jsontype

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestMismatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		into      any
		want      string
	}{
		{"a string for an array", `{"a":"x"}`, &struct{ A []string }{}, `field "A" must be a JSON array, not a JSON string`},
		{"an array for the object", `[]`, &map[string]any{}, `must be a JSON object, not a JSON array`},
		{"a number for a string", `{"a":1}`, &struct{ A string }{}, `field "A" must be a JSON string, not a JSON number`},
		{"a string for a boolean", `{"a":"yes"}`, &struct{ A bool }{}, `field "A" must be a JSON boolean, not a JSON string`},
		{"an object for a number", `{"a":{}}`, &struct{ A int }{}, `field "A" must be a JSON number, not a JSON object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var te *json.UnmarshalTypeError
			if err := json.Unmarshal([]byte(tt.doc), tt.into); !errors.As(err, &te) {
				t.Fatalf("Unmarshal: %v, want a type mismatch", err)
			}
			if got := Mismatch(te); got != tt.want {
				t.Errorf("Mismatch = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFieldPath(t *testing.T) {
	t.Parallel()
	type ident struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	type req struct {
		Domains     []string          `json:"domains"`
		Methods     map[string]string `json:"methods"`
		Identifiers []ident           `json:"identifiers"`
		Grid        [][]int           `json:"grid"`
		Nested      struct {
			Tags []string `json:"tags"`
		} `json:"nested"`
		Lists map[string][]string `json:"lists"`
	}
	tests := []struct {
		name, doc, want string
	}{
		{"an array's element", `{"domains":[1]}`, "domains[0]"},
		{"a later element", `{"domains":["a", "b" ,true]}`, "domains[2]"},
		{"an object for an element", `{"domains":["a",{"x":[1]}]}`, "domains[1]"},
		{"an array for an element", `{"domains":[[ "a" ]]}`, "domains[0]"},
		{"the array itself", `{"domains":"a"}`, "domains"},
		{"a field of an element", `{"identifiers":[{"type":"dns","value":"a"},{"type":"dns","value":7}]}`, "identifiers[1].value"},
		{"an element of an element", `{"grid":[[1,2],[3,"x"]]}`, "grid[1][1]"},
		{"an element in a nested object", `{"nested":{"tags":["a",null,2]}}`, "nested.tags[2]"},
		{"a member named in another case", `{"DOMAINS":[1]}`, "domains[0]"},
		{"after other members and arrays", `{"grid":[[1]],"domains":["a"],"identifiers":[{},{"TYPE":false}]}`, "identifiers[1].type"},
		// A map's key is named as Go indexes the map (verification run:
		// "methods" alone named the object).
		{"a map's value", `{"methods":{"a.example":1}}`, `methods[a.example]`},
		{"an element of a map's value", `{"lists":{"a.example":["x",1]}}`, `lists[a.example][1]`},
		// The key is the client's: cut (review: echoed whole).
		{"a long map key", `{"methods":{"` + strings.Repeat("k", 100) + `":1}}`, `methods[` + strings.Repeat("k", 64) + `…]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var te *json.UnmarshalTypeError
			if err := json.Unmarshal([]byte(tt.doc), new(req)); !errors.As(err, &te) {
				t.Fatalf("Unmarshal: %v, want a type mismatch", err)
			}
			if got := FieldPath([]byte(tt.doc), te); got != tt.want {
				t.Errorf("FieldPath = %q, want %q (Field %q)", got, tt.want, te.Field)
			}
		})
	}
	t.Run("not the document", func(t *testing.T) {
		t.Parallel()
		te := &json.UnmarshalTypeError{Field: "domains", Offset: 3}
		if got := FieldPath([]byte(`{"x":[1]}`), te); got != "domains" {
			t.Errorf("FieldPath = %q, want the Field as it is", got)
		}
	})
	t.Run("the document itself", func(t *testing.T) {
		t.Parallel()
		var te *json.UnmarshalTypeError
		if err := json.Unmarshal([]byte(`[1]`), new(req)); !errors.As(err, &te) {
			t.Fatalf("Unmarshal: %v, want a type mismatch", err)
		}
		if got := FieldPath([]byte(`[1]`), te); got != "" {
			t.Errorf("FieldPath = %q, want \"\"", got)
		}
	})
}

func TestDuplicateKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		doc          string
		first, again string
		dups         bool
	}{
		{`{"a":1,"b":2}`, "", "", false},
		{`{"name":"dave","name":"DAVE"}`, "name", "name", true},
		{`{"a":{"x":1,"x":2}}`, "x", "x", true},
		{`{"a":[{"x":1},{"x":2}]}`, "", "", false},
		{`{"a":{"x":1},"b":{"x":1}}`, "", "", false},
		{`{"a":"a","b":"a"}`, "", "", false},
		{`{"a":[1,{"b":1,"b":2}]}`, "b", "b", true},
		{`[{"a":1},{"a":1}]`, "", "", false},
		{`{"a":1,"a"`, "", "", false}, // not valid JSON: the decoder says why
		{`"a"`, "", "", false},
		// encoding/json matches a name to a field without case.
		{`{"method":"dns","METHOD":"file"}`, "method", "METHOD", true},
		{`{"Domains":["a"],"domains":["b"]}`, "Domains", "domains", true},
		// The Kelvin sign and the long s fold to k and s (bytes.EqualFold).
		{`{"kind":1,"\u212aind":2}`, "kind", "\u212aind", true},
		{`{"s":1,"\u017f":2}`, "s", "\u017f", true},
		// Nested objects are maps: their keys are compared exactly (ς and σ
		// are two domain names, though they fold alike).
		{`{"methods":{"a.example":"dns","A.EXAMPLE":"file"}}`, "", "", false},
		{`{"methods":{"\u03c2.example":"dns","\u03c3.example":"file"}}`, "", "", false},
		{`{"methods":{"a.example":"dns","a.example":"file"}}`, "a.example", "a.example", true},
	}
	for _, tt := range tests {
		first, again, dups := DuplicateKey([]byte(tt.doc))
		if first != tt.first || again != tt.again || dups != tt.dups {
			t.Errorf("DuplicateKey(%s) = %q, %q, %t; want %q, %q, %t", tt.doc, first, again, dups, tt.first, tt.again, tt.dups)
		}
	}
}
