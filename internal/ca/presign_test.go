package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingSigner counts the signatures its key makes; with corrupt set, it
// returns a signature that does not verify.
type countingSigner struct {
	crypto.Signer
	n       atomic.Int64
	corrupt bool
}

func (s *countingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.n.Add(1)
	sig, err := s.Signer.Sign(r, digest, opts)
	if err == nil && s.corrupt {
		sig[len(sig)-1] ^= 0x01
	}
	return sig, err
}

// TestLintBeforeSigning checks that the intermediate key signs nothing that
// fails lint (leaf or CRL), signs once what passes, and that what it signs
// is the very bytes that were linted.
func TestLintBeforeSigning(t *testing.T) {
	t.Parallel()
	ks := testKeys()
	tests := []struct {
		name      string
		cfg       func(dir string) Config
		dnsNames  []string
		crl       bool
		wantLint  bool // a *LintError
		wantSigns int64
	}{
		{name: "clean leaf", cfg: loopbackURLs, dnsNames: []string{"example.com"}, wantSigns: 1},
		{name: "leaf failing lint", cfg: loopbackURLs, dnsNames: []string{"example.com", "host.invalid"}, wantLint: true},
		{name: "leaf without urls", cfg: func(dir string) Config { return Config{Dir: dir, Now: fixedNow} }, dnsNames: []string{"example.com"}, wantLint: true},
		{name: "clean crl", cfg: loopbackURLs, crl: true, wantSigns: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newTestCA(t, tc.cfg(t.TempDir()))
			cs := &countingSigner{Signer: c.interKey}
			c.interKey = cs
			var der []byte
			var err error
			if tc.crl {
				der, err = c.CRL(big.NewInt(3), nil, testNow, testNow.Add(24*time.Hour))
			} else {
				var iss *Issued
				iss, err = c.Issue(IssueRequest{DNSNames: tc.dnsNames, PublicKey: ks.p256.Public()})
				if iss != nil {
					der = iss.DER
				}
			}
			var le *LintError
			if got := errors.As(err, &le); got != tc.wantLint {
				t.Fatalf("error %v: *LintError %v, want %v", err, got, tc.wantLint)
			}
			if got := cs.n.Load(); got != tc.wantSigns {
				t.Errorf("the intermediate key signed %d times, want %d", got, tc.wantSigns)
			}
			if tc.wantLint {
				return
			}
			if tc.crl {
				crl, err := x509.ParseRevocationList(der)
				if err != nil {
					t.Fatal(err)
				}
				if err := crl.CheckSignatureFrom(c.Intermediate()); err != nil {
					t.Errorf("CRL signature: %v", err)
				}
				return
			}
			leaf, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := leaf.CheckSignatureFrom(c.Intermediate()); err != nil {
				t.Errorf("leaf signature: %v", err)
			}
		})
	}
}

// TestSignTBS checks that the object linted and the object signed carry the
// to-be-signed bytes crypto/x509 built, that only the latter verifies under
// the intermediate, and that a signature that does not verify, or a build
// that does not reach the signer, is an error.
func TestSignTBS(t *testing.T) {
	t.Parallel()
	ks := testKeys()
	c := newTestCA(t, loopbackURLs(t.TempDir()))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		NotBefore:    testNow,
		NotAfter:     testNow.Add(time.Hour),
		DNSNames:     []string{"example.com"},
	}
	tbs, err := c.captureTBS(func(s crypto.Signer) error {
		_, err := x509.CreateCertificate(rand.Reader, tmpl, c.inter, ks.p256.Public(), s)
		return err
	})
	if err != nil {
		t.Fatalf("captureTBS: %v", err)
	}
	linted, err := c.lintable(tbs)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := x509.ParseCertificate(linted)
	if err != nil {
		t.Fatalf("parsing the linted certificate: %v", err)
	}
	if !bytes.Equal(lc.RawTBSCertificate, tbs) {
		t.Error("the linted certificate's TBS differs from the captured one")
	}
	if err := lc.CheckSignatureFrom(c.Intermediate()); err == nil {
		t.Error("the linted certificate verifies under the intermediate")
	}
	if digest := sha256.Sum256(tbs); !ecdsa.VerifyASN1(&c.lintKey.PublicKey, digest[:], lc.Signature) {
		t.Error("the linted certificate is not signed by the lint key")
	}
	der, err := c.signTBS(tbs)
	if err != nil {
		t.Fatalf("signTBS: %v", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(leaf.RawTBSCertificate, tbs) {
		t.Error("the signed certificate's TBS differs from the linted one")
	}
	if leaf.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		t.Errorf("signature algorithm %v", leaf.SignatureAlgorithm)
	}
	if err := leaf.CheckSignatureFrom(c.Intermediate()); err != nil {
		t.Errorf("signature: %v", err)
	}

	if _, err := c.captureTBS(func(crypto.Signer) error { return nil }); err == nil {
		t.Error("captureTBS accepted a build that did not sign")
	}
	boom := errors.New("boom")
	if _, err := c.captureTBS(func(crypto.Signer) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("captureTBS error %v, want the build's", err)
	}

	c.interKey = &countingSigner{Signer: c.interKey, corrupt: true}
	if _, err := c.signTBS(tbs); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("corrupt signer: error %v, want does not verify", err)
	}
}
