package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/order"
)

// TestRotateAPIKey: an account replaces its own API key, an admin any
// account's; the old key stops working at once, the new one works; no
// other account may replace a key not its own.
func TestRotateAPIKey(t *testing.T) {
	t.Parallel()
	s := setup(t)
	var bob order.AccountView
	s.wantJSON(t, s.do(t, "GET", "/api/v1/account", s.bob, ""), http.StatusOK, &bob)

	tests := []struct {
		name, path string
		key        *string // the caller's key, replaced on success
		status     int
		code       string
	}{
		{"another account's key, not an admin", "/api/v1/accounts/" + bob.ID + "/key", &s.alice, http.StatusForbidden, "ADMIN_REQUIRED"},
		{"no such account", "/api/v1/accounts/acct_nosuch/key", &s.admin, http.StatusNotFound, "ACCOUNT_NOT_FOUND"},
		{"its own key", "/api/v1/account/key", &s.alice, http.StatusOK, ""},
	}
	for _, tt := range tests {
		old := *tt.key
		a := s.do(t, "POST", tt.path, old, "")
		if a.status != tt.status || (tt.code != "" && !strings.Contains(string(a.body), `"code": "`+tt.code+`"`)) {
			t.Fatalf("%s: %d %s, want %d %s", tt.name, a.status, a.body, tt.status, tt.code)
		}
		if tt.status != http.StatusOK {
			if got := s.do(t, "GET", "/api/v1/account", old, ""); got.status != http.StatusOK {
				t.Errorf("%s: the caller's key stopped working after a refusal: %d", tt.name, got.status)
			}
			continue
		}
		var v order.AccountView
		s.wantJSON(t, a, http.StatusOK, &v)
		if v.APIKey == "" || v.APIKey == old {
			t.Fatalf("%s: new key %q", tt.name, v.APIKey)
		}
		if got := s.do(t, "GET", "/api/v1/account", old, ""); got.status != http.StatusUnauthorized {
			t.Errorf("%s: the old key still works: %d", tt.name, got.status)
		}
		if got := s.do(t, "GET", "/api/v1/account", v.APIKey, ""); got.status != http.StatusOK {
			t.Errorf("%s: the new key does not work: %d", tt.name, got.status)
		}
		*tt.key = v.APIKey
	}

	// An admin replaces bob's key (leaked): bob's old key stops working.
	var v order.AccountView
	s.wantJSON(t, s.do(t, "POST", "/api/v1/accounts/"+bob.ID+"/key", s.admin, ""), http.StatusOK, &v)
	if got := s.do(t, "GET", "/api/v1/account", s.bob, ""); got.status != http.StatusUnauthorized {
		t.Errorf("bob's old key after the admin replaced it: %d", got.status)
	}
	if v.ID != bob.ID || v.APIKey == "" {
		t.Errorf("the admin's answer %+v, want bob's account with a key", v)
	}
}

// TestBearerSchemeCase: the scheme of the Authorization header is
// case-insensitive (RFC 9110 §11.1).
func TestBearerSchemeCase(t *testing.T) {
	t.Parallel()
	s := setup(t)
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/api/v1/account", nil)
		req.Header.Set("Authorization", scheme+" "+s.alice)
		if a := s.send(t, req); a.status != http.StatusOK {
			t.Errorf("%s: %d, want 200", scheme, a.status)
		}
	}
}
