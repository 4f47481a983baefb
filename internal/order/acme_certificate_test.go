package order

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/store"
)

// certStore answers CertificateGetBySerial from certs and fails the test
// on any order read: the download's owner check is the certificate's
// AccountID alone.
type certStore struct {
	store.Store
	t     *testing.T
	certs map[string]*store.Certificate
	err   error
}

func (s *certStore) CertificateGetBySerial(_ context.Context, serial string) (*store.Certificate, error) {
	if s.err != nil {
		return nil, s.err
	}
	c, ok := s.certs[serial]
	if !ok {
		return nil, store.ErrNotFound
	}
	return c, nil
}

func (s *certStore) OrderGet(context.Context, string) (*store.Order, error) {
	s.t.Error("the certificate download read the order")
	return nil, store.ErrNotFound
}

// TestACMECertificateOwner checks that a certificate is served to the
// account of its order only, without reading the order, and that a
// certificate of another account is indistinguishable from an unknown one.
func TestACMECertificateOwner(t *testing.T) {
	t.Parallel()
	const chain = "-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n"
	certs := map[string]*store.Certificate{
		"0a": {Serial: "0a", OrderID: "ord_1", AccountID: "acme_owner", ChainPEM: chain},
	}
	tests := []struct {
		name     string
		acct     string
		serial   string
		storeErr error
		// wantType is the ACME error type, "" for success; wantDetail
		// are key words of its detail.
		wantType   string
		wantDetail string
	}{
		{name: "owner", acct: "acme_owner", serial: "0a"},
		{name: "another account", acct: "acme_other", serial: "0a", wantType: ACMENotFound, wantDetail: `certificate "0a" was not found`},
		{name: "unknown serial", acct: "acme_owner", serial: "0b", wantType: ACMENotFound, wantDetail: `certificate "0b" was not found`},
		{name: "store failure", acct: "acme_owner", serial: "0a", storeErr: errors.New("disk on fire")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := &ACME{st: &certStore{t: t, certs: certs, err: tt.storeErr}}
			got, err := a.Certificate(context.Background(), &store.ACMEAccount{ID: tt.acct}, tt.serial)
			var ae *ACMEError
			switch {
			case tt.storeErr != nil:
				if err == nil || errors.As(err, &ae) || !strings.Contains(err.Error(), "loading certificate") {
					t.Fatalf("Certificate = %q, %v; want an internal error loading the certificate", got, err)
				}
			case tt.wantType != "":
				if !errors.As(err, &ae) || ae.Type != tt.wantType || !strings.Contains(ae.Detail, tt.wantDetail) {
					t.Fatalf("Certificate = %q, %v; want %s %q", got, err, tt.wantType, tt.wantDetail)
				}
			default:
				if err != nil || got != chain {
					t.Fatalf("Certificate = %q, %v; want the chain", got, err)
				}
			}
		})
	}
}
