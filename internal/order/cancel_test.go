package order_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/validation"
)

// TestPendingOrdersLimit: an account may have at most MaxPendingOrders
// pending orders through the API; past it, TOO_MANY_PENDING_ORDERS says
// how many, how to free a place and when the first expires, and stores
// nothing; canceling one frees a place. An admin is not counted.
func TestPendingOrdersLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := ordertest.New(t, ordertest.Options{MaxPendingOrders: 2})
	acct := w.NewAccount(t, "applicant")
	create := func(name string) (*order.View, error) {
		return w.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{name}, Method: "dns"})
	}
	first, err := create("a.pending.applicant.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := create("b.pending.applicant.com"); err != nil {
		t.Fatal(err)
	}
	_, err = create("c.pending.applicant.com")
	var oe *order.Error
	if !errors.As(err, &oe) || oe.Kind != order.KindThrottled || oe.Code != "TOO_MANY_PENDING_ORDERS" || oe.RetryAfter <= 0 ||
		!strings.Contains(oe.Message, "2 pending orders") || !strings.Contains(oe.Message, "dcv order cancel") || !strings.Contains(oe.Message, first.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")) {
		t.Fatalf("third pending order: %v; want TOO_MANY_PENDING_ORDERS naming the count, the way out and the first expiry", err)
	}
	if vs, _, err := w.Service.List(ctx, acct, "", 10); err != nil || len(vs) != 2 {
		t.Fatalf("orders after the refusal: %d, %v; want 2", len(vs), err)
	}
	if _, err := w.Service.Cancel(ctx, acct, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := create("c.pending.applicant.com"); err != nil {
		t.Fatalf("after a cancel: %v", err)
	}
	admin := adminOf(t, w)
	for _, n := range []string{"x.admin.applicant.com", "y.admin.applicant.com", "z.admin.applicant.com"} {
		if _, err := w.Service.Create(ctx, admin, order.CreateRequest{Domains: []string{n}, Method: "dns"}); err != nil {
			t.Fatalf("admin's order %s: %v", n, err)
		}
	}
}

// TestCancel: a pending order is canceled for good, by its account or an
// admin: invalid, saying so, its domains too, and dcv no longer checks
// it; any other order is refused, saying what to do instead.
func TestCancel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := ordertest.New(t, ordertest.Options{})
	acct := w.NewAccount(t, "applicant")
	other := w.NewAccount(t, "other")
	o, err := w.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{"a.cancel.applicant.com", "b.cancel.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Service.Cancel(ctx, other, o.ID); !isCode(err, "ORDER_NOT_FOUND") {
		t.Errorf("another account's cancel: %v; want ORDER_NOT_FOUND", err)
	}
	v, err := w.Service.Cancel(ctx, acct, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != order.StatusInvalid || !strings.HasPrefix(v.Error, "canceled by its account at ") || v.Domains[0].Status != order.StatusInvalid || v.Domains[1].Status != order.StatusInvalid || v.RecheckAt != nil {
		t.Errorf("canceled order: %+v; want invalid, saying so, its domains too, no recheck", v)
	}
	if ids, err := w.Store.OrderListRecheckDue(ctx, w.Clock.Now().Add(365*24*time.Hour), 10); err != nil || len(ids) != 0 {
		t.Errorf("rechecks due after the cancel: %v, %v; want none", ids, err)
	}
	if _, err := w.Service.Cancel(ctx, acct, o.ID); !isCode(err, "ORDER_NOT_PENDING") || !strings.Contains(err.Error(), "is canceled by its account at ") {
		t.Errorf("second cancel: %v; want ORDER_NOT_PENDING saying it is canceled already", err)
	}
	// Its check says it was canceled, not the findings of before as if
	// still to follow (console run).
	res, err := w.Service.Check(ctx, acct, o.ID)
	if err != nil || res.Status != order.StatusInvalid || len(res.Domains) != 2 || len(res.Domains[0].Findings) != 1 || res.Domains[0].Findings[0].Code != diagnose.CodeOrderCanceled ||
		!strings.Contains(res.Domains[0].Findings[0].Message, "canceled by its account at ") {
		t.Errorf("check of a canceled order: %+v, %v; want invalid, each domain ORDER_CANCELED saying when", res, err)
	}

	// Approved: being issued; the message says to revoke once issued.
	p, err := w.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{"c.cancel.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	w.DNS.Add(`_dnsauth.c.cancel.applicant.com. TXT "` + p.Domains[0].Instructions.Value + `"`)
	if res, err := w.Service.Check(ctx, acct, p.ID); err != nil || res.Status != order.StatusApproved {
		t.Fatalf("check: %+v, %v", res, err)
	}
	if _, err := w.Service.Cancel(ctx, acct, p.ID); !isCode(err, "ORDER_NOT_PENDING") || !strings.Contains(err.Error(), "dcv cert revoke") {
		t.Errorf("cancel of an approved order: %v; want ORDER_NOT_PENDING pointing at revocation", err)
	}

	// An admin cancels any account's pending order.
	q, err := w.Service.Create(ctx, other, order.CreateRequest{Domains: []string{"d.cancel.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	admin := adminOf(t, w)
	if v, err := w.Service.Cancel(ctx, admin, q.ID); err != nil || v.Status != order.StatusInvalid || !strings.HasPrefix(v.Error, "canceled by an administrator at ") {
		t.Errorf("admin's cancel: %+v, %v; want invalid, saying an administrator canceled it", v, err)
	}
}

func isCode(err error, code string) bool {
	var oe *order.Error
	return errors.As(err, &oe) && oe.Code == code
}

// hookObserver runs during each observation, before it.
type hookObserver struct {
	order.Observer
	during func()
}

func (h *hookObserver) Observe(ctx context.Context, req validation.Request) ([]validation.Observation, error) {
	h.during()
	return h.Observer.Observe(ctx, req)
}

// TestCancelDuringCheck: an order canceled while its check runs answers
// that check with ORDER_NOT_PENDING, saying so, not CHECK_SUPERSEDED
// (console run), and records nothing.
func TestCancelDuringCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var once sync.Once
	var cancel func()
	hook := &hookObserver{during: func() { once.Do(func() { cancel() }) }}
	w := ordertest.New(t, ordertest.Options{WrapObserver: func(o order.Observer) order.Observer { hook.Observer = o; return hook }})
	acct := w.NewAccount(t, "applicant")
	o, err := w.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{"during.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	cancel = func() {
		if _, err := w.Service.Cancel(ctx, acct, o.ID); err != nil {
			t.Errorf("cancel during the check: %v", err)
		}
	}
	_, err = w.Service.Check(ctx, acct, o.ID)
	if !isCode(err, "ORDER_NOT_PENDING") || !strings.Contains(err.Error(), "was canceled by its account at ") || !strings.Contains(err.Error(), "while this check ran") {
		t.Errorf("check: %v; want ORDER_NOT_PENDING saying the order was canceled while it ran", err)
	}
	if cs, err := w.Store.CheckListByOrder(ctx, o.ID, "", 10); err != nil || len(cs) != 0 {
		t.Errorf("checks stored: %d, %v; want none", len(cs), err)
	}
}

// TestLongIDsCutInErrors: an order id or a cursor of thousands of
// characters is cut where an error echoes it (console run).
func TestLongIDsCutInErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := ordertest.New(t, ordertest.Options{})
	acct := w.NewAccount(t, "applicant")
	long := "ord_" + strings.Repeat("x", 5000)
	_, err := w.Service.Get(ctx, acct, long)
	if !isCode(err, "ORDER_NOT_FOUND") || len(err.Error()) > 200 || !strings.Contains(err.Error(), "…") {
		t.Errorf("unknown long order id: %d bytes: %.120s; want ORDER_NOT_FOUND with the id cut", len(err.Error()), err)
	}
	_, _, err = w.Service.List(ctx, acct, long, 10)
	if !isCode(err, "INVALID_CURSOR") || len(err.Error()) > 300 {
		t.Errorf("unknown long cursor: %d bytes: %.120s; want INVALID_CURSOR with the cursor cut", len(err.Error()), err)
	}
}

// TestCheckWhileCheckRuns: a check refused as too frequent while the
// order's check runs says that one is still running, whose answer carries
// the result (console run: the retry time invited a second check).
func TestCheckWhileCheckRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var once sync.Once
	var during func()
	hook := &hookObserver{during: func() { once.Do(func() { during() }) }}
	w := ordertest.New(t, ordertest.Options{WrapObserver: func(o order.Observer) order.Observer { hook.Observer = o; return hook }})
	acct := w.NewAccount(t, "applicant")
	o, err := w.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{"running.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	var second error
	during = func() { _, second = w.Service.Check(ctx, acct, o.ID) }
	if _, err := w.Service.Check(ctx, acct, o.ID); err != nil {
		t.Fatal(err)
	}
	if !isCode(second, "CHECK_TOO_FREQUENT") || !strings.Contains(second.Error(), "is still running") {
		t.Errorf("check during a check: %v; want CHECK_TOO_FREQUENT saying the first still runs", second)
	}
	// Once it ended, a check too early says nothing of one running.
	if _, err := w.Service.Check(ctx, acct, o.ID); !isCode(err, "CHECK_TOO_FREQUENT") || strings.Contains(err.Error(), "still running") {
		t.Errorf("check after the check: %v; want CHECK_TOO_FREQUENT alone", err)
	}
}

// TestListUnknownAccount: an admin listing the orders of an account that
// does not exist is told so (404 ACCOUNT_NOT_FOUND), not given an empty
// list (console run); an account's own orders list as before.
func TestListUnknownAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := ordertest.New(t, ordertest.Options{})
	acct := w.NewAccount(t, "applicant")
	admin := adminOf(t, w)
	if _, _, err := w.Service.ListOrders(ctx, admin, "acct_nonexistent", "", 10); !isCode(err, "ACCOUNT_NOT_FOUND") {
		t.Errorf("list of an unknown account: %v; want ACCOUNT_NOT_FOUND", err)
	}
	if vs, _, err := w.Service.ListOrders(ctx, admin, acct.ID, "", 10); err != nil || len(vs) != 0 {
		t.Errorf("list of an account without orders: %v, %v; want an empty list", vs, err)
	}
}

// TestKeyCompromiseErasesTheGeneratedKey: once the certificate of an
// order whose key dcv generated is revoked for key compromise, the key is
// not handed out again, even within its redelivery window (console run).
func TestKeyCompromiseErasesTheGeneratedKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := ordertest.New(t, ordertest.Options{WallClock: true})
	acct, _ := w.AccountWithKey(t, "applicant", false)
	o := w.IssuedOrder(t, acct, "kc.applicant.com", "")
	if c, err := w.Service.Certificate(ctx, acct, o.ID, true); err != nil || c.PrivateKey == "" {
		t.Fatalf("first download: %+v, %v; want the key", c, err)
	}
	if _, err := w.Service.Revoke(ctx, acct, o.ID, order.RevokeRequest{Reason: "keyCompromise"}); err != nil {
		t.Fatal(err)
	}
	c, err := w.Service.Certificate(ctx, acct, o.ID, true)
	if err != nil || c.PrivateKey != "" || !c.PrivateKeyErased {
		t.Errorf("download after the key compromise: key %d bytes, erased %v, %v; want it erased", len(c.PrivateKey), c.PrivateKeyErased, err)
	}
}
