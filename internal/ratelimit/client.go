package ratelimit

import (
	"net"
	"net/netip"
)

// ClientPrefixV6 is the IPv6 prefix length one client is counted by. A
// single host, or a single customer of any IPv6 network, is given a /64
// (RFC 6177, RFC 7421) and picks any address in it at will: a limit per
// IPv6 address limits nothing.
const ClientPrefixV6 = 64

// ClientKey returns the key a per-client limit counts the client at
// remoteAddr by (an http.Request's RemoteAddr, "host:port", or a bare
// address): an IPv4 address itself (an IPv4-mapped IPv6 address as the
// IPv4 address), an IPv6 address its /64. Anything that is no address is
// returned as it is.
func ClientKey(remoteAddr string) string {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.WithZone("").Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(ClientPrefixV6)
	if err != nil {
		return a.String()
	}
	return p.String()
}
