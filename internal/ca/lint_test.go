package ca

import (
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"testing"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
)

// TestLintRegistriesSplit checks that the per-leaf, per-signing-key and
// subject-key registries partition the full one: every key-only lint leaves
// the leaf run and runs per key, every subject-key lint leaves it and runs
// apart, and no other lint is lost.
func TestLintRegistriesSplit(t *testing.T) {
	t.Parallel()
	all, err := lintRegistry()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := leafLintRegistry()
	if err != nil {
		t.Fatal(err)
	}
	key, err := keyLintRegistry()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := key.Names(), slices.Sorted(slices.Values(keyOnlyLints)); !slices.Equal(got, want) {
		t.Errorf("key registry = %v, want %v", got, want)
	}
	for _, n := range keyOnlyLints {
		if slices.Contains(leaf.Names(), n) {
			t.Errorf("leaf registry still runs key-only lint %s", n)
		}
		if all.CertificateLints().ByName(n) == nil {
			t.Errorf("key-only lint %s is not in the full registry", n)
		}
	}
	small, err := smallKeyLintRegistry()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := small.Names(), []string{smallKeyLint}; !slices.Equal(got, want) {
		t.Errorf("small key registry = %v, want %v", got, want)
	}
	for _, n := range subjectKeyLints {
		if slices.Contains(leaf.Names(), n) {
			t.Errorf("leaf registry still runs subject-key lint %s", n)
		}
		if all.CertificateLints().ByName(n) == nil {
			t.Errorf("subject-key lint %s is not in the full registry", n)
		}
	}
	union := slices.Sorted(slices.Values(slices.Concat(leaf.Names(), key.Names(), subjectKeyLints)))
	if !slices.Equal(union, all.Names()) {
		t.Errorf("leaf ∪ key registries ∪ subject key lints have %d lints, the full registry %d", len(union), len(all.Names()))
	}
	apart := len(keyOnlyLints) + len(subjectKeyLints)
	if got := len(leaf.CertificateLints().Lints()); got != len(all.CertificateLints().Lints())-apart {
		t.Errorf("leaf registry runs %d certificate lints, want %d", got, len(all.CertificateLints().Lints())-apart)
	}
}

func TestKeyVerdict(t *testing.T) {
	t.Parallel()
	const name = "e_cert_issued_by_compromised_emudhra_ca"
	tests := []struct {
		name    string
		results map[string]*lint.LintResult
		// wantErr is empty for success, else words the error must contain.
		wantErr  []string
		wantLint bool // a *LintError
	}{
		{name: "pass", results: map[string]*lint.LintResult{name: {Status: lint.Pass}}},
		{
			name:     "flagged key",
			results:  map[string]*lint.LintResult{name: {Status: lint.Error, Details: `signed by the private key of "EM DV TLS CA - G3B"`}},
			wantErr:  []string{"signing key failed lint", name, "(error)", "EM DV TLS CA - G3B"},
			wantLint: true,
		},
		{
			name:     "warning also refuses",
			results:  map[string]*lint.LintResult{name: {Status: lint.Warn}},
			wantErr:  []string{"signing key failed lint", name, "(warn)"},
			wantLint: true,
		},
		{
			name:    "not applicable",
			results: map[string]*lint.LintResult{name: {Status: lint.NA}},
			wantErr: []string{"key lint " + name + " did not apply", "status NA"},
		},
		{
			name:    "not run",
			results: map[string]*lint.LintResult{},
			wantErr: []string{"key lint " + name + " did not run"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := keyVerdict(&zlint.ResultSet{Results: tt.results}, []string{name})
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("keyVerdict = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("keyVerdict = nil, want an error with %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var le *LintError
			if got := errors.As(err, &le); got != tt.wantLint {
				t.Errorf("errors.As(*LintError) = %v, want %v", got, tt.wantLint)
			}
		})
	}
}

// TestKeyOnlyLintsPassForOurKeys runs the key-only lints the way
// LoadOrCreate does, on the intermediate certificate (the root key) and on
// the intermediate key's signature over a message that is no certificate,
// and on a leaf, and requires each to have applied and passed (an N/A
// result would mean that the per-leaf run skips a lint nobody ran).
func TestKeyOnlyLintsPassForOurKeys(t *testing.T) {
	t.Parallel()
	c := newTestCA(t, loopbackURLs(t.TempDir()))
	sig, err := c.keySignature()
	if err != nil {
		t.Fatal(err)
	}
	// What the lints read is a signature by the intermediate key, over
	// bytes that no X.509 parser takes for a certificate.
	if err := c.inter.CheckSignature(x509.ECDSAWithSHA256, sig.RawTBSCertificate, sig.Signature); err != nil {
		t.Errorf("the key check's signature does not verify under the intermediate: %v", err)
	}
	if sig.RawTBSCertificate[0] == 0x30 {
		t.Error("the key check's message starts like a DER SEQUENCE")
	}
	if _, err := x509.ParseCertificate(append(append([]byte{}, sig.RawTBSCertificate...), sig.Signature...)); err == nil {
		t.Error("the key check's bytes parse as a certificate")
	}
	issued, err := c.Issue(IssueRequest{DNSNames: []string{"www.example.com"}, PublicKey: testKeys().p256.Public()})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := zx509.ParseCertificate(issued.DER)
	if err != nil {
		t.Fatal(err)
	}
	inter, err := zx509.ParseCertificate(c.inter.Raw)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := keyLintRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		zc   *zx509.Certificate
	}{
		{name: "intermediate certificate", zc: inter},
		{name: "intermediate key's signature", zc: sig},
		{name: "leaf", zc: leaf},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := zlint.LintCertificateEx(tt.zc, reg)
			for _, n := range keyOnlyLints {
				if r := rs.Results[n]; r == nil || r.Status != lint.Pass {
					t.Errorf("%s: %+v, want pass", n, r)
				}
			}
			if err := keyVerdict(rs, keyOnlyLints); err != nil {
				t.Errorf("keyVerdict: %v", err)
			}
		})
	}
	if err := c.checkSigningKeys(); err != nil {
		t.Errorf("checkSigningKeys: %v", err)
	}
}

// TestSharedLints checks that the leaf registry runs each of the sharedLints
// with one value built once, and that each may be shared: it is not
// configurable.
func TestSharedLints(t *testing.T) {
	t.Parallel()
	leaf, err := leafLintRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range sharedLints {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			i := slices.IndexFunc(leaf.CertificateLints().Lints(), func(l *lint.CertificateLint) bool { return l.Name == name })
			if i < 0 {
				t.Fatalf("%s is not in the leaf registry", name)
			}
			l := leaf.CertificateLints().Lints()[i]
			a, b := l.Lint(), l.Lint()
			if a != b {
				t.Errorf("%s: the leaf registry builds a new value per run", name)
			}
			if _, ok := a.(lint.Configurable); ok {
				t.Errorf("%s is configurable and must not be shared", name)
			}
		})
	}
}
