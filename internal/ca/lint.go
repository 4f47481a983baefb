package ca

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"

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
// Lints are never excluded by name; see lintWaivers for the two findings
// that are ignored and why.
var excludedLintSources = lint.SourceList{
	lint.CABFCSBaselineRequirements,
	lint.CABFSMIMEBaselineRequirements,
	lint.CABFEVGuidelines,
	lint.EtsiEsi,
}

var lintRegistry = sync.OnceValues(func() (lint.Registry, error) {
	return lint.GlobalRegistry().Filter(lint.FilterOptions{ExcludeSources: excludedLintSources})
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

// lintCertificate runs zlint on der and returns a *LintError if any result
// not in waived is a warning, an error or fatal.
func lintCertificate(der []byte, waived map[string]string) error {
	reg, err := lintRegistry()
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
