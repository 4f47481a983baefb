package ident

import "net/netip"

// reservedV4 lists the IPv4 special-purpose blocks (IANA IPv4 Special-Purpose
// Address Registry, RFC 6890 and successors) that a validation request must
// never reach.
var reservedV4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network", RFC 791
	netip.MustParsePrefix("10.0.0.0/8"),         // private use, RFC 1918
	netip.MustParsePrefix("100.64.0.0/10"),      // shared address space (CGN), RFC 6598
	netip.MustParsePrefix("127.0.0.0/8"),        // loopback, RFC 1122
	netip.MustParsePrefix("169.254.0.0/16"),     // link local, RFC 3927
	netip.MustParsePrefix("172.16.0.0/12"),      // private use, RFC 1918
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments, RFC 6890
	netip.MustParsePrefix("192.0.2.0/24"),       // documentation TEST-NET-1, RFC 5737
	netip.MustParsePrefix("192.88.99.0/24"),     // deprecated 6to4 relay anycast, RFC 7526
	netip.MustParsePrefix("192.168.0.0/16"),     // private use, RFC 1918
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking, RFC 2544
	netip.MustParsePrefix("198.51.100.0/24"),    // documentation TEST-NET-2, RFC 5737
	netip.MustParsePrefix("203.0.113.0/24"),     // documentation TEST-NET-3, RFC 5737
	netip.MustParsePrefix("224.0.0.0/4"),        // multicast, RFC 5771
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved, RFC 1112 (includes 255.255.255.255)
	netip.MustParsePrefix("255.255.255.255/32"), // limited broadcast, RFC 919 (listed for clarity)
}

// IPv6 blocks whose meaning depends on an embedded IPv4 address.
var (
	v4Mapped  = netip.MustParsePrefix("::ffff:0:0/96") // IPv4-mapped, RFC 4291 §2.5.5.2
	nat64WKP  = netip.MustParsePrefix("64:ff9b::/96")  // NAT64 well-known prefix, RFC 6052 §2.1
	sixToFour = netip.MustParsePrefix("2002::/16")     // 6to4, RFC 3056 §2
	globalV6  = netip.MustParsePrefix("2000::/3")      // the only block IANA allocates as global unicast
)

// reservedV6 lists IPv6 special-purpose blocks (IANA IPv6 Special-Purpose
// Address Registry). Everything outside 2000::/3 is refused as well (that
// covers ::/128, ::1/128, 100::/64, 64:ff9b:1::/48, fc00::/7, fe80::/10,
// fec0::/10, ff00::/8 and 5f00::/16), except the two IPv4-embedding blocks
// handled in IsReserved; the entries below are those inside 2000::/3.
var reservedV6 = []netip.Prefix{
	netip.MustParsePrefix("2001::/23"),     // IETF protocol assignments (Teredo, ORCHID, ...), RFC 2928
	netip.MustParsePrefix("2001:db8::/32"), // documentation, RFC 3849
	netip.MustParsePrefix("3fff::/20"),     // documentation, RFC 9637
}

// IsReserved reports whether a is in an IANA special-purpose range that a
// validation's traffic must never be sent to: private, loopback, link-local,
// shared, documentation, benchmarking, multicast and reserved blocks of IPv4
// and IPv6, and every IPv6 address outside 2000::/3 (global unicast). For
// IPv4-mapped addresses (::ffff:0:0/96), NAT64 well-known-prefix addresses
// (64:ff9b::/96) and 6to4 addresses (2002::/16) it judges the embedded IPv4
// address, since that is where a packet ends up. The zero Addr is reserved.
func IsReserved(a netip.Addr) bool {
	if !a.IsValid() {
		return true
	}
	a = a.WithZone("")
	if a.Is4() {
		for _, p := range reservedV4 {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	switch {
	case v4Mapped.Contains(a):
		return IsReserved(a.Unmap())
	case nat64WKP.Contains(a):
		b := a.As16()
		return IsReserved(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	case sixToFour.Contains(a):
		// RFC 3056 §2: 2002:V4ADDR::/48, the IPv4 address in bits 16-47.
		b := a.As16()
		return IsReserved(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	case !globalV6.Contains(a):
		return true
	}
	for _, p := range reservedV6 {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// IsLoopback reports whether a is 127.0.0.0/8 or ::1: the only
// special-purpose targets that the test knob --allow-loopback-targets
// permits (an IPv4-mapped loopback address is not one of them).
func IsLoopback(a netip.Addr) bool {
	a = a.WithZone("")
	return (a.Is4() && a.As4()[0] == 127) || a == netip.IPv6Loopback()
}

// privateRanges are the private-use blocks of an organisation's own
// network (IsPrivate).
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),     // RFC 1918
	netip.MustParsePrefix("172.16.0.0/12"),  // RFC 1918
	netip.MustParsePrefix("192.168.0.0/16"), // RFC 1918
	netip.MustParsePrefix("100.64.0.0/10"),  // shared address space, RFC 6598 (carrier NAT, overlay networks)
	netip.MustParsePrefix("fc00::/7"),       // unique local addresses, RFC 4193
}

// IsPrivate reports whether a is in a private-use block an organisation
// numbers its own network from: 10/8, 172.16/12 and 192.168/16 (RFC 1918),
// 100.64/10 (RFC 6598) and fc00::/7 (RFC 4193), an IPv4-mapped address by
// its IPv4 address. Link-local addresses (169.254/16, where clouds serve
// instance metadata, and fe80::/10) are not private ones.
func IsPrivate(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	for _, p := range privateRanges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Targets says which special-purpose addresses, beyond public ones, a
// validation's traffic may reach. The zero Targets is a public CA's: none.
type Targets struct {
	// Loopback permits 127.0.0.0/8 and ::1 (IsLoopback): a test knob
	// (--allow-loopback-targets).
	Loopback bool
	// Private permits the private-use blocks (IsPrivate), for a CA that
	// serves an organisation's own network (--allow-private-targets).
	Private bool
}

// Refused reports whether dcv must not send a validation's traffic (an
// HTTP fetch, a TLS handshake, a DNS query to a nameserver a delegation
// names) to a: it is reserved (IsReserved), and not a loopback or private
// address that t permits. Every other special-purpose address (link-local,
// multicast, documentation...) is refused whatever t says.
func (t Targets) Refused(a netip.Addr) bool {
	switch {
	case !IsReserved(a):
		return false
	case t.Loopback && IsLoopback(a):
		return false
	case t.Private && IsPrivate(a):
		return false
	}
	return true
}
