// Package ca runs dcv's private certificate hierarchy: a root, one
// intermediate and the TLS server (subscriber) certificates the intermediate
// signs. It signs, lints every certificate with zlint before returning it,
// and produces CRLs. It keeps no state besides its key and certificate files;
// serial numbers, revocation status and issued chains are the caller's to
// store.
//
// A CA is safe for concurrent use by multiple goroutines.
package ca

import (
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/dcvhq/dcv/internal/ident"
)

// MaxValidityAt returns the longest leaf validity the package accepts for
// a certificate issued at t: what CA/B Forum Baseline Requirements §6.3.2
// (ballot SC-081) says a Subscriber Certificate issued then SHOULD NOT
// exceed, one day under its MUST NOT: 199 days from 15 March 2026, 99 days
// from 15 March 2027, 46 days from 15 March 2029; before 15 March 2026, the
// 397 days Apple's root program asked for (the BRs allowed 398). zlint
// reports a SHOULD NOT as a warning and a MUST NOT as an error, both of
// which the pre-issuance lint treats as a refusal, so a longer validity is
// refused when the CA or a profile is configured, and by Issue with a
// message that says why, rather than by the lint of every issuance.
func MaxValidityAt(t time.Time) time.Duration { return validityLimits.At(t) }

// validityLimits are the steps of MaxValidityAt.
var validityLimits = SC081Schedule(397, 199, 99, 46)

// Schedule is a limit that changes on fixed dates: its steps, oldest
// first, the first from the zero time.
type Schedule []Step

// Step is a limit of a Schedule from a date on.
type Step struct {
	From time.Time
	Max  time.Duration
}

// At returns the limit at t.
func (s Schedule) At(t time.Time) time.Duration {
	for _, l := range slices.Backward(s) {
		if !t.Before(l.From) {
			return l.Max
		}
	}
	return s[0].Max
}

// SC081Schedule returns the schedule of a limit that CA/B Forum ballot
// SC-081 shortens on 15 March 2026, 2027 and 2029: before, then from each
// date, in days.
func SC081Schedule(before, from2026, from2027, from2029 int) Schedule {
	day := 24 * time.Hour
	return Schedule{
		{time.Time{}, time.Duration(before) * day},
		{time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), time.Duration(from2026) * day},
		{time.Date(2027, 3, 15, 0, 0, 0, 0, time.UTC), time.Duration(from2027) * day},
		{time.Date(2029, 3, 15, 0, 0, 0, 0, time.UTC), time.Duration(from2029) * day},
	}
}

// Days formats a validity in days when it is a whole number of them
// ("199d"), as the duration flags take it, else as time.Duration does.
func Days(d time.Duration) string {
	if d != 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// DefaultValidity is the leaf validity used when Config.Validity is zero,
// or MaxValidityAt the time of issuance when that is shorter (46 days from
// 15 March 2029).
const DefaultValidity = 90 * 24 * time.Hour

// Names of the files a CA keeps in Config.Dir.
const (
	RootKeyFile          = "root.key"
	RootCertFile         = "root.pem"
	IntermediateKeyFile  = "intermediate.key"
	IntermediateCertFile = "intermediate.pem"
)

// Config configures LoadOrCreate. The zero value of every field but Dir is a
// documented default.
type Config struct {
	// Dir is where keys and certificates live. It is created with mode 0700
	// if missing. Required.
	Dir string
	// Validity is the default leaf validity. If zero, DefaultValidity (90
	// days), shortened to MaxValidityAt the time of each issuance when the
	// BRs allow less. Negative or more than MaxValidityAt(Now()) is an
	// error.
	Validity time.Duration
	// AIAIssuerURL, if set, is put in every leaf as the id-ad-caIssuers
	// access location (where the intermediate certificate can be fetched).
	// It must be an http:// URL (BRs §7.1.2.7.7). Although optional here,
	// the BRs require it in every subscriber certificate: without it each
	// leaf fails lint (e_sub_cert_aia_missing,
	// w_sub_cert_aia_does_not_contain_issuing_ca_url) and Issue refuses.
	AIAIssuerURL string
	// CRLURL, if set, is put in every leaf as its CRL distribution point. It
	// must be an http:// URL (BRs §7.1.2.11.2). A leaf valid for more than 7
	// days with neither CRLURL nor OCSPURL fails lint (e_missing_crl_distrib_point)
	// and is not issued.
	CRLURL string
	// OCSPURL, if set, is put in every leaf as the id-ad-ocsp access
	// location. It must be an http:// URL.
	OCSPURL string
	// Organization is the subject O of the root and the intermediate. If
	// empty, "dcv".
	Organization string
	// InternalNames waives the lints that refuse names outside the public
	// DNS (e_dnsname_not_valid_tld, w_sub_cert_aia_contains_internal_names
	// for its own URLs), for a CA that certifies an
	// organisation's internal names (ident.Policy.InternalNames). Its
	// certificates do not meet the CA/B Forum BRs and must not chain to a
	// publicly-trusted root.
	InternalNames bool
	// IPs are the reserved IP addresses this CA certifies, for an
	// organisation's private network (or a lab's loopback): the lint that
	// refuses addresses of reserved blocks (e_ext_san_contains_reserved_ip)
	// is waived for a certificate whose every such address is one IPs
	// permits (loopback, private use), and only then (ident.Policy.IPs).
	// Like InternalNames, its certificates must not chain to a
	// publicly-trusted root.
	IPs ident.Targets
	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// CA is a loaded hierarchy: a root and an intermediate with its private key.
// The root key is read and checked by LoadOrCreate but not kept in memory;
// it may be absent from the directory altogether (RootOffline): the server
// signs with the intermediate alone.
type CA struct {
	cfg     Config
	waivers map[string]string

	root         *x509.Certificate
	rootPEM      []byte
	inter        *x509.Certificate
	interPEM     []byte
	interKey     crypto.Signer
	rootOffline  bool              // the root key is not in Dir (kept offline)
	lintKey      *ecdsa.PrivateKey // signs what zlint lints before interKey signs it
	roots        *x509.CertPool
	intermediate *x509.CertPool
}

// RootOffline reports whether the root key was absent from the CA's
// directory: kept offline, as an operator does once the intermediate is
// signed.
func (c *CA) RootOffline() bool { return c.rootOffline }

// LoadOrCreate opens the hierarchy kept in cfg.Dir, or creates it if the
// directory holds none of its four files (RootKeyFile, RootCertFile,
// IntermediateKeyFile, IntermediateCertFile). A hierarchy whose root key
// alone is missing is loaded as one whose root key is kept offline.
//
// Loading checks that each key matches its certificate, that both
// certificates are CA certificates, that the root is self-signed and that the
// intermediate chains to the root at cfg.Now(); private keys must not be
// readable by group or others. Creating makes a P-256 root (10 years,
// pathlen 1) and a P-256 intermediate (5 years, pathlen 0, EKU serverAuth);
// keys are written as PKCS#8 PEM with mode 0600, certificates with mode
// 0644, each through a synced temporary file that is then linked into place,
// so an existing file is never replaced.
//
// A directory holding some but not all four files is an error naming the
// missing ones: LoadOrCreate never generates a key over a partial hierarchy.
//
// Both signing keys then go through the zlint lints whose verdict depends
// only on the signing key (today: the compromised eMudhra intermediate keys);
// a key such a lint flags is an error. Issue leaves those lints out of its
// per-leaf run, since they could only repeat this verdict.
func LoadOrCreate(cfg Config) (*CA, error) {
	if cfg.Dir == "" {
		return nil, errors.New("ca: config: Dir is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch max := MaxValidityAt(cfg.Now()); {
	case cfg.Validity < 0:
		return nil, fmt.Errorf("ca: config: negative validity %s", cfg.Validity)
	case cfg.Validity > max:
		return nil, fmt.Errorf("ca: config: validity %s exceeds the maximum of %s for a certificate issued now (CA/B Forum BRs §6.3.2)", Days(cfg.Validity), Days(max))
	}
	cfg.Organization = cmp.Or(cfg.Organization, "dcv")
	for _, u := range []struct{ name, url string }{
		{"AIAIssuerURL", cfg.AIAIssuerURL}, {"CRLURL", cfg.CRLURL}, {"OCSPURL", cfg.OCSPURL},
	} {
		if err := checkHTTPURL(u.url); err != nil {
			return nil, fmt.Errorf("ca: config: %s: %w", u.name, err)
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("ca: creating directory: %w", err)
	}

	present, missing, err := inventory(cfg.Dir)
	if err != nil {
		return nil, err
	}
	var c *CA
	switch {
	case len(missing) == 0 || rootOffline(missing):
		c, err = load(cfg, rootOffline(missing))
	case len(present) == 0:
		c, err = create(cfg)
	default:
		return nil, incomplete(cfg.Dir, missing, present, "; refusing to create keys over it, restore the missing files or empty the directory")
	}
	if err != nil {
		return nil, err
	}
	if err := c.checkSigningKeys(); err != nil {
		return nil, err
	}
	if c.lintKey, err = newLintKey(); err != nil {
		return nil, err
	}
	c.waivers = lintWaivers(cfg)
	c.roots = x509.NewCertPool()
	c.roots.AddCert(c.root)
	c.intermediate = x509.NewCertPool()
	c.intermediate.AddCert(c.inter)
	return c, nil
}

// RootPEM returns the root certificate, PEM-encoded. The caller must not
// modify the slice.
func (c *CA) RootPEM() []byte { return c.rootPEM }

// IntermediatePEM returns the intermediate certificate, PEM-encoded. The
// caller must not modify the slice.
func (c *CA) IntermediatePEM() []byte { return c.interPEM }

// IntermediateDER returns the intermediate certificate, DER-encoded (what an
// id-ad-caIssuers URL serves as application/pkix-cert, RFC 5280 §4.2.2.1).
// The caller must not modify the slice.
func (c *CA) IntermediateDER() []byte { return c.inter.Raw }

// Fingerprint returns the SHA-256 of the intermediate certificate, in
// lower-case hex: what names this CA in the database it issues into.
func (c *CA) Fingerprint() string {
	sum := sha256.Sum256(c.inter.Raw)
	return hex.EncodeToString(sum[:])
}

// Root returns the parsed root certificate. The caller must not modify it.
func (c *CA) Root() *x509.Certificate { return c.root }

// Intermediate returns the parsed intermediate certificate. The caller must
// not modify it.
func (c *CA) Intermediate() *x509.Certificate { return c.inter }

// Roots returns a new pool holding only the root, for x509.VerifyOptions.
func (c *CA) Roots() *x509.CertPool { return c.roots.Clone() }

// Intermediates returns a new pool holding only the intermediate, for
// x509.VerifyOptions.
func (c *CA) Intermediates() *x509.CertPool { return c.intermediate.Clone() }

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
