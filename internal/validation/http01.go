package validation

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/netip"

	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// ACME (RFC 8555 §8, RFC 8737) validation methods. An ACME request carries
// the challenge token in Request.Token and the key authorization
// ("token.thumbprint", RFC 8555 §8.1) in Request.Value.
const (
	// MethodHTTP01 is RFC 8555 §8.3: the key authorization served at
	// http://<domain>/.well-known/acme-challenge/<token>.
	MethodHTTP01 Method = "http-01"
	// MethodDNS01 is RFC 8555 §8.4: a TXT record at _acme-challenge.<domain>
	// holding the base64url SHA-256 digest of the key authorization.
	MethodDNS01 Method = "dns-01"
	// MethodTLSALPN01 is RFC 8737: a certificate for the domain, with the
	// acmeIdentifier extension, served on port 443 under ALPN "acme-tls/1".
	MethodTLSALPN01 Method = "tls-alpn-01"
)

// HTTP01Path is the path prefix of RFC 8555 §8.3: "/.well-known/acme-challenge/".
const HTTP01Path = "/.well-known/acme-challenge/"

// IsACME reports whether m is one of the ACME challenge types.
func IsACME(m Method) bool {
	return m == MethodHTTP01 || m == MethodDNS01 || m == MethodTLSALPN01
}

// HTTP01URL returns the URL fetched for http-01 (RFC 8555 §8.3):
// "http://{domain}/.well-known/acme-challenge/{token}". An IPv6 address
// identifier is written in brackets (RFC 3986 §3.2.2).
func HTTP01URL(domain, token string) string {
	return "http://" + URLHost(domain) + HTTP01Path + token
}

// URLHost is an identifier as a URL's host: a name or an IPv4 address as
// it is, an IPv6 address in brackets (RFC 3986 §3.2.2).
func URLHost(identifier string) string {
	if a, err := netip.ParseAddr(identifier); err == nil && a.Is6() {
		return "[" + identifier + "]"
	}
	return identifier
}

// KeyAuthorizationDigest returns the base64url (unpadded) SHA-256 digest of a
// key authorization: the TXT value of dns-01 (RFC 8555 §8.4).
func KeyAuthorizationDigest(keyAuth string) string {
	h := sha256.Sum256([]byte(keyAuth))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// observeHTTP01 fetches the challenge URL. RFC 8555 §8.3: the server
// dereferences the URL and verifies "that the body of the response is a
// well-formed key authorization" equal to the one expected; the fetcher's
// policy (ports, reserved addresses, redirects) applies as for the file
// method. The evidence is a FileObservation, so diagnose explains failures
// in the same terms.
//
// Like Let's Encrypt, the fetch asks the name's addresses in turn (IPv6
// first) until one answers, and that answer decides. When it is not the key
// authorization, and the name has several addresses, the URL is fetched
// once more from each address
// (FileProbeEachAddress), for diagnosis alone: an AAAA record pointing at a
// server that does not serve the challenge, while the IPv4 one does, is
// then named as such instead of as a file missing (black-box run).
func (v *Validator) observeHTTP01(ctx context.Context, req Request) *FileObservation {
	u := HTTP01URL(req.Domain, req.Token)
	f := cmp.Or(v.cfg.HTTP01Fetcher, v.cfg.Fetcher)
	if ident.IsIP(req.Domain) {
		// RFC 8738: the address itself.
		return &FileObservation{URL: u, Fetches: []*webfetch.Trace{f.FetchAddress(ctx, u)}}
	}
	tr := f.Fetch(ctx, u)
	obs := &FileObservation{URL: u, Fetches: []*webfetch.Trace{tr}}
	if !FetchMatches(tr, req.Value) && answered(tr) && len(tr.Addresses) > 1 {
		obs.Probes = []FileProbe{{Kind: FileProbeEachAddress, Trace: f.FetchEach(ctx, u)}}
	}
	return obs
}

// answered reports whether an address of tr's first hop gave an HTTP
// answer.
func answered(tr *webfetch.Trace) bool {
	for _, a := range tr.Attempts {
		if a.Hop == 0 && a.Status != 0 {
			return true
		}
	}
	return false
}
