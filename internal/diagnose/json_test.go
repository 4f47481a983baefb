package diagnose

import (
	"encoding/json"
	"testing"
)

// TestFindingJSONShape: every finding carries the six fields of the API
// contract, fix and eta included when empty (eta as null).
func TestFindingJSONShape(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(ApprovedPendingIssuance())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"code", "severity", "message", "fix", "retryable", "eta"} {
		if _, ok := m[k]; !ok {
			t.Errorf("finding JSON %s has no %q", b, k)
		}
	}
	if m["eta"] != nil {
		t.Errorf("eta = %v, want null", m["eta"])
	}
}
