package order_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/store"
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
	// The first domain's is still the check that found its value, not
	// the CAA recheck of the check that approved the order.
	for _, d := range v.Domains {
		if len(d.Matrix) != 1 || d.Matrix[0].Verdict != diagnose.VerdictPass || d.Matrix[0].Seen != "the expected value" {
			t.Errorf("issued order, %s: matrix %+v; want the primary's pass of the check that found the value", d.Domain, d.Matrix)
		}
	}
	vs, _, err := w.Service.List(ctx, acct, "", 10)
	if err != nil || len(vs) != 1 || vs[0].Domains[0].Matrix != nil {
		t.Errorf("list: %+v, %v; want no matrix in a list", vs, err)
	}
}

// TestOrderViewMatrixRedacted: an applicant reading its order sees the
// remote perspectives' rows without the CA's infrastructure (agent URL,
// address used, technical detail) and dcv's own resolver unnamed, as in
// a check's answer; an admin sees them whole.
func TestOrderViewMatrixRedacted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const resolver, agent, remoteVia, detail = "192.0.2.60:53", "https://10.9.0.1:8443", "10.9.0.2:53", "dial tcp 10.9.0.1:8443: connect: connection refused"
	w := ordertest.New(t, ordertest.Options{OwnResolvers: []string{resolver}})
	acct := w.NewAccount(t, "applicant")
	o, err := w.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{"r.matrix.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	now := w.Clock.Now()
	if ok, _, err := w.Store.OrderReserveCheck(ctx, o.ID, now, now.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("OrderReserveCheck: %v, %v", ok, err)
	}
	rows := []diagnose.PerspectiveRow{
		{Perspective: "primary", Via: resolver, Seen: resolver + " answered NXDOMAIN", Verdict: diagnose.VerdictFail},
		{Perspective: "eu-1", RIR: "RIPE", Agent: agent, Via: remoteVia, Seen: "unreachable", Detail: detail, Verdict: diagnose.VerdictUnavailable},
	}
	result, err := json.Marshal(order.CheckResult{Order: o.ID, CheckedAt: now, Status: order.StatusPending,
		Domains: []order.DomainCheck{{Domain: "r.matrix.applicant.com", Status: order.StatusPending, Findings: []diagnose.Finding{}, Matrix: rows, Evidence: []json.RawMessage{}}}})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Store.CheckRecord(ctx, store.CheckRecordParams{Check: store.Check{ID: "chk_redact", OrderID: o.ID, CheckedAt: now, Result: result},
		OrderStatus: order.StatusPending, ReservedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	v, err := w.Service.Get(ctx, acct, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	m := v.Domains[0].Matrix
	if len(m) != 2 || strings.Contains(string(b), agent) || strings.Contains(string(b), remoteVia) || strings.Contains(string(b), "connection refused") ||
		strings.Contains(string(b), resolver) || m[0].Via != "dcv's resolver" || m[1].Verdict != diagnose.VerdictUnavailable || m[1].RIR != "RIPE" {
		t.Errorf("applicant's view: %s; want the remote row without agent, address or detail, and dcv's resolver unnamed", b)
	}
	admin := adminOf(t, w)
	if v, err := w.Service.Get(ctx, admin, o.ID); err != nil || len(v.Domains[0].Matrix) != 2 || v.Domains[0].Matrix[1] != rows[1] || v.Domains[0].Matrix[0] != rows[0] {
		t.Errorf("admin's view: %+v, %v; want the rows whole", v, err)
	}
}
