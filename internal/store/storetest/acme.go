package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/store"
)

// testACME is the conformance of store.ACMEStore: accounts, key change and
// EAB binding; orders with new and reused authorizations; the challenge
// compare-and-sets; exactly-once finalization; revocations.
func testACME(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"Accounts", testACMEAccounts},
		{"OrdersAndChallenges", testACMEOrders},
		{"ChallengeComplete", testACMEChallengeComplete},
		{"FinalizeConcurrent", testACMEFinalize},
		{"OrderListLive", testACMEOrderListLive},
		{"Revocations", testACMERevocations},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, setup(t, open))
		})
	}
}

func acmeAccount(id, thumb string) store.ACMEAccount {
	return store.ACMEAccount{ID: id, KeyThumbprint: thumb, KeyJWK: []byte(`{"kty":"EC","k":"` + thumb + `"}`),
		Status: store.ACMEAccountValid, Contact: []string{"mailto:a@example.com"}, TermsAgreed: true, CreatedAt: t0}
}

func wantIs(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func testACMEAccounts(t *testing.T, f *fixture) {
	a := acmeAccount("acme1", "tp1")
	if err := f.s.ACMEAccountCreate(f.ctx, a); err != nil {
		t.Fatal(err)
	}
	wantIs(t, "duplicate thumbprint", f.s.ACMEAccountCreate(f.ctx, acmeAccount("acme2", "tp1")), store.ErrConflict)
	got, err := f.s.ACMEAccountGetByThumbprint(f.ctx, "tp1")
	if err != nil || got.ID != "acme1" || !got.CreatedAt.Equal(t0) || len(got.Contact) != 1 || !got.TermsAgreed {
		t.Fatalf("ACMEAccountGetByThumbprint = %+v, %v", got, err)
	}
	_, err = f.s.ACMEAccountGet(f.ctx, "nosuch")
	wantIs(t, "unknown account", err, store.ErrNotFound)

	// EAB: unknown key, binding, second binding.
	b := acmeAccount("acme2", "tp2")
	b.EABKeyID = "kid1"
	wantIs(t, "unknown eab key", f.s.ACMEAccountCreate(f.ctx, b), store.ErrNotFound)
	if err := f.s.EABKeyCreate(f.ctx, store.EABKey{KeyID: "kid1", HMACKey: make([]byte, 32), CreatedBy: "admin", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	wantIs(t, "duplicate eab key", f.s.EABKeyCreate(f.ctx, store.EABKey{KeyID: "kid1", HMACKey: make([]byte, 32), CreatedAt: t0}), store.ErrConflict)
	if err := f.s.ACMEAccountCreate(f.ctx, b); err != nil {
		t.Fatal(err)
	}
	c := acmeAccount("acme3", "tp3")
	c.EABKeyID = "kid1"
	wantIs(t, "eab key bound twice", f.s.ACMEAccountCreate(f.ctx, c), store.ErrConflict)
	if _, err := f.s.ACMEAccountGet(f.ctx, "acme3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused account was stored: %v", err)
	}
	if k, err := f.s.EABKeyGet(f.ctx, "kid1"); err != nil || k.AccountID != "acme2" {
		t.Fatalf("EABKeyGet = %+v, %v", k, err)
	}

	// EAB keys listed newest first, a page at a time; an unbound key is
	// deleted, a bound one is ErrConflict and stays.
	for _, id := range []string{"kid2", "kid3"} {
		if err := f.s.EABKeyCreate(f.ctx, store.EABKey{KeyID: id, HMACKey: make([]byte, 64), CreatedBy: "admin", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	var listed []string
	for before := ""; ; {
		page, err := f.s.EABKeyList(f.ctx, before, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range page {
			listed = append(listed, k.KeyID+"/"+k.AccountID)
		}
		if len(page) < 2 {
			break
		}
		before = page[len(page)-1].KeyID
	}
	if got := strings.Join(listed, " "); got != "kid3/ kid2/ kid1/acme2" {
		t.Fatalf("EABKeyList pages = %q, want newest first with the binding", got)
	}
	wantIs(t, "deleting a bound eab key", f.s.EABKeyDelete(f.ctx, "kid1"), store.ErrConflict)
	wantIs(t, "deleting an unknown eab key", f.s.EABKeyDelete(f.ctx, "nosuch"), store.ErrNotFound)
	if err := f.s.EABKeyDelete(f.ctx, "kid2"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.EABKeyGet(f.ctx, "kid2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deleted eab key is still there: %v", err)
	}
	if k, err := f.s.EABKeyGet(f.ctx, "kid1"); err != nil || k.AccountID != "acme2" {
		t.Fatalf("the bound eab key after a refused delete: %+v, %v", k, err)
	}
	d := acmeAccount("acme4", "tp4")
	d.EABKeyID = "kid2"
	wantIs(t, "binding a deleted eab key", f.s.ACMEAccountCreate(f.ctx, d), store.ErrNotFound)

	// Key change: to a key in use, with a stale old key, then for real.
	wantIs(t, "new key in use", f.s.ACMEAccountKeyChange(f.ctx, "acme1", "tp1", "tp2", []byte(`{}`)), store.ErrConflict)
	wantIs(t, "stale old key", f.s.ACMEAccountKeyChange(f.ctx, "acme1", "tpX", "tp9", []byte(`{}`)), store.ErrConflict)
	if err := f.s.ACMEAccountKeyChange(f.ctx, "acme1", "tp1", "tp9", []byte(`{"k":9}`)); err != nil {
		t.Fatal(err)
	}
	if got, err := f.s.ACMEAccountGetByThumbprint(f.ctx, "tp9"); err != nil || got.ID != "acme1" || string(got.KeyJWK) != `{"k":9}` {
		t.Fatalf("after key change: %+v, %v", got, err)
	}
	// Deactivation cancels the account's pending orders, in the same
	// write; an order being finalized, and other accounts' orders, stay.
	f.acmeOrder("acme1-pending", "acme1", "p.example.com")
	f.acmeOrder("acme1-final", "acme1", "f.example.com")
	if err := f.s.OrderSetStatus(f.ctx, "acme1-final", "approved", "", ""); err != nil {
		t.Fatal(err)
	}
	f.acmeOrder("acme2-pending", "acme2", "q.example.com")
	a.Status, a.Contact = store.ACMEAccountDeactivated, nil
	if err := f.s.ACMEAccountUpdate(f.ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.s.ACMEAccountGet(f.ctx, "acme1"); got.Status != store.ACMEAccountDeactivated || len(got.Contact) != 0 {
		t.Fatalf("after update: %+v", got)
	}
	for _, w := range []struct{ id, status, err string }{
		{"acme1-pending", "invalid", store.OrderErrorAccountClosed + "deactivated"},
		{"acme1-final", "approved", ""},
		{"acme2-pending", "pending", ""},
	} {
		if o, err := f.s.OrderGet(f.ctx, w.id); err != nil || o.Status != w.status || o.Error != w.err {
			t.Errorf("order %s after its account's deactivation: %+v, %v; want %s with error %q", w.id, o, err, w.status, w.err)
		}
	}
	// A status that left "valid" never comes back: an update read before
	// the change is refused, and changes nothing.
	a.Status, a.Contact = store.ACMEAccountValid, []string{"mailto:back@example.com"}
	wantIs(t, "update of a deactivated account", f.s.ACMEAccountUpdate(f.ctx, a), store.ErrNotFound)
	if got, _ := f.s.ACMEAccountGet(f.ctx, "acme1"); got.Status != store.ACMEAccountDeactivated || len(got.Contact) != 0 {
		t.Fatalf("after a refused update: %+v", got)
	}
}

// acmeOrder stores an ACME order of account acct with one new authorization
// per name (challenges http-01 and dns-01), expiring a day after t0.
func (f *fixture) acmeOrder(id, acct string, names ...string) *store.ACMEOrder {
	f.t.Helper()
	return f.acmeOrderCSR(id, acct, "", names...)
}

// acmeOrderCSR is acmeOrder for an order stored with csrPEM.
func (f *fixture) acmeOrderCSR(id, acct, csrPEM string, names ...string) *store.ACMEOrder {
	f.t.Helper()
	o := &store.ACMEOrder{Order: *newOrder(id, acct, "pending", t0), Profile: "default"}
	o.Order.Method = "acme"
	o.Order.CSRPEM = csrPEM
	var fresh []store.ACMEAuthz
	for i, n := range names {
		z := store.ACMEAuthz{ID: fmt.Sprintf("%s-z%d", id, i), AccountID: acct, Identifier: n, Status: store.ACMEStatusPending,
			Token: "tok" + n, ExpiresAt: t0.Add(24 * time.Hour), CreatedAt: t0,
			Challenges: []store.ACMEChallenge{{Type: "http-01", Status: "pending"}, {Type: "dns-01", Status: "pending"}}}
		fresh = append(fresh, z)
		o.Authzs = append(o.Authzs, z)
		o.Order.Authorizations = append(o.Order.Authorizations, store.Authorization{Domain: n, Method: "acme", Status: "pending", Value: z.ID, ExpiresAt: t0.Add(24 * time.Hour)})
	}
	if err := f.s.ACMEOrderCreate(f.ctx, o, fresh); err != nil {
		f.t.Fatalf("ACMEOrderCreate(%s): %v", id, err)
	}
	return o
}

// validate starts and passes every authorization of o with http-01.
func (f *fixture) validate(o *store.ACMEOrder, at time.Time) {
	f.t.Helper()
	for _, z := range o.Authzs {
		if err := f.s.ACMEChallengeStart(f.ctx, z.ID, "http-01", at, at.Add(-time.Hour)); err != nil {
			f.t.Fatalf("ACMEChallengeStart(%s): %v", z.ID, err)
		}
		err := f.s.ACMEChallengeFinish(f.ctx, store.ACMEChallengeResult{AuthzID: z.ID, Type: "http-01", Status: "valid", At: at,
			AuthzExpiresAt: at.Add(30 * 24 * time.Hour), Evidence: []byte(`{"ok":true}`)})
		if err != nil {
			f.t.Fatalf("ACMEChallengeFinish(%s): %v", z.ID, err)
		}
	}
}

// testACMEChallengeComplete: a validation recorded in one write, start and
// outcome, under the conditions of ACMEChallengeStart and Finish.
func testACMEChallengeComplete(t *testing.T, f *fixture) {
	if err := f.s.ACMEAccountCreate(f.ctx, acmeAccount("acct", "tp")); err != nil {
		t.Fatal(err)
	}
	o := f.acmeOrder("o1", "acct", "a.example", "b.example", "c.example")
	za, zb, zc := o.Authzs[0].ID, o.Authzs[1].ID, o.Authzs[2].ID
	at := t0.Add(time.Minute)
	valid := func(z, typ string) store.ACMEChallengeResult {
		return store.ACMEChallengeResult{AuthzID: z, Type: typ, Status: "valid", At: at.Add(time.Second),
			AuthzExpiresAt: at.Add(time.Hour), Evidence: []byte(`{"ok":true}`)}
	}
	if err := f.s.ACMEChallengeComplete(f.ctx, valid(za, "http-01"), at, at.Add(-time.Hour)); err != nil {
		t.Fatalf("ACMEChallengeComplete: %v", err)
	}
	wantIs(t, "complete twice", f.s.ACMEChallengeComplete(f.ctx, valid(za, "dns-01"), at, at.Add(-time.Hour)), store.ErrConflict)
	// Another challenge of the authorization is processing: refused.
	if err := f.s.ACMEChallengeStart(f.ctx, zb, "dns-01", at, at.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantIs(t, "complete while another is processing", f.s.ACMEChallengeComplete(f.ctx, valid(zb, "http-01"), at, at.Add(-time.Hour)), store.ErrConflict)
	wantIs(t, "unknown authorization", f.s.ACMEChallengeComplete(f.ctx, valid("nope", "http-01"), at, at.Add(-time.Hour)), store.ErrNotFound)
	inv := store.ACMEChallengeResult{AuthzID: zc, Type: "http-01", Status: "invalid", At: at, Error: []byte(`{"type":"x"}`)}
	if err := f.s.ACMEChallengeComplete(f.ctx, inv, at, at.Add(-time.Hour)); err != nil {
		t.Fatalf("ACMEChallengeComplete(invalid): %v", err)
	}
	got, err := f.s.ACMEOrderGet(f.ctx, "o1")
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := got.Authzs[0], got.Authzs[1], got.Authzs[2]
	if a.Status != "valid" || !a.ValidatedAt.Equal(at.Add(time.Second)) || !a.ExpiresAt.Equal(at.Add(time.Hour)) ||
		a.Challenges[0].Status != "valid" || !a.Challenges[0].StartedAt.Equal(at) || string(a.Challenges[0].Evidence) != `{"ok":true}` ||
		a.Challenges[1].Status != "pending" {
		t.Errorf("completed authorization = %+v", a)
	}
	if b.Status != "pending" || b.Challenges[0].Status != "pending" || b.Challenges[1].Status != "processing" {
		t.Errorf("refused authorization = %+v", b)
	}
	if c.Status != "invalid" || c.Challenges[0].Status != "invalid" || string(c.Challenges[0].Error) != `{"type":"x"}` {
		t.Errorf("invalid authorization = %+v", c)
	}
}

func testACMEOrders(t *testing.T, f *fixture) {
	if err := f.s.ACMEAccountCreate(f.ctx, acmeAccount("acct", "tp")); err != nil {
		t.Fatal(err)
	}
	o := f.acmeOrder("o1", "acct", "a.example", "b.example")
	z := o.Authzs[0].ID
	at := t0.Add(time.Minute)
	if err := f.s.ACMEChallengeStart(f.ctx, z, "http-01", at, at.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantIs(t, "second challenge while one is processing", f.s.ACMEChallengeStart(f.ctx, z, "dns-01", at, at.Add(-time.Hour)), store.ErrConflict)
	wantIs(t, "same challenge twice", f.s.ACMEChallengeStart(f.ctx, z, "http-01", at, at.Add(-time.Hour)), store.ErrConflict)
	// A processing challenge older than staleBefore may be started again.
	if err := f.s.ACMEChallengeStart(f.ctx, z, "http-01", at.Add(time.Hour), at.Add(time.Second)); err != nil {
		t.Fatalf("restarting a stale validation: %v", err)
	}
	err := f.s.ACMEChallengeFinish(f.ctx, store.ACMEChallengeResult{AuthzID: z, Type: "http-01", Status: "invalid", At: at,
		Error: []byte(`{"type":"unauthorized","detail":"x"}`), Evidence: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	wantIs(t, "finish twice", f.s.ACMEChallengeFinish(f.ctx, store.ACMEChallengeResult{AuthzID: z, Type: "http-01", Status: "valid", At: at}), store.ErrConflict)
	got, err := f.s.ACMEOrderGet(f.ctx, "o1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Authzs[0].Status != "invalid" || got.Authzs[0].Challenges[0].Status != "invalid" || string(got.Authzs[0].Challenges[0].Error) == "" ||
		got.Authzs[1].Status != "pending" || len(got.Authzs[1].Challenges) != 2 || got.Profile != "default" || len(got.Order.Authorizations) != 2 {
		t.Fatalf("ACMEOrderGet = %+v; want every challenge, as an authorization is invalid", got)
	}

	// Reuse: a valid authorization is found, and serves a second order.
	f.validate(&store.ACMEOrder{Authzs: got.Authzs[1:]}, at)
	r, err := f.s.ACMEAuthzFindReusable(f.ctx, "acct", "b.example", at.Add(-time.Hour), at)
	if err != nil || r.ID != "o1-z1" || !r.ValidatedAt.Equal(at) {
		t.Fatalf("ACMEAuthzFindReusable = %+v, %v", r, err)
	}
	_, err = f.s.ACMEAuthzFindReusable(f.ctx, "acct", "b.example", at.Add(time.Second), at)
	wantIs(t, "validated before the reuse period", err, store.ErrNotFound)
	o2 := &store.ACMEOrder{Order: *newOrder("o2", "acct", "pending", t0, "b.example"), Authzs: []store.ACMEAuthz{*r}}
	if err := f.s.ACMEOrderCreate(f.ctx, o2, nil); err != nil {
		t.Fatal(err)
	}
	if g, err := f.s.ACMEOrderGet(f.ctx, "o2"); err != nil || len(g.Authzs) != 1 || g.Authzs[0].Status != "valid" ||
		g.Authzs[0].ID != r.ID || g.Authzs[0].Identifier != "b.example" || !g.Authzs[0].ExpiresAt.Equal(r.ExpiresAt) || g.Authzs[0].Challenges != nil {
		t.Fatalf("order reusing an authorization: %+v, %v; want it valid, without challenges", g, err)
	}
	// Its challenges are read with the authorization.
	if z, err := f.s.ACMEAuthzGet(f.ctx, r.ID); err != nil || len(z.Challenges) != 2 || z.Challenges[0].Status != "valid" {
		t.Fatalf("ACMEAuthzGet(%s) = %+v, %v", r.ID, z, err)
	}
	// ...and with the order when asked for, evidence included.
	if g, err := f.s.ACMEOrderGetWithChallenges(f.ctx, "o2"); err != nil || len(g.Authzs) != 1 || len(g.Authzs[0].Challenges) != 2 ||
		g.Authzs[0].Challenges[0].Status != "valid" || string(g.Authzs[0].Challenges[0].Evidence) != `{"ok":true}` {
		t.Fatalf("ACMEOrderGetWithChallenges(o2) = %+v, %v; want its one authorization with both challenges and the evidence", g, err)
	}
	_, err = f.s.ACMEOrderGetWithChallenges(f.ctx, "nosuch")
	wantIs(t, "unknown order, with challenges", err, store.ErrNotFound)
	if err := f.s.ACMEAuthzDeactivate(f.ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	wantIs(t, "deactivate twice", f.s.ACMEAuthzDeactivate(f.ctx, r.ID), store.ErrConflict)
	wantIs(t, "deactivate unknown", f.s.ACMEAuthzDeactivate(f.ctx, "nosuch"), store.ErrNotFound)
	_, err = f.s.ACMEOrderGet(f.ctx, "nosuch")
	wantIs(t, "unknown order", err, store.ErrNotFound)
}

func testACMEFinalize(t *testing.T, f *fixture) {
	if err := f.s.ACMEAccountCreate(f.ctx, acmeAccount("acct", "tp")); err != nil {
		t.Fatal(err)
	}
	o := f.acmeOrder("o", "acct", "a.example")
	var calls atomic.Int32
	sign := func(*store.Order) (*store.Certificate, error) {
		calls.Add(1)
		return testCert("0a"), nil
	}
	at := t0.Add(time.Minute)
	_, err := f.s.ACMEOrderFinalize(f.ctx, "o", "CSR", []byte("TBS"), at, sign)
	wantIs(t, "finalize before validation", err, store.ErrConflict)
	f.validate(o, at)
	var ok atomic.Int32
	race(func(i int) {
		c, err := f.s.ACMEOrderFinalize(f.ctx, "o", "CSR", []byte("TBS"), at, sign)
		switch {
		case err == nil && c.Serial == "0a":
			ok.Add(1)
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("goroutine %d: %v", i, err)
		}
	})
	if calls.Load() != 1 || ok.Load() != 1 {
		t.Fatalf("sign called %d times, %d finalizations succeeded; want 1 and 1", calls.Load(), ok.Load())
	}
	got, err := f.s.ACMEOrderGet(f.ctx, "o")
	if err != nil || got.Order.Status != "issued" || got.CertificateSerial != "0a" || got.Order.CSRPEM != "CSR" ||
		len(got.Authzs) != 1 || got.Authzs[0].Status != "valid" || got.Authzs[0].Challenges != nil {
		t.Fatalf("after finalize: %+v, %v", got, err)
	}
	// sign sees the reserved order; its error puts the order back as it
	// was, with its previous CSR, and a later finalization succeeds.
	o3 := f.acmeOrderCSR("o3", "acct", "OLD", "c.example", "d.example")
	f.validate(o3, at)
	signErr := errors.New("hsm unavailable")
	_, err = f.s.ACMEOrderFinalize(f.ctx, "o3", "NEW", []byte("TBS3"), at, func(so *store.Order) (*store.Certificate, error) {
		if so.ID != "o3" || so.AccountID != "acct" || so.Status != "approved" || so.CSRPEM != "NEW" ||
			len(so.Authorizations) != 2 || so.Authorizations[0].Domain != "c.example" || so.Authorizations[1].Domain != "d.example" {
			t.Errorf("sign got %+v", so)
		}
		// The reservation kept the bytes about to be signed.
		if kept, err := f.s.OrderSigningTBSPut(f.ctx, "o3", []byte("OTHER")); err != nil || string(kept) != "TBS3" {
			t.Errorf("OrderSigningTBSPut while signing = %q, %v; want the reservation's TBS3", kept, err)
		}
		return nil, signErr
	})
	wantIs(t, "finalize whose signing fails", err, signErr)
	// Undone with the reservation: the order is pending again.
	_, err = f.s.OrderSigningTBSPut(f.ctx, "o3", []byte("OTHER"))
	wantIs(t, "OrderSigningTBSPut after a failed signing", err, store.ErrConflict)
	if got, err := f.s.ACMEOrderGet(f.ctx, "o3"); err != nil || got.Order.Status != "pending" || got.Order.CSRPEM != "OLD" || got.CertificateSerial != "" {
		t.Fatalf("after a failed signing: %+v, %v; want pending with CSR OLD", got, err)
	}
	if c, err := f.s.ACMEOrderFinalize(f.ctx, "o3", "NEW", []byte("TBS"), at, func(*store.Order) (*store.Certificate, error) { return testCert("0d"), nil }); err != nil || c.Serial != "0d" {
		t.Fatalf("finalize after a failed signing: %+v, %v", c, err)
	}
	// An order set to another status while it is signed gets no
	// certificate: the finalization is a conflict, the status stays.
	o4 := f.acmeOrder("o4", "acct", "e.example")
	f.validate(o4, at)
	_, err = f.s.ACMEOrderFinalize(f.ctx, "o4", "CSR", []byte("TBS"), at, func(*store.Order) (*store.Certificate, error) {
		if err := f.s.OrderSetStatus(f.ctx, "o4", "invalid", "", "revoked by an operator"); err != nil {
			t.Errorf("OrderSetStatus during signing: %v", err)
		}
		return testCert("0e"), nil
	})
	wantIs(t, "finalize of an order set invalid while it was signed", err, store.ErrConflict)
	if got, err := f.s.ACMEOrderGet(f.ctx, "o4"); err != nil || got.Order.Status != "invalid" || got.CertificateSerial != "" {
		t.Fatalf("after finalize of an order set invalid while signed: %+v, %v", got, err)
	}
	// An order with its certificate keeps its status.
	wantIs(t, "OrderSetStatus of an issued order", f.s.OrderSetStatus(f.ctx, "o", "approved", "", "issuance failed"), store.ErrConflict)
	if got, err := f.s.ACMEOrderGet(f.ctx, "o"); err != nil || got.Order.Status != "issued" || got.Order.Error != "" {
		t.Fatalf("issued order after OrderSetStatus: %+v, %v", got, err)
	}
	// Expired authorizations block finalization.
	o2 := f.acmeOrder("o2", "acct", "b.example")
	f.validate(o2, at)
	_, err = f.s.ACMEOrderFinalize(f.ctx, "o2", "CSR", []byte("TBS"), at.Add(31*24*time.Hour), sign)
	wantIs(t, "finalize with an expired authorization", err, store.ErrConflict)
}

// testACMEOrderListLive checks which orders ACMEOrderListLive lists as
// time passes: not those failed, set invalid, of another account, or past
// their own or an authorization's expiry; issued ones always.
func testACMEOrderListLive(t *testing.T, f *fixture) {
	for _, a := range []store.ACMEAccount{acmeAccount("acct", "tp"), acmeAccount("other", "tp2")} {
		if err := f.s.ACMEAccountCreate(f.ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	at := t0.Add(time.Minute)
	f.acmeOrder("l1", "acct", "a.example") // pending
	f.validate(f.acmeOrder("l2", "acct", "b.example"), at)
	failed := f.acmeOrder("l3", "acct", "c.example")
	if err := f.s.ACMEChallengeStart(f.ctx, failed.Authzs[0].ID, "http-01", at, at.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := f.s.ACMEChallengeFinish(f.ctx, store.ACMEChallengeResult{AuthzID: failed.Authzs[0].ID, Type: "http-01", Status: "invalid", At: at}); err != nil {
		t.Fatal(err)
	}
	f.validate(f.acmeOrder("l4", "acct", "d.example"), at)
	if _, err := f.s.ACMEOrderFinalize(f.ctx, "l4", "CSR", []byte("TBS"), at, func(*store.Order) (*store.Certificate, error) { return testCert("0f"), nil }); err != nil {
		t.Fatal(err)
	}
	f.acmeOrder("l5", "acct", "e.example")
	if err := f.s.OrderSetStatus(f.ctx, "l5", "invalid", "", "issuance failed"); err != nil {
		t.Fatal(err)
	}
	f.acmeOrder("x1", "other", "f.example")
	tests := []struct {
		name  string
		at    time.Time
		since time.Time // validatedSince
		after string
		limit int
		want  string
	}{
		{"now", at, time.Time{}, "", 10, "l4 l2 l1"},
		{"at most 2", at, time.Time{}, "", 2, "l4 l2"},
		{"the next page", at, time.Time{}, "l2", 2, "l1"},
		{"after an invalid order", at, time.Time{}, "l3", 10, "l2 l1"},
		{"after the last", at, time.Time{}, "l1", 10, ""},
		{"after another account's order", at, time.Time{}, "x1", 10, ""},
		{"after no order", at, time.Time{}, "nosuch", 10, ""},
		{"none asked", at, time.Time{}, "", 0, ""},
		{"the pending authorization expired", t0.Add(25 * time.Hour), time.Time{}, "", 10, "l4 l2"},
		// A reuse limit that shortened since l2's authorization was validated
		// (at t0+1m) makes it unusable: l2 is no longer live.
		{"validated before the reuse limit", t0.Add(25 * time.Hour), t0.Add(2 * time.Minute), "", 10, "l4"},
		{"the ready order expired", t0.Add(31 * 24 * time.Hour), time.Time{}, "", 10, "l4"},
	}
	for _, tt := range tests {
		ids, err := f.s.ACMEOrderListLive(f.ctx, "acct", tt.at, tt.since, tt.after, tt.limit)
		if got := strings.Join(ids, " "); err != nil || got != tt.want {
			t.Errorf("%s: ACMEOrderListLive = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func testACMERevocations(t *testing.T, f *fixture) {
	if err := f.s.ACMEAccountCreate(f.ctx, acmeAccount("acct", "tp")); err != nil {
		t.Fatal(err)
	}
	o := f.acmeOrder("o", "acct", "a.example")
	f.validate(o, t0)
	if _, err := f.s.ACMEOrderFinalize(f.ctx, "o", "CSR", []byte("TBS"), t0, func(*store.Order) (*store.Certificate, error) { return testCert("0b"), nil }); err != nil {
		t.Fatal(err)
	}
	wantIs(t, "unknown serial", f.s.CertificateRevoke(f.ctx, store.Revocation{Serial: "ff", Reason: 1, RevokedAt: t0}), store.ErrNotFound)
	if err := f.s.CertificateRevoke(f.ctx, store.Revocation{Serial: "0b", Reason: 1, RevokedAt: t0}); err != nil {
		t.Fatal(err)
	}
	wantIs(t, "revoked twice", f.s.CertificateRevoke(f.ctx, store.Revocation{Serial: "0b", Reason: 4, RevokedAt: t0}), store.ErrConflict)
	rs, err := f.s.RevocationListUnexpired(f.ctx, t0)
	if err != nil || len(rs) != 1 || rs[0].Serial != "0b" || rs[0].Reason != 1 || !rs[0].RevokedAt.Equal(t0) {
		t.Fatalf("RevocationListUnexpired = %+v, %v", rs, err)
	}
	if rs, _ := f.s.RevocationListUnexpired(f.ctx, t0.Add(365*24*time.Hour)); len(rs) != 0 {
		t.Fatalf("expired certificate still listed: %+v", rs)
	}
	if c, err := f.s.CertificateGetBySerial(f.ctx, "0b"); err != nil || c.OrderID != "o" || c.AccountID != "acct" || c.Serial != "0b" {
		t.Fatalf("CertificateGetBySerial = %+v, %v; want order o of account acct", c, err)
	}
	// AccountID is the account of the certificate's own order.
	if err := f.s.ACMEAccountCreate(f.ctx, acmeAccount("other", "tp-other")); err != nil {
		t.Fatal(err)
	}
	o2 := f.acmeOrder("o2", "other", "a.example")
	f.validate(o2, t0)
	if _, err := f.s.ACMEOrderFinalize(f.ctx, "o2", "CSR", []byte("TBS"), t0, func(*store.Order) (*store.Certificate, error) { return testCert("0c"), nil }); err != nil {
		t.Fatal(err)
	}
	if c, err := f.s.CertificateGetBySerial(f.ctx, "0C"); err != nil || c.OrderID != "o2" || c.AccountID != "other" {
		t.Fatalf("CertificateGetBySerial(0C) = %+v, %v; want order o2 of account other", c, err)
	}
	_, err = f.s.CertificateGetBySerial(f.ctx, "ff")
	wantIs(t, "unknown serial", err, store.ErrNotFound)
	if r, err := f.s.RevocationGet(f.ctx, "0b"); err != nil || r.Reason != 1 {
		t.Fatalf("RevocationGet = %+v, %v", r, err)
	}
}
