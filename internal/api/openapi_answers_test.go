package api_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/order"
)

// TestAnswersMatchOpenAPI: the JSON answers of the API, successes and
// errors, are each documented in the OpenAPI document for their path,
// method and status, with a schema they conform to (the subset of JSON
// Schema the document uses: type, with "null" for a member that may be
// null, properties, required, items, enum, const, format date-time and
// $ref).
func TestAnswersMatchOpenAPI(t *testing.T) {
	t.Parallel()
	s := setup(t)
	var doc map[string]any
	s.wantJSON(t, s.do(t, "GET", "/api/v1/openapi.json", "", ""), http.StatusOK, &doc)

	// A pending order, checked once (its findings have no eta).
	var pending order.View
	s.wantJSON(t, s.do(t, "POST", "/api/v1/orders", s.alice, orderBody(t, order.CreateRequest{Domains: []string{"pending.applicant.com"}, Method: "dns"})), http.StatusCreated, &pending)
	s.wantJSON(t, s.do(t, "POST", "/api/v1/orders/"+pending.ID+"/checks", s.alice, ""), http.StatusOK, nil)
	// An approved order: checked once with its record published, then
	// again (nothing pending: nothing observed).
	var approved order.View
	s.wantJSON(t, s.do(t, "POST", "/api/v1/orders", s.alice, orderBody(t, order.CreateRequest{Domains: []string{"approved.applicant.com"}, Method: "dns"})), http.StatusCreated, &approved)
	s.dns.Add("approved.applicant.com. A 192.0.2.1", `_dnsauth.approved.applicant.com. TXT "`+approved.Domains[0].Instructions.Value+`"`)
	s.wantJSON(t, s.do(t, "POST", "/api/v1/orders/"+approved.ID+"/checks", s.alice, ""), http.StatusOK, nil)
	s.clock.Add(order.DefaultCheckInterval)

	tests := []struct {
		method, path, template string
		body, contentType      string
		status                 int
		key                    string // the API key; alice's when ""
	}{
		{"GET", "/api/v1/health", "/api/v1/health", "", "", http.StatusOK, ""},
		{"GET", "/api/v1/account", "/api/v1/account", "", "", http.StatusOK, ""},
		{"GET", "/api/v1/orders", "/api/v1/orders", "", "", http.StatusOK, ""},
		{"GET", "/api/v1/orders?limit=1", "/api/v1/orders", "", "", http.StatusOK, ""},
		{"GET", "/api/v1/orders/" + pending.ID, "/api/v1/orders/{id}", "", "", http.StatusOK, ""},
		{"GET", "/api/v1/orders/" + approved.ID, "/api/v1/orders/{id}", "", "", http.StatusOK, ""},
		// An admin reading another account's order: read_only.
		{"GET", "/api/v1/orders/" + approved.ID, "/api/v1/orders/{id}", "", "", http.StatusOK, s.admin},
		{"GET", "/api/v1/orders/" + pending.ID + "/checks", "/api/v1/orders/{id}/checks", "", "", http.StatusOK, ""},
		{"GET", "/api/v1/orders/" + approved.ID + "/checks?limit=1", "/api/v1/orders/{id}/checks", "", "", http.StatusOK, ""},
		{"POST", "/api/v1/orders/" + pending.ID + "/checks", "/api/v1/orders/{id}/checks", "", "", http.StatusOK, ""},
		{"POST", "/api/v1/orders/" + pending.ID + "/checks", "/api/v1/orders/{id}/checks", "", "", http.StatusTooManyRequests, ""},
		{"POST", "/api/v1/orders/" + approved.ID + "/checks", "/api/v1/orders/{id}/checks", "", "", http.StatusOK, ""},
		{"GET", "/api/v1/orders/" + pending.ID + "/certificate", "/api/v1/orders/{id}/certificate", "", "", http.StatusConflict, ""},
		{"GET", "/api/v1/orders/ord_nope", "/api/v1/orders/{id}", "", "", http.StatusNotFound, ""},
		{"POST", "/api/v1/checks", "/api/v1/checks", `{"domain":"approved.applicant.com","value":"` + approved.Domains[0].Instructions.Value + `"}`, "application/json", http.StatusOK, ""},
		{"POST", "/api/v1/checks", "/api/v1/checks", `{"domain":"pending.applicant.com","value":"nope"}`, "application/json", http.StatusOK, ""},
		{"POST", "/api/v1/orders", "/api/v1/orders", `{"domains":["x.applicant.com"],"method":"dns"}`, "text/plain", http.StatusUnsupportedMediaType, ""},
		{"POST", "/api/v1/checks", "/api/v1/checks", `{"domain":"x.applicant.com"}`, "text/plain", http.StatusUnsupportedMediaType, ""},
		{"POST", "/api/v1/accounts", "/api/v1/accounts", `{"name":"x"}`, "text/plain", http.StatusUnsupportedMediaType, ""},
		{"DELETE", "/api/v1/orders/" + pending.ID, "/api/v1/orders/{id}", "", "", http.StatusMethodNotAllowed, ""},
		{"PUT", "/api/v1/orders/" + pending.ID + "/checks", "/api/v1/orders/{id}/checks", "", "", http.StatusMethodNotAllowed, ""},
		{"GET", "/api/v1/nothing", "", "", "", http.StatusNotFound, ""},
		{"GET", "/api/v1/eab-keys", "/api/v1/eab-keys", "", "", http.StatusOK, s.admin},
		{"GET", "/api/v1/eab-keys", "/api/v1/eab-keys", "", "", http.StatusForbidden, ""},
		{"DELETE", "/api/v1/eab-keys/eab_nope", "/api/v1/eab-keys/{id}", "", "", http.StatusNotFound, s.admin},
		{"POST", "/api/v1/accounts/acct_nope/key", "/api/v1/accounts/{id}/key", "", "", http.StatusNotFound, s.admin},
		{"POST", "/api/v1/accounts/acct_nope/key", "/api/v1/accounts/{id}/key", "", "", http.StatusForbidden, ""},
		// Last: it replaces the key the rows above use.
		{"POST", "/api/v1/account/key", "/api/v1/account/key", "", "", http.StatusOK, s.bob},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+strconv.Itoa(tt.status), func(t *testing.T) {
			a := s.doType(t, tt.method, tt.path, cmp.Or(tt.key, s.alice), tt.body, tt.contentType)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			var schema any
			if tt.template == "" {
				// No endpoint: the document's default answer.
				schema = lookup(doc, "components", "responses", "NotFound", "content", "application/json", "schema")
			} else {
				op := lookup(doc, "paths", tt.template, strings.ToLower(tt.method))
				if op == nil {
					// The method is not served: the document's 405.
					op = map[string]any{"responses": map[string]any{"405": lookup(doc, "components", "responses", "MethodNotAllowed")}}
				}
				resp := lookup(op, "responses", strconv.Itoa(tt.status))
				if resp == nil {
					t.Fatalf("openapi.json does not document status %d of %s %s", tt.status, tt.method, tt.template)
				}
				if r, ok := lookup(resp, "$ref").(string); ok {
					resp = resolve(doc, r)
				}
				schema = lookup(resp, "content", "application/json", "schema")
			}
			if schema == nil {
				t.Fatalf("openapi.json has no application/json schema for %d of %s %s", tt.status, tt.method, tt.template)
			}
			var v any
			if err := json.Unmarshal(a.body, &v); err != nil {
				t.Fatalf("answer %s: %v", a.body, err)
			}
			for _, e := range conform(doc, schema, v, "$") {
				t.Errorf("%s (answer %.2000s)", e, a.body)
			}
		})
	}
}

// lookup follows keys through nested JSON objects; nil when one is missing.
func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// resolve returns what a local $ref ("#/a/b") names.
func resolve(doc map[string]any, ref string) any {
	return lookup(doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...)
}

// conform returns how v departs from schema, each at its JSON path.
func conform(doc map[string]any, schema, v any, at string) []string {
	sc, _ := schema.(map[string]any)
	if ref, ok := sc["$ref"].(string); ok {
		return conform(doc, resolve(doc, ref), v, at)
	}
	var errs []string
	if t, ok := sc["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		if !slices.Contains(types, jsonType(v)) && !(jsonType(v) == "integer" && slices.Contains(types, "number")) {
			return []string{fmt.Sprintf("%s is %s, the document says %v", at, jsonType(v), types)}
		}
	}
	if c, ok := sc["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		errs = append(errs, fmt.Sprintf("%s is %v, the document says %v", at, v, c))
	}
	if e, ok := sc["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(v) && jsonType(x) == jsonType(v) }) {
		errs = append(errs, fmt.Sprintf("%s is %v, not one of the document's %v", at, v, e))
	}
	if sc["format"] == "date-time" {
		if str, ok := v.(string); ok {
			if _, err := time.Parse(time.RFC3339, str); err != nil {
				errs = append(errs, fmt.Sprintf("%s is %q, not a date-time", at, str))
			}
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := sc["properties"].(map[string]any)
		for _, r := range asStrings(sc["required"]) {
			if _, ok := v[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s lacks %q, which the document requires", at, r))
			}
		}
		for k, x := range v {
			if p, ok := props[k]; ok {
				errs = append(errs, conform(doc, p, x, at+"."+k)...)
			} else if ap, ok := sc["additionalProperties"]; ok {
				if ap == false {
					errs = append(errs, fmt.Sprintf("%s has %q, which the document does not name", at, k))
				} else {
					errs = append(errs, conform(doc, ap, x, at+"."+k)...)
				}
			}
		}
	case []any:
		if items, ok := sc["items"]; ok {
			for i, x := range v {
				errs = append(errs, conform(doc, items, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}

func asStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		out = append(out, x.(string))
	}
	return out
}

// jsonType names v's JSON Schema type.
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
