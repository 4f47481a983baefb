package order_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/store"
)

// issuedOrder orders, validates and issues a certificate for name.
func issuedOrder(t *testing.T, s *ordertest.Stack, acct *store.Account, name string) *order.View {
	t.Helper()
	ctx := context.Background()
	o, err := s.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{name}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	s.DNS.Add(`_dnsauth.` + name + `. TXT "` + o.Domains[0].Instructions.Value + `"`)
	if cr, err := s.Service.Check(ctx, acct, o.ID); err != nil || cr.Status != order.StatusApproved {
		t.Fatalf("check: %+v, %v", cr, err)
	}
	if err := s.Service.Issue(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestRevokeThroughTheAPI: an order's account revokes its certificate (a
// certificate issued through the API has no other way: its key is erased
// after delivery), an admin any order's; the reason is checked, the CRL
// lists it, and an admin's keyCompromise blocks the key (operator run).
func TestRevokeThroughTheAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := ordertest.New(t, ordertest.Options{WallClock: true})
	acct := s.NewAccount(t, "applicant")
	other := s.NewAccount(t, "other")
	av, err := s.Service.EnsureAdmin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := s.Service.Authenticate(ctx, av.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	mine := issuedOrder(t, s, acct, "mine.applicant.com")
	theirs := issuedOrder(t, s, acct, "theirs.applicant.com")
	pending, err := s.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{"pending.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	code := func(err error) string {
		var oe *order.Error
		if errors.As(err, &oe) {
			return oe.Code
		}
		return "no order error: " + fmtErr(err)
	}
	refusals := []struct {
		name   string
		who    *store.Account
		id     string
		reason string
		want   string
	}{
		{"unknown reason", acct, mine.ID, "lostit", "BAD_REVOCATION_REASON"},
		{"a CA's reason from the account", acct, mine.ID, "privilegeWithdrawn", "BAD_REVOCATION_REASON"},
		{"certificateHold", admin, mine.ID, "6", "BAD_REVOCATION_REASON"},
		{"another account's order", other, mine.ID, "", "ORDER_NOT_FOUND"},
		{"no certificate yet", acct, pending.ID, "", "CERTIFICATE_NOT_READY"},
	}
	for _, tt := range refusals {
		if _, err := s.Service.Revoke(ctx, tt.who, tt.id, order.RevokeRequest{Reason: tt.reason}); code(err) != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
		}
	}
	cv, err := s.Service.Revoke(ctx, acct, mine.ID, order.RevokeRequest{Reason: "superseded"})
	if err != nil || cv.RevokedAt == nil || cv.RevocationReason != "superseded" {
		t.Fatalf("Revoke by its account = %+v, %v; want revoked, superseded", cv, err)
	}
	if _, err := s.Service.Revoke(ctx, acct, mine.ID, order.RevokeRequest{}); code(err) != "ALREADY_REVOKED" {
		t.Errorf("second revocation: %v, want ALREADY_REVOKED", err)
	}
	// An admin, another account's order, keyCompromise: the key is blocked.
	cv, err = s.Service.Revoke(ctx, admin, theirs.ID, order.RevokeRequest{Reason: "keyCompromise"})
	if err != nil || cv.RevocationReason != "keyCompromise" {
		t.Fatalf("Revoke by an admin = %+v, %v", cv, err)
	}
	b, _ := pem.Decode([]byte(cv.Certificate))
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := ca.SPKIHash(leaf.PublicKey)
	if blocked, err := s.Store.KeyBlocked(ctx, h); err != nil || !blocked {
		t.Errorf("key of a certificate an admin revoked for keyCompromise: blocked %v, %v", blocked, err)
	}
	entries, err := s.Service.RevokedList(ctx)
	if err != nil || len(entries) != 2 {
		t.Fatalf("CRL entries %d, %v; want 2", len(entries), err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}
