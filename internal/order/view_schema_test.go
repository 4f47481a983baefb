package order_test

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// TestACMEViewMatchesOpenAPI: the REST view of an ACME order, with its
// ACME statuses, answers within the enums the OpenAPI document publishes
// (review).
func TestACMEViewMatchesOpenAPI(t *testing.T) {
	t.Parallel()
	_, _, _, _, v := adminViewOfIssuedACMEOrder(t, "enum.applicant.com")
	raw, err := os.ReadFile("../api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	orderEnum := doc.Components.Schemas["Order"].Properties["status"].Enum
	domainEnum := doc.Components.Schemas["Domain"].Properties["status"].Enum
	methodEnum := doc.Components.Schemas["Domain"].Properties["method"].Enum
	typeEnum := doc.Components.Schemas["Domain"].Properties["type"].Enum
	if !slices.Contains(orderEnum, v.Status) {
		t.Errorf("GET /api/v1/orders/%s answers status %q, not in the documented enum %v", v.ID, v.Status, orderEnum)
	}
	for _, d := range v.Domains {
		if !slices.Contains(methodEnum, d.Method) {
			t.Errorf("domain %s: method %q, not in the documented enum %v", d.Domain, d.Method, methodEnum)
		}
		if !slices.Contains(typeEnum, d.Type) {
			t.Errorf("domain %s: type %q, not in the documented enum %v", d.Domain, d.Type, typeEnum)
		}
		if !slices.Contains(domainEnum, d.Status) {
			t.Errorf("domain %s: status %q, not in the documented enum %v", d.Domain, d.Status, domainEnum)
		}
	}
}
