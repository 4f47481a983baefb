package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/dcvhq/dcv/internal/order"
)

// A HEAD of the certificate asking for JSON sends no body: it must not
// hand the generated key out (start its redelivery window, after which the
// sweep erases it) when nobody receives it.
func TestCertificateHeadKeepsKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := setup(t)
	acct, err := s.svc.Authenticate(ctx, s.alice)
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.svc.Create(ctx, acct, order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	s.dns.Add(`_dnsauth.a.applicant.com. 300 IN TXT "` + o.Domains[0].Instructions.Value + `"`)
	if res, err := s.svc.Check(ctx, acct, o.ID); err != nil || res.Status != order.StatusApproved {
		t.Fatalf("check: %v, %+v", err, res)
	}
	if err := s.svc.Issue(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodHead, s.srv.URL+"/api/v1/orders/"+o.ID+"/certificate", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.alice)
	if a := s.send(t, req); a.status != http.StatusOK {
		t.Fatalf("HEAD: %d", a.status)
	}
	// The window a real download would have started passes.
	s.clock.Add(order.KeyRedeliveryWindow)
	if _, err := s.svc.EraseDeliveredKeys(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := s.svc.Certificate(ctx, acct, o.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.PrivateKey == "" {
		b, _ := json.Marshal(c)
		t.Fatalf("after a HEAD and the redelivery window, the first GET gets no key: %s", b)
	}
}
