package order_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/validation"
)

// countingObserver counts observations, each held a moment so that
// concurrent challenge POSTs overlap.
type countingObserver struct {
	order.Observer
	n atomic.Int32
}

func (c *countingObserver) Observe(ctx context.Context, req validation.Request) ([]validation.Observation, error) {
	c.n.Add(1)
	time.Sleep(100 * time.Millisecond)
	return c.Observer.Observe(ctx, req)
}

// TestConcurrentChallengePostsValidateOnce: many concurrent POSTs to one
// challenge run one validation, whose outcome each of them answers; the
// others do not observe the domain again, uncounted by any limit
// (security review: 300 POSTs made 300 fetches).
func TestConcurrentChallengePostsValidateOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	obs := &countingObserver{}
	w := ordertest.New(t, ordertest.Options{WrapObserver: func(o order.Observer) order.Observer { obs.Observer = o; return obs }})
	a := newTestACME(t, w, 5*time.Second)
	acct, _, _ := newACMEAccount(t, a)
	ov, err := a.NewOrder(ctx, acct, order.ACMENewOrder{Identifiers: []order.ACMEIdentifier{{Type: "dns", Value: "dup.applicant.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	const posts = 20
	var wg sync.WaitGroup
	statuses := make([]string, posts)
	for i := range posts {
		wg.Go(func() {
			r, err := a.StartChallenge(ctx, acct, ov.AuthzIDs[0], "dns-01")
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = r.Challenge.Status
		})
	}
	wg.Wait()
	if n := obs.n.Load(); n != 1 {
		t.Errorf("%d observations for %d concurrent POSTs, want 1", n, posts)
	}
	for i, s := range statuses {
		if s != "invalid" {
			t.Errorf("POST %d answered %q, want the outcome, invalid (nothing published)", i, s)
		}
	}
}

// TestNewOrderTooManyIdentifiers: an order of more identifiers than a
// certificate holds is refused at once, with one problem, whatever they
// are (security review: thousands of unsupported ones cost 200 ms each
// refusal, each a subproblem).
func TestNewOrderTooManyIdentifiers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := ordertest.New(t, ordertest.Options{})
	a := newTestACME(t, w, 5*time.Second)
	acct, _, _ := newACMEAccount(t, a)
	tests := []struct {
		name string
		n    int
		typ  string
		ok   bool
	}{
		{"100 names", 100, "dns", true},
		{"101 names", 101, "dns", false},
		{"5000 identifiers of an unknown type", 5000, "x", false},
	}
	for _, tt := range tests {
		ids := make([]order.ACMEIdentifier, tt.n)
		for i := range ids {
			ids[i] = order.ACMEIdentifier{Type: tt.typ, Value: fmt.Sprintf("n%d.many.applicant.com", i)}
		}
		_, err := a.NewOrder(ctx, acct, order.ACMENewOrder{Identifiers: ids})
		var ae *order.ACMEError
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case !tt.ok && (!errors.As(err, &ae) || ae.Type != order.ACMERejectedIdentifier || len(ae.Subproblems) != 0 || !strings.Contains(ae.Detail, "at most 100 names")):
			t.Errorf("%s: %v; want one rejectedIdentifier naming the limit, no subproblems", tt.name, err)
		}
	}
}
