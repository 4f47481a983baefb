package order_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/order"
)

// TestCertificateNotReady: asked for the certificate of an order without
// one, CERTIFICATE_NOT_READY says "yet" only of an order that may still
// get it (pending, approved), and of one that never will (expired,
// refused) that it never will, why, and to order again.
func TestCertificateNotReady(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	tests := []struct {
		status, authz, errText string
		want                   []string
		not                    []string
	}{
		{status: order.StatusPending, want: []string{"no certificate yet", "run a check"}, not: []string{"order again"}},
		{status: order.StatusApproved, want: []string{"no certificate yet", "being issued"}, not: []string{"order again"}},
		{status: order.StatusExpired, authz: order.StatusExpired, want: []string{"expired without a certificate", "never", "order again"}, not: []string{"yet"}},
		{status: order.StatusInvalid, errText: "issuance failed: lint", want: []string{"refused without a certificate (issuance failed: lint)", "never", "order again"}, not: []string{"yet"}},
		{status: order.StatusInvalid, want: []string{"refused without a certificate, and will never", "order again"}, not: []string{"yet", "()"}},
	}
	for _, tt := range tests {
		t.Run(tt.status+" "+tt.errText, func(t *testing.T) {
			o, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"ready.applicant.com"}, Method: "dns"})
			if err != nil {
				t.Fatal(err)
			}
			if tt.status != order.StatusPending {
				if err := b.Store.OrderSetStatus(ctx, o.ID, tt.status, tt.authz, tt.errText); err != nil {
					t.Fatal(err)
				}
			}
			_, err = b.svc.Certificate(ctx, b.acct, o.ID, true)
			oe := orderErr(t, err)
			if oe.Code != "CERTIFICATE_NOT_READY" || oe.Kind != order.KindConflict || !strings.Contains(oe.Message, o.ID) {
				t.Fatalf("error %s %q, want CERTIFICATE_NOT_READY naming the order", oe.Code, oe.Message)
			}
			for _, w := range tt.want {
				if !strings.Contains(oe.Message, w) {
					t.Errorf("message %q lacks %q", oe.Message, w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(oe.Message, w) {
					t.Errorf("message %q says %q", oe.Message, w)
				}
			}
		})
	}
}
