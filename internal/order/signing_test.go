package order_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/store"
)

// logBuffer is a slog handler's output, safe for the service's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestIssueAfterCrash: an issuance cut short by a crash after its
// certificate was signed, but before it was stored, leaves the order
// approved with the signed bytes kept. The issuance that follows the
// restart stores that very certificate, same serial, same bytes, and not
// a second one; kept bytes the CA may no longer sign (another
// intermediate; a notBefore beyond the BRs' 48 hours, in package ca's
// TestSignStoredChecks) are dropped, said in the log with their serial,
// and a new certificate is signed.
func TestIssueAfterCrash(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// authority returns the CA that signed before the crash, given
		// the stack's CA directory.
		authority func(t *testing.T, dir string) *ca.CA
		same      bool   // the stored certificate is the one signed before
		log       string // in the log
	}{
		{name: "signed by this CA", authority: func(t *testing.T, dir string) *ca.CA { return loadCA(t, dir) }, same: true},
		{
			name:      "signed by another intermediate",
			authority: func(t *testing.T, _ string) *ca.CA { return loadCA(t, t.TempDir()) },
			log:       "names another issuer than the loaded intermediate",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var logs logBuffer
			s := ordertest.New(t, ordertest.Options{WallClock: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			acct := s.NewAccount(t, "applicant")
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			names := []string{"a.applicant.com", "b.applicant.com"}
			csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: names}, key)
			if err != nil {
				t.Fatal(err)
			}
			csrPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))
			o, err := s.Service.Create(ctx, acct, order.CreateRequest{Domains: names, Method: "dns", CSR: csrPEM})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range o.Domains {
				s.DNS.Add(`_dnsauth.` + d.Domain + `. TXT "` + d.Instructions.Value + `"`)
			}
			// No scheduler: the approval is stored, the issuance is not run.
			if cr, err := s.Service.Check(ctx, acct, o.ID); err != nil || cr.Status != order.StatusApproved {
				t.Fatalf("check: %+v, %v", cr, err)
			}

			// The process before the crash: it kept the bytes, signed
			// them, and died before storing the certificate.
			before := tt.authority(t, filepath.Join(s.Dir, "ca"))
			req := ca.IssueRequest{DNSNames: names, PublicKey: key.Public()}
			prep, err := before.Prepare(req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Store.OrderSigningTBSPut(ctx, o.ID, prep.TBS); err != nil {
				t.Fatal(err)
			}
			signed, err := before.Sign(prep, req)
			if err != nil {
				t.Fatal(err)
			}

			if err := s.Service.Issue(ctx, o.ID); err != nil {
				t.Fatalf("Issue after the restart: %v", err)
			}
			cert, err := s.Store.CertificateGetByOrder(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := cert.ChainPEM == signed.ChainPEM && cert.Serial == signed.Serial; got != tt.same {
				t.Errorf("stored certificate %s is the one signed before the crash (%s): %v, want %v", cert.Serial, signed.Serial, got, tt.same)
			}
			blk, _ := pem.Decode([]byte(cert.ChainPEM))
			leaf, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: s.CA.Roots(), Intermediates: s.CA.Intermediates()}); err != nil {
				t.Errorf("the stored certificate does not verify against the loaded CA: %v", err)
			}
			// Run again (a job retried, the sweep): nothing more is issued
			// nor said to be.
			if err := s.Service.Issue(ctx, o.ID); err != nil {
				t.Fatalf("Issue of an issued order: %v", err)
			}
			if n := strings.Count(logs.String(), `msg="certificate issued"`); n != 1 {
				t.Errorf("%d lines say the certificate was issued, want 1:\n%s", n, logs.String())
			}
			if tt.log != "" && (!strings.Contains(logs.String(), tt.log) || !strings.Contains(logs.String(), signed.Serial)) {
				t.Errorf("log lacks %q and serial %s:\n%s", tt.log, signed.Serial, logs.String())
			}
		})
	}
}

// loadCA loads (or creates) the hierarchy in dir.
func loadCA(t *testing.T, dir string) *ca.CA {
	t.Helper()
	c, err := ca.LoadOrCreate(ca.Config{Dir: dir,
		AIAIssuerURL: "http://127.0.0.1:8080/ca/intermediate.cer",
		CRLURL:       "http://127.0.0.1:8080/ca/intermediate.crl"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// hookIssuer calls before ahead of every signature; it records what it
// signed.
type hookIssuer struct {
	order.Issuer
	before func(n int32) error
	calls  atomic.Int32
	mu     sync.Mutex
	signed []*ca.Issued
}

func (h *hookIssuer) Sign(p *ca.Prepared, req ca.IssueRequest) (*ca.Issued, error) {
	if err := h.before(h.calls.Add(1)); err != nil {
		return nil, err
	}
	iss, err := h.Issuer.Sign(p, req)
	if err == nil {
		h.mu.Lock()
		h.signed = append(h.signed, iss)
		h.mu.Unlock()
	}
	return iss, err
}

// TestSweepLeavesFinalizeUnderWay: while an ACME finalize signs, its order
// is approved, and the issuance sweep lists it; the sweep leaves it to the
// finalize. Otherwise, when the finalize's signing fails (the order goes
// back to pending) and its client finalizes again with another CSR, the
// sweep stored the first CSR's certificate on the order, handed it to the
// client of the second, and the second's certificate was signed but never
// recorded (review).
func TestSweepLeavesFinalizeUnderWay(t *testing.T) {
	t.Parallel()
	const name = "race.applicant.com"
	ctx := context.Background()
	entered, fail := make(chan struct{}), make(chan struct{})
	h := &hookIssuer{}
	h.before = func(n int32) error {
		if n == 1 { // the first finalize: held, then its signer fails
			close(entered)
			<-fail
			return errors.New("hsm: transient failure")
		}
		return nil
	}
	w, a, acct, _, ov := validatedACMEOrder(t, name, ordertest.Options{Issuer: func(c *ca.CA) order.Issuer { h.Issuer = c; return h }})
	newCSR := func() (*ecdsa.PrivateKey, []byte) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, k)
		if err != nil {
			t.Fatal(err)
		}
		return k, der
	}
	_, csrA := newCSR()
	keyB, csrB := newCSR()

	first := make(chan error, 1)
	go func() {
		_, err := a.Finalize(ctx, acct, nil, ov.ID, csrA)
		first <- err
	}()
	<-entered
	if err := w.Service.Issue(ctx, ov.ID); err == nil || !strings.Contains(err.Error(), "its finalize is under way") {
		t.Errorf("the sweep's Issue during the finalize = %v, want it left to the finalize", err)
	}
	close(fail)
	if err := <-first; err == nil {
		t.Fatal("the first finalize succeeded; its signer was to fail")
	}
	v, err := a.Finalize(ctx, acct, nil, ov.ID, csrB)
	if err != nil {
		t.Fatalf("the second finalize: %v", err)
	}
	c, err := w.Store.CertificateGetByOrder(ctx, ov.ID)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode([]byte(c.ChainPEM))
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !keyB.PublicKey.Equal(leaf.PublicKey) || v.CertificateSerial != c.Serial {
		t.Errorf("stored certificate %s (answered %s) is not for the second CSR's key", c.Serial, v.CertificateSerial)
	}
	if len(h.signed) != 1 {
		t.Errorf("%d certificates signed for one order, want 1", len(h.signed))
	}
}

// TestRevokedCertificateSaysSo: a certificate revoked (through ACME's
// revokeCert, with its key) is still downloadable, and says it was
// revoked, when and why, so that it is not deployed.
func TestRevokedCertificateSaysSo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := ordertest.New(t, ordertest.Options{WallClock: true})
	acct := s.NewAccount(t, "applicant")
	o, err := s.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{"revoked.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	s.DNS.Add(`_dnsauth.revoked.applicant.com. TXT "` + o.Domains[0].Instructions.Value + `"`)
	if cr, err := s.Service.Check(ctx, acct, o.ID); err != nil || cr.Status != order.StatusApproved {
		t.Fatalf("check: %+v, %v", cr, err)
	}
	if err := s.Service.Issue(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	cv, err := s.Service.Certificate(ctx, acct, o.ID, false)
	if err != nil || cv.RevokedAt != nil {
		t.Fatalf("before revocation: %+v, %v", cv, err)
	}
	if res, err := s.Service.Check(ctx, acct, o.ID); err != nil || res.RevokedAt != nil || res.RevocationReason != "" {
		t.Fatalf("check before revocation: %+v, %v; want no revocation", res, err)
	}
	at := time.Now().UTC().Truncate(time.Second)
	if err := s.Store.CertificateRevoke(ctx, store.Revocation{Serial: cv.Serial, Reason: 1, RevokedAt: at, NotAfter: cv.NotAfter}); err != nil {
		t.Fatal(err)
	}
	cv, err = s.Service.Certificate(ctx, acct, o.ID, false)
	if err != nil || cv.RevokedAt == nil || !cv.RevokedAt.Equal(at) || cv.RevocationReason != "keyCompromise" {
		t.Fatalf("after revocation: %+v, %v; want revoked at %s, keyCompromise", cv, err, at)
	}
	// The order says so too, and a check of it.
	v, err := s.Service.Get(ctx, acct, o.ID)
	if err != nil || !slices.ContainsFunc(v.Domains[0].Findings, func(f diagnose.Finding) bool {
		return f.Code == diagnose.CodeCertificateRevoked && strings.Contains(f.Message, "keyCompromise")
	}) {
		t.Errorf("order view after revocation: %+v, %v; want CERTIFICATE_REVOKED", v, err)
	}
	res, err := s.Service.Check(ctx, acct, o.ID)
	if err != nil || !slices.ContainsFunc(res.Domains[0].Findings, func(f diagnose.Finding) bool { return f.Code == diagnose.CodeCertificateRevoked }) {
		t.Errorf("check after revocation: %+v, %v; want CERTIFICATE_REVOKED", res, err)
	}
	// At the top of the check too, as in the certificate, for a script
	// (dcv order check --json): the status stays issued.
	if err != nil || res.Status != order.StatusIssued || res.RevokedAt == nil || !res.RevokedAt.Equal(at) || res.RevocationReason != "keyCompromise" {
		t.Errorf("check after revocation: status %q, revoked_at %v, revocation_reason %q; want issued, %s, keyCompromise", res.Status, res.RevokedAt, res.RevocationReason, at)
	}
}
