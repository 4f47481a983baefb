package acme_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"path"
	"testing"
	"time"

	xacme "golang.org/x/crypto/acme"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/store"
)

// TestFinalizeCutShortKeepsProfile: a finalize that dies after reserving the
// order and signing its certificate, but before storing it (a crash), is
// finished by the issuance sweep (order.Service.Issue). The sweep must store
// the very certificate that was signed, byte for byte, and not a second one
// with another serial, and so keep the order's profile: a "shortlived"
// order gets a 7-day certificate, not the default.
func TestFinalizeCutShortKeepsProfile(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	ctx := context.Background()
	o, err := c.AuthorizeOrder(ctx, xacme.DomainIDs("crash.applicant.com"), xacme.WithOrderIssuanceProfile("shortlived"))
	if err != nil {
		t.Fatal(err)
	}
	w.solve(t, c, o, "dns-01")
	csrDER, _ := csrFor(t, "crash.applicant.com")
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		t.Fatal(err)
	}
	csrPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))
	req := ca.IssueRequest{DNSNames: []string{"crash.applicant.com"}, PublicKey: csr.PublicKey, Validity: 7 * 24 * time.Hour}
	prep, err := w.ca.Prepare(req)
	if err != nil {
		t.Fatal(err)
	}
	id := path.Base(o.URI)
	crash := errors.New("process died after signing")
	var signed *ca.Issued
	_, err = w.st.ACMEOrderFinalize(ctx, id, csrPEM, prep.TBS, time.Now(), func(*store.Order) (*store.Certificate, error) {
		if signed, err = w.ca.Sign(prep, req); err != nil {
			t.Fatal(err)
		}
		// The sweep runs while the order is reserved: it issues.
		if err := w.orders.Issue(ctx, id); err != nil {
			t.Errorf("sweep: %v", err)
		}
		return nil, crash
	})
	if err != nil && !errors.Is(err, crash) {
		t.Fatalf("finalize: %v", err)
	}
	cert, err := w.st.CertificateGetByOrder(ctx, id)
	if err != nil {
		t.Fatalf("no certificate after the sweep: %v", err)
	}
	if cert.ChainPEM != signed.ChainPEM || cert.Serial != signed.Serial {
		t.Fatalf("the sweep stored certificate %s, not %s, the one signed before the crash", cert.Serial, signed.Serial)
	}
	blk, _ := pem.Decode([]byte(cert.ChainPEM))
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore) + time.Second; life != 7*24*time.Hour {
		t.Fatalf("the sweep issued a %v certificate for a shortlived order, want 7 days", life)
	}
}
