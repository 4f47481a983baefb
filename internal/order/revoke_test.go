package order_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/store"
)

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
	admin := s.NewAdmin(t, "operator")
	mine := s.IssuedOrder(t, acct, "mine.applicant.com", "")
	theirs := s.IssuedOrder(t, acct, "theirs.applicant.com", "")
	pending, err := s.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{"pending.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
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
		if _, err := s.Service.Revoke(ctx, tt.who, tt.id, order.RevokeRequest{Reason: order.RevocationReason(tt.reason)}); code(err) != tt.want {
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

// TestAdminListsEveryAccountsOrders: an admin lists every account's orders
// (?account=all), or one account's, read-only and a page at a time; an
// account lists only its own (operator run: no listing across accounts).
func TestAdminListsEveryAccountsOrders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := ordertest.New(t, ordertest.Options{})
	a := s.NewAccount(t, "applicant")
	b := s.NewAccount(t, "other")
	admin := s.NewAdmin(t, "operator")
	var ids []string // newest first
	for i, who := range []*store.Account{a, b, a} {
		o, err := s.Service.Create(ctx, who, order.CreateRequest{Domains: []string{fmt.Sprintf("l%d.applicant.com", i)}, Method: "dns"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append([]string{o.ID}, ids...)
		s.Clock.Add(time.Second) // ids begin with their creation time
	}
	list := func(who *store.Account, account, cursor string, limit int) ([]string, string, error) {
		vs, next, err := s.Service.ListOrders(ctx, who, account, cursor, limit)
		var got []string
		for _, v := range vs {
			got = append(got, v.ID)
			if who.Admin && v.Account != a.ID && v.Account != b.ID {
				t.Errorf("order %s names account %q", v.ID, v.Account)
			}
			if who.Admin && !v.ReadOnly {
				t.Errorf("order %s of another account is not read-only for the admin", v.ID)
			}
		}
		return got, next, err
	}
	got, next, err := list(admin, order.AllAccounts, "", 2)
	if err != nil || !slices.Equal(got, ids[:2]) || next != ids[1] {
		t.Fatalf("admin, every account, page 1: %v next %q, %v; want %v", got, next, err, ids[:2])
	}
	if got, next, err = list(admin, order.AllAccounts, next, 2); err != nil || !slices.Equal(got, ids[2:]) || next != "" {
		t.Fatalf("admin, every account, page 2: %v next %q, %v; want %v", got, next, err, ids[2:])
	}
	if got, _, err = list(admin, b.ID, "", 10); err != nil || !slices.Equal(got, []string{ids[1]}) {
		t.Errorf("admin, account b: %v, %v; want %v", got, err, ids[1:2])
	}
	if _, _, err := list(admin, b.ID, ids[0], 10); code(err) != "INVALID_CURSOR" {
		t.Errorf("admin, account b, a cursor of account a: %v; want INVALID_CURSOR", err)
	}
	if _, _, err := list(a, order.AllAccounts, "", 10); code(err) != "ADMIN_REQUIRED" {
		t.Errorf("an account listing every account: %v; want ADMIN_REQUIRED", err)
	}
	if got, _, err := list(a, a.ID, "", 10); err != nil || !slices.Equal(got, []string{ids[0], ids[2]}) {
		t.Errorf("an account naming itself: %v, %v", got, err)
	}
}

func code(err error) string {
	var oe *order.Error
	if errors.As(err, &oe) {
		return oe.Code
	}
	return "no order error: " + fmtErr(err)
}

// TestRevokeKeyCompromiseBlocks: a keyCompromise from the certificate's own
// account blocks its key, and one given for a certificate revoked before
// for another reason records keyCompromise and blocks the key, instead of
// ALREADY_REVOKED leaving the key certifiable (verification run).
func TestRevokeKeyCompromiseBlocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := ordertest.New(t, ordertest.Options{WallClock: true})
	acct := s.NewAccount(t, "applicant")
	keyOf := func(cv *order.CertificateView) []byte {
		b, _ := pem.Decode([]byte(cv.Certificate))
		leaf, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := ca.SPKIHash(leaf.PublicKey)
		return h
	}
	for _, tt := range []struct {
		name  string
		first string // a revocation before the keyCompromise; "" for none
	}{{"reported by the subscriber", ""}, {"after a revocation for another reason", "superseded"}} {
		t.Run(tt.name, func(t *testing.T) {
			o := s.IssuedOrder(t, acct, fmt.Sprintf("kc%d.applicant.com", len(tt.first)), "")
			if tt.first != "" {
				if _, err := s.Service.Revoke(ctx, acct, o.ID, order.RevokeRequest{Reason: order.RevocationReason(tt.first)}); err != nil {
					t.Fatal(err)
				}
			}
			cv, err := s.Service.Revoke(ctx, acct, o.ID, order.RevokeRequest{Reason: "1"})
			if err != nil || cv.RevocationReason != "keyCompromise" || !cv.KeyBlocked {
				t.Fatalf("keyCompromise: %+v, %v; want the answer to say the key is blocked", cv, err)
			}
			if blocked, err := s.Store.KeyBlocked(ctx, keyOf(cv)); err != nil || !blocked {
				t.Errorf("key blocked %v, %v; want blocked", blocked, err)
			}
			if _, err := s.Service.Revoke(ctx, acct, o.ID, order.RevokeRequest{Reason: "keyCompromise"}); code(err) != "ALREADY_REVOKED" {
				t.Errorf("again: %v, want ALREADY_REVOKED", err)
			}
		})
	}
}

// TestRevocationReasonJSON: a reason is a name or a code, and JSON may
// carry a code as a number (verification run: {"reason":1} was refused).
func TestRevocationReasonJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{{`{"reason":"keyCompromise"}`, "keyCompromise", true}, {`{"reason":1}`, "1", true}, {`{"reason":"1"}`, "1", true}, {`{}`, "", true}, {`{"reason":true}`, "", false}} {
		var r order.RevokeRequest
		err := json.Unmarshal([]byte(tt.in), &r)
		if (err == nil) != tt.ok || string(r.Reason) != tt.want {
			t.Errorf("%s: %q, %v; want %q, ok %v", tt.in, r.Reason, err, tt.want, tt.ok)
		}
		if code, ok := order.ParseRevocationReason(string(r.Reason)); tt.ok && (!ok || (tt.want != "" && code != 1)) {
			t.Errorf("%s: code %d, %v; want 1", tt.in, code, ok)
		}
	}
}

// TestRevokeKeyCompromiseOfACSRKey: an account's keyCompromise for the key
// of its own CSR is a claim, recorded as the reason, not a block (a CSR
// proves only that someone once held the key, as ACME takes an account's
// claim); an admin's blocks it (review).
func TestRevokeKeyCompromiseOfACSRKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := ordertest.New(t, ordertest.Options{WallClock: true})
	acct := s.NewAccount(t, "applicant")
	admin := s.NewAdmin(t, "operator")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	h, _ := ca.SPKIHash(key.Public())
	const name = "csr.applicant.com"
	o := s.IssuedOrder(t, acct, name, csrPEM(t, key, name))
	if cv, err := s.Service.Revoke(ctx, acct, o.ID, order.RevokeRequest{Reason: "keyCompromise"}); err != nil || cv.RevocationReason != "keyCompromise" || cv.KeyBlocked {
		t.Fatalf("revoke: %+v, %v; want keyCompromise, the key not blocked", cv, err)
	}
	if blocked, err := s.Store.KeyBlocked(ctx, h); err != nil || blocked {
		t.Errorf("the CSR's key blocked on the account's claim: %v, %v", blocked, err)
	}
	// The operator attests it: blocked now, and the answer says so.
	if cv, err := s.Service.Revoke(ctx, admin, o.ID, order.RevokeRequest{Reason: "keyCompromise"}); err != nil || !cv.KeyBlocked {
		t.Fatalf("admin: %+v, %v; want the key blocked", cv, err)
	}
	if blocked, err := s.Store.KeyBlocked(ctx, h); err != nil || !blocked {
		t.Errorf("the key not blocked after the admin's keyCompromise: %v, %v", blocked, err)
	}
}
