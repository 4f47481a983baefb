package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/dcvhq/dcv/internal/ident"
)

type keySet struct {
	p256, p384, p521 *ecdsa.PrivateKey
	rsa2048, rsa1024 *rsa.PrivateKey
	ed               ed25519.PrivateKey
}

// testKeys are generated once per test binary (RSA generation is slow) and
// only read afterwards.
var testKeys = sync.OnceValue(func() keySet {
	var ks keySet
	var err error
	must := func() {
		if err != nil {
			panic(err)
		}
	}
	ks.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must()
	ks.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must()
	ks.p521, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	must()
	ks.rsa2048, err = rsa.GenerateKey(rand.Reader, 2048)
	must()
	ks.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024)
	must()
	_, ks.ed, err = ed25519.GenerateKey(rand.Reader)
	must()
	return ks
})

var oidDV = asn1.ObjectIdentifier{2, 23, 140, 1, 2, 1}

func TestIssueProfileVerifiesAndLintsClean(t *testing.T) {
	t.Parallel()
	ks := testKeys()
	tests := []struct {
		name     string
		cfg      func(dir string) Config
		key      crypto.PublicKey
		names    []string
		validity time.Duration
		wantKU   x509.KeyUsage
	}{
		{
			name:   "loopback urls p256",
			cfg:    loopbackURLs,
			key:    ks.p256.Public(),
			names:  []string{"www.example.com", "example.com", "*.api.example.org"},
			wantKU: x509.KeyUsageDigitalSignature,
		},
		{
			name:   "loopback urls rsa2048",
			cfg:    loopbackURLs,
			key:    ks.rsa2048.Public(),
			names:  []string{"example.net"},
			wantKU: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		},
		{
			name: "public host urls with ocsp p384 199 days",
			cfg: func(dir string) Config {
				return Config{
					Dir:          dir,
					AIAIssuerURL: "http://ca.example.com/intermediate.der",
					CRLURL:       "http://ca.example.com/intermediate.crl",
					OCSPURL:      "http://ocsp.example.com/",
					Now:          fixedNow,
				}
			},
			key:      ks.p384.Public(),
			names:    []string{"b.example.com", "a.example.com"},
			validity: 199 * 24 * time.Hour,
			wantKU:   x509.KeyUsageDigitalSignature,
		},
		{
			name: "short-lived without crl",
			cfg: func(dir string) Config {
				return Config{Dir: dir, AIAIssuerURL: "http://127.0.0.1:8080/ca/intermediate.der", Now: fixedNow}
			},
			key:      ks.p256.Public(),
			names:    []string{"example.com"},
			validity: 7 * 24 * time.Hour,
			wantKU:   x509.KeyUsageDigitalSignature,
		},
		{
			name: "internal names, internal names on",
			cfg: func(dir string) Config {
				c := loopbackURLs(dir)
				c.InternalNames = true
				return c
			},
			key:    ks.p256.Public(),
			names:  []string{"git.corp", "*.svc.internal", "nas.home.arpa", "dc1.ad.local", "build.mycompany"},
			wantKU: x509.KeyUsageDigitalSignature,
		},
		{
			name: "internal names and urls, internal names on",
			cfg: func(dir string) Config {
				return Config{Dir: dir, AIAIssuerURL: "http://pki.corp/i.der", CRLURL: "http://pki.corp/i.crl", Now: fixedNow, InternalNames: true}
			},
			key:    ks.p256.Public(),
			names:  []string{"git.corp"},
			wantKU: x509.KeyUsageDigitalSignature,
		},
		{
			name:   "first name longer than 64 characters",
			cfg:    loopbackURLs,
			key:    ks.p256.Public(),
			names:  []string{strings.Repeat("a", 63) + "." + strings.Repeat("b", 20) + ".example.com", "example.com"},
			wantKU: x509.KeyUsageDigitalSignature,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg(t.TempDir())
			c := newTestCA(t, cfg)
			iss, err := c.Issue(IssueRequest{DNSNames: tc.names, PublicKey: tc.key, Validity: tc.validity})
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			leaf, err := x509.ParseCertificate(iss.DER)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range tc.names {
				host := strings.Replace(name, "*", "wild", 1)
				if _, err := leaf.Verify(x509.VerifyOptions{
					Roots: c.Roots(), Intermediates: c.Intermediates(), CurrentTime: testNow, DNSName: host,
				}); err != nil {
					t.Errorf("Verify(%s): %v", host, err)
				}
			}

			validity := tc.validity
			if validity == 0 {
				validity = DefaultValidity
			}
			wantNB := testNow.Add(-time.Minute)
			if !leaf.NotBefore.Equal(wantNB) || !iss.NotBefore.Equal(wantNB) {
				t.Errorf("NotBefore = %v (Issued %v), want %v", leaf.NotBefore, iss.NotBefore, wantNB)
			}
			if wantNA := wantNB.Add(validity - time.Second); !leaf.NotAfter.Equal(wantNA) || !iss.NotAfter.Equal(wantNA) {
				t.Errorf("NotAfter = %v (Issued %v), want %v", leaf.NotAfter, iss.NotAfter, wantNA)
			}
			if got := strings.ToLower(leaf.SerialNumber.Text(16)); got != iss.Serial || len(iss.Serial) != 32 {
				t.Errorf("Serial = %q, certificate has %q", iss.Serial, got)
			}
			if !slices.Equal(leaf.DNSNames, tc.names) {
				t.Errorf("DNSNames = %v, want %v (order kept)", leaf.DNSNames, tc.names)
			}
			if leaf.Subject.String() != "" {
				t.Errorf("subject = %q, want empty (BRs §7.1.2.7.1)", leaf.Subject)
			}
			if leaf.KeyUsage != tc.wantKU {
				t.Errorf("KeyUsage = %b, want %b", leaf.KeyUsage, tc.wantKU)
			}
			if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || len(leaf.UnknownExtKeyUsage) != 0 {
				t.Errorf("ExtKeyUsage = %v + %v, want serverAuth only", leaf.ExtKeyUsage, leaf.UnknownExtKeyUsage)
			}
			if !leaf.BasicConstraintsValid || leaf.IsCA {
				t.Errorf("basicConstraints valid %v, IsCA %v", leaf.BasicConstraintsValid, leaf.IsCA)
			}
			if len(leaf.SubjectKeyId) != 0 {
				t.Error("leaf has a subjectKeyIdentifier")
			}
			if !slices.Equal(leaf.AuthorityKeyId, c.Intermediate().SubjectKeyId) || len(leaf.AuthorityKeyId) == 0 {
				t.Error("authorityKeyIdentifier is not the intermediate's key id")
			}
			if !slices.EqualFunc(leaf.PolicyIdentifiers, []asn1.ObjectIdentifier{oidDV}, asn1.ObjectIdentifier.Equal) {
				t.Errorf("policies = %v, want [%v]", leaf.PolicyIdentifiers, oidDV)
			}
			for _, ext := range leaf.Extensions {
				switch {
				case ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 19}) && !ext.Critical:
					t.Error("basicConstraints not critical")
				case ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) && !ext.Critical:
					t.Error("subjectAltName not critical with an empty subject")
				}
			}
			checkURLs(t, "IssuingCertificateURL", leaf.IssuingCertificateURL, cfg.AIAIssuerURL)
			checkURLs(t, "CRLDistributionPoints", leaf.CRLDistributionPoints, cfg.CRLURL)
			checkURLs(t, "OCSPServer", leaf.OCSPServer, cfg.OCSPURL)
			if leaf.SignatureAlgorithm != x509.ECDSAWithSHA256 {
				t.Errorf("signature algorithm %v", leaf.SignatureAlgorithm)
			}

			var blocks []string
			rest := []byte(iss.ChainPEM)
			for {
				var b *pem.Block
				b, rest = pem.Decode(rest)
				if b == nil {
					break
				}
				blocks = append(blocks, string(b.Bytes))
			}
			if len(blocks) != 2 || blocks[0] != string(iss.DER) || blocks[1] != string(c.Intermediate().Raw) {
				t.Errorf("ChainPEM holds %d blocks, want leaf then intermediate", len(blocks))
			}

			// Independently of Issue's own gate, run every zlint lint (no
			// source excluded) and require no warning, error or fatal but
			// the documented waivers.
			zc, err := zx509.ParseCertificate(iss.DER)
			if err != nil {
				t.Fatal(err)
			}
			waived := lintWaivers(cfg)
			for name, r := range zlint.LintCertificate(zc).Results {
				if _, ok := waived[name]; !ok && r.Status >= lint.Warn {
					t.Errorf("zlint %s: %s %s", name, r.Status, r.Details)
				}
			}
		})
	}
}

func checkURLs(t *testing.T, field string, got []string, want string) {
	t.Helper()
	var w []string
	if want != "" {
		w = []string{want}
	}
	if !slices.Equal(got, w) {
		t.Errorf("%s = %v, want %v", field, got, w)
	}
}

func TestIssueLintRefusals(t *testing.T) {
	t.Parallel()
	ks := testKeys()
	tests := []struct {
		name     string
		cfg      func(dir string) Config
		names    []string
		validity time.Duration
		want     []string // lint names, sorted
	}{
		{
			name:  "no urls configured",
			cfg:   func(dir string) Config { return Config{Dir: dir, Now: fixedNow} },
			names: []string{"example.com"},
			want:  []string{"e_missing_crl_distrib_point", "e_sub_cert_aia_missing", "w_sub_cert_aia_does_not_contain_issuing_ca_url"},
		},
		{
			name: "crl but no caIssuers",
			cfg: func(dir string) Config {
				return Config{Dir: dir, CRLURL: "http://127.0.0.1:8080/ca/intermediate.crl", Now: fixedNow}
			},
			names: []string{"example.com"},
			want:  []string{"e_sub_cert_aia_missing", "w_sub_cert_aia_does_not_contain_issuing_ca_url"},
		},
		{
			name: "caIssuers but no crl, not short-lived",
			cfg: func(dir string) Config {
				return Config{Dir: dir, AIAIssuerURL: "http://127.0.0.1:8080/ca/i.der", Now: fixedNow}
			},
			names: []string{"example.com"},
			want:  []string{"e_missing_crl_distrib_point"},
		},
		{
			name: "internal host name in aia",
			cfg: func(dir string) Config {
				return Config{Dir: dir, AIAIssuerURL: "http://localhost:8080/ca/i.der", CRLURL: "http://localhost:8080/ca/i.crl", Now: fixedNow}
			},
			names: []string{"example.com"},
			want:  []string{"w_sub_cert_aia_contains_internal_names"},
		},
		{
			name:  "name under a reserved tld",
			cfg:   loopbackURLs,
			names: []string{"example.com", "host.invalid"},
			want:  []string{"e_dnsname_not_valid_tld"},
		},
		{
			// A CA of internal names waives the TLD lint, and that alone.
			name: "a bad character under an internal name, internal names on",
			cfg: func(dir string) Config {
				c := loopbackURLs(dir)
				c.InternalNames = true
				return c
			},
			names: []string{"host.corp", "bad!name.corp"},
			want:  []string{"e_dnsname_bad_character_in_label"},
		},
		{
			// e_dnsname_bad_character_in_label is one of the sharedLints.
			name:  "bad character in a label",
			cfg:   loopbackURLs,
			names: []string{"example.com", "bad!name.example.com"},
			want:  []string{"e_dnsname_bad_character_in_label"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newTestCA(t, tc.cfg(t.TempDir()))
			iss, err := c.Issue(IssueRequest{DNSNames: tc.names, PublicKey: ks.p256.Public(), Validity: tc.validity})
			if iss != nil {
				t.Error("Issue returned a certificate with an error")
			}
			var le *LintError
			if !errors.As(err, &le) {
				t.Fatalf("error = %v, want a *LintError", err)
			}
			var got []string
			for _, r := range le.Results {
				got = append(got, r.Lint)
				if r.Status != "warn" && r.Status != "error" && r.Status != "fatal" {
					t.Errorf("%s has status %q", r.Lint, r.Status)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("lints = %v, want %v", got, tc.want)
			}
			if msg := err.Error(); !strings.Contains(msg, "certificate failed lint: "+tc.want[0]+" (") {
				t.Errorf("message %q does not start the lint list with %s", msg, tc.want[0])
			}
		})
	}
}

// TestIssueLongestValidity checks MaxValidityAt around each milestone of
// the BRs' validity table: the longest validity it allows passes every lint
// (zlint warns past the SHOULD NOT and errs past the MUST NOT, and either
// refuses the certificate), and one second more is refused by Issue itself,
// with a message that names the maximum.
func TestIssueLongestValidity(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	tests := []struct {
		name string
		at   time.Time
		want time.Duration
	}{
		{"before 15 March 2026", time.Date(2026, 3, 14, 23, 0, 0, 0, time.UTC), 397 * day},
		{"from 15 March 2026", time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), 199 * day},
		{"today's rules", testNow, 199 * day},
		{"the last hour before 15 March 2027", time.Date(2027, 3, 14, 23, 0, 0, 0, time.UTC), 199 * day},
		{"from 15 March 2027", time.Date(2027, 3, 15, 0, 0, 0, 0, time.UTC), 99 * day},
		{"from 15 March 2029", time.Date(2029, 3, 15, 0, 0, 0, 0, time.UTC), 46 * day},
		{"later", time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC), 46 * day},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := MaxValidityAt(tt.at); got != tt.want {
				t.Fatalf("MaxValidityAt(%s) = %s, want %s", tt.at, Days(got), Days(tt.want))
			}
			cfg := loopbackURLs(t.TempDir())
			cfg.Now = func() time.Time { return tt.at }
			c := newTestCA(t, cfg)
			key := testKeys().p256.Public()
			iss, err := c.Issue(IssueRequest{DNSNames: []string{"example.com"}, PublicKey: key, Validity: tt.want})
			if err != nil {
				t.Fatalf("Issue with the longest validity, %s: %v", Days(tt.want), err)
			}
			if got := iss.NotAfter.Sub(iss.NotBefore) + time.Second; got != tt.want {
				t.Errorf("validity period %s, want %s", got, tt.want)
			}
			_, err = c.Issue(IssueRequest{DNSNames: []string{"example.com"}, PublicKey: key, Validity: tt.want + time.Second})
			if err == nil || !strings.Contains(err.Error(), "exceeds the maximum of "+Days(tt.want)) {
				t.Errorf("Issue with a validity over the maximum: %v, want it refused naming %s", err, Days(tt.want))
			}
		})
	}
}

// TestIssueIPAddresses: IP address identifiers (RFC 8738) become iPAddress
// subjectAltNames, after the DNS names, that verify and lint clean; an
// address of a reserved block fails the lints unless it is one the CA
// permits (Config.IPs: loopback, private use), and only then.
func TestIssueIPAddresses(t *testing.T) {
	t.Parallel()
	ks := testKeys()
	addrs := func(ss ...string) []netip.Addr {
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}
	tests := []struct {
		name   string
		permit ident.Targets
		dns    []string
		ips    []netip.Addr
		lint   string // the lint that refuses, if any
	}{
		{name: "public addresses only", ips: addrs("8.8.8.8", "2606:4700::1111")},
		{name: "names and an address", dns: []string{"example.com"}, ips: addrs("8.8.8.8")},
		{name: "loopback refused by lint", ips: addrs("127.0.0.1"), lint: "e_ext_san_contains_reserved_ip"},
		{name: "private refused by lint", ips: addrs("10.0.0.1"), lint: "e_ext_san_contains_reserved_ip"},
		{name: "loopback, loopback permitted", permit: ident.Targets{Loopback: true}, ips: addrs("127.0.0.1", "::1")},
		{name: "private, private permitted", permit: ident.Targets{Private: true}, dns: []string{"example.com"}, ips: addrs("10.0.0.1", "fd00::1")},
		{name: "private and public, private permitted", permit: ident.Targets{Private: true}, ips: addrs("10.0.0.1", "8.8.8.8")},
		// The waiver is for the addresses the CA permits, not for every
		// reserved block.
		{name: "loopback, private permitted", permit: ident.Targets{Private: true}, ips: addrs("127.0.0.1"), lint: "e_ext_san_contains_reserved_ip"},
		{name: "link-local beside private", permit: ident.Targets{Private: true, Loopback: true}, ips: addrs("10.0.0.1", "169.254.169.254"), lint: "e_ext_san_contains_reserved_ip"},
		{name: "nat64 with both permitted", permit: ident.Targets{Private: true, Loopback: true}, ips: addrs("64:ff9b::a00:1"), lint: "e_ext_san_contains_reserved_ip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := loopbackURLs(t.TempDir())
			cfg.IPs = tc.permit
			c := newTestCA(t, cfg)
			iss, err := c.Issue(IssueRequest{DNSNames: tc.dns, IPAddresses: tc.ips, PublicKey: ks.p256.Public()})
			if tc.lint != "" {
				var le *LintError
				if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.lint) {
					t.Fatalf("Issue = %v, want a LintError of %s", err, tc.lint)
				}
				return
			}
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			leaf, err := x509.ParseCertificate(iss.DER)
			if err != nil {
				t.Fatal(err)
			}
			if got := LeafIPs(leaf); !slices.Equal(got, tc.ips) {
				t.Errorf("IP addresses = %v, want %v", got, tc.ips)
			}
			if !slices.Equal(leaf.DNSNames, tc.dns) {
				t.Errorf("DNSNames = %v, want %v", leaf.DNSNames, tc.dns)
			}
			for _, a := range tc.ips {
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: c.Roots(), Intermediates: c.Intermediates(), CurrentTime: testNow, DNSName: a.String()}); err != nil {
					t.Errorf("Verify(%s): %v", a, err)
				}
			}
			if len(tc.dns) == 0 {
				for _, e := range leaf.Extensions {
					if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) && !e.Critical {
						t.Error("subjectAltName not critical in a certificate with an empty subject (RFC 5280 §4.2.1.6)")
					}
				}
			}
		})
	}
}

func TestIssueRefusesRequest(t *testing.T) {
	t.Parallel()
	ks := testKeys()
	c := newTestCA(t, loopbackURLs(t.TempDir()))
	many := make([]string, maxDNSNames+1)
	for i := range many {
		many[i] = "n" + big.NewInt(int64(i)).String() + ".example.com"
	}
	tests := []struct {
		name     string
		req      IssueRequest
		wantCode string // CSRError code, if the key is the problem
		want     string
	}{
		{"validity above maximum", IssueRequest{DNSNames: []string{"example.com"}, PublicKey: ks.p256.Public(), Validity: MaxValidityAt(testNow) + time.Second}, "", "exceeds the maximum of 199d"},
		{"negative validity", IssueRequest{DNSNames: []string{"example.com"}, PublicKey: ks.p256.Public(), Validity: -time.Hour}, "", "negative validity"},
		{"no names", IssueRequest{PublicKey: ks.p256.Public()}, "", "no DNS names"},
		{"empty name", IssueRequest{DNSNames: []string{"example.com", ""}, PublicKey: ks.p256.Public()}, "", "DNS name 1 is empty"},
		{"too many with addresses", IssueRequest{DNSNames: many[:99], IPAddresses: []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("8.8.4.4")}, PublicKey: ks.p256.Public()}, "", "101 names, at most 100"},
		{"mapped address", IssueRequest{IPAddresses: []netip.Addr{netip.MustParseAddr("::ffff:8.8.8.8")}, PublicKey: ks.p256.Public()}, "", "not a plain IPv4 or IPv6 address"},
		{"too many names", IssueRequest{DNSNames: many, PublicKey: ks.p256.Public()}, "", "101 names, at most 100"},
		{"rsa 1024", IssueRequest{DNSNames: []string{"example.com"}, PublicKey: ks.rsa1024.Public()}, CSRKeyTooWeak, "1024 bits"},
		{"ed25519", IssueRequest{DNSNames: []string{"example.com"}, PublicKey: ks.ed.Public()}, CSRKeyUnsupported, "ed25519 keys are not allowed"},
		{"nil key", IssueRequest{DNSNames: []string{"example.com"}}, CSRKeyUnsupported, "not recognised"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			iss, err := c.Issue(tc.req)
			if err == nil || iss != nil {
				t.Fatalf("Issue = %v, %v; want an error", iss, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			var ce *CSRError
			if tc.wantCode != "" && (!errors.As(err, &ce) || ce.Code != tc.wantCode) {
				t.Errorf("error %v is not a *CSRError with code %s", err, tc.wantCode)
			}
		})
	}
}

func TestSerialEntropy(t *testing.T) {
	t.Parallel()
	// The clock advances 1 ms and a bit per certificate, so the serials
	// must come out in issuance order.
	var mu sync.Mutex
	clock := fixedNow()
	cfg := loopbackURLs(t.TempDir())
	cfg.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(1100 * time.Microsecond)
		return clock
	}
	c := newTestCA(t, cfg)
	key := testKeys().p256.Public()
	var serials []*big.Int
	var times []time.Time
	for range 100 {
		iss, err := c.Issue(IssueRequest{DNSNames: []string{"example.com"}, PublicKey: key})
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(iss.DER)
		if err != nil {
			t.Fatal(err)
		}
		// 127 bits: top bit clear (positive), next bit set.
		if n := leaf.SerialNumber.BitLen(); n != 127 {
			t.Fatalf("serial %s has %d bits, want 127", iss.Serial, n)
		}
		if len(iss.Serial) != 32 {
			t.Fatalf("serial %q is not 32 hex digits", iss.Serial)
		}
		if n := len(serials); n > 0 && iss.Serial <= fmt.Sprintf("%032x", serials[n-1]) {
			t.Fatalf("serial %s does not sort after the previous one, %032x", iss.Serial, serials[n-1])
		}
		serials = append(serials, leaf.SerialNumber)
		mu.Lock()
		times = append(times, clock)
		mu.Unlock()
	}
	for i, v := range serials {
		// Bits 80..125 are the issuance time in milliseconds.
		ms := new(big.Int).Rsh(v, 80)
		ms.SetBit(ms, 46, 0)
		if want := times[i].UnixMilli(); ms.Int64() != want {
			t.Errorf("serial %x carries time %d ms, want %d", v, ms.Int64(), want)
		}
	}
	// The 80 random bits vary: across 100 serials every one of them should
	// have been both 0 and 1 (probability of failure about 80 * 2^-99).
	var or, and big.Int
	and.Lsh(big.NewInt(1), 127)
	and.Sub(&and, big.NewInt(1))
	for _, v := range serials {
		or.Or(&or, v)
		and.And(&and, v)
	}
	for bit := range 80 {
		if or.Bit(bit) == 0 || and.Bit(bit) == 1 {
			t.Errorf("serial bit %d never changed", bit)
		}
	}
}

func TestNewLeafSerial(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		at       time.Time
		wantTime int64 // bits 80..125
	}{
		{"epoch", time.Unix(0, 0), 0},
		{"before the epoch counts as the epoch", time.Unix(-5, 0), 0},
		{"2026", time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC).UnixMilli()},
		{"last millisecond of the 46 bits", time.UnixMilli(1<<46 - 1), 1<<46 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := newLeafSerial(tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if v.BitLen() != 127 || v.Sign() <= 0 {
				t.Fatalf("serial %x: %d bits, sign %d; want 127 bits, positive", v, v.BitLen(), v.Sign())
			}
			ms := new(big.Int).Rsh(v, 80)
			ms.SetBit(ms, 46, 0)
			if ms.Int64() != tt.wantTime {
				t.Errorf("time bits = %d, want %d", ms.Int64(), tt.wantTime)
			}
		})
	}
}

// BenchmarkCertificateFloor is the cryptography and lint that every ACME
// certificate for two names costs the server, whatever else it does: seven
// ES256 JWS verifications (newOrder, two authorizations, two challenges,
// finalize, the download; an account made once serves many certificates),
// the parse and self-signature check of the CSR, and Issue (zlint, the lint
// key's and the intermediate's signatures, the check of the latter). The
// server CPU per certificate that `dcv bench` reports cannot fall below its
// ns/op on the same machine (docs/performance.md).
func BenchmarkCertificateFloor(b *testing.B) {
	c, err := LoadOrCreate(loopbackURLs(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	names := []string{"www.example.com", "example.com"}
	account := testKeys().p256
	leaf, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: names}, leaf)
	if err != nil {
		b.Fatal(err)
	}
	// A JWS signing input of a typical size: base64url of the protected
	// header and of the payload.
	input := []byte(strings.Repeat("eyJhbGciOiJFUzI1NiIsImtpZCI6Imh0dHA6Ly8xMjcuMC4wLjE6ODA4MC9hY21lL2FjY3QvIn0", 4))
	digest := sha256.Sum256(input)
	sig, err := ecdsa.SignASN1(rand.Reader, account, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	req := IssueRequest{DNSNames: names, PublicKey: leaf.Public()}
	b.ReportAllocs()
	for b.Loop() {
		for range 7 {
			d := sha256.Sum256(input)
			if !ecdsa.VerifyASN1(&account.PublicKey, d[:], sig) {
				b.Fatal("JWS signature does not verify")
			}
		}
		parsed, err := x509.ParseCertificateRequest(csr)
		if err != nil {
			b.Fatal(err)
		}
		if err := parsed.CheckSignature(); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Issue(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssue(b *testing.B) {
	c, err := LoadOrCreate(loopbackURLs(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range []struct {
		name string
		key  crypto.PublicKey
	}{
		{"P-256", testKeys().p256.Public()},
		{"P-384", testKeys().p384.Public()},
		{"RSA-2048", testKeys().rsa2048.Public()},
	} {
		b.Run(k.name, func(b *testing.B) {
			req := IssueRequest{DNSNames: []string{"www.example.com", "example.com"}, PublicKey: k.key}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Issue(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestIssueDefaultValidity checks that the default validity (Config.Validity
// zero) is 90 days while the BRs allow it and follows their limit when it is
// shorter, so that a CA left on its defaults keeps issuing past a milestone.
func TestIssueDefaultValidity(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	tests := []struct {
		name string
		at   time.Time
		want time.Duration
	}{
		{"today", testNow, 90 * day},
		{"from 15 March 2027", time.Date(2027, 3, 15, 0, 0, 0, 0, time.UTC), 90 * day},
		{"from 15 March 2029", time.Date(2029, 3, 15, 0, 0, 0, 0, time.UTC), 46 * day},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			at := tt.at
			cfg := loopbackURLs(t.TempDir())
			cfg.Now = func() time.Time { return at }
			c := newTestCA(t, cfg)
			iss, err := c.Issue(IssueRequest{DNSNames: []string{"example.com"}, PublicKey: testKeys().p256.Public()})
			if err != nil {
				t.Fatalf("Issue with the default validity: %v", err)
			}
			if got := iss.NotAfter.Sub(iss.NotBefore) + time.Second; got != tt.want {
				t.Errorf("default validity period %s, want %s", Days(got), Days(tt.want))
			}
		})
	}
}

// TestIssueMaxValidity: IssueRequest.MaxValidity bounds the validity,
// whatever Validity says; a stored leaf longer than it is stale, built
// again.
func TestIssueMaxValidity(t *testing.T) {
	t.Parallel()
	ks := testKeys()
	c := newTestCA(t, loopbackURLs(t.TempDir()))
	req := IssueRequest{IPAddresses: []netip.Addr{netip.MustParseAddr("8.8.8.8")}, PublicKey: ks.p256.Public(), Validity: 90 * 24 * time.Hour}
	long, err := c.Prepare(req)
	if err != nil {
		t.Fatal(err)
	}
	req.MaxValidity = 6 * 24 * time.Hour
	iss, err := c.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := iss.NotAfter.Sub(iss.NotBefore) + time.Second; got != req.MaxValidity {
		t.Errorf("validity %v, want %v", got, req.MaxValidity)
	}
	if _, err := c.Sign(&Prepared{TBS: long.TBS}, req); !errors.Is(err, ErrStalePrepared) {
		t.Errorf("signing a 90-day leaf kept from before under a 6-day bound: %v, want ErrStalePrepared", err)
	}
}
