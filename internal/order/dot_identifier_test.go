package order_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
)

// TestRewrittenIdentifiersRefused: a dns identifier that dcv would rewrite
// (a final dot, in ASCII or as a full stop UTS #46 maps to one; spaces
// around it; a U-label) is refused, naming the name to send only when that one would
// be accepted: a public suffix is not suggested (review).
func TestRewrittenIdentifiersRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := ordertest.New(t, ordertest.Options{})
	a := newTestACME(t, w, 5*time.Second)
	acct, _, _ := newACMEAccount(t, a)
	for _, v := range []string{"dot.applicant.com.", "dot2.applicant.com\u3002", "dot3.applicant.com. ", "dot4.applicant.com\uff0e"} {
		ov, err := a.NewOrder(ctx, acct, order.ACMENewOrder{Identifiers: []order.ACMEIdentifier{{Type: "dns", Value: v}}})
		if err == nil {
			t.Errorf("newOrder %q accepted, identifiers %+v: a final dot rewritten away", v, ov.Identifiers)
		} else {
			t.Logf("newOrder %q: %v", v, err)
		}
	}
	// The refusal of "COM." tells the client to send "COM", which is
	// refused too (for another reason).
	_, err := a.NewOrder(ctx, acct, order.ACMENewOrder{Identifiers: []order.ACMEIdentifier{{Type: "dns", Value: "COM."}}})
	var ae *order.ACMEError
	if !errors.As(err, &ae) || ae.Type != order.ACMERejectedIdentifier || strings.Contains(ae.Detail, "send the name as") {
		t.Errorf("newOrder COM. = %v; want rejectedIdentifier without a name to send (com is a public suffix)", err)
	}
	for _, tt := range []struct{ name, want string }{
		{"dot5.applicant.com.", "send the name as dot5.applicant.com"},
		// A U-label would be answered as its A-label: another identifier
		// than the client's.
		{"bücher.applicant.com", "send the name as xn--bcher-kva.applicant.com"},
		{"BÜCHER.applicant.com", "send the name as xn--bcher-kva.applicant.com"},
	} {
		_, err = a.NewOrder(ctx, acct, order.ACMENewOrder{Identifiers: []order.ACMEIdentifier{{Type: "dns", Value: tt.name}}})
		if !errors.As(err, &ae) || ae.Type != order.ACMERejectedIdentifier || !strings.Contains(ae.Detail, tt.want) {
			t.Errorf("newOrder %s = %v; want rejectedIdentifier and %q", tt.name, err, tt.want)
		}
	}
	// An A-label is taken as it is.
	if _, err := a.NewOrder(ctx, acct, order.ACMENewOrder{Identifiers: []order.ACMEIdentifier{{Type: "dns", Value: "xn--bcher-kva.applicant.com"}}}); err != nil {
		t.Errorf("newOrder of an A-label: %v", err)
	}
}
