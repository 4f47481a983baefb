package order_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
)

// TestRecheckCancelled: dcv's own check cancelled while it observes (the
// server stops) records nothing: the domain's diagnosis is not replaced by
// one made of observations dcv cut short; dcv plans the order again.
func TestRecheckCancelled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bg := context.Background()
	o, err := b.svc.Create(bg, b.acct, order.CreateRequest{Domains: []string{"slow.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	b.DNS.Add(`_dnsauth.slow.applicant.com. 300 IN TXT "` + o.Domains[0].Instructions.Value + `"`)
	b.DNS.SetDelay("_dnsauth.slow.applicant.com", 2*time.Second)
	b.Clock.Add(interval)
	ctx, cancel := context.WithCancel(bg)
	time.AfterFunc(200*time.Millisecond, cancel)
	if err := b.svc.Recheck(ctx, o.ID); !errors.Is(err, context.Canceled) {
		t.Errorf("Recheck = %v, want it cancelled", err)
	}
	if cs, err := b.Store.CheckListByOrder(bg, o.ID, "", 10); err != nil || len(cs) != 0 {
		t.Errorf("checks recorded: %d, %v; want none", len(cs), err)
	}
	v, err := b.svc.Get(bg, b.acct, o.ID)
	if err != nil || v.Status != order.StatusPending || len(v.Domains[0].Findings) != 0 {
		t.Errorf("order after a cancelled check: %+v, %v; want pending without findings", v, err)
	}
	if got, err := b.Store.OrderGet(bg, o.ID); err != nil || got.RecheckAt.IsZero() {
		t.Errorf("plan after a cancelled check: %v, %v; want one", got.RecheckAt, err)
	}
}

// TestStaleCheckSuperseded: a check that outlasts the check interval
// records nothing once a later check has taken the slot, or the order was
// issued meanwhile: an issued order is never sent back to pending.
func TestStaleCheckSuperseded(t *testing.T) {
	t.Parallel()
	b := &bundle{Stack: ordertest.New(t, ordertest.Options{CheckInterval: 100 * time.Millisecond}), sched: &recordingScheduler{}}
	b.svc = b.restart(t)
	b.acct = b.NewAccount(t, "applicant")
	ctx := context.Background()
	o, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"x.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	b.DNS.SetDelay("_dnsauth.x.applicant.com", 2*time.Second)
	b.Clock.Add(5 * time.Minute)
	done := make(chan error, 1)
	go func() { done <- b.svc.Recheck(ctx, o.ID) }() // slow, sees no record
	time.Sleep(300 * time.Millisecond)
	b.DNS.SetDelay("_dnsauth.x.applicant.com", 0)
	b.DNS.Add(`_dnsauth.x.applicant.com. 300 IN TXT "` + o.Domains[0].Instructions.Value + `"`)
	b.Clock.Add(time.Second)
	res, err := b.svc.Check(ctx, b.acct, o.ID)
	if err != nil || res.Status != order.StatusApproved {
		t.Fatalf("applicant's check: %+v, %v; want approved", res, err)
	}
	if err := b.svc.Issue(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("the stale recheck: %v, want it dropped quietly", err)
	}
	v, err := b.svc.Get(ctx, b.acct, o.ID)
	if err != nil || v.Status != order.StatusIssued {
		t.Fatalf("after the stale check: %+v, %v; want issued", v, err)
	}
	if cs, err := b.Store.CheckListByOrder(ctx, o.ID, "", 10); err != nil || len(cs) != 1 {
		t.Errorf("checks recorded: %d, %v; want only the applicant's", len(cs), err)
	}
	// A check of the issued order answers its state: no check id, empty
	// (not null) matrices.
	st, err := b.svc.Check(ctx, b.acct, o.ID)
	if err != nil || st.CheckID != "" || st.Domains[0].Matrix == nil || len(st.Domains[0].Matrix) != 0 {
		t.Errorf("check of the issued order: %+v, %v; want no check id and an empty matrix", st, err)
	}
}

// TestThrottledRecheckKeepsALaterPlan: dcv's own check refused by the
// throttle moves only a plan still due; one that a check recorded
// meanwhile (with its own time) stands.
func TestThrottledRecheckKeepsALaterPlan(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"plan.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	b.Clock.Add(interval)
	if _, err := b.svc.Check(ctx, b.acct, o.ID); err != nil {
		t.Fatal(err)
	}
	soon := b.Clock.Now().Add(interval + time.Minute)
	if err := b.Store.OrderSetRecheck(ctx, o.ID, soon); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.Recheck(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	got, err := b.Store.OrderGet(ctx, o.ID)
	if err != nil || !got.RecheckAt.Equal(soon) {
		t.Errorf("plan after a throttled recheck: %v, %v; want %v kept", got.RecheckAt, err, soon)
	}
}
