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

	"github.com/dcvhq/dcv/internal/store"
)

// TestFinalizeCutShortKeepsProfile: a finalize that dies after reserving the
// order (as in a crash between approval and signing) is finished by the
// issuance sweep (order.Service.Issue), which must keep the order's
// profile: a "shortlived" order gets a 7-day certificate, not the default.
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
	csrPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))
	id := path.Base(o.URI)
	crash := errors.New("process died while signing")
	_, err = w.st.ACMEOrderFinalize(ctx, id, csrPEM, time.Now(), func(*store.Order) (*store.Certificate, error) {
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
	blk, _ := pem.Decode([]byte(cert.ChainPEM))
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore) + time.Second; life != 7*24*time.Hour {
		t.Fatalf("the sweep issued a %v certificate for a shortlived order, want 7 days", life)
	}
}
