package jsontype

import "testing"

func TestMisspelledField(t *testing.T) {
	type inner struct {
		Name string `json:"name"`
	}
	type base struct {
		Profile string `json:"profile,omitempty"`
	}
	type req struct {
		base
		Domains []string          `json:"domains"`
		Method  string            `json:"method"`
		Items   []inner           `json:"items"`
		One     *inner            `json:"one"`
		Labels  map[string]string `json:"labels"`
		Ignored string            `json:"-"`
		Plain   string
	}
	tests := []struct {
		name, doc  string
		sent, want string
	}{
		{name: "exact", doc: `{"domains":["a"],"method":"dns","Plain":"x"}`},
		{name: "top level", doc: `{"Domains":["a"]}`, sent: "Domains", want: "domains"},
		{name: "embedded", doc: `{"PROFILE":"x"}`, sent: "PROFILE", want: "profile"},
		{name: "untagged name", doc: `{"plain":"x"}`, sent: "plain", want: "Plain"},
		{name: "in an array of structs", doc: `{"items":[{"name":"a"},{"Name":"b"}]}`, sent: "Name", want: "name"},
		{name: "in a pointer to struct", doc: `{"one":{"NAME":"a"}}`, sent: "NAME", want: "name"},
		{name: "map keys are data", doc: `{"labels":{"Name":"a","NAME":"b"}}`},
		{name: "not json", doc: `{`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sent, want, found := MisspelledField([]byte(tc.doc), &req{})
			if found != (tc.sent != "") || sent != tc.sent || want != tc.want {
				t.Fatalf("MisspelledField = %q, %q, %v; want %q, %q", sent, want, found, tc.sent, tc.want)
			}
		})
	}
}
