package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/store"
)

// TestEABKeysListAndDelete: an admin lists the EAB keys a page at a time,
// newest first, never with their HMAC keys, and withdraws one that bound
// no account; a bound key is a conflict and stays; a non-admin can do
// neither.
func TestEABKeysListAndDelete(t *testing.T) {
	t.Parallel()
	s := setup(t)
	var made []order.EABKeyView
	for range 3 {
		var k order.EABKeyView
		s.wantJSON(t, s.do(t, "POST", "/api/v1/eab-keys", s.admin, ""), http.StatusCreated, &k)
		made = append(made, k)
		s.clock.Add(time.Second) // ids sort by their creation time
	}
	// The last one binds an ACME account.
	bound := made[2].KeyID
	if err := s.store.ACMEAccountCreate(t.Context(), store.ACMEAccount{ID: "acct_bound", Status: store.ACMEAccountValid,
		KeyThumbprint: "tp-bound", KeyJWK: []byte(`{}`), EABKeyID: bound, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	type page struct {
		EABKeys    []map[string]any `json:"eab_keys"`
		NextCursor string           `json:"next_cursor"`
	}
	var p1, p2 page
	a := s.do(t, "GET", "/api/v1/eab-keys?limit=2", s.admin, "")
	s.wantJSON(t, a, http.StatusOK, &p1)
	if strings.Contains(string(a.body), "hmac") || strings.Contains(string(a.body), made[0].HMACKey) {
		t.Fatalf("the list shows HMAC keys: %s", a.body)
	}
	if len(p1.EABKeys) != 2 || p1.EABKeys[0]["key_id"] != bound || p1.EABKeys[0]["account_id"] != "acct_bound" || p1.EABKeys[1]["key_id"] != made[1].KeyID || p1.NextCursor != made[1].KeyID {
		t.Fatalf("first page %+v, want %s (bound) then %s", p1, bound, made[1].KeyID)
	}
	s.wantJSON(t, s.do(t, "GET", "/api/v1/eab-keys?limit=2&cursor="+p1.NextCursor, s.admin, ""), http.StatusOK, &p2)
	if len(p2.EABKeys) != 1 || p2.EABKeys[0]["key_id"] != made[0].KeyID || p2.NextCursor != "" || p2.EABKeys[0]["account_id"] != nil {
		t.Fatalf("second page %+v, want only %s, unbound", p2, made[0].KeyID)
	}

	tests := []struct {
		name, method, path, key string
		status                  int
		code                    string
	}{
		{"a non-admin lists", "GET", "/api/v1/eab-keys", s.alice, http.StatusForbidden, "ADMIN_REQUIRED"},
		{"a non-admin deletes", "DELETE", "/api/v1/eab-keys/" + made[0].KeyID, s.alice, http.StatusForbidden, "ADMIN_REQUIRED"},
		{"a cursor that is no key id", "GET", "/api/v1/eab-keys?cursor=ord_x!", s.admin, http.StatusBadRequest, "INVALID_CURSOR"},
		{"a limit too large", "GET", "/api/v1/eab-keys?limit=1001", s.admin, http.StatusBadRequest, "INVALID_LIMIT"},
		{"a bound key", "DELETE", "/api/v1/eab-keys/" + bound, s.admin, http.StatusConflict, "EAB_KEY_BOUND"},
		{"an unbound key", "DELETE", "/api/v1/eab-keys/" + made[0].KeyID, s.admin, http.StatusNoContent, ""},
		{"the same key again", "DELETE", "/api/v1/eab-keys/" + made[0].KeyID, s.admin, http.StatusNotFound, "EAB_KEY_NOT_FOUND"},
	}
	for _, tt := range tests {
		a := s.do(t, tt.method, tt.path, tt.key, "")
		if a.status != tt.status || (tt.code != "" && !strings.Contains(string(a.body), `"code": "`+tt.code+`"`)) {
			t.Errorf("%s: %d %s, want %d %s", tt.name, a.status, a.body, tt.status, tt.code)
		}
	}
	// What stays: the bound key, and the one nobody deleted.
	var left page
	s.wantJSON(t, s.do(t, "GET", "/api/v1/eab-keys", s.admin, ""), http.StatusOK, &left)
	if len(left.EABKeys) != 2 || left.EABKeys[0]["key_id"] != bound || left.EABKeys[1]["key_id"] != made[1].KeyID {
		t.Fatalf("keys after the deletes: %+v", left)
	}
}
