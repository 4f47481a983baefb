package diagnose

import "net/netip"

// specialRanges are the IANA special-purpose address ranges (RFC 6890 and
// the registries it created) a validation server must not connect to on an
// applicant's behalf, each with the catalog name of the range. More
// specific prefixes come before the prefixes that contain them.
var specialRanges = []struct {
	prefix netip.Prefix
	name   msg
}{
	{netip.MustParsePrefix("0.0.0.0/8"), rangeThisNetwork},         // RFC 791
	{netip.MustParsePrefix("10.0.0.0/8"), rangePrivate},            // RFC 1918
	{netip.MustParsePrefix("100.64.0.0/10"), rangeSharedCGN},       // RFC 6598
	{netip.MustParsePrefix("127.0.0.0/8"), rangeLoopback},          // RFC 1122
	{netip.MustParsePrefix("169.254.0.0/16"), rangeLinkLocal},      // RFC 3927
	{netip.MustParsePrefix("172.16.0.0/12"), rangePrivate},         // RFC 1918
	{netip.MustParsePrefix("192.0.0.0/24"), rangeIETF},             // RFC 6890
	{netip.MustParsePrefix("192.0.2.0/24"), rangeDocumentation},    // RFC 5737
	{netip.MustParsePrefix("192.88.99.0/24"), range6to4Relay},      // RFC 7526
	{netip.MustParsePrefix("192.168.0.0/16"), rangePrivate},        // RFC 1918
	{netip.MustParsePrefix("198.18.0.0/15"), rangeBenchmarking},    // RFC 2544
	{netip.MustParsePrefix("198.51.100.0/24"), rangeDocumentation}, // RFC 5737
	{netip.MustParsePrefix("203.0.113.0/24"), rangeDocumentation},  // RFC 5737
	{netip.MustParsePrefix("224.0.0.0/4"), rangeMulticast},         // RFC 5771
	{netip.MustParsePrefix("255.255.255.255/32"), rangeBroadcast},  // RFC 919
	{netip.MustParsePrefix("240.0.0.0/4"), rangeReserved},          // RFC 1112
	{netip.MustParsePrefix("::/128"), rangeUnspecified},            // RFC 4291
	{netip.MustParsePrefix("::1/128"), rangeLoopback},              // RFC 4291
	{netip.MustParsePrefix("64:ff9b:1::/48"), rangeNAT64Local},     // RFC 8215
	{netip.MustParsePrefix("100::/64"), rangeDiscard},              // RFC 6666
	{netip.MustParsePrefix("2001::/23"), rangeIETF},                // RFC 2928
	{netip.MustParsePrefix("2001:db8::/32"), rangeDocumentation},   // RFC 3849
	{netip.MustParsePrefix("2002::/16"), range6to4},                // RFC 3056
	{netip.MustParsePrefix("3fff::/20"), rangeDocumentation},       // RFC 9637
	{netip.MustParsePrefix("5f00::/16"), rangeSRv6},                // RFC 9602
	{netip.MustParsePrefix("fc00::/7"), rangeUniqueLocal},          // RFC 4193
	{netip.MustParsePrefix("fe80::/10"), rangeLinkLocal},           // RFC 4291
	{netip.MustParsePrefix("ff00::/8"), rangeMulticast},            // RFC 4291
}

// reservedRange returns the special-purpose range holding addr and the
// catalog name of that range. IPv4-mapped IPv6 addresses are judged as the
// IPv4 address they map.
func reservedRange(addr netip.Addr) (netip.Prefix, msg, bool) {
	addr = addr.Unmap().WithZone("")
	for _, r := range specialRanges {
		if r.prefix.Contains(addr) {
			return r.prefix, r.name, true
		}
	}
	return netip.Prefix{}, "", false
}
