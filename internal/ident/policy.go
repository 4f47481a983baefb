package ident

import (
	"errors"
	zlintutil "github.com/zmap/zlint/v3/util"
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// MaxNames is the most names one order may hold. It matches the 100 names
// that public CAs allow in one certificate, and bounds the validation work
// one request can cause.
const MaxNames = 100

// Validation methods ParseOrderNames knows.
const (
	MethodDNS  = "dns"
	MethodFile = "file"
)

// ParseOrderNames checks and normalises the names of one order validated by
// method ("dns" or "file"), and returns them in the order given. Beyond
// Normalize's rules it refuses an empty order, more than MaxNames names, a
// name listed twice (after normalisation), and wildcards unless method is
// "dns": a file under /.well-known/ on one host cannot prove control of every
// name under a domain (CA/B Forum BR 3.2.2.4.18 excludes wildcards).
//
// On refusal it returns a nil slice and an error: a *PolicyError when one
// thing is wrong, or, when several names are refused, the errors.Join of one
// *PolicyError per refused name, in order (errors.As finds the first).
func ParseOrderNames(names []string, method string) ([]string, error) {
	return parseOrderNames(names, method, false, Policy{})
}

// parseOrderNames is ParseOrderNames; with perIdentifier, method is not
// asked for and its rules are left to the caller (ParseOrderIdentifiers).
func parseOrderNames(names []string, method string, perIdentifier bool, p Policy) ([]string, error) {
	if perIdentifier {
		method = ""
	} else if method != MethodDNS && method != MethodFile {
		return nil, refuse(CodeUnknownMethod, "", "%s is not a validation method: use \"dns\" or \"file\"", q(method))
	}
	if len(names) == 0 {
		return nil, refuse(CodeNoNames, "", "an order must name at least one domain")
	}
	if len(names) > MaxNames {
		return nil, refuse(CodeTooManyNames, "", "an order may hold at most %d names; this one has %d", MaxNames, len(names))
	}
	out := make([]string, 0, len(names))
	seen := make(map[string]string, len(names))
	var errs []error
	for _, raw := range names {
		input := strings.TrimSpace(raw)
		var n string
		if isIPLiteral(input) || leadingZero(input) {
			// An IP address: the file method can prove control of it (CA/B
			// BR 3.2.2.5.1, at the address itself), a DNS record cannot.
			if _, err := netip.ParseAddr(strings.Trim(strings.TrimSuffix(input, "."), "[]")); err == nil && method == MethodDNS {
				errs = append(errs, refuse(CodeIPAddress, input, "%s is an IP address: it has no name to publish a TXT record under; validate it by the file method (or through ACME, as an identifier of type \"ip\")", q(input)))
				continue
			}
			a, perr := p.ParseIP(input)
			if perr != nil {
				errs = append(errs, perr)
				continue
			}
			n = a.String()
		} else {
			var err error
			if n, err = normalize(raw, p); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if IsWildcard(n) && method == MethodFile {
			errs = append(errs, refuse(CodeWildcardMethod, input, "%s is a wildcard: wildcards can be validated only with the \"dns\" method, not %s", q(input), q(method)))
			continue
		}
		if first, dup := seen[n]; dup {
			if first == input {
				errs = append(errs, refuse(CodeDuplicateName, input, "%s is listed more than once", q(input)))
			} else {
				errs = append(errs, refuse(CodeDuplicateName, input, "%s is the same name as %s, listed more than once", q(input), q(first)))
			}
			continue
		}
		seen[n] = input
		out = append(out, n)
	}
	switch len(errs) {
	case 0:
		return out, nil
	case 1:
		return nil, errs[0]
	default:
		return nil, errors.Join(errs...)
	}
}

// Policy is which names, beyond those of the public DNS, may get a
// certificate. The zero Policy is a public CA's (CA/B Forum BRs §4.2.2: no
// internal names).
type Policy struct {
	// InternalNames permits names under the domains that organisations
	// serve on their own networks (internal, corp, lan, home.arpa, local,
	// test...) and under top-level domains that IANA's root zone does not
	// hold, for a CA that serves an organisation's own network
	// (--allow-internal-names). Names no network serves (localhost,
	// invalid, example, onion, alt, arpa) stay refused.
	InternalNames bool
	// IPs are the special-purpose addresses, beyond public ones, that may
	// be IP address identifiers (ParseIP): those a validation may connect
	// to (--allow-loopback-targets, --allow-private-targets).
	IPs Targets
}

// Normalize is the package-level Normalize under p.
func (p Policy) Normalize(s string) (string, error) { return normalize(s, p) }

// NormalizeIdentifier is Normalize for a name, and ParseIP's canonical form
// for an IP address.
func (p Policy) NormalizeIdentifier(s string) (string, error) {
	if in := strings.TrimSpace(s); isIPLiteral(in) {
		a, perr := p.ParseIP(in)
		if perr != nil {
			return "", perr
		}
		return a.String(), nil
	}
	return normalize(s, p)
}

// ParseOrderIdentifiers is ParseOrderNames for an order whose identifiers
// each have their own method, which the caller checks: wildcards and IP
// addresses are both accepted here (a wildcard needs "dns", an address
// "file").
func (p Policy) ParseOrderIdentifiers(names []string) ([]string, error) {
	return parseOrderNames(names, "", true, p)
}

// ParseOrderNames is the package-level ParseOrderNames under p.
func (p Policy) ParseOrderNames(names []string, method string) ([]string, error) {
	return parseOrderNames(names, method, false, p)
}

// reserved is a domain that no one can get a certificate for, nor for any
// name under it.
type reserved struct {
	domain string
	what   string // "special-use domain", ...
	ref    string // where it is reserved
	// internal: an organisation may serve it on its own network, and an
	// internal CA certify names under it (Policy.InternalNames).
	internal bool
}

// reservedDomains are special-use and reserved names. Names are matched
// most specific first (home.arpa before arpa).
var reservedDomains = []reserved{
	// RFC 6761 §6.2-6.5: test, localhost, invalid, example.
	{"test", "special-use domain", "RFC 6761", true},
	{"localhost", "special-use domain", "RFC 6761", false},
	{"invalid", "special-use domain", "RFC 6761", false},
	{"example", "special-use domain", "RFC 6761", false},
	// example.com, .net and .org (RFC 2606 §3) are not refused: RFC 6761
	// §6.5 asks software not to treat them as special, and validation
	// proves control like for any other name (only a lab that serves
	// them can pass it).
	// RFC 6762 §3: multicast DNS.
	{"local", "special-use domain", "RFC 6762", true},
	// RFC 8375: the home network's domain.
	{"home.arpa", "special-use domain", "RFC 8375", true},
	// RFC 3172: infrastructure; RFC 6303: the locally served reverse zones
	// (in-addr.arpa, ip6.arpa) under it.
	{"arpa", "infrastructure domain", "RFC 3172, RFC 6303", false},
	// RFC 7686: Tor onion services.
	{"onion", "special-use domain", "RFC 7686", false},
	// RFC 9476: non-DNS name spaces.
	{"alt", "special-use domain", "RFC 9476", false},
	// ICANN board resolution 2024.07.29.06: reserved for private use.
	{"internal", "private-use domain", "ICANN, 2024", true},
	// RFC 6762 Appendix G: top-level names in private use, not delegated.
	{"intranet", "private-use domain", "RFC 6762 Appendix G", true},
	{"private", "private-use domain", "RFC 6762 Appendix G", true},
	{"corp", "private-use domain", "RFC 6762 Appendix G", true},
	{"home", "private-use domain", "RFC 6762 Appendix G", true},
	{"lan", "private-use domain", "RFC 6762 Appendix G", true},
}

// findReserved returns the most specific reserved domain that base is or is
// under.
func findReserved(base string) (reserved, bool) {
	var best reserved
	found := false
	for _, r := range reservedDomains {
		if base == r.domain || strings.HasSuffix(base, "."+r.domain) {
			if !found || len(r.domain) > len(best.domain) {
				best, found = r, true
			}
		}
	}
	return best, found
}

// checkPolicy applies the issuance policy p to a syntactically valid name:
// base is its normal form without "*.".
func checkPolicy(input, base string, wildcard bool, p Policy) *PolicyError {
	if r, ok := findReserved(base); ok && !(p.InternalNames && r.internal && base != r.domain) {
		if base == r.domain {
			return refuse(CodeReservedName, input, "%s is the %s %q (%s) and cannot get a certificate", q(input), r.what, r.domain, r.ref)
		}
		return refuse(CodeReservedName, input, "%s is under the %s %q (%s) and cannot get a certificate", q(input), r.what, r.domain, r.ref)
	}
	if IsPublicSuffix(base) {
		if wildcard {
			return refuse(CodePublicSuffix, input, "%s would cover every name under the public suffix %q, which belong to many different owners, and cannot get a certificate", q(input), base)
		}
		return refuse(CodePublicSuffix, input, "%s is a public suffix (names under it belong to many different owners) and cannot get a certificate", q(input))
	}
	if !strings.Contains(base, ".") {
		return refuse(CodeSingleLabel, input, "%s is a single-label name: certificates are issued only for fully qualified domain names under a registered domain", q(input))
	}
	if tld := base[strings.LastIndexByte(base, '.')+1:]; !p.InternalNames && !zlintutil.IsInTLDMap(tld) {
		// The certificate's lints refuse it (e_dnsname_not_valid_tld):
		// refused here, before anything is validated.
		return refuse(CodeUnknownTLD, input, "%s is under %q, which is not a top-level domain of the DNS (IANA's root zone) and cannot get a certificate", q(input), "."+tld)
	}
	return nil
}

// IsPublicSuffix reports whether name is listed in the Public Suffix List,
// ICANN or private section. The library applies the default rule "*" to an
// unlisted top-level domain; such a name is not counted as listed (it is
// refused as a single label instead, and may be an organisation's own
// internal domain).
func IsPublicSuffix(name string) bool {
	ps, icann := publicsuffix.PublicSuffix(name)
	return ps == name && (icann || strings.Contains(ps, "."))
}
