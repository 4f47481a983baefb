package acme_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	xacme "golang.org/x/crypto/acme"
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
