package order_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/metrics"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
)

// TestMetricsCountWhatHappened: a check, its blocking findings, an
// issuance and a revocation are counted, with codes and statuses as
// labels, never a domain or an id (operator run: no metrics).
func TestMetricsCountWhatHappened(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := metrics.New()
	s := ordertest.New(t, ordertest.Options{WallClock: true, Metrics: m})
	acct := s.NewAccount(t, "applicant")
	o, err := s.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{"m.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.Service.Check(ctx, acct, o.ID); err != nil || res.Status != order.StatusPending {
		t.Fatalf("first check: %+v, %v", res, err)
	}
	s.DNS.Add(`_dnsauth.m.applicant.com. TXT "` + o.Domains[0].Instructions.Value + `"`)
	o2 := s.IssuedOrder(t, acct, "m2.applicant.com", "")
	if _, err := s.Service.Revoke(ctx, acct, o2.ID, order.RevokeRequest{Reason: "superseded"}); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`dcv_domain_checks_total{method="dns",status="pending"} 1`,
		`dcv_domain_checks_total{method="dns",status="approved"} 1`,
		`dcv_blocking_findings_total{code="DNS_RECORD_NOT_FOUND"} 1`,
		`dcv_certificates_issued_total{via="api"} 1`,
		`dcv_certificates_revoked_total{reason="superseded"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, leak := range []string{"applicant.com", o.ID, acct.ID} {
		if strings.Contains(text, leak) {
			t.Errorf("metrics name %q: a domain or an id is never a label", leak)
		}
	}
}
