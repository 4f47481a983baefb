package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// testNow is after the CA/B Forum SC-081 first milestone (2026-03-15), so the
// 200-day lints apply, and before the second (2027-03-15).
var testNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// loopbackURLs is the configuration the server derives from its default
// listen address.
func loopbackURLs(dir string) Config {
	return Config{
		Dir:          dir,
		AIAIssuerURL: "http://127.0.0.1:8080/ca/intermediate.der",
		CRLURL:       "http://127.0.0.1:8080/ca/intermediate.crl",
		Now:          fixedNow,
	}
}

func newTestCA(t *testing.T, cfg Config) *CA {
	t.Helper()
	c, err := LoadOrCreate(cfg)
	if err != nil {
		t.Fatalf("LoadOrCreate: %v", err)
	}
	return c
}

func TestLoadOrCreateCreatesAndReloads(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ca")
	c1 := newTestCA(t, loopbackURLs(dir))

	wantModes := map[string]os.FileMode{
		".":                  0o700 | os.ModeDir,
		RootKeyFile:          0o600,
		IntermediateKeyFile:  0o600,
		RootCertFile:         0o644,
		IntermediateCertFile: 0o644,
	}
	for name, want := range wantModes {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (os.ModeDir | os.ModePerm); got != want {
			t.Errorf("mode of %s = %v, want %v", name, got, want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Errorf("directory holds %d entries, want the 4 hierarchy files (temporary files left behind?)", len(entries))
	}

	root, inter := c1.Root(), c1.Intermediate()
	nameRE := regexp.MustCompile(`^dcv (Root|Intermediate) CA [0-9a-f]{4}$`)
	for _, tc := range []struct {
		name       string
		cert       *x509.Certificate
		maxPathLen int
		years      int
		eku        []x509.ExtKeyUsage
	}{
		{"root", root, 1, 10, nil},
		{"intermediate", inter, 0, 5, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
	} {
		if !nameRE.MatchString(tc.cert.Subject.CommonName) || !slices.Equal(tc.cert.Subject.Organization, []string{"dcv"}) {
			t.Errorf("%s subject = %q", tc.name, tc.cert.Subject)
		}
		if !tc.cert.IsCA || tc.cert.MaxPathLen != tc.maxPathLen || tc.cert.KeyUsage&(x509.KeyUsageCertSign|x509.KeyUsageCRLSign) != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
			t.Errorf("%s: IsCA %v, MaxPathLen %d, KeyUsage %b", tc.name, tc.cert.IsCA, tc.cert.MaxPathLen, tc.cert.KeyUsage)
		}
		if !slices.Equal(tc.cert.ExtKeyUsage, tc.eku) {
			t.Errorf("%s EKU = %v, want %v", tc.name, tc.cert.ExtKeyUsage, tc.eku)
		}
		if got := tc.cert.NotAfter.Year() - tc.cert.NotBefore.Year(); got != tc.years {
			t.Errorf("%s lasts %d years, want %d", tc.name, got, tc.years)
		}
	}

	c2 := newTestCA(t, loopbackURLs(dir))
	if !bytes.Equal(c1.RootPEM(), c2.RootPEM()) || !bytes.Equal(c1.IntermediatePEM(), c2.IntermediatePEM()) {
		t.Fatal("reload returned different certificates")
	}
	// The reloaded intermediate key signs leaves that chain to the first
	// instance's root: it is the same key.
	iss, err := c2.Issue(IssueRequest{DNSNames: []string{"example.com"}, PublicKey: testKeys().p256.Public()})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(iss.DER)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: c1.Roots(), Intermediates: c1.Intermediates(), CurrentTime: testNow, DNSName: "example.com"}); err != nil {
		t.Fatalf("leaf from reloaded CA does not verify against the original root: %v", err)
	}
}

func TestLoadOrCreateRefuses(t *testing.T) {
	t.Parallel()
	// One hierarchy, copied into a fresh directory per case.
	src := t.TempDir()
	newTestCA(t, Config{Dir: src, Now: fixedNow})
	other := t.TempDir()
	newTestCA(t, Config{Dir: other, Now: fixedNow})

	copyHierarchy := func(t *testing.T) string {
		t.Helper()
		dst := t.TempDir()
		for _, name := range hierarchyFiles {
			data, err := os.ReadFile(filepath.Join(src, name))
			if err != nil {
				t.Fatal(err)
			}
			mode := os.FileMode(0o644)
			if strings.HasSuffix(name, ".key") {
				mode = 0o600
			}
			if err := os.WriteFile(filepath.Join(dst, name), data, mode); err != nil {
				t.Fatal(err)
			}
		}
		return dst
	}

	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string) // alters a copy of a valid hierarchy
		cfg     func(dir string) Config
		want    []string // words the error must contain
	}{
		{
			name:    "no dir",
			prepare: func(*testing.T, string) {},
			cfg:     func(string) Config { return Config{} },
			want:    []string{"Dir is required"},
		},
		{
			name:    "validity above maximum",
			prepare: func(*testing.T, string) {},
			cfg: func(dir string) Config {
				return Config{Dir: dir, Validity: MaxValidityAt(testNow) + time.Second, Now: fixedNow}
			},
			want: []string{"exceeds the maximum", "199d"},
		},
		{
			name:    "https crl url",
			prepare: func(*testing.T, string) {},
			cfg:     func(dir string) Config { return Config{Dir: dir, CRLURL: "https://ca.example/crl"} },
			want:    []string{"CRLURL", "not an absolute http:// URL"},
		},
		{
			name:    "missing intermediate key",
			prepare: func(t *testing.T, dir string) { remove(t, dir, IntermediateKeyFile) },
			want:    []string{"incomplete hierarchy", "missing [intermediate.key]", "refusing"},
		},
		{
			name: "only root key left",
			prepare: func(t *testing.T, dir string) {
				remove(t, dir, RootCertFile)
				remove(t, dir, IntermediateKeyFile)
				remove(t, dir, IntermediateCertFile)
			},
			want: []string{"missing [root.pem intermediate.key intermediate.pem]"},
		},
		{
			name: "key of another hierarchy",
			prepare: func(t *testing.T, dir string) {
				data, err := os.ReadFile(filepath.Join(other, IntermediateKeyFile))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, IntermediateKeyFile), data, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"intermediate.key does not match", "intermediate.pem"},
		},
		{
			name: "intermediate of another root",
			prepare: func(t *testing.T, dir string) {
				for _, name := range []string{IntermediateKeyFile, IntermediateCertFile} {
					data, err := os.ReadFile(filepath.Join(other, name))
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			},
			want: []string{"intermediate.pem does not chain to root.pem"},
		},
		{
			name: "key readable by others",
			prepare: func(t *testing.T, dir string) {
				if err := os.Chmod(filepath.Join(dir, RootKeyFile), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"root.key", "0644", "group or others"},
		},
		{
			name: "garbage certificate",
			prepare: func(t *testing.T, dir string) {
				if err := os.WriteFile(filepath.Join(dir, RootCertFile), []byte("not pem"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"root.pem", "no \"CERTIFICATE\" PEM block"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := copyHierarchy(t)
			tc.prepare(t, dir)
			before := snapshot(t, dir)
			cfg := Config{Dir: dir, Now: fixedNow}
			if tc.cfg != nil {
				cfg = tc.cfg(dir)
			}
			_, err := LoadOrCreate(cfg)
			if err == nil {
				t.Fatal("LoadOrCreate succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if after := snapshot(t, dir); !maps.Equal(before, after) {
				t.Errorf("directory changed: before %v, after %v", keys(before), keys(after))
			}
		})
	}
}

func remove(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(data)
	}
	return m
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	k, pemBytes, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(pemBytes)
	if block == nil || block.Type != "PRIVATE KEY" || len(rest) != 0 {
		t.Fatalf("not a single PRIVATE KEY block: %q", pemBytes)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ec, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() || !ec.Equal(k) {
		t.Error("PEM does not encode the returned key")
	}
	if err := CheckPublicKey(k.Public()); err != nil {
		t.Errorf("generated key refused: %v", err)
	}
}

// TestRootKeyOffline: a hierarchy whose root key alone was moved away (kept
// offline) loads, says so, and issues leaves that chain to its root; with
// another file missing too, it is refused as incomplete.
func TestRootKeyOffline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := newTestCA(t, loopbackURLs(dir))
	if first.RootOffline() {
		t.Fatal("a hierarchy holding its root key said offline")
	}
	remove(t, dir, RootKeyFile)
	if ok, err := HasHierarchy(dir); !ok || err != nil {
		t.Fatalf("HasHierarchy without the root key = %v, %v; want a hierarchy", ok, err)
	}
	c, err := LoadOrCreate(loopbackURLs(dir))
	if err != nil {
		t.Fatalf("loading with the root key offline: %v", err)
	}
	if !c.RootOffline() || c.Fingerprint() != first.Fingerprint() {
		t.Fatalf("RootOffline %v, fingerprint %s; want true, the same CA %s", c.RootOffline(), c.Fingerprint(), first.Fingerprint())
	}
	iss, err := c.Issue(IssueRequest{DNSNames: []string{"offline.example.com"}, PublicKey: testKeys().p256.Public()})
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(iss.DER)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: c.Roots(), Intermediates: c.Intermediates(), CurrentTime: testNow, DNSName: "offline.example.com"}); err != nil {
		t.Fatalf("leaf does not chain to the root: %v", err)
	}
	remove(t, dir, IntermediateKeyFile)
	// Only what is needed is asked back, not the offline root key.
	if _, err := LoadOrCreate(loopbackURLs(dir)); err == nil || !strings.Contains(err.Error(), "missing [intermediate.key] (root.key may stay offline)") {
		t.Fatalf("without the root and intermediate keys: %v, want incomplete, naming intermediate.key alone", err)
	}
}
