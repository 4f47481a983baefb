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
