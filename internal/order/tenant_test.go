package order_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/perspective"
	"github.com/dcvhq/dcv/internal/validation"
)

// tenants records the tenant of each observation (perspective.WithTenant).
type tenants struct {
	order.Observer
	mu   sync.Mutex
	seen []string
}

func (r *tenants) Observe(ctx context.Context, req validation.Request) ([]validation.Observation, error) {
	r.mu.Lock()
	r.seen = append(r.seen, perspective.Tenant(ctx))
	r.mu.Unlock()
	return r.Observer.Observe(ctx, req)
}

// TestObservationTenants: every observation names its account as its
// tenant, so that the Runner serves the accounts waiting in turn: an API
// order's check and pre-flight check by the API account, an ACME
// validation by the ACME account.
func TestObservationTenants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rec := &tenants{}
	wrap := func(o order.Observer) order.Observer { rec.Observer = o; return rec }
	w, _, acct, _, _ := validatedACMEOrder(t, "tenant.applicant.com", ordertest.Options{WrapObserver: wrap})
	api := w.NewAccount(t, "applicant")
	o, err := w.Service.Create(ctx, api, order.CreateRequest{Domains: []string{"t.tenant.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Service.Check(ctx, api, o.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Service.Preflight(ctx, api, order.PreflightRequest{Domain: "t.tenant.applicant.com"}); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []string{"acme/" + acct.ID, "api/" + api.ID, "preflight/" + api.ID}
	if !slices.Equal(rec.seen, want) {
		t.Errorf("tenants %q, want %q", rec.seen, want)
	}
}
