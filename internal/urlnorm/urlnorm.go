// Package urlnorm compares URLs as RFC 3986 §6.2.3 makes them equal.
package urlnorm

import (
	"net/url"
	"strings"
)

// Canonical returns u without its port when the port is its scheme's
// default (443 for https, 80 for http): RFC 3986 §6.2.3 makes the two the
// same URL, and clients write them either way (Ruby's acme-client drops
// the port it was given). dcv serve's public URL, and so every ACME URL it
// hands out, is canonical; a JWS url, a kid and a CAA accounturi are
// compared in canonical form. A URL
// that does not parse, or has user information, is returned as it is.
func Canonical(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User != nil || p.Port() == "" {
		return u
	}
	scheme := strings.ToLower(p.Scheme)
	if !(scheme == "https" && p.Port() == "443") && !(scheme == "http" && p.Port() == "80") {
		return u
	}
	authority := len(p.Scheme) + len("://")
	if !strings.HasPrefix(u[authority:], p.Host) {
		return u
	}
	host := p.Host[:len(p.Host)-len(p.Port())-1] // keeps an IPv6 address's brackets
	return u[:authority] + host + u[authority+len(p.Host):]
}
