package order_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/validation"
)

// validatedACMEOrder is an ACME order for name whose one authorization was
// just validated by dns-01: ready to finalize.
func validatedACMEOrder(t *testing.T, name string, opts ordertest.Options) (*ordertest.Stack, *order.ACME, *store.ACMEAccount, *ecdsa.PrivateKey, *order.ACMEOrderView) {
	t.Helper()
	ctx := context.Background()
	w := ordertest.New(t, opts)
	a := newTestACME(t, w, 5*time.Second)
	acct, key, thumb := newACMEAccount(t, a)
	ov, err := a.NewOrder(ctx, acct, order.ACMENewOrder{Identifiers: []order.ACMEIdentifier{{Type: "dns", Value: name}}})
	if err != nil {
		t.Fatal(err)
	}
	z, err := a.Authz(ctx, acct, ov.AuthzIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	digest := validation.KeyAuthorizationDigest(order.KeyAuthorization(z.Challenges[0].Token, thumb))
	w.DNS.Add(fmt.Sprintf(`_acme-challenge.%s. 60 IN TXT "%s"`, name, digest))
	if r, err := a.StartChallenge(ctx, acct, z.ID, "dns-01"); err != nil || r.Challenge.Status != "valid" {
		t.Fatalf("challenge: %+v, %v", r, err)
	}
	return w, a, acct, key, ov
}

// TestFinalizeRechecksCAA: an authorization validated more than
// order.CAARecheckAfter ago (reused, or an order finalized late) has its
// CAA records looked up again before issuance (CA/B Forum BR §3.2.2.8): a
// record published since that names another CA refuses issuance with the
// caa problem and dcv's diagnosis, and one that permits dcv lets it go.
func TestFinalizeRechecksCAA(t *testing.T) {
	t.Parallel()
	const name = "caa.applicant.com"
	tests := []struct {
		name     string
		after    time.Duration
		caa      string // published after the validation; "" for none
		wantType string // "" for an issued certificate
		words    []string
	}{
		{name: "8 hours later, CAA now names another CA", after: 8 * time.Hour, caa: `0 issue "other-ca.example"`,
			wantType: order.ACMECAA, words: []string{name + " was validated 8h0m0s ago", "looked up again before issuance", "other-ca.example"}},
		{name: "8 hours later, CAA names dcv", after: 8 * time.Hour, caa: `0 issue "` + ordertest.CAAIdentity + `"`},
		{name: "8 hours later, CAA names dcv for another method", after: 8 * time.Hour, caa: `0 issue "` + ordertest.CAAIdentity + `; validationmethods=http-01"`,
			wantType: order.ACMECAA, words: []string{"validationmethods", "dns-01"}},
		{name: "6 hours later, within the window: not looked up again", after: 6 * time.Hour, caa: `0 issue "other-ca.example"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w, a, acct, key, ov := validatedACMEOrder(t, name, ordertest.Options{})

			w.Clock.Add(tt.after)
			if tt.caa != "" {
				w.DNS.Add(name + ". 60 IN CAA " + tt.caa)
			}
			certKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, certKey)
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.Finalize(ctx, acct, &key.PublicKey, ov.ID, csr)
			// A recheck is kept as evidence, whatever its outcome.
			rechecks, rerr := w.Store.CAARechecksByOrder(ctx, ov.ID)
			wantRechecks := 0
			if tt.after > order.CAARecheckAfter {
				wantRechecks = 1
			}
			if rerr != nil || len(rechecks) != wantRechecks {
				t.Fatalf("CAA rechecks kept: %+v, %v; want %d", rechecks, rerr, wantRechecks)
			}
			if wantRechecks == 1 {
				rc := rechecks[0]
				if rc.Domain != name || rc.Allowed != (tt.wantType == "") || !rc.CheckedAt.Equal(w.Clock.Now()) || (tt.caa != "" && !strings.Contains(string(rc.Evidence), "CAA")) {
					t.Errorf("recheck kept: %+v (evidence %s)", rc, rc.Evidence)
				}
			}
			if tt.wantType == "" {
				if err != nil || got.Status != "valid" {
					t.Fatalf("Finalize = %+v, %v; want the certificate issued", got, err)
				}
				return
			}
			var ae *order.ACMEError
			if !errors.As(err, &ae) || ae.Type != tt.wantType {
				t.Fatalf("Finalize = %+v, %v; want %s", got, err, tt.wantType)
			}
			for _, word := range tt.words {
				if !strings.Contains(ae.Detail, word) {
					t.Errorf("detail %q lacks %q", ae.Detail, word)
				}
			}
			// Nothing was issued: the order is still ready, for a finalize
			// once the records are fixed.
			if v, err := a.Order(ctx, acct, ov.ID); err != nil || v.Status != order.ACMEOrderReady {
				t.Errorf("order after the refusal: %+v, %v; want ready", v, err)
			}
		})
	}
}

// cutShort puts the ACME order id for name in the state a crash leaves in
// the middle of its finalize: reserved ("approved", ACME "processing") with
// its CSR, and no certificate.
func cutShort(t *testing.T, w *ordertest.Stack, id, name string) {
	t.Helper()
	certKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, certKey)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", w.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})
	if _, err := db.Exec(`UPDATE orders SET status = 'approved', csr_pem = ? WHERE id = ?`, string(csrPEM), id); err != nil {
		t.Fatal(err)
	}
}

// refusingIssuer refuses, as a lint would, every certificate once refuse
// is set.
type refusingIssuer struct {
	next   order.Issuer
	refuse atomic.Bool
}

func (r *refusingIssuer) Prepare(req ca.IssueRequest) (*ca.Prepared, error) {
	if r.refuse.Load() {
		return nil, &ca.LintError{Results: []ca.LintResult{{Lint: "e_test_refusal", Status: "error", Details: "refused by the test"}}}
	}
	return r.next.Prepare(req)
}

func (r *refusingIssuer) Sign(p *ca.Prepared, req ca.IssueRequest) (*ca.Issued, error) {
	return r.next.Sign(p, req)
}

// TestLateACMEIssuanceLintFailure: a late ACME issuance that the lint
// refuses makes the order invalid, as finalize does, so that its client
// stops polling; it does not wait, processing, for an operator.
func TestLateACMEIssuanceLintFailure(t *testing.T) {
	t.Parallel()
	const name = "lint.applicant.com"
	ctx := context.Background()
	iss := &refusingIssuer{}
	w, a, acct, _, ov := validatedACMEOrder(t, name, ordertest.Options{Issuer: func(authority *ca.CA) order.Issuer {
		iss.next = authority
		return iss
	}})
	cutShort(t, w, ov.ID, name)
	iss.refuse.Store(true)
	if err := w.Service.Issue(ctx, ov.ID); !errors.Is(err, order.ErrPermanent) {
		t.Fatalf("Issue = %v, want a permanent failure", err)
	}
	v, err := a.Order(ctx, acct, ov.ID)
	if err != nil || v.Status != order.ACMEOrderInvalid || v.Error == nil || v.Error.Type != order.ACMEServerInternal {
		t.Fatalf("order %+v (%v), problem %+v; want invalid, serverInternal", v, err, v.Error)
	}
}

// TestLateACMEIssuance: a finalize cut short by a crash, between its
// reservation and its certificate, is finished by the job runner's sweep,
// maybe hours later. Its authorizations must still be valid then, and CAA
// is looked up again when the validation is more than
// order.CAARecheckAfter old (CA/B Forum BRs §3.2.2.8), as finalize does; a
// refusal makes the order invalid with the problem the client reads.
func TestLateACMEIssuance(t *testing.T) {
	t.Parallel()
	const name = "late.applicant.com"
	tests := []struct {
		name     string
		after    time.Duration
		caa      string // published after the validation; "" for none
		wantType string // the order's problem; "" for an issued certificate
		words    []string
		rechecks int
		// deactivate deactivates the account before the issuance.
		deactivate bool
		// servfail makes the name's servers fail; wantRetry is an error
		// to retry, the order still processing.
		servfail, wantRetry bool
	}{
		{name: "an hour later: issued, no recheck", after: time.Hour, caa: `0 issue "other-ca.example"`},
		{name: "9 hours later, CAA names dcv: rechecked, issued", after: 9 * time.Hour, caa: `0 issue "` + ordertest.CAAIdentity + `"`, rechecks: 1},
		{name: "9 hours later, CAA names another CA: refused", after: 9 * time.Hour, caa: `0 issue "other-ca.example"`, rechecks: 1,
			wantType: order.ACMECAA, words: []string{name + " was validated 9h0m0s ago", "other-ca.example"}},
		{name: "9 hours later, CAA cannot be looked up: retried, not refused", after: 9 * time.Hour, servfail: true, rechecks: 1, wantRetry: true},
		{name: "account deactivated meanwhile: refused", after: time.Hour, deactivate: true,
			wantType: order.ACMEUnauthorized, words: []string{"is deactivated", "not issued"}},
		{name: "after the order expired: refused", after: 8 * 24 * time.Hour,
			wantType: order.ACMEUnauthorized, words: []string{"the order expired on", "order again"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w, a, acct, _, ov := validatedACMEOrder(t, name, ordertest.Options{})
			cutShort(t, w, ov.ID, name)

			w.Clock.Add(tt.after)
			if tt.caa != "" {
				w.DNS.Add(name + ". 60 IN CAA " + tt.caa)
			}
			if tt.servfail {
				w.DNS.SetRcode(name, dns.RcodeServerFailure)
			}
			if tt.deactivate {
				var err error
				if acct, err = a.UpdateAccount(ctx, acct, order.ACMEAccountUpdate{Deactivate: true}); err != nil {
					t.Fatal(err)
				}
			}
			err := w.Service.Issue(ctx, ov.ID)
			v, verr := a.Order(ctx, acct, ov.ID)
			if verr != nil {
				t.Fatal(verr)
			}
			rc, rerr := w.Store.CAARechecksByOrder(ctx, ov.ID)
			if rerr != nil || len(rc) != tt.rechecks {
				t.Errorf("CAA rechecks kept: %+v, %v; want %d", rc, rerr, tt.rechecks)
			}
			if tt.wantRetry {
				if err == nil || errors.Is(err, order.ErrPermanent) || v.Status != order.ACMEOrderProcessing {
					t.Fatalf("Issue = %v; order %+v; want an error to retry, the order still processing", err, v)
				}
				return
			}
			if tt.wantType == "" {
				if err != nil || v.Status != order.ACMEOrderValid {
					t.Fatalf("Issue = %v; order %+v; want the certificate issued", err, v)
				}
				return
			}
			if !errors.Is(err, order.ErrPermanent) {
				t.Errorf("Issue = %v, want a permanent refusal", err)
			}
			if v.Status != order.ACMEOrderInvalid || v.Error == nil || v.Error.Type != tt.wantType || v.CertificateSerial != "" {
				t.Fatalf("order after the refusal: %+v (problem %+v); want invalid with %s, no certificate", v, v.Error, tt.wantType)
			}
			for _, word := range tt.words {
				if !strings.Contains(v.Error.Detail, word) {
					t.Errorf("problem detail %q lacks %q", v.Error.Detail, word)
				}
			}
		})
	}
}

// TestProfileRemovedAfterOrder: an order whose profile the CA stopped
// offering (removed from --acme-profiles at a restart) is not signed under
// another profile's validity. Finalize refuses it with invalidProfile,
// naming the profile, and makes the order invalid, as an issuance cut
// short by the restart does, saying why, so that its client stops
// finalizing and polling.
func TestProfileRemovedAfterOrder(t *testing.T) {
	t.Parallel()
	const name = "profile.applicant.com"
	ctx := context.Background()
	tests := []struct {
		name     string
		cutShort bool
	}{
		{name: "finalize"},
		{name: "issuance cut short", cutShort: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, _, acct, _, ov := validatedACMEOrder(t, name, ordertest.Options{})
			// The restart: only a 7-day profile is offered now; the order
			// was made under "default".
			later, err := order.NewACME(w.Service, order.ACMEConfig{
				AccountURL: func(id string) string { return "https://ca.dcv-test.net/acct/" + id },
				Profiles:   []ca.Profile{{Name: ca.ProfileShortLived, Validity: ca.ShortLivedValidity}},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(later.Wait)
			const want = `was created with the profile "default", which this certificate authority no longer offers`
			if tt.cutShort {
				cutShort(t, w, ov.ID, name)
				if err := w.Service.Issue(ctx, ov.ID); !errors.Is(err, order.ErrPermanent) || !strings.Contains(err.Error(), want) {
					t.Fatalf("Issue = %v, want a permanent failure naming the profile", err)
				}
				v, err := later.Order(ctx, acct, ov.ID)
				if err != nil || v.Status != order.ACMEOrderInvalid || v.Error == nil || !strings.Contains(v.Error.Detail, want) {
					t.Fatalf("order %+v (%v), problem %+v; want invalid, naming the profile", v, err, v.Error)
				}
				return
			}
			certKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, certKey)
			if err != nil {
				t.Fatal(err)
			}
			_, err = later.Finalize(ctx, acct, nil, ov.ID, csr)
			var ae *order.ACMEError
			if !errors.As(err, &ae) || ae.Type != order.ACMEInvalidProfile || !strings.Contains(ae.Detail, want) {
				t.Fatalf("Finalize = %v, want invalidProfile naming the profile", err)
			}
			v, err := later.Order(ctx, acct, ov.ID)
			if err != nil || v.Status != order.ACMEOrderInvalid || v.Error == nil || v.Error.Type != order.ACMEInvalidProfile || !strings.Contains(v.Error.Detail, want) {
				t.Fatalf("order after the refusal: %+v, %v; want invalid with invalidProfile, so that its client stops finalizing", v, err)
			}
		})
	}
}

// adminViewOfIssuedACMEOrder issues an ACME order for name and returns the
// stack, its ACME service and account, the admin account, and the order as
// the admin reads it through the REST API.
func adminViewOfIssuedACMEOrder(t *testing.T, name string) (*ordertest.Stack, *order.ACME, *store.ACMEAccount, *store.Account, *order.View) {
	t.Helper()
	ctx := context.Background()
	w, a, acct, _, ov := validatedACMEOrder(t, name, ordertest.Options{})
	certKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, certKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Finalize(ctx, acct, nil, ov.ID, csr); err != nil {
		t.Fatal(err)
	}
	admin := adminOf(t, w)
	v, err := w.Service.Get(ctx, admin, ov.ID)
	if err != nil {
		t.Fatal(err)
	}
	return w, a, acct, admin, v
}

// TestAdminViewOfACMEOrder: an admin reading an ACME order through the REST
// API sees its ACME state (valid, invalid with the problem), read-only, no
// DNS record to publish (its value is the ACME authorization's id, not a
// TXT value) and no certificate link it could not follow (NOT_YOUR_ORDER).
func TestAdminViewOfACMEOrder(t *testing.T) {
	t.Parallel()
	const name = "view.applicant.com"
	ctx := context.Background()
	w, a, acct, admin, v := adminViewOfIssuedACMEOrder(t, name)
	if v.Status != order.ACMEOrderValid || !v.ReadOnly || v.Certificate != "" || len(v.Domains) != 1 || v.Domains[0].Status != "valid" || v.Domains[0].Instructions != (order.Instructions{}) {
		t.Errorf("admin view: status %s, read-only %v, certificate %q, domains %+v; want ACME's valid, read-only, no link, no instructions", v.Status, v.ReadOnly, v.Certificate, v.Domains)
	}
	// Each domain says which challenge validated it, when, what its
	// validation found and what each perspective saw, then that the
	// certificate was issued.
	if d := v.Domains[0]; d.Challenge == nil || d.Challenge.Status != "valid" || d.Challenge.ValidatedAt == nil || d.LastCheckAt == nil ||
		!d.LastCheckAt.Equal(*d.Challenge.ValidatedAt) || len(d.Matrix) != 1 || d.Matrix[0].Verdict != diagnose.VerdictPass ||
		len(d.Findings) == 0 || d.Findings[len(d.Findings)-1].Code != diagnose.CodeIssued {
		t.Errorf("admin view of a validated domain: challenge %+v, last check %v, matrix %+v, findings %+v; want the valid challenge, its time, the primary's pass, its findings then CERTIFICATE_ISSUED",
			d.Challenge, d.LastCheckAt, d.Matrix, d.Findings)
	}
	if vs, _, err := w.Service.ListOrders(ctx, admin, order.AllAccounts, "", 10); err != nil || len(vs) == 0 || vs[0].Domains[0].Matrix != nil || vs[0].Domains[0].Challenge != nil {
		t.Errorf("admin list: %+v, %v; want no challenge or matrix in a list", vs, err)
	}

	// Its certificate is its ACME client's to download: the refusal says
	// so, and that the admin may revoke it.
	_, err := w.Service.Certificate(ctx, admin, v.ID, false)
	var oe *order.Error
	if !errors.As(err, &oe) || oe.Code != "NOT_YOUR_ORDER" || !strings.Contains(oe.Message, "is an ACME order of another account") || !strings.Contains(oe.Message, "revoke its certificate") {
		t.Errorf("admin download of an ACME order's certificate: %v; want NOT_YOUR_ORDER naming its ACME client and the admin's revocation", err)
	}

	// An order whose challenge failed is invalid there too, saying why:
	// its REST rows, which ACME does not update, said pending.
	ov2, err := a.NewOrder(ctx, acct, order.ACMENewOrder{Identifiers: []order.ACMEIdentifier{{Type: "dns", Value: "nothing." + name}}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := a.StartChallenge(ctx, acct, ov2.AuthzIDs[0], "dns-01"); err != nil || r.Challenge.Status != "invalid" {
		t.Fatalf("challenge with nothing published: %+v, %v", r, err)
	}
	v, err = w.Service.Get(ctx, admin, ov2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != order.ACMEOrderInvalid || !strings.Contains(v.Error, "nothing."+name) || v.Domains[0].Status != "invalid" || v.RecheckAt != nil {
		t.Errorf("admin view of a failed ACME order: status %s, error %q, domains %+v; want ACME's invalid, saying why", v.Status, v.Error, v.Domains)
	}
	// The failed challenge's findings are the diagnosis its client was
	// given, with the fix.
	if d := v.Domains[0]; d.Challenge == nil || d.Challenge.Type != "dns-01" || d.Challenge.Status != "invalid" || len(d.Matrix) != 1 ||
		d.Challenge.StartedAt == nil || d.LastCheckAt == nil || !d.LastCheckAt.Equal(*d.Challenge.StartedAt) ||
		d.Matrix[0].Verdict != diagnose.VerdictFail || !slices.ContainsFunc(d.Findings, func(f diagnose.Finding) bool {
		return f.Severity == diagnose.SeverityError && f.Fix != "" && strings.Contains(v.Error, f.Message)
	}) {
		t.Errorf("admin view of a failed domain: challenge %+v, matrix %+v, findings %+v; want dns-01 invalid, the primary's failure, and the blocking finding the problem quotes", d.Challenge, d.Matrix, d.Findings)
	}
}

// TestFailedIssuanceIsToldAndRetriedAtStart: an API order whose
// certificate a lint refused (the CA's configuration) says so everywhere,
// not "issued shortly", and is tried again when dcv serve starts after
// the operator mended the configuration.
func TestFailedIssuanceIsToldAndRetriedAtStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	iss := &refusingIssuer{}
	iss.refuse.Store(true)
	w := ordertest.New(t, ordertest.Options{Issuer: func(authority *ca.CA) order.Issuer {
		iss.next = authority
		return iss
	}})
	acct := w.NewAccount(t, "applicant")
	o, err := w.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{"lint.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	w.DNS.Add(`_dnsauth.lint.applicant.com. TXT "` + o.Domains[0].Instructions.Value + `"`)
	if res, err := w.Service.Check(ctx, acct, o.ID); err != nil || res.Status != order.StatusApproved {
		t.Fatalf("check: %+v, %v", res, err)
	}
	if err := w.Service.Issue(ctx, o.ID); !errors.Is(err, order.ErrPermanent) {
		t.Fatalf("Issue = %v, want a permanent failure", err)
	}
	v, err := w.Service.Get(ctx, acct, o.ID)
	if err != nil || len(v.Domains) != 1 || len(v.Domains[0].Findings) != 1 || v.Domains[0].Findings[0].Code != diagnose.CodeIssuanceFailed {
		t.Fatalf("view after the failure: %+v, %v; want ISSUANCE_FAILED, not issued shortly", v, err)
	}
	_, err = w.Service.Certificate(ctx, acct, o.ID, false)
	if oe := (*order.Error)(nil); !errors.As(err, &oe) || !strings.Contains(oe.Message, "its operator has to act") {
		t.Errorf("download after the failure: %v; want the operator named, not a retry in seconds", err)
	}

	// The operator mends the configuration and restarts dcv serve.
	iss.refuse.Store(false)
	if n, err := w.Service.RetryFailedIssuance(ctx); err != nil || n != 1 {
		t.Fatalf("RetryFailedIssuance = %d, %v; want 1", n, err)
	}
	ids, err := w.Service.PendingIssuance(ctx)
	if err != nil || !slices.Contains(ids, o.ID) {
		t.Fatalf("pending issuance after the restart: %v, %v; want the order", ids, err)
	}
	if err := w.Service.Issue(ctx, o.ID); err != nil {
		t.Fatalf("Issue after the restart: %v", err)
	}
	if v, err := w.Service.Get(ctx, acct, o.ID); err != nil || v.Status != order.StatusIssued {
		t.Fatalf("order after the restart: %+v, %v; want issued", v, err)
	}
}

// TestFinalizeIPAddressNoCAARecheck: an IP address has no CAA records, so
// an authorization for one validated long ago is finalized without a CAA
// recheck (review: no test held the skip).
func TestFinalizeIPAddressNoCAARecheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := ordertest.New(t, ordertest.Options{Names: ident.Policy{IPs: ident.Targets{Loopback: true}}})
	a := newTestACME(t, w, 5*time.Second)
	acct, key, thumb := newACMEAccount(t, a)
	ip := w.Web.IP.String()
	ov, err := a.NewOrder(ctx, acct, order.ACMENewOrder{Identifiers: []order.ACMEIdentifier{{Type: "ip", Value: ip}}})
	if err != nil {
		t.Fatal(err)
	}
	z, err := a.Authz(ctx, acct, ov.AuthzIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	tok := z.Challenges[0].Token
	w.Web.SetFile(ip, validation.HTTP01Path+tok, 200, order.KeyAuthorization(tok, thumb))
	if r, err := a.StartChallenge(ctx, acct, z.ID, "http-01"); err != nil || r.Challenge.Status != "valid" {
		t.Fatalf("challenge: %+v, %v", r, err)
	}
	w.Clock.Add(8 * time.Hour)
	certKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{IPAddresses: []net.IP{net.ParseIP(ip)}}, certKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Finalize(ctx, acct, &key.PublicKey, ov.ID, csr)
	if err != nil || got.Status != "valid" {
		t.Fatalf("Finalize = %+v, %v; want the certificate issued", got, err)
	}
	if rechecks, err := w.Store.CAARechecksByOrder(ctx, ov.ID); err != nil || len(rechecks) != 0 {
		t.Errorf("CAA rechecks kept: %+v, %v; want none for an address", rechecks, err)
	}
}
