package dnsclient

import "net/netip"

// SetRefused makes r refuse to query the nameservers at the addresses
// refuse reports, in place of the special-purpose address policy, so
// that tests on loopback can tell refused servers from the others.
func SetRefused(r *Iterative, refuse func(netip.Addr) bool) { r.refuse = refuse }
