package ca

import (
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"

	zrsa "github.com/zmap/zcrypto/rsa"
	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
	"github.com/zmap/zlint/v3/util"

	"github.com/dcvhq/dcv/internal/ident"
)

// LintResult is one zlint finding that blocked issuance.
type LintResult struct {
	// Lint is the zlint name, e.g. "e_missing_crl_distrib_point".
	Lint string
	// Status is zlint's label: "warn", "error" or "fatal".
	Status string
	// Details is zlint's explanation, possibly empty.
	Details string
}

// LintError is returned instead of a certificate or CRL that zlint flagged
// with at least one warning, error or fatal result. The signed object is
// discarded; nothing was issued.
type LintError struct {
	// Results are the blocking findings, sorted by lint name.
	Results []LintResult

	object string // "certificate" (if empty) or "crl"
}

// Error returns the error as one line of text.
func (e *LintError) Error() string {
	var b strings.Builder
	b.WriteString(cmp.Or(e.object, "certificate"))
	b.WriteString(" failed lint: ")
	for i, r := range e.Results {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s (%s)", r.Lint, r.Status)
		if r.Details != "" {
			b.WriteString(": ")
			b.WriteString(r.Details)
		}
	}
	return b.String()
}

// excludedLintSources are zlint sources whose lints judge profiles dcv never
// issues: code signing, S/MIME, EV, and EU qualified (ETSI) certificates.
// Everything else runs: RFC 5280 and its companions (RFC 3279, 5480, 5891,
// 6960, 6962, 8813), the CA/B Forum TLS Baseline Requirements, the Mozilla,
// Apple and Chrome root-program policies, and zlint's community lints.
// The only lints excluded by name from the per-leaf zlint run are the
// keyOnlyLints, which still run, once per signing key, when the CA is loaded,
// and the subjectKeyLints, which still run on every leaf, apart; see
// lintWaivers for the two findings that are ignored and why.
var excludedLintSources = lint.SourceList{
	lint.CABFCSBaselineRequirements,
	lint.CABFSMIMEBaselineRequirements,
	lint.CABFEVGuidelines,
	lint.EtsiEsi,
}

// keyOnlyLints are the certificate lints whose verdict depends only on the
// key that signed the certificate, never on its content: run on any two
// certificates signed by the same key, they give the same result. Running
// them once per signing key in LoadOrCreate (checkSigningKeys) proves what
// running them on every leaf would, so the per-leaf run leaves them out.
//
//   - e_cert_issued_by_compromised_emudhra_ca verifies the certificate's
//     signature against each of eight compromised eMudhra P-384 keys. That is
//     eight ECDSA P-384 verifications, about 85% of the CPU time of a whole
//     Issue call in zlint v3.7.3, and it can only ever flag the issuer's key.
//
// A lint belongs here only if it reads nothing of the certificate but its
// signature algorithm, TBS bytes and signature.
var keyOnlyLints = []string{
	"e_cert_issued_by_compromised_emudhra_ca",
}

// lintRegistry holds every lint dcv runs: it lints CRLs, and is the parent
// of the three certificate registries below. Each registry is filtered once
// per process, never per call.
var lintRegistry = sync.OnceValues(func() (lint.Registry, error) {
	return lint.GlobalRegistry().Filter(lint.FilterOptions{ExcludeSources: excludedLintSources})
})

// subjectKeyLints are the certificate lints whose verdict depends only on
// the certificate's subject public key, and that lintCertificate runs apart
// from the leaf registry so that it can answer cheaper for the common key:
//
//   - e_ecdsa_small_private_key (smallKeyLint) looks for a private scalar d
//     with d or n-d in 1..2^16 by a baby-step giant-step walk of generic
//     curve additions, about a fifth of the CPU time of an Issue call in
//     zlint v3.7.3. For a P-256 key, weakP256Key gives the same verdict with
//     one lookup in a table of those 2^16 points; a key on any other curve
//     (or of another type) goes through the lint itself.
//   - e_rsa_fermat_factorization (fermatLint) square-roots a^2 - n for a
//     hundred values of a, about 40% of the CPU time of an Issue call for
//     an RSA 2048 key in zlint v3.7.3 (more for longer keys), and
//     CheckPublicKey made the same search before it. fermatFactorable
//     gives the same verdict over the same values of a, square-rooting
//     only the few values whose residues a square can have.
var subjectKeyLints = []string{smallKeyLint, fermatLint}

// fermatLint is zlint's lint of RSA moduli that Fermat's method factors.
const fermatLint = "e_rsa_fermat_factorization"

// leafLintRegistry is lintRegistry without the keyOnlyLints and the
// subjectKeyLints: what runs through zlint on every leaf.
var leafLintRegistry = sync.OnceValues(func() (lint.Registry, error) {
	reg, err := lintRegistry()
	if err != nil {
		return nil, err
	}
	leaf, err := reg.Filter(lint.FilterOptions{ExcludeNames: slices.Concat(keyOnlyLints, subjectKeyLints)})
	if err != nil {
		return nil, err
	}
	lints := slices.Clone(leaf.CertificateLints().Lints())
	for i, l := range lints {
		if !slices.Contains(sharedLints, l.Name) {
			continue
		}
		inst := l.Lint()
		if _, ok := inst.(lint.Configurable); ok {
			return nil, fmt.Errorf("lint %s is configurable, so its value cannot be shared", l.Name)
		}
		shared := *l
		shared.Lint = func() lint.CertificateLintInterface { return inst }
		lints[i] = &shared
	}
	return leafRegistry{
		Registry: leaf,
		names:    leaf.Names(),
		lints:    certLints{CertificateLinterLookup: leaf.CertificateLints(), lints: lints},
	}, nil
})

// sharedLints are leaf lints whose constructor does real work, which zlint
// repeats for every certificate (it builds a fresh lint value per run), and
// whose value is immutable and safe for concurrent use once built. The leaf
// registry builds each of them once per process and reuses the value.
//
//   - e_dnsname_bad_character_in_label compiles a regular expression in its
//     constructor, about 3% of an Issue call in zlint v3.7.3. Its value holds
//     only the compiled *regexp.Regexp, which is safe for concurrent use.
//
// A lint belongs here only if it is not lint.Configurable (zlint writes the
// configuration into a configurable lint's value before every run;
// leafLintRegistry refuses one) and its CheckApplies and Execute never write
// to its value.
var sharedLints = []string{"e_dnsname_bad_character_in_label"}

// smallKeyLintRegistry holds only smallKeyLint: what runs on a leaf whose
// subject key is not a P-256 ECDSA key.
var smallKeyLintRegistry = sync.OnceValues(func() (lint.Registry, error) {
	reg, err := lintRegistry()
	if err != nil {
		return nil, err
	}
	return reg.Filter(lint.FilterOptions{IncludeNames: []string{smallKeyLint}})
})

// leafRegistry is a lint.Registry whose Names and certificate lint list are
// computed once.
//
// zlint calls Names on every certificate it lints, only to size its result
// map, and the registry's Names copies and sorts all ~400 lint names each
// time (about 6% of an Issue call); the names never change after filtering.
// Its CertificateLints().Lints() is the filtered list with the sharedLints
// replaced by constructors that return one prebuilt value. Callers must not
// modify the returned slices.
type leafRegistry struct {
	lint.Registry
	names []string
	lints certLints
}

// Names returns the registry's lint names, sorted, computed at construction.
func (r leafRegistry) Names() []string { return r.names }

// CertificateLints returns the lookup of the registry's certificate lints,
// whose Lints shares the values of the sharedLints.
func (r leafRegistry) CertificateLints() lint.CertificateLinterLookup { return r.lints }

// certLints is a lint.CertificateLinterLookup whose Lints returns a fixed
// list; ByName and BySource are the embedded lookup's.
type certLints struct {
	lint.CertificateLinterLookup
	lints []*lint.CertificateLint
}

// Lints returns the list fixed at construction.
func (l certLints) Lints() []*lint.CertificateLint { return l.lints }

// keyLintRegistry holds only the keyOnlyLints: what runs once per signing
// key.
var keyLintRegistry = sync.OnceValues(func() (lint.Registry, error) {
	reg, err := lintRegistry()
	if err != nil {
		return nil, err
	}
	return reg.Filter(lint.FilterOptions{IncludeNames: keyOnlyLints})
})

// lintWaivers returns the lints whose findings do not block issuance under
// cfg, each with the reason. e_dnsname_not_valid_tld and
// w_sub_cert_aia_contains_internal_names are waived for a CA of internal
// names (cfg.InternalNames), whose names and URLs are outside the public
// DNS by design. Two are waived because no certificate could satisfy
// zlint otherwise:
//
//   - w_ext_subject_key_identifier_missing_sub_cert (RFC 5280 §4.2.1.2: end
//     entity certificates SHOULD carry a subjectKeyIdentifier) contradicts
//     w_ext_subject_key_identifier_not_recommended_subscriber (BRs
//     §7.1.2.7.6: for Subscriber Certificates it is NOT RECOMMENDED); the BRs
//     are the more specific profile, so the leaf has no SKI and the BR lint
//     stays active.
//   - w_sub_cert_aia_contains_internal_names, only when every AIA URL in cfg
//     has an IP-literal host. The lint means to skip IP literals, but zlint
//     v3.7.3 calls net.ParseIP on url.URL.Host, which includes the port, so
//     "http://127.0.0.1:8080/..." is taken for a host name without a public
//     suffix. Host names (localhost, intranet names) still block issuance.
func lintWaivers(cfg Config) map[string]string {
	w := map[string]string{
		"w_ext_subject_key_identifier_missing_sub_cert": "contradicted by BRs §7.1.2.7.6",
	}
	allIP, anyURL := true, false
	for _, s := range []string{cfg.AIAIssuerURL, cfg.OCSPURL} {
		if s == "" {
			continue
		}
		anyURL = true
		u, err := url.Parse(s)
		if err != nil || net.ParseIP(u.Hostname()) == nil {
			allIP = false
		}
	}
	if anyURL && allIP {
		w["w_sub_cert_aia_contains_internal_names"] = "zlint misreads IP-literal hosts with a port"
	}
	if cfg.InternalNames {
		// Its names, and the URLs of its issuer and CRL, are internal by
		// design.
		w["e_dnsname_not_valid_tld"] = "a CA of internal names (--allow-internal-names)"
		w["w_sub_cert_aia_contains_internal_names"] = "a CA of internal names (--allow-internal-names)"
	}
	return w
}

// waiversFor returns the waivers of a leaf naming ips: c's, and, when
// every reserved one is an address c.cfg.IPs permits (loopback, private
// use), e_ext_san_contains_reserved_ip. Any other reserved address (link
// local, documentation, NAT64...) keeps the lint's refusal.
func (c *CA) waiversFor(ips []netip.Addr) map[string]string {
	t := c.cfg.IPs
	if !t.Loopback && !t.Private || len(ips) == 0 {
		return c.waivers
	}
	for _, a := range ips {
		permitted := t.Loopback && ident.IsLoopback(a) || t.Private && ident.IsPrivate(a)
		if !permitted && util.IsIANAReserved(net.IP(a.AsSlice())) {
			return c.waivers
		}
	}
	w := maps.Clone(c.waivers)
	w["e_ext_san_contains_reserved_ip"] = "a CA of private addresses (--allow-private-targets or --allow-loopback-targets), for addresses it permits"
	return w
}

// lintCertificate runs zlint on der, except the keyOnlyLints (which
// checkSigningKeys ran for the signing key), and the subjectKeyLints through
// smallKeyResult and fermatResult, and returns a *LintError if any result not in waived is
// a warning, an error or fatal.
func lintCertificate(der []byte, waived map[string]string) error {
	reg, err := leafLintRegistry()
	if err != nil {
		return fmt.Errorf("building lint registry: %w", err)
	}
	zc, err := zx509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("parsing certificate for lint: %w", err)
	}
	rs := zlint.LintCertificateEx(zc, reg)
	r, err := smallKeyResult(zc)
	if err != nil {
		return err
	}
	addResult(rs, smallKeyLint, r)
	addResult(rs, fermatLint, fermatResult(zc))
	return blocking(rs, waived, "certificate")
}

// fermatResult is the result fermatLint gives on zc, computed by
// fermatFactorable over the lint's hundred steps: not applicable unless the
// subject key is RSA, as the lint's CheckApplies says. The two differ only
// on moduli that CheckPublicKey refuses before any leaf is built: a perfect
// square (flagged here, not by zlint) and an even modulus (never flagged
// here), which has a prime factor below 752.
func fermatResult(zc *zx509.Certificate) *lint.LintResult {
	k, ok := zc.PublicKey.(*zrsa.PublicKey)
	if !ok || zc.PublicKeyAlgorithm != zx509.RSA {
		return &lint.LintResult{Status: lint.NA}
	}
	if fermatFactorable(k.N, fermatRounds) {
		return &lint.LintResult{Status: lint.Error, Details: "the subject's RSA modulus factors by Fermat's method: its two primes are too close to each other"}
	}
	return &lint.LintResult{Status: lint.Pass}
}

// smallKeyResult is the result smallKeyLint gives on zc: computed by
// weakP256Key for a P-256 ECDSA subject key, by the lint itself for any
// other key.
func smallKeyResult(zc *zx509.Certificate) (*lint.LintResult, error) {
	if pub := zcryptoECDSAKey(zc); pub != nil && pub.Curve == elliptic.P256() {
		k, neg, weak := weakP256Key(pub)
		if !weak {
			return &lint.LintResult{Status: lint.Pass}, nil
		}
		return &lint.LintResult{Status: lint.Error, Details: weakKeyDetail(k, neg)}, nil
	}
	reg, err := smallKeyLintRegistry()
	if err != nil {
		return nil, fmt.Errorf("building key lint registry: %w", err)
	}
	r := zlint.LintCertificateEx(zc, reg).Results[smallKeyLint]
	if r == nil {
		return nil, fmt.Errorf("lint %s did not run", smallKeyLint)
	}
	return r, nil
}

// weakKeyDetail explains a weakP256Key hit, for a LintResult.
func weakKeyDetail(k uint64, neg bool) string {
	if neg {
		return fmt.Sprintf("the subject's P-256 private key is n-%d (n the group order): anyone can compute it from the public key", k)
	}
	return fmt.Sprintf("the subject's P-256 private key is %d: anyone can compute it from the public key", k)
}

// zcryptoECDSAKey returns zc's subject public key if it is an ECDSA key, the
// way zlint's key lints read it.
func zcryptoECDSAKey(zc *zx509.Certificate) *ecdsa.PublicKey {
	if zc.PublicKeyAlgorithm != zx509.ECDSA {
		return nil
	}
	switch k := zc.PublicKey.(type) {
	case *zx509.AugmentedECDSA:
		return k.Pub
	case *ecdsa.PublicKey:
		return k
	}
	return nil
}

// addResult records r as the result of the lint name in rs, as zlint would
// have had the lint run in its registry.
func addResult(rs *zlint.ResultSet, name string, r *lint.LintResult) {
	rs.Results[name] = r
	switch r.Status {
	case lint.Warn:
		rs.WarningsPresent = true
	case lint.Error:
		rs.ErrorsPresent = true
	case lint.Fatal:
		rs.FatalsPresent = true
	}
}

// lintCRL is lintCertificate for a CRL.
func lintCRL(der []byte) error {
	reg, err := lintRegistry()
	if err != nil {
		return fmt.Errorf("building lint registry: %w", err)
	}
	zl, err := zx509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("parsing crl for lint: %w", err)
	}
	return blocking(zlint.LintRevocationListEx(zl, reg), nil, "crl")
}

func blocking(rs *zlint.ResultSet, waived map[string]string, object string) error {
	if !rs.WarningsPresent && !rs.ErrorsPresent && !rs.FatalsPresent {
		return nil
	}
	var out []LintResult
	for name, r := range rs.Results {
		// Most of the ~400 results pass: test the status before hashing
		// the name.
		if r.Status < lint.Warn {
			continue
		}
		if _, ok := waived[name]; ok {
			continue
		}
		out = append(out, LintResult{Lint: name, Status: r.Status.String(), Details: r.Details})
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, func(a, b LintResult) int { return cmp.Compare(a.Lint, b.Lint) })
	return &LintError{Results: out, object: object}
}

// checkSigningKeys runs the keyOnlyLints once for each key of the hierarchy
// that signs certificates: on the intermediate certificate, for the root key,
// and, for the intermediate key, on a signature it makes here over a message
// that is no X.509 object (keySignature), since the intermediate signs no
// certificate zlint has not passed. Every key-only lint must apply and pass;
// otherwise the hierarchy is refused, since every leaf it signed would fail
// the same lint.
func (c *CA) checkSigningKeys() error {
	reg, err := keyLintRegistry()
	if err != nil {
		return fmt.Errorf("ca: building key lint registry: %w", err)
	}
	root, err := zx509.ParseCertificate(c.inter.Raw)
	if err != nil {
		return fmt.Errorf("ca: checking the root key: parsing %s for lint: %w", IntermediateCertFile, err)
	}
	inter, err := c.keySignature()
	if err != nil {
		return err
	}
	for _, k := range []struct {
		name string
		zc   *zx509.Certificate
	}{
		{"root key (checked on " + IntermediateCertFile + ")", root},
		{"intermediate key (checked on a signature it made)", inter},
	} {
		if err := keyVerdict(zlint.LintCertificateEx(k.zc, reg), keyOnlyLints); err != nil {
			return fmt.Errorf("ca: checking %s: %w", k.name, err)
		}
	}
	return nil
}

// keySignatureMessage starts the message keySignature has the intermediate
// sign: ASCII text, which no DER structure (a certificate, a CRL, an OCSP
// response: each a SEQUENCE, 0x30) begins with.
const keySignatureMessage = "dcv signing-key check, not a certificate: "

// keySignature has the intermediate key sign keySignatureMessage and a
// random nonce, and returns them as what the keyOnlyLints read of a
// certificate (they read nothing but the signature algorithm, the signed
// bytes and the signature): the verdict of a certificate the key signed,
// without a certificate.
func (c *CA) keySignature() (*zx509.Certificate, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("ca: signing-key check: %w", err)
	}
	msg := fmt.Appendf(nil, "%s%x", keySignatureMessage, nonce)
	digest := sha256.Sum256(msg)
	sig, err := c.interKey.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("ca: signing-key check: %w", err)
	}
	return &zx509.Certificate{SignatureAlgorithm: zx509.ECDSAWithSHA256, RawTBSCertificate: msg, Signature: sig}, nil
}

// keyVerdict requires every lint in names to have run on rs and passed. A
// warning, error or fatal result is a *LintError (object "signing key"); a
// lint that did not run or did not apply (NA, NE) is an error too, because
// then the per-leaf run, which leaves these lints out, would be unchecked.
func keyVerdict(rs *zlint.ResultSet, names []string) error {
	var flagged []LintResult
	for _, name := range names {
		r, ok := rs.Results[name]
		switch {
		case !ok || r == nil:
			return fmt.Errorf("key lint %s did not run", name)
		case r.Status >= lint.Warn:
			flagged = append(flagged, LintResult{Lint: name, Status: r.Status.String(), Details: r.Details})
		case r.Status != lint.Pass:
			return fmt.Errorf("key lint %s did not apply (status %s)", name, r.Status)
		}
	}
	if len(flagged) > 0 {
		return &LintError{Results: flagged, object: "signing key"}
	}
	return nil
}
