package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dcvhq/dcv/internal/api"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
)

// A HEAD of the certificate asking for JSON sends no body: it must not
// hand the generated key out (start its redelivery window, after which the
// sweep erases it) when nobody receives it.
func TestCertificateHeadKeepsKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := ordertest.New(t, ordertest.Options{})
	admin, err := w.Service.EnsureAdmin(ctx)
	if err != nil || admin == nil {
		t.Fatalf("EnsureAdmin = %v, %v", admin, err)
	}
	srv := httptest.NewServer(api.New(api.Config{Orders: w.Service, CA: w.CA, Version: "test"}))
	t.Cleanup(srv.Close)
	av, err := w.Service.CreateAccount(ctx, nil, "alice", false)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := w.Service.Authenticate(ctx, av.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	o, err := w.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	w.DNS.Add(`_dnsauth.a.applicant.com. 300 IN TXT "` + o.Domains[0].Instructions.Value + `"`)
	if res, err := w.Service.Check(ctx, acct, o.ID); err != nil || res.Status != order.StatusApproved {
		t.Fatalf("check: %v, %+v", err, res)
	}
	if err := w.Service.Issue(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodHead, srv.URL+"/api/v1/orders/"+o.ID+"/certificate", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+av.APIKey)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD: %s", resp.Status)
	}
	// The window a real download would have started passes.
	w.Clock.Add(order.KeyRedeliveryWindow)
	if _, err := w.Service.EraseDeliveredKeys(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := w.Service.Certificate(ctx, acct, o.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.PrivateKey == "" {
		b, _ := json.Marshal(c)
		t.Fatalf("after a HEAD and the redelivery window, the first GET gets no key: %s", b)
	}
}
