package acme_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	xacme "golang.org/x/crypto/acme"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/store"
)

// fetchCRL gets the intermediate's CRL over HTTP, as a relying party
// following the certificate's CRL distribution point would, and checks its
// signature.
func (w *world) fetchCRL(t *testing.T) *x509.RevocationList {
	t.Helper()
	resp, err := w.srv.Client().Get(w.srv.URL + "/ca/intermediate.crl")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	der, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pkix-crl" {
		t.Fatalf("CRL: %d %s, %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	inter, err := x509.ParseCertificate(w.ca.IntermediateDER())
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(inter); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	return crl
}

func crlReason(crl *x509.RevocationList, serial *big.Int) (int, bool) {
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(serial) == 0 {
			return e.ReasonCode, true
		}
	}
	return 0, false
}

// TestRevocationInCRL: a certificate revoked over ACME (RFC 8555 §7.6) is
// listed, with its reason, in the CRL served over HTTP at once; a refused
// revocation lists nothing.
func TestRevocationInCRL(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c, stranger := w.client(t), w.client(t)
	ctx := context.Background()
	leaf, _, _ := w.issue(t, c, "dns-01", nil, "crl.applicant.com")
	if _, listed := crlReason(w.fetchCRL(t), leaf.SerialNumber); listed {
		t.Fatalf("a valid certificate is in the CRL")
	}

	// An account that neither owns the certificate nor controls its names:
	// unauthorized, nothing revoked.
	payload := `{"certificate":"` + base64.RawURLEncoding.EncodeToString(leaf.Raw) + `","reason":1}`
	st, m := w.post(t, raw{alg: jose.ES256, key: stranger.Key, kid: string(stranger.KID), nonce: w.nonce(t), url: w.srv.URL + "/acme/revoke-cert", payload: payload})
	if st != http.StatusForbidden || m["type"] != "urn:ietf:params:acme:error:unauthorized" {
		t.Fatalf("revocation by a stranger: %d %v", st, m)
	}
	// A reason code RFC 5280 does not define: badRevocationReason.
	bad := `{"certificate":"` + base64.RawURLEncoding.EncodeToString(leaf.Raw) + `","reason":7}`
	st, m = w.post(t, raw{alg: jose.ES256, key: c.Key, kid: string(c.KID), nonce: w.nonce(t), url: w.srv.URL + "/acme/revoke-cert", payload: bad})
	if st != http.StatusBadRequest || m["type"] != "urn:ietf:params:acme:error:badRevocationReason" {
		t.Fatalf("reason 7: %d %v", st, m)
	}
	if list, _ := w.orders.RevokedList(ctx); len(list) != 0 {
		t.Fatalf("refused revocations stored %+v", list)
	}
	if _, listed := crlReason(w.fetchCRL(t), leaf.SerialNumber); listed {
		t.Fatalf("a refused revocation reached the CRL")
	}

	if err := c.RevokeCert(ctx, nil, leaf.Raw, xacme.CRLReasonCessationOfOperation); err != nil {
		t.Fatal(err)
	}
	reason, listed := crlReason(w.fetchCRL(t), leaf.SerialNumber)
	if !listed || reason != int(xacme.CRLReasonCessationOfOperation) {
		t.Fatalf("CRL entry of the revoked serial: listed %v, reason %d; want reason %d", listed, reason, xacme.CRLReasonCessationOfOperation)
	}
}

// TestKeyCompromiseBlocksTheKey: a keyCompromise revocation signed with the
// certificate's own key blocks that key (CA/B Forum BR §6.1.1.3): the other
// live certificates of the key are revoked for keyCompromise (BR
// §4.9.1.1), a CSR with it is refused with badCSR, and it is refused as an
// account key with badPublicKey. A keyCompromise claimed by the account
// alone blocks nothing.
func TestKeyCompromiseBlocksTheKey(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issueWith := func(k crypto.Signer, name string) *x509.Certificate {
		t.Helper()
		o, err := c.AuthorizeOrder(ctx, xacme.DomainIDs(name))
		if err != nil {
			t.Fatal(err)
		}
		w.solve(t, c, o, "http-01")
		csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, k)
		if err != nil {
			t.Fatal(err)
		}
		ders, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csr, true)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(ders[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf
	}
	c1 := issueWith(key, "kc1.applicant.com")
	c2 := issueWith(key, "kc2.applicant.com")
	// Revoked before as superseded: its reason becomes keyCompromise.
	c0 := issueWith(key, "kc0.applicant.com")
	if err := c.RevokeCert(ctx, nil, c0.Raw, xacme.CRLReasonSuperseded); err != nil {
		t.Fatal(err)
	}
	other, _, _ := w.issue(t, c, "http-01", nil, "kc3.applicant.com")

	// A keyCompromise claimed by the account: revoked, nothing blocked.
	if err := c.RevokeCert(ctx, nil, other.Raw, xacme.CRLReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	// An account registered with the key, before it is shown compromised.
	kAcct := &xacme.Client{Key: key, DirectoryURL: w.srv.URL + "/acme/directory", HTTPClient: w.srv.Client()}
	if _, err := kAcct.Register(ctx, &xacme.Account{}, xacme.AcceptTOS); err != nil {
		t.Fatal(err)
	}
	// Proven with the key: c1 revoked, the key blocked, c2 swept.
	if err := c.RevokeCert(ctx, key, c1.Raw, xacme.CRLReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	w.acmeSvc.Wait() // the sweep
	crl := w.fetchCRL(t)
	for _, cert := range []*x509.Certificate{c0, c1, c2} {
		if reason, ok := crlReason(crl, cert.SerialNumber); !ok || reason != int(xacme.CRLReasonKeyCompromise) {
			t.Errorf("certificate of %v: in CRL %t, reason %d; want keyCompromise", cert.DNSNames, ok, reason)
		}
	}

	o, err := c.AuthorizeOrder(ctx, xacme.DomainIDs("kc4.applicant.com"))
	if err != nil {
		t.Fatal(err)
	}
	w.solve(t, c, o, "http-01")
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"kc4.applicant.com"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.CreateOrderCert(ctx, o.FinalizeURL, csr, true)
	assertProblem(t, err, "badCSR", http.StatusBadRequest)
	if !strings.Contains(err.Error(), "compromised") {
		t.Errorf("refusal %v does not say the key is compromised", err)
	}
	// Another key for the same order is fine: nothing was spent.
	csr2, _ := csrFor(t, "kc4.applicant.com")
	if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csr2, true); err != nil {
		t.Fatalf("finalize with a new key: %v", err)
	}

	// The account of the key is revoked: its requests are refused.
	_, err = kAcct.AuthorizeOrder(ctx, xacme.DomainIDs("kc7.applicant.com"))
	assertProblem(t, err, "unauthorized", http.StatusUnauthorized)
	// newAccount with the key opens no account: it is refused as every
	// request the key signs, saying that the account is revoked.
	_, err = kAcct.GetReg(ctx, "")
	assertProblem(t, err, "unauthorized", http.StatusUnauthorized)
	if !strings.Contains(err.Error(), "is revoked") {
		t.Errorf("newAccount with the revoked account's key: %v; want it to say the account is revoked", err)
	}
	// The account whose claim was not proven keeps its other key usable.
	fresh := w.client(t)
	if _, err := fresh.AuthorizeOrder(ctx, xacme.DomainIDs("kc5.applicant.com")); err != nil {
		t.Fatalf("an unrelated account: %v", err)
	}

	// A key blocked before any account used it cannot open one.
	key3, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	h3, _ := ca.SPKIHash(&key3.PublicKey)
	if err := w.st.KeyBlock(ctx, store.KeyBlock{SPKIHash: h3, Serial: "00", BlockedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	blocked := &xacme.Client{Key: key3, DirectoryURL: w.srv.URL + "/acme/directory", HTTPClient: w.srv.Client()}
	_, err = blocked.Register(ctx, &xacme.Account{}, xacme.AcceptTOS)
	assertProblem(t, err, "badPublicKey", http.StatusBadRequest)

	// A block whose sweep a restart cut short is swept by ResumeKeySweeps,
	// as serve calls it at start.
	key2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c6 := issueWith(key2, "kc6.applicant.com")
	h, _ := ca.SPKIHash(&key2.PublicKey)
	if err := w.st.KeyBlock(ctx, store.KeyBlock{SPKIHash: h, Serial: "00", BlockedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := w.acmeSvc.ResumeKeySweeps(ctx); err != nil {
		t.Fatal(err)
	}
	w.acmeSvc.Wait()
	if reason, ok := crlReason(w.fetchCRL(t), c6.SerialNumber); !ok || reason != int(xacme.CRLReasonKeyCompromise) {
		t.Errorf("certificate of a resumed sweep: in CRL %t, reason %d", ok, reason)
	}
	if left, err := w.st.KeyBlocksUnswept(ctx); err != nil || len(left) != 0 {
		t.Errorf("unswept blocks after the sweeps: %v, %v", left, err)
	}
}

// TestReasonUpgradeReachesTheCRL: a certificate revoked as superseded, then
// for keyCompromise with its key, is listed with keyCompromise in the CRL at
// once, though the number of entries did not change; the same request again
// is alreadyRevoked.
func TestReasonUpgradeReachesTheCRL(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	ctx := context.Background()
	leaf, key, _ := w.issue(t, c, "http-01", nil, "upgrade.applicant.com")
	if err := c.RevokeCert(ctx, nil, leaf.Raw, xacme.CRLReasonSuperseded); err != nil {
		t.Fatal(err)
	}
	if reason, ok := crlReason(w.fetchCRL(t), leaf.SerialNumber); !ok || reason != int(xacme.CRLReasonSuperseded) {
		t.Fatalf("after superseded: in CRL %t, reason %d", ok, reason)
	}
	if err := c.RevokeCert(ctx, key, leaf.Raw, xacme.CRLReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	if reason, ok := crlReason(w.fetchCRL(t), leaf.SerialNumber); !ok || reason != int(xacme.CRLReasonKeyCompromise) {
		t.Errorf("after the upgrade: in CRL %t, reason %d; want keyCompromise at once", ok, reason)
	}
	// Again (x/crypto/acme takes alreadyRevoked for success: sent raw).
	st, m := w.post(t, raw{alg: jose.ES256, key: key, jwk: true, nonce: w.nonce(t), url: w.srv.URL + "/acme/revoke-cert",
		payload: `{"certificate":"` + base64.RawURLEncoding.EncodeToString(leaf.Raw) + `","reason":1}`})
	if st != http.StatusBadRequest || m["type"] != "urn:ietf:params:acme:error:alreadyRevoked" {
		t.Errorf("the same keyCompromise again: %d %v; want 400 alreadyRevoked", st, m)
	}
	w.acmeSvc.Wait()
}

// TestProofAfterAClaim: a keyCompromise first claimed by the account (a
// reason only), then proven with the certificate's key, blocks the key:
// the proof is not answered alreadyRevoked and thrown away.
func TestProofAfterAClaim(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	ctx := context.Background()
	leaf, key, _ := w.issue(t, c, "http-01", nil, "claim.applicant.com")
	if err := c.RevokeCert(ctx, nil, leaf.Raw, xacme.CRLReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	h, _ := ca.SPKIHash(leaf.PublicKey)
	if blocked, err := w.st.KeyBlocked(ctx, h); err != nil || blocked {
		t.Fatalf("after the claim: blocked %t, %v; a claim blocks nothing", blocked, err)
	}
	st, m := w.post(t, raw{alg: jose.ES256, key: key, jwk: true, nonce: w.nonce(t), url: w.srv.URL + "/acme/revoke-cert",
		payload: `{"certificate":"` + base64.RawURLEncoding.EncodeToString(leaf.Raw) + `","reason":1}`})
	if st != http.StatusOK {
		t.Fatalf("the proof: %d %v; want 200", st, m)
	}
	if blocked, err := w.st.KeyBlocked(ctx, h); err != nil || !blocked {
		t.Fatalf("after the proof: blocked %t, %v; want the key blocked", blocked, err)
	}
	w.acmeSvc.Wait()
}

// TestRevokeThroughAuthorizations: an account that did not order a
// certificate but holds valid authorizations for all its names may revoke
// it (RFC 8555 §7.6); whatever reason it gives, the CRL says
// cessationOfOperation (the subscriber no longer controls the names), and a
// keyCompromise it claims blocks nothing: it is no claim about its own key.
func TestRevokeThroughAuthorizations(t *testing.T) {
	t.Parallel()
	w := setup(t)
	owner, holder := w.client(t), w.client(t)
	ctx := context.Background()
	leaf, _, _ := w.issue(t, owner, "http-01", nil, "moved.applicant.com")
	// The new holder of the name validates it with its own account.
	w.issue(t, holder, "http-01", nil, "moved.applicant.com")
	if err := holder.RevokeCert(ctx, nil, leaf.Raw, xacme.CRLReasonKeyCompromise); err != nil {
		t.Fatalf("revocation through authorizations: %v", err)
	}
	if reason, listed := crlReason(w.fetchCRL(t), leaf.SerialNumber); !listed || reason != int(xacme.CRLReasonCessationOfOperation) {
		t.Errorf("CRL entry: listed %v, reason %d; want cessationOfOperation (%d)", listed, reason, xacme.CRLReasonCessationOfOperation)
	}
	h, _ := ca.SPKIHash(leaf.PublicKey)
	if blocked, err := w.st.KeyBlocked(ctx, h); err != nil || blocked {
		t.Errorf("the subscriber's key: blocked %t, %v; another account's claim blocks nothing", blocked, err)
	}
	w.acmeSvc.Wait()
}

// TestRevokeAccountKeyAsJWK: a revokeCert signed by an account's key but
// carrying it in "jwk" is told to name the account in "kid" (RFC 8555
// §6.2, §7.6); a key that is neither an account's nor the certificate's is
// told so.
func TestRevokeAccountKeyAsJWK(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c, stranger := w.client(t), w.client(t)
	leaf, _, _ := w.issue(t, c, "dns-01", nil, "jwkrevoke.applicant.com")
	unregistered, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	payload := `{"certificate":"` + base64.RawURLEncoding.EncodeToString(leaf.Raw) + `"}`
	tests := []struct {
		name   string
		key    any
		detail string
	}{
		{"the owner's account key", c.Key, `names the account in "kid"`},
		{"another account's key", stranger.Key, `names the account in "kid"`},
		{"a key of no account", unregistered, "signed neither by an account nor by the certificate's key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, m := w.post(t, raw{alg: jose.ES256, key: tt.key, jwk: true, nonce: w.nonce(t), url: w.srv.URL + "/acme/revoke-cert", payload: payload})
			if st != http.StatusForbidden || m["type"] != "urn:ietf:params:acme:error:unauthorized" || !strings.Contains(fmt.Sprint(m["detail"]), tt.detail) {
				t.Fatalf("got %d %v; want 403 unauthorized saying %q", st, m, tt.detail)
			}
		})
	}
}
