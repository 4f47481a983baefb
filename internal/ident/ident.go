// Package ident parses and normalises the identifiers a client asks a
// certificate for, and applies dcv's issuance policy to them: syntax (RFC 1034
// §3.5, RFC 1123 §2.1, RFC 5890-5893 IDNA via UTS #46), wildcards, public
// suffixes, and special-use names. It does no I/O.
//
// DNS names go through Normalize and ParseOrderNames; IP addresses, which
// only ACME certifies (RFC 8738), through Policy.ParseIP.
package ident

import (
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
)

// Limits on a DNS name (RFC 1035 §2.3.4). MaxNameLength is the presentation
// form without the trailing dot: 255 octets on the wire minus the length
// octet of the first label and the root label leaves 253 characters.
const (
	MaxNameLength  = 253
	MaxLabelLength = 63
)

// maxInputLength bounds the raw input Normalize looks at, before any IDNA
// work. A Unicode name whose A-label form fits in MaxNameLength cannot be
// four times longer in UTF-8 plus generous surrounding whitespace; anything
// longer is refused as too long without further processing.
const maxInputLength = 4*MaxNameLength + 64

// aceLabelPrefix starts every A-label (RFC 5890 §2.3.2.1).
const aceLabelPrefix = "xn--"

// profile converts U-labels to A-labels: UTS #46 non-transitional processing
// (so "ß" stays "ß" and is encoded, not mapped to "ss"), with the lookup
// mappings (case, width), STD3 rules (letters, digits, hyphen only), the
// hyphen, joiner (RFC 5892 Appendix A) and Bidi (RFC 5893) checks, and
// validation of A-labels it decodes. Lengths are checked by Normalize itself
// so that they get their own codes.
var profile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.StrictDomainName(true),
	idna.ValidateLabels(true),
	idna.CheckHyphens(true),
	idna.CheckJoiners(true),
	idna.BidiRule(),
)

// Base returns name without a leading "*." (the domain a wildcard covers the
// children of); other names are returned unchanged.
func Base(name string) string { return strings.TrimPrefix(name, "*.") }

// IsWildcard reports whether name starts with the wildcard label "*.".
func IsWildcard(name string) bool { return strings.HasPrefix(name, "*.") }

// Normalize checks one requested name and returns its normal form: lowercase
// ASCII, IDNs as A-labels ("xn--..."), without a trailing dot, a wildcard kept
// as a leading "*.". A name that cannot get a certificate is refused with a
// *PolicyError, whatever the validation method; method-dependent rules
// (wildcards need DNS validation) and per-order rules are in ParseOrderNames.
//
// Normalize is idempotent: Normalize(n) == n for every n it returns.
func Normalize(s string) (string, error) { return normalize(s, Policy{}) }

func normalize(s string, p Policy) (string, error) {
	input := strings.TrimSpace(s)
	if input == "" {
		return "", refuse(CodeNameEmpty, input, "a name is empty")
	}
	if len(input) > maxInputLength {
		return "", refuse(CodeNameTooLong, input, "%s is longer than %d characters", q(input), MaxNameLength)
	}
	if isIPLiteral(input) {
		return "", refuse(CodeIPAddress, input, "%s is an IP address, not a domain name: an IP address is validated at the address itself, by the file method or through ACME (an identifier of type \"ip\", RFC 8738)", q(input))
	}

	// UTS #46 maps the ideographic and fullwidth full stops to "."; do it
	// before splitting so that such a name is cut into the same labels.
	name := dotReplacer.Replace(input)
	// One trailing dot marks a fully qualified name; drop it.
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return "", refuse(CodeNameEmpty, input, "%s is the DNS root, not a name", q(input))
	}

	labels := strings.Split(name, ".")
	wildcard := false
	if labels[0] == "*" && len(labels) > 1 {
		wildcard = true
		labels = labels[1:]
	}
	for _, l := range labels {
		if strings.Contains(l, "*") {
			if len(labels) == 1 && l == "*" && !wildcard {
				return "", refuse(CodeWildcardPosition, input, "%s is a bare wildcard: a wildcard must be followed by a domain, as in \"*.example.org\"", q(input))
			}
			return "", refuse(CodeWildcardPosition, input, "%s has a wildcard in the wrong place: \"*\" is allowed only as the whole left-most label, as in \"*.example.org\"", q(input))
		}
	}

	// First pass on the labels as given: precise codes for plain ASCII
	// mistakes before IDNA, which would report them all alike.
	ascii := true
	for _, l := range labels {
		if l == "" {
			return "", refuse(CodeLabelEmpty, input, "%s has an empty label (two dots in a row, or a leading dot)", q(input))
		}
		if !isASCII(l) {
			ascii = false
			continue
		}
		if err := checkLabel(input, strings.ToLower(l)); err != nil {
			return "", err
		}
	}

	base := strings.ToLower(strings.Join(labels, "."))
	if !ascii || hasACELabel(base) {
		// RFC 5891 §5: convert U-labels to A-labels and check them; A-labels
		// are decoded and checked too (RFC 5891 §5.4), and must come back
		// exactly as they were sent (a non-canonical encoding is refused).
		a, err := profile.ToASCII(base)
		if err != nil {
			if bad := badACELabel(base); bad != "" {
				// Name the label as sent, not as the decoder saw it.
				return "", refuse(CodeInvalidIDN, input, "%s is not a valid internationalised domain name (IDNA2008, UTS #46): its label %q is not a valid A-label (Punycode)", q(input), bad)
			}
			return "", refuse(CodeInvalidIDN, input, "%s is not a valid internationalised domain name (IDNA2008, UTS #46): %s", q(input), idnaReason(err))
		}
		a = strings.ToLower(a)
		if ascii && a != base {
			return "", refuse(CodeInvalidIDN, input, "%s has an A-label (\"xn--\") that is not in its canonical form", q(input))
		}
		base = a
		// Mapping can change the labels: check the result again.
		for _, l := range strings.Split(base, ".") {
			if l == "" {
				return "", refuse(CodeLabelEmpty, input, "%s has an empty label once converted to ASCII", q(input))
			}
			if err := checkLabel(input, l); err != nil {
				return "", err
			}
			if strings.HasPrefix(l, aceLabelPrefix) {
				u, err := profile.ToUnicode(l)
				if err != nil {
					return "", refuse(CodeInvalidIDN, input, "%s is not a valid internationalised domain name (IDNA2008, UTS #46): %s", q(input), idnaReason(err))
				}
				if r := checkIDNA2008(u); r >= 0 {
					return "", refuse(CodeInvalidIDN, input, "%s is not a valid internationalised domain name: IDNA2008 (RFC 5892) does not allow %U %q there", q(input), r, r)
				}
			}
		}
	}

	full := base
	if wildcard {
		full = "*." + base
	}
	if len(full) > MaxNameLength {
		return "", refuse(CodeNameTooLong, input, "%s is %d characters long in ASCII; a domain name may have at most %d", q(input), len(full), MaxNameLength)
	}
	if looksLikeIPv4(base) {
		return "", refuse(CodeIPAddress, input, "%s looks like an IP address (its last label is numeric, and no top-level domain is): write an IP address as four numbers in dotted decimal without leading zeros (192.0.2.1), or an IPv6 address as RFC 5952 does; a wildcard covers names, not addresses", q(input))
	}
	if err := checkPolicy(input, base, wildcard, p); err != nil {
		return "", err
	}
	return full, nil
}

// dotReplacer maps the full stops that UTS #46 §4 treats as label separators
// to ".".
var dotReplacer = strings.NewReplacer("\u3002", ".", "\uff0e", ".", "\uff61", ".")

// checkLabel checks one lowercase ASCII label: length, LDH characters
// (RFC 1034 §3.5, RFC 1123 §2.1) and hyphens (RFC 5891 §4.2.3.1: no hyphen
// at the start or end, and "--" in the third and fourth positions only in
// A-labels).
func checkLabel(input, l string) *PolicyError {
	if len(l) > MaxLabelLength {
		return refuse(CodeLabelTooLong, input, "%s has a label of %d characters (%s); a label may have at most %d", q(input), len(l), q(l), MaxLabelLength)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' {
			continue
		}
		if c == '_' {
			return refuse(CodeInvalidCharacter, input, "%s contains an underscore: only letters, digits and hyphens are allowed in a host name", q(input))
		}
		return refuse(CodeInvalidCharacter, input, "%s contains the character %q: only letters, digits and hyphens are allowed in a host name", q(input), rune(c))
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return refuse(CodeInvalidHyphen, input, "%s has a label (%s) that starts or ends with a hyphen", q(input), q(l))
	}
	if len(l) >= 4 && l[2:4] == "--" && !strings.HasPrefix(l, aceLabelPrefix) {
		return refuse(CodeInvalidHyphen, input, "%s has a label (%s) with hyphens in the third and fourth positions, which are reserved for IDNA A-labels (\"xn--\")", q(input), q(l))
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func hasACELabel(name string) bool {
	return strings.HasPrefix(name, aceLabelPrefix) || strings.Contains(name, "."+aceLabelPrefix)
}

// isIPLiteral reports whether s is an IPv4 or IPv6 address, bracketed or not,
// with or without a zone or trailing dot.
func isIPLiteral(s string) bool {
	if strings.HasPrefix(s, "[") {
		// A bracket is never part of a DNS name; only an IPv6 literal uses one.
		return strings.HasSuffix(s, "]") && isIPLiteral(s[1:len(s)-1]) || strings.Contains(s, ":")
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	if _, err := netip.ParseAddr(strings.TrimSuffix(s, ".")); err == nil {
		return true
	}
	return false
}

// LooksLikeIPv4 reports whether name, not an IP address itself, is one in a
// form some software reads as IPv4 ("127.1", "010.0.0.1", "0x7f.1"): its
// last label is numeric or hexadecimal.
func LooksLikeIPv4(name string) bool {
	return name != "" && looksLikeIPv4(strings.TrimSuffix(name, "."))
}

// looksLikeIPv4 reports whether the last label of name is all digits or a
// hexadecimal number ("0x7f"), which resolver libraries (inet_aton) read as
// part of an IPv4 address, as in "127.1" or "0x7f.1". No top-level domain is
// numeric (RFC 1123 §2.1, RFC 3696 §2).
func looksLikeIPv4(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	digits := last
	if strings.HasPrefix(last, "0x") {
		digits = last[2:]
		if digits == "" {
			return true
		}
		return strings.Trim(digits, "0123456789abcdef") == ""
	}
	return strings.Trim(digits, "0123456789") == ""
}

// Unicode returns the Unicode form (U-labels) of name, a name Normalize
// returned, for showing it to a person: "bücher.example" for
// "xn--bcher-kva.example", a wildcard's "*." kept. It returns "" when name
// has no A-label ("xn--"), so has no other form, or does not convert.
func Unicode(name string) string {
	base, wildcard := strings.CutPrefix(name, "*.")
	if !strings.HasPrefix(base, aceLabelPrefix) && !strings.Contains(base, "."+aceLabelPrefix) {
		return ""
	}
	u, err := profile.ToUnicode(base)
	if err != nil || u == base {
		return ""
	}
	if wildcard {
		u = "*." + u
	}
	return u
}

// idnaReason turns an IDNA error into a short phrase. x/net/idna's errors
// carry no exported kind, so the text is kept as the library gives it, minus
// its package prefix.
func idnaReason(err error) string {
	return strings.TrimPrefix(err.Error(), "idna: ")
}

// badACELabel returns the first "xn--" label of name that does not decode
// to a valid IDNA label on its own, or "".
func badACELabel(name string) string {
	for _, l := range strings.Split(name, ".") {
		if strings.HasPrefix(l, aceLabelPrefix) {
			if _, err := profile.ToUnicode(l); err != nil {
				return l
			}
		}
	}
	return ""
}
