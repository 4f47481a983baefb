package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/api"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
)

// TestRevokeEmptyChunkedBody: an empty revoke body is the unspecified
// reason, also sent chunked (no Content-Length, as a streaming client
// sends it), not 400 "the request body is empty" (review).
func TestRevokeEmptyChunkedBody(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := ordertest.New(t, ordertest.Options{WallClock: true})
	av, err := s.Service.EnsureAdmin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := s.Service.Authenticate(ctx, av.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	acctView, err := s.Service.CreateAccount(ctx, admin, "applicant", false)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := s.Service.Authenticate(ctx, acctView.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{"rv.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	s.DNS.Add(`_dnsauth.rv.applicant.com. TXT "` + o.Domains[0].Instructions.Value + `"`)
	if cr, err := s.Service.Check(ctx, acct, o.ID); err != nil || cr.Status != order.StatusApproved {
		t.Fatalf("check: %+v, %v", cr, err)
	}
	if err := s.Service.Issue(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Orders: s.Service, CA: s.CA, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/orders/"+o.ID+"/certificate/revoke", io.NopCloser(strings.NewReader("")))
	req.Header.Set("Authorization", "Bearer "+acctView.APIKey)
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
