package ca

import (
	"cmp"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
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
// The only lints excluded by name are the keyOnlyLints, which still run, once
// per signing key, when the CA is loaded; see lintWaivers for the two
// findings that are ignored and why.
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
// of the two certificate registries below. Each registry is filtered once
// per process, never per call.
var lintRegistry = sync.OnceValues(func() (lint.Registry, error) {
	return lint.GlobalRegistry().Filter(lint.FilterOptions{ExcludeSources: excludedLintSources})
})

// leafLintRegistry is lintRegistry without the keyOnlyLints: what runs on
// every leaf.
var leafLintRegistry = sync.OnceValues(func() (lint.Registry, error) {
	reg, err := lintRegistry()
	if err != nil {
		return nil, err
	}
	leaf, err := reg.Filter(lint.FilterOptions{ExcludeNames: keyOnlyLints})
	if err != nil {
		return nil, err
	}
	return namesOnce{Registry: leaf, names: leaf.Names()}, nil
})

// namesOnce is a lint.Registry whose Names is computed once. zlint calls
// Names on every certificate it lints, only to size its result map, and the
// registry's Names copies and sorts all ~400 lint names each time (about 6%
// of an Issue call). The names never change after filtering; callers must
// not modify the returned slice.
type namesOnce struct {
	lint.Registry
	names []string
}

// Names returns the registry's lint names, sorted, computed at construction.
func (r namesOnce) Names() []string { return r.names }

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
// cfg, each with the reason. Only two are ever waived, both because no
// certificate could satisfy zlint otherwise:
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
	return w
}

// lintCertificate runs zlint on der, except the keyOnlyLints (which
// checkSigningKeys ran for the signing key), and returns a *LintError if any
// result not in waived is a warning, an error or fatal.
func lintCertificate(der []byte, waived map[string]string) error {
	reg, err := leafLintRegistry()
	if err != nil {
		return fmt.Errorf("building lint registry: %w", err)
	}
	zc, err := zx509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("parsing certificate for lint: %w", err)
	}
	return blocking(zlint.LintCertificateEx(zc, reg), waived, "certificate")
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
		if _, ok := waived[name]; ok {
			continue
		}
		if r.Status >= lint.Warn {
			out = append(out, LintResult{Lint: name, Status: r.Status.String(), Details: r.Details})
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, func(a, b LintResult) int { return cmp.Compare(a.Lint, b.Lint) })
	return &LintError{Results: out, object: object}
}

// checkSigningKeys runs the keyOnlyLints once for each key of the hierarchy
// that signs certificates: on the intermediate certificate, for the root key,
// and on a probe certificate that the intermediate key signs here and that is
// then discarded (never returned, stored or logged), for the intermediate key.
// Every key-only lint must apply and pass; otherwise the hierarchy is refused,
// since every leaf it signed would fail the same lint.
func (c *CA) checkSigningKeys() error {
	reg, err := keyLintRegistry()
	if err != nil {
		return fmt.Errorf("ca: building key lint registry: %w", err)
	}
	probe, err := c.signProbe()
	if err != nil {
		return err
	}
	for _, k := range []struct {
		name string
		der  []byte
	}{
		{"root key (checked on " + IntermediateCertFile + ")", c.inter.Raw},
		{"intermediate key (checked on a probe certificate)", probe},
	} {
		zc, err := zx509.ParseCertificate(k.der)
		if err != nil {
			return fmt.Errorf("ca: checking %s: parsing for lint: %w", k.name, err)
		}
		if err := keyVerdict(zlint.LintCertificateEx(zc, reg), keyOnlyLints); err != nil {
			return fmt.Errorf("ca: checking %s: %w", k.name, err)
		}
	}
	return nil
}

// probeValidity is the validity written in the probe certificate; the
// key-only lints do not read it, and the probe never leaves the process.
const probeValidity = time.Hour

// signProbe returns a throwaway certificate signed by the intermediate key
// with the leaves' signature algorithm, for checkSigningKeys.
func (c *CA) signProbe() ([]byte, error) {
	now := c.cfg.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:       big.NewInt(1),
		Subject:            pkix.Name{CommonName: "dcv signing-key probe"},
		NotBefore:          now,
		NotAfter:           now.Add(probeValidity),
		SignatureAlgorithm: x509.ECDSAWithSHA256,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.inter, c.inter.PublicKey, c.interKey)
	if err != nil {
		return nil, fmt.Errorf("ca: signing key probe: %w", err)
	}
	return der, nil
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
