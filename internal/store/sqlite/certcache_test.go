package sqlite

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/store"
)

// TestCertCache checks that the certificate ACMEOrderFinalize has just
// stored is what CertificateGetBySerial gives, from memory or from the
// database, with its order's account, in any case of its serial.
func TestCertCache(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("X", 3600))
	s, path := openTemp(t)
	z := pendingAuthz(at)
	createAuthzOrder(t, s, z)
	err := s.ACMEChallengeComplete(t.Context(), store.ACMEChallengeResult{AuthzID: "z", Type: "http-01", Status: store.ACMEStatusValid,
		At: at, AuthzExpiresAt: at.Add(24 * time.Hour), Evidence: []byte(`{"ok":true}`)}, at, at.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	issued, err := s.ACMEOrderFinalize(t.Context(), "o", "CSR", []byte("TBS"), at, func(*store.Order) (*store.Certificate, error) {
		return &store.Certificate{Serial: "4abc0123", ChainPEM: "CHAIN", SPKIHash: fakeSPKI, NotBefore: at.Add(-time.Minute),
			NotAfter: at.Add(90 * 24 * time.Hour), CreatedAt: at}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A second Store on the file has no cache: it reads the database.
	other, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	fromDB, err := other.CertificateGetBySerial(t.Context(), issued.Serial)
	if err != nil {
		t.Fatal(err)
	}
	if fromDB.AccountID != "acct" || fromDB.OrderID != "o" || fromDB.ChainPEM != "CHAIN" {
		t.Fatalf("database read %+v, want account acct, order o, chain CHAIN", fromDB)
	}
	if _, ok := s.certs.get(issued.Serial); !ok {
		t.Fatal("the certificate just stored is not cached")
	}
	for _, serial := range []string{"4abc0123", "4ABC0123"} {
		got, err := s.CertificateGetBySerial(t.Context(), serial)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, fromDB) {
			t.Errorf("CertificateGetBySerial(%q) = %+v, the database holds %+v", serial, got, fromDB)
		}
		// Callers get copies.
		got.ChainPEM = "changed"
	}
	if _, err := s.CertificateGetBySerial(t.Context(), "4abc0124"); err == nil {
		t.Error("an unknown serial was found")
	}
}
