package ca

import (
	"crypto/x509"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestCRL(t *testing.T) {
	t.Parallel()
	c := newTestCA(t, loopbackURLs(t.TempDir()))
	revoked := []x509.RevocationListEntry{
		{SerialNumber: big.NewInt(0x4abc), RevocationTime: testNow.Add(-time.Hour), ReasonCode: 1}, // keyCompromise
		{SerialNumber: big.NewInt(0x5def), RevocationTime: testNow.Add(-2 * time.Hour)},
	}
	der, err := c.CRL(big.NewInt(7), revoked, testNow, testNow.Add(7*24*time.Hour))
	if err != nil {
		t.Fatalf("CRL: %v", err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(c.Intermediate()); err != nil {
		t.Errorf("CRL signature: %v", err)
	}
	if crl.Number.Cmp(big.NewInt(7)) != 0 || !crl.ThisUpdate.Equal(testNow) || !crl.NextUpdate.Equal(testNow.Add(7*24*time.Hour)) {
		t.Errorf("CRL number %v, thisUpdate %v, nextUpdate %v", crl.Number, crl.ThisUpdate, crl.NextUpdate)
	}
	if len(crl.RevokedCertificateEntries) != 2 ||
		crl.RevokedCertificateEntries[0].SerialNumber.Cmp(big.NewInt(0x4abc)) != 0 ||
		crl.RevokedCertificateEntries[0].ReasonCode != 1 {
		t.Errorf("entries = %+v", crl.RevokedCertificateEntries)
	}
	if crl.Issuer.String() != c.Intermediate().Subject.String() {
		t.Errorf("issuer %q, want %q", crl.Issuer, c.Intermediate().Subject)
	}

	tests := []struct {
		name       string
		number     *big.Int
		this, next time.Time
		want       string
	}{
		{"nil number", nil, testNow, testNow.Add(time.Hour), "number must be non-negative"},
		{"number too long", new(big.Int).Lsh(big.NewInt(1), 160), testNow, testNow.Add(time.Hour), "longer than 20 octets"},
		{"next before this", big.NewInt(1), testNow, testNow.Add(-time.Hour), "is not after thisUpdate"},
		{"more than ten days", big.NewInt(1), testNow, testNow.Add(10*24*time.Hour + time.Second), "more than the 240h0m0s allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.CRL(tc.number, nil, tc.this, tc.next)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CRL error = %v, want %q", err, tc.want)
			}
		})
	}
}
