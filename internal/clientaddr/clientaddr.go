// Package clientaddr tells the address of the client an HTTP request comes
// from: the TCP peer, or, when the peer is a reverse proxy the operator
// trusts (dcv serve --trusted-proxies), the address the proxies recorded in
// X-Forwarded-For. Per-client rate limits and the logs read it with From.
package clientaddr

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParsePrefixes reads a comma-separated list of CIDR prefixes
// ("10.0.0.0/8,2001:db8::/32"); a bare address stands for itself alone
// (/32, /128). Empty is none. A prefix with bits set past its length
// ("10.0.0.1/8") is refused: it names a network, and which one was meant
// is a guess.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []netip.Prefix
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("%q has an empty item", s)
		}
		if !strings.Contains(item, "/") {
			a, err := netip.ParseAddr(item)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is neither a CIDR prefix (10.0.0.0/8) nor an IP address", item)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR prefix (10.0.0.0/8, 2001:db8::/32)", item)
		}
		if m := p.Masked(); m != p {
			return nil, fmt.Errorf("%q has bits set past its length: write %s", item, m)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			// An IPv4-mapped prefix: the IPv4 prefix it maps (peers are
			// compared unmapped).
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p)
	}
	return out, nil
}

// Resolver finds a request's client address given the reverse proxies
// trusted to record it. The zero Resolver trusts none: the client is the
// TCP peer.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver trusting the proxies whose addresses are in
// trusted (ParsePrefixes).
func New(trusted []netip.Prefix) *Resolver {
	return &Resolver{trusted: trusted}
}

// isTrusted reports whether a is the address of a trusted proxy.
func (r *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve returns the client address of req: the TCP peer's address
// (req.RemoteAddr without its port); or, when the peer is a trusted proxy,
// the right-most address of X-Forwarded-For that is not itself a trusted
// proxy's. Each proxy appends the address it received the request from,
// so the entries right of that one were written by trusted proxies, and
// those left of it by whoever sent the request: never believed. An entry
// that is no IP address (nor IP:port) ends the walk, as does a header with
// nothing but trusted proxies: the peer is the client then. Empty list
// items are skipped (RFC 9110 §5.6.1).
func (r *Resolver) Resolve(req *http.Request) string {
	peer, ok := parseAddr(req.RemoteAddr)
	if !ok {
		return host(req.RemoteAddr)
	}
	if len(r.trusted) == 0 || !r.isTrusted(peer) {
		return peer.String()
	}
	values := req.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		items := strings.Split(values[i], ",")
		for j := len(items) - 1; j >= 0; j-- {
			item := strings.TrimSpace(items[j])
			if item == "" {
				continue
			}
			a, ok := parseAddr(item)
			if !ok {
				return peer.String()
			}
			if !r.isTrusted(a) {
				return a.String()
			}
		}
	}
	return peer.String()
}

// parseAddr reads an IP address, or IP:port ([IPv6]:port), without its
// zone, an IPv4-mapped IPv6 address as the IPv4 address.
func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.WithZone("").Unmap(), true
}

// host is s without its port, when it has one.
func host(s string) string {
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}

type ctxKey struct{}

// Handler returns next with every request's client address (Resolve) set
// for From. With no trusted proxy it returns next itself: From then
// answers the peer.
func (r *Resolver) Handler(next http.Handler) http.Handler {
	if r == nil || len(r.trusted) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx := context.WithValue(req.Context(), ctxKey{}, r.Resolve(req))
		next.ServeHTTP(w, req.WithContext(ctx))
	})
}

// From returns the client address of req: the one a Resolver's Handler
// set, or else the TCP peer's address (req.RemoteAddr without its port).
// Use it, never RemoteAddr, wherever a client is counted or logged.
func From(req *http.Request) string {
	if a, ok := req.Context().Value(ctxKey{}).(string); ok {
		return a
	}
	var none Resolver
	return none.Resolve(req)
}
