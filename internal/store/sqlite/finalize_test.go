package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/store"
)

// readyACMEOrder stores an ACME account and order "o" for one name whose
// authorization is valid at t, and returns the Store.
func readyACMEOrder(t *testing.T, t0 time.Time) *Store {
	t.Helper()
	s, _ := openTemp(t)
	ctx := context.Background()
	if err := s.ACMEAccountCreate(ctx, store.ACMEAccount{ID: "acct", KeyThumbprint: "tp", KeyJWK: []byte(`{}`), Status: "valid", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	z := store.ACMEAuthz{ID: "z", AccountID: "acct", Identifier: "a.example", Status: store.ACMEStatusPending, Token: "tok",
		ExpiresAt: t0.Add(time.Hour), CreatedAt: t0, Challenges: []store.ACMEChallenge{{Type: "http-01", Status: "pending"}}}
	o := &store.ACMEOrder{Order: store.Order{ID: "o", AccountID: "acct", Method: "acme", Status: "pending", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour),
		Authorizations: []store.Authorization{{Domain: "a.example", Method: "acme", Status: "pending", Value: "z", ExpiresAt: t0.Add(time.Hour)}}},
		Profile: "default", Authzs: []store.ACMEAuthz{z}}
	if err := s.ACMEOrderCreate(ctx, o, []store.ACMEAuthz{z}); err != nil {
		t.Fatal(err)
	}
	if err := s.ACMEChallengeStart(ctx, "z", "http-01", t0, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.ACMEChallengeFinish(ctx, store.ACMEChallengeResult{AuthzID: "z", Type: "http-01", Status: "valid", At: t0, AuthzExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return s
}

func finalizeCert(serial string) *store.Certificate {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return &store.Certificate{Serial: serial, ChainPEM: "CHAIN " + serial, SPKIHash: fakeSPKI, NotBefore: t0, NotAfter: t0.Add(time.Hour), CreatedAt: t0}
}

// TestACMEOrderFinalizeOutsideLock covers what signing outside the write
// lock must keep: a sign error leaves the order as it was; while sign runs
// the order is reserved ("approved", with its CSR), other writes proceed,
// and a reserved order is what the crash-recovery sweep (CertificateIssue)
// issues; when the sweep issues first, finalize returns that one
// certificate and stores no second one.
func TestACMEOrderFinalizeOutsideLock(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	errSign := errors.New("lint failed")
	tests := []struct {
		name string
		// sign runs as finalize's sign, with the order reserved.
		sign       func(t *testing.T, s *Store, o *store.Order) (*store.Certificate, error)
		wantErr    error
		wantStatus string
		wantSerial string
		wantCSR    string
	}{
		{
			name: "sign error undoes the reservation",
			sign: func(*testing.T, *Store, *store.Order) (*store.Certificate, error) {
				return nil, errSign
			},
			wantErr: errSign, wantStatus: "pending", wantCSR: "",
		},
		{
			name: "reserved while signing, other writes go on",
			sign: func(t *testing.T, s *Store, o *store.Order) (*store.Certificate, error) {
				if o.Status != "approved" || o.CSRPEM != "CSR" {
					t.Errorf("sign got order %s with CSR %q, want approved with CSR", o.Status, o.CSRPEM)
				}
				// A write from sign would deadlock were the lock held.
				if err := s.ACMEAccountUpdate(context.Background(), store.ACMEAccount{ID: "acct", Status: "valid"}); err != nil {
					t.Errorf("write while signing: %v", err)
				}
				_, err := s.ACMEOrderFinalize(context.Background(), "o", "CSR2", []byte("TBS"), t0, nil)
				if !errors.Is(err, store.ErrConflict) {
					t.Errorf("second finalize while signing: %v, want ErrConflict", err)
				}
				return finalizeCert("0a"), nil
			},
			wantStatus: "issued", wantSerial: "0a", wantCSR: "CSR",
		},
		{
			name: "the sweep issued meanwhile",
			sign: func(t *testing.T, s *Store, o *store.Order) (*store.Certificate, error) {
				if _, err := s.CertificateIssue(context.Background(), "o", func(*store.Order) (*store.Certificate, error) {
					return finalizeCert("0b"), nil
				}); err != nil {
					t.Errorf("sweep: %v", err)
				}
				return finalizeCert("0c"), nil
			},
			wantStatus: "issued", wantSerial: "0b", wantCSR: "CSR",
		},
		{
			// The finalize's own signing failed, but the order has its
			// certificate: that is the answer, not the failure.
			name: "the sweep issued meanwhile, then signing failed",
			sign: func(t *testing.T, s *Store, o *store.Order) (*store.Certificate, error) {
				if _, err := s.CertificateIssue(context.Background(), "o", func(*store.Order) (*store.Certificate, error) {
					return finalizeCert("0d"), nil
				}); err != nil {
					t.Errorf("sweep: %v", err)
				}
				return nil, errSign
			},
			wantStatus: "issued", wantSerial: "0d", wantCSR: "CSR",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := readyACMEOrder(t, t0)
			ctx := context.Background()
			c, err := s.ACMEOrderFinalize(ctx, "o", "CSR", []byte("TBS"), t0.Add(time.Minute), func(o *store.Order) (*store.Certificate, error) {
				return tt.sign(t, s, o)
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ACMEOrderFinalize: %v, want %v", err, tt.wantErr)
			}
			if err == nil && c.Serial != tt.wantSerial {
				t.Errorf("certificate %s, want %s", c.Serial, tt.wantSerial)
			}
			got, err := s.ACMEOrderGet(ctx, "o")
			if err != nil {
				t.Fatal(err)
			}
			if got.Order.Status != tt.wantStatus || got.CertificateSerial != tt.wantSerial || got.Order.CSRPEM != tt.wantCSR {
				t.Errorf("order %s, certificate %q, CSR %q; want %s, %q, %q", got.Order.Status, got.CertificateSerial, got.Order.CSRPEM,
					tt.wantStatus, tt.wantSerial, tt.wantCSR)
			}
			var n int
			if err := s.rd.db.QueryRow(`SELECT count(*) FROM certificates`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if want := len(tt.wantSerial) / 2; n != want {
				t.Errorf("%d certificates stored, want %d", n, want)
			}
		})
	}
}
