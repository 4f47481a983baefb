package api_test

import (
	"net/http"
	"testing"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/order"
)

func TestAPIPreflightChecks(t *testing.T) {
	t.Parallel()
	s := setup(t)
	const value = "preflight-value-0123456789abcdef"
	s.dns.Add("a.applicant.com. A 192.0.2.1", `_dnsauth.a.applicant.com. TXT "`+value+`"`, `_dnsauth.a.applicant.com. TXT "other"`)

	tests := []struct {
		name   string
		key    string
		body   string
		status int
		code   string // error code, or "" for a 200
		result string // PreflightResult.Status
		first  diagnose.Code
	}{
		{name: "value present", key: s.alice, body: `{"domain":"A.Applicant.com.","method":"dns","value":"` + value + `"}`, status: http.StatusOK, result: "approved"},
		{name: "wrong value", key: s.alice, body: `{"domain":"a.applicant.com","value":"nope"}`, status: http.StatusOK, result: "pending", first: diagnose.CodeDNSRecordMismatch},
		{name: "no value lists the TXT values", key: s.alice, body: `{"domain":"a.applicant.com"}`, status: http.StatusOK, result: "unverified", first: diagnose.CodeDNSTXTPresent},
		{name: "no key", body: `{"domain":"a.applicant.com"}`, status: http.StatusUnauthorized, code: "UNAUTHORIZED"},
		{name: "reserved name", key: s.alice, body: `{"domain":"example.test"}`, status: http.StatusBadRequest, code: "RESERVED_NAME"},
		{name: "unknown method", key: s.alice, body: `{"domain":"a.applicant.com","method":"smtp"}`, status: http.StatusBadRequest, code: "UNKNOWN_METHOD"},
		{name: "unknown field", key: s.alice, body: `{"domain":"a.applicant.com","order":"x"}`, status: http.StatusBadRequest, code: "UNKNOWN_FIELD"},
	}
	for _, tt := range tests {
		a := s.do(t, "POST", "/api/v1/checks", tt.key, tt.body)
		if tt.code != "" {
			wantError(t, a, tt.status, tt.code)
			continue
		}
		var res order.PreflightResult
		s.wantJSON(t, a, tt.status, &res)
		if res.Status != tt.result || res.Domain != "a.applicant.com" || len(res.Evidence) != 1 || res.Evidence[0].DNS == nil {
			t.Errorf("%s: result %s for %s with %d observations, want %s for a.applicant.com with the DNS evidence", tt.name, res.Status, res.Domain, len(res.Evidence), tt.result)
		}
		if tt.first != "" && (len(res.Findings) == 0 || res.Findings[0].Code != tt.first) {
			t.Errorf("%s: findings %+v, want %s first", tt.name, res.Findings, tt.first)
		}
	}

	// bob has his own allowance per key; the 31st of a minute is refused
	// with Retry-After (his requests are bad input: the limit is spent
	// before the body is read).
	for i := range 30 {
		if a := s.do(t, "POST", "/api/v1/checks", s.bob, `{}`); a.status != http.StatusBadRequest {
			t.Fatalf("request %d: status %d, want 400 (%s)", i+1, a.status, a.body)
		}
	}
	a := s.do(t, "POST", "/api/v1/checks", s.bob, `{"domain":"a.applicant.com"}`)
	body := wantError(t, a, http.StatusTooManyRequests, "RATE_LIMITED", "pre-flight checks per API key")
	if a.header.Get("Retry-After") == "" || body.Error.RetryAfter < 1 {
		t.Errorf("429 without Retry-After: %v %+v", a.header, body)
	}
}
