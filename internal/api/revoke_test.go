package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/api"
	"github.com/dcvhq/dcv/internal/order/ordertest"
)

// TestRevokeEmptyChunkedBody: an empty revoke body is the unspecified
// reason, also sent chunked (no Content-Length, as a streaming client
// sends it), not 400 "the request body is empty" (review).
func TestRevokeEmptyChunkedBody(t *testing.T) {
	t.Parallel()
	s := ordertest.New(t, ordertest.Options{WallClock: true})
	acct, key := s.AccountWithKey(t, "applicant", false)
	o := s.IssuedOrder(t, acct, "rv.applicant.com", "")
	srv := httptest.NewServer(api.New(api.Config{Orders: s.Service, CA: s.CA, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/orders/"+o.ID+"/certificate/revoke", io.NopCloser(strings.NewReader("")))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("empty chunked body: %d %s; want 200, revoked as unspecified", resp.StatusCode, b)
	}
}

// TestRevokeReasonOfAnotherType: a reason that is neither a name nor a
// code is refused naming the field and what it wants, not as a body that
// is not JSON (console run), and nothing is revoked.
func TestRevokeReasonOfAnotherType(t *testing.T) {
	t.Parallel()
	s := ordertest.New(t, ordertest.Options{WallClock: true})
	acct, key := s.AccountWithKey(t, "applicant", false)
	o := s.IssuedOrder(t, acct, "rt.applicant.com", "")
	srv := httptest.NewServer(api.New(api.Config{Orders: s.Service, CA: s.CA, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/orders/"+o.ID+"/certificate/revoke", strings.NewReader(`{"reason":true}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `field \"reason\" must be an RFC 5280 reason name (keyCompromise) or code (1)`) {
		t.Errorf("reason true: %d %s; want 400 naming the field", resp.StatusCode, b)
	}
	if c, err := s.Service.Certificate(t.Context(), acct, o.ID, false); err != nil || c.RevokedAt != nil {
		t.Errorf("certificate after the refusal: %+v, %v; want it not revoked", c, err)
	}
}

// TestRevokedPEMSaysSo: the PEM download of a revoked certificate carries
// its revocation in headers (the PEM form has no field for it), so that a
// client fetching it with curl learns not to deploy it; an unrevoked one
// carries none.
func TestRevokedPEMSaysSo(t *testing.T) {
	t.Parallel()
	s := ordertest.New(t, ordertest.Options{WallClock: true})
	acct, key := s.AccountWithKey(t, "applicant", false)
	o := s.IssuedOrder(t, acct, "rp.applicant.com", "")
	srv := httptest.NewServer(api.New(api.Config{Orders: s.Service, CA: s.CA, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	get := func() *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/orders/"+o.ID+"/certificate", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := get(); r.StatusCode != http.StatusOK || r.Header.Get("Dcv-Revoked-At") != "" {
		t.Fatalf("before revocation: %d, Dcv-Revoked-At %q", r.StatusCode, r.Header.Get("Dcv-Revoked-At"))
	}
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/orders/"+o.ID+"/certificate/revoke", strings.NewReader(`{"reason":"superseded"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	r := get()
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/pem-certificate-chain" ||
		r.Header.Get("Dcv-Revoked-At") == "" || r.Header.Get("Dcv-Revocation-Reason") != "superseded" {
		t.Fatalf("after revocation: %d %s, Dcv-Revoked-At %q, Dcv-Revocation-Reason %q", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Dcv-Revoked-At"), r.Header.Get("Dcv-Revocation-Reason"))
	}
}
