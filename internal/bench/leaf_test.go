package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestCheckLeaf(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(names []string, pub any, ips bool) []byte {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(7),
			Subject:      pkix.Name{CommonName: "leaf"},
			NotBefore:    time.Now(), NotAfter: time.Now().Add(time.Hour),
			DNSNames: names,
			KeyUsage: x509.KeyUsageDigitalSignature,
		}
		if ips {
			tmpl.IPAddresses = append(tmpl.IPAddresses, []byte{127, 0, 0, 1})
			tmpl.EmailAddresses = []string{"a@b.test"}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, other)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	names := []string{"a.applicant.com", "b.applicant.com"}
	tests := []struct {
		name    string
		der     []byte
		wantErr string
	}{
		{name: "the names and key ordered", der: issue(names, &key.PublicKey, false)},
		{name: "names in another order, other kinds of names ignored", der: issue([]string{names[1], names[0]}, &key.PublicKey, true)},
		{name: "a name missing", der: issue(names[:1], &key.PublicKey, false), wantErr: "names [a.applicant.com], ordered"},
		{name: "a name too many", der: issue(append([]string{"c.applicant.com"}, names...), &key.PublicKey, false), wantErr: "names"},
		{name: "another key", der: issue(names, &other.PublicKey, false), wantErr: "public key is not the CSR's"},
		{name: "no subjectAltName", der: issue(nil, &key.PublicKey, false), wantErr: "no subjectAltName"},
		{name: "not a certificate", der: []byte{0x30, 0x03, 0x02, 0x01, 0x01}, wantErr: "malformed certificate"},
		{name: "trailing data", der: append(issue(names, &key.PublicKey, false), 0), wantErr: "malformed certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := checkLeaf(tt.der, &key.PublicKey, spki, names)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var we *wrongCertError
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &we) {
				t.Fatalf("checkLeaf: %v, want a wrong-certificate error with %q", err, tt.wantErr)
			}
		})
	}
}
