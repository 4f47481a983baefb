package ident

import (
	"net"
	"net/netip"
	"strings"

	zlintutil "github.com/zmap/zlint/v3/util"
)

// IsIP reports whether an identifier dcv stores is an IP address (RFC 8738)
// rather than a DNS name. Normalize refuses every IP literal as a name, so
// the two never overlap: an identifier that parses as an address is one.
func IsIP(identifier string) bool {
	// Most names have a letter past "f" or a hyphen: answered before any
	// parse (the hot path asks this of every identifier several times). A
	// zone's name after '%' is parsed, not scanned.
	scan, _, _ := strings.Cut(identifier, "%")
	for i := 0; i < len(scan); i++ {
		switch c := scan[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == '.', c == ':':
		default:
			return false
		}
	}
	_, err := netip.ParseAddr(identifier)
	return err == nil
}

// IdentifierType is the ACME identifier type of an identifier dcv stores:
// "ip" for an IP address, "dns" for a name.
func IdentifierType(identifier string) string {
	if IsIP(identifier) {
		return "ip"
	}
	return "dns"
}

// ParseIP checks an IP address identifier (RFC 8738 §3) under p and returns
// its address. The text must be the address's one canonical form, so that
// the order's identifier is the one the client sent (RFC 8555 §7.4) and
// compares equal to what it holds: IPv4 in dotted decimal without leading
// zeros, IPv6 as RFC 5952 §4 writes it (lowercase, zeros compressed), with
// no zone, no brackets and no port. An IPv4-mapped IPv6 address is refused
// in favour of its IPv4 form. Addresses in special-purpose blocks (IsReserved)
// (IANA's registries) are refused unless p.IPs permits them (loopback,
// private use).
func (p Policy) ParseIP(s string) (netip.Addr, *PolicyError) {
	if s == "" {
		return netip.Addr{}, refuse(CodeNameEmpty, s, "an IP address identifier is empty")
	}
	if len(s) > maxIPLength {
		return netip.Addr{}, refuse(CodeInvalidIP, s, "%s is not an IP address", q(s))
	}
	in := s
	if strings.HasPrefix(in, "[") && strings.HasSuffix(in, "]") {
		in = in[1 : len(in)-1]
	}
	a, err := netip.ParseAddr(in)
	if t, ok := strings.CutSuffix(in, "."); ok && err != nil {
		if _, terr := netip.ParseAddr(t); terr == nil {
			return netip.Addr{}, refuse(CodeInvalidIP, s, "%s ends with a dot, which an IP address has none of: send %q", q(s), t)
		}
	}
	switch {
	case err != nil && leadingZero(in):
		return netip.Addr{}, refuse(CodeInvalidIP, s, "%s has a number with a leading zero, which some software reads as octal: write each number of the address without leading zeros", q(s))
	case err != nil:
		return netip.Addr{}, refuse(CodeInvalidIP, s, "%s is not an IP address: write an IPv4 address in dotted decimal (192.0.2.1) or an IPv6 address as RFC 5952 writes it (2001:db8::1), without brackets, port or zone", q(s))
	case a.Zone() != "":
		return netip.Addr{}, refuse(CodeInvalidIP, s, "%s carries a zone (%%%s), which only means something on one host: send the address without it", q(s), a.Zone())
	case a.Is4In6():
		return netip.Addr{}, refuse(CodeInvalidIP, s, "%s is an IPv4-mapped IPv6 address: send the IPv4 address %s itself", q(s), a.Unmap())
	case a.String() != s && a.Is4():
		return netip.Addr{}, refuse(CodeInvalidIP, s, "%s is not written in its canonical form: send %q, the form the certificate and the order will name", q(s), a.String())
	case a.String() != s:
		return netip.Addr{}, refuse(CodeInvalidIP, s, "%s is not written in its canonical form: send %q (RFC 5952), the form the certificate and the order will name", q(s), a.String())
	case !p.certifiable(a):
		return netip.Addr{}, refuse(CodeReservedIP, s, "%s is %s; this CA certifies %s", q(s), addrKind(a), p.certifies())
	}
	return a, nil
}

// certifies says which addresses p certifies.
func (p Policy) certifies() string {
	switch {
	case p.IPs.Private && p.IPs.Loopback:
		return "public, private-use and loopback addresses only"
	case p.IPs.Private:
		return "public and private-use addresses only"
	case p.IPs.Loopback:
		return "public and loopback addresses only"
	}
	return "public addresses only"
}

// leadingZero reports whether s looks like a dotted IPv4 address one of
// whose numbers has a leading zero ("010.0.0.1"), which netip refuses and
// inet_aton reads as octal.
func leadingZero(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	zero := false
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
		if len(p) > 1 && p[0] == '0' {
			zero = true
		}
	}
	return zero
}

// certifiable reports whether a may be certified under p: a public address,
// outside every block of IANA's special-purpose registries (as zlint's
// e_ext_san_contains_reserved_ip judges, which includes NAT64, 6to4, AS112
// and AMT blocks that IsReserved judges by where a packet ends up), or a
// loopback or private one that p.IPs permits.
func (p Policy) certifiable(a netip.Addr) bool {
	switch {
	case p.IPs.Loopback && IsLoopback(a), p.IPs.Private && IsPrivate(a):
		return true
	}
	return !IsReserved(a) && !zlintutil.IsIANAReserved(net.IP(a.AsSlice()))
}

// maxIPLength bounds the text of an IP address identifier: the longest
// IPv6 text form (45 characters, with an embedded IPv4 address) and
// brackets.
const maxIPLength = 47

// addrKind names the special-purpose block a reserved address is in.
func addrKind(a netip.Addr) string {
	switch {
	case IsLoopback(a):
		return "a loopback address (RFC 1122, RFC 4291)"
	case IsPrivate(a):
		return "a private-use address (RFC 1918, RFC 6598, RFC 4193), which only an internal CA (--allow-private-targets) certifies"
	case a.IsLinkLocalUnicast():
		return "a link-local address (RFC 3927, RFC 4291)"
	case a.IsMulticast():
		return "a multicast address"
	case a.IsUnspecified():
		return "the unspecified address"
	}
	return "in a special-purpose block (IANA's special-purpose address registries)"
}
