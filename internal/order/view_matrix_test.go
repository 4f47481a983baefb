package order_test

import (
	"context"
	"testing"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
)

// TestOrderViewKeepsEachDomainsLastMatrix: an order read alone shows, per
// domain, what each perspective saw at the check that last observed it,
// also once every domain passed and the order was issued; a list of
// orders does not.
func TestOrderViewKeepsEachDomainsLastMatrix(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := ordertest.New(t, ordertest.Options{})
	acct := w.NewAccount(t, "applicant")
	o, err := w.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{"a.matrix.applicant.com", "b.matrix.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := w.Service.Get(ctx, acct, o.ID); err != nil || v.Domains[0].Matrix != nil || v.Domains[1].Matrix != nil {
		t.Fatalf("order never checked: %+v, %v; want no matrix", v, err)
	}
	w.DNS.Add(`_dnsauth.a.matrix.applicant.com. TXT "` + o.Domains[0].Instructions.Value + `"`)
	if res, err := w.Service.Check(ctx, acct, o.ID); err != nil || res.Status != order.StatusPending {
		t.Fatalf("first check: %+v, %v", res, err)
	}
	v, err := w.Service.Get(ctx, acct, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{diagnose.VerdictPass, diagnose.VerdictFail} {
		if m := v.Domains[i].Matrix; len(m) != 1 || m[0].Perspective != "primary" || m[0].Verdict != want {
			t.Errorf("after the first check, %s: matrix %+v; want the primary's %s", v.Domains[i].Domain, m, want)
		}
	}

	w.Clock.Add(order.DefaultCheckInterval)
	w.DNS.Add(`_dnsauth.b.matrix.applicant.com. TXT "` + o.Domains[1].Instructions.Value + `"`)
	res, err := w.Service.Check(ctx, acct, o.ID)
	if err != nil || res.Status != order.StatusApproved {
		t.Fatalf("second check: %+v, %v; want approved", res, err)
	}
	if err := w.Service.Issue(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	v, err = w.Service.Get(ctx, acct, o.ID)
	if err != nil || v.Status != order.StatusIssued {
		t.Fatalf("issued order: %+v, %v", v, err)
	}
	for _, d := range v.Domains {
		if len(d.Matrix) != 1 || d.Matrix[0].Verdict != diagnose.VerdictPass {
			t.Errorf("issued order, %s: matrix %+v; want the primary's pass of the check that approved it", d.Domain, d.Matrix)
		}
	}
	vs, _, err := w.Service.List(ctx, acct, "", 10)
	if err != nil || len(vs) != 1 || vs[0].Domains[0].Matrix != nil {
		t.Errorf("list: %+v, %v; want no matrix in a list", vs, err)
	}
}
