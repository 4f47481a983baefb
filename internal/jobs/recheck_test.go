package jobs

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
)

// TestRecheckRunListsAgain: a run lists the due orders again once it has
// started those it listed, so an order that comes due while slow checks
// run is checked by the same run; and a second run while one is going
// returns at once.
func TestRecheckRunListsAgain(t *testing.T) {
	t.Parallel()
	s := ordertest.New(t, ordertest.Options{WallClock: true, Logger: slog.New(slog.DiscardHandler)})
	acct := s.NewAccount(t, "applicant")
	ctx := context.Background()
	mk := func(name string) string {
		o, err := s.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{name}, Method: "dns"})
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	slow, late := mk("slow.applicant.com"), mk("late.applicant.com")
	s.DNS.SetDelay("_dnsauth.slow.applicant.com", time.Second)
	if err := s.Store.OrderSetRecheck(ctx, slow, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	r := &Runner{cfg: Config{Orders: s.Service, Logger: slog.New(slog.DiscardHandler)}}
	done := make(chan error, 1)
	go func() { done <- (&recheckWorker{r: r}).Work(ctx, nil) }()
	time.Sleep(300 * time.Millisecond)
	// A second run meanwhile does nothing and returns at once.
	start := time.Now()
	if err := (&recheckWorker{r: r}).Work(ctx, nil); err != nil || time.Since(start) > 200*time.Millisecond {
		t.Errorf("second run: %v after %v, want nil at once", err, time.Since(start))
	}
	if err := s.Store.OrderSetRecheck(ctx, late, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{slow, late} {
		if cs, err := s.Store.CheckListByOrder(ctx, id, "", 10); err != nil || len(cs) != 1 {
			t.Errorf("order %s: %d checks, %v; want 1", id, len(cs), err)
		}
	}
}
