package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"slices"
	"testing"
)

func TestCSRMaker(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m, err := newCSRMaker(key)
	if err != nil {
		t.Fatal(err)
	}
	many := make([]string, MaxNames)
	for i := range many {
		many[i] = fmt.Sprintf("n%d.applicant.com", i)
	}
	tests := []struct {
		name  string
		names []string
	}{
		{name: "one name", names: []string{"a.applicant.com"}},
		{name: "two names", names: []string{"b0.applicant.com", "b1.applicant.com"}},
		{name: "wildcard", names: []string{"*.applicant.com"}},
		{name: "MaxNames names", names: many},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			der, err := m.make(tt.names)
			if err != nil {
				t.Fatal(err)
			}
			csr, err := x509.ParseCertificateRequest(der)
			if err != nil {
				t.Fatalf("ParseCertificateRequest: %v", err)
			}
			if err := csr.CheckSignature(); err != nil {
				t.Errorf("CheckSignature: %v", err)
			}
			if csr.SignatureAlgorithm != x509.ECDSAWithSHA256 {
				t.Errorf("signature algorithm %v, want ECDSAWithSHA256", csr.SignatureAlgorithm)
			}
			if !slices.Equal(csr.DNSNames, tt.names) {
				t.Errorf("DNSNames %v, want %v", csr.DNSNames, tt.names)
			}
			if !key.PublicKey.Equal(csr.PublicKey) {
				t.Error("the CSR's public key is not the maker's")
			}
			if len(csr.Subject.Names) != 0 || csr.Version != 0 {
				t.Errorf("subject %v version %d, want an empty subject and version 0", csr.Subject, csr.Version)
			}
			// One flipped bit in the signed part must break the signature.
			bad := slices.Clone(der)
			i := len(bad) - 80
			bad[i] ^= 1
			if csr, err := x509.ParseCertificateRequest(bad); err == nil && csr.CheckSignature() == nil {
				t.Error("a CSR altered in its signed part still verifies")
			}
		})
	}
}
