package api

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes: every route the handler registers is in the
// OpenAPI document with its method, and the document names no route that
// does not exist.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	// The routes, read from the source: one HandleFunc per route.
	re := regexp.MustCompile(`HandleFunc\("([A-Z]+) (/[^"]*)"`)
	var routes []string
	files, _ := os.ReadDir(".")
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			routes = append(routes, m[1]+" "+m[2])
		}
	}
	if len(routes) < 10 {
		t.Fatalf("found only %d routes in the source: %v", len(routes), routes)
	}
	for _, r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for r := range documented {
		if !slices.Contains(routes, r) {
			t.Errorf("openapi.json documents %s, which is not served", r)
		}
	}
}

// PrefersJSONForTest exposes prefersJSON to the external tests.
var PrefersJSONForTest = prefersJSON

// OpenAPIForTest exposes the OpenAPI document to the external tests.
var OpenAPIForTest = openAPI
