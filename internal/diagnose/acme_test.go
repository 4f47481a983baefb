package diagnose

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

func TestTLSALPN(t *testing.T) {
	t.Parallel()
	const want = "aa"
	ok := validation.TLSALPNObservation{Port: 443, Address: "192.0.2.1:443", Protocol: "acme-tls/1", SANs: []string{"a.example.com"},
		ExtensionFound: true, ExtensionCritical: true, ExtensionValue: want, ExpectedValue: want}
	tests := []struct {
		name    string
		mod     func(o *validation.TLSALPNObservation)
		code    Code
		message string
	}{
		{"match", func(*validation.TLSALPNObservation) {}, "", ""},
		{"refused", func(o *validation.TLSALPNObservation) {
			o.Error = &webfetch.Error{Kind: webfetch.ErrConnectionRefused, Address: "192.0.2.1:443"}
		}, CodeTLSALPNUnreachable, "No TLS connection to 192.0.2.1:443 for tls-alpn-01: the connection was refused (nothing listens on port 443)."},
		{"no address", func(o *validation.TLSALPNObservation) {
			o.Error = &webfetch.Error{Kind: webfetch.ErrNoAddress}
		}, CodeTLSALPNUnreachable, "a.example.com has no A or AAAA record, so there is no TLS server to connect to for tls-alpn-01."},
		// A failed address lookup is the domain's DNS, as for a file:
		// never "no A or AAAA record".
		{"nxdomain", func(o *validation.TLSALPNObservation) {
			o.Error = &webfetch.Error{Kind: webfetch.ErrDNSNXDomain, Detail: "A a.example.com.: NXDOMAIN from 192.0.2.53:53"}
		}, CodeDomainUnresolvable, "a.example.com does not exist in DNS: 192.0.2.53:53 answered NXDOMAIN."},
		{"the domain's server unreachable", func(o *validation.TLSALPNObservation) {
			o.Error = &webfetch.Error{Kind: webfetch.ErrDNSError, Address: "192.0.2.53:53"}
		}, CodeDomainUnresolvable, "a.example.com could not be resolved: the lookup at 192.0.2.53:53 failed."},
		{"dcv's resolver refused", func(o *validation.TLSALPNObservation) {
			o.Error = &webfetch.Error{Kind: webfetch.ErrDNSRefused, Address: "192.0.2.53:53", Upstream: true, Resolver: true}
		}, CodeResolverUnavailable, "dcv could not look up a.example.com: 192.0.2.53:53, dcv's own recursive resolver, refused the query (REFUSED: it does not resolve for dcv, or it is not a recursive resolver). This is a problem on the certificate authority's side, not with your domain."},
		{"no protocol", func(o *validation.TLSALPNObservation) { o.Protocol = "" }, CodeTLSALPNNotNegotiated,
			"The TLS server at 192.0.2.1:443 did not negotiate the acme-tls/1 protocol: it is not an ACME tls-alpn-01 responder."},
		{"wrong names", func(o *validation.TLSALPNObservation) { o.SANs = []string{"b.example.com", "a.example.com"} }, CodeTLSALPNWrongCertificate,
			"The certificate presented at 192.0.2.1:443 names b.example.com, a.example.com; for tls-alpn-01 it must name exactly a.example.com."},
		{"not critical", func(o *validation.TLSALPNObservation) { o.ExtensionCritical = false }, CodeTLSALPNBadExtension,
			"The acmeIdentifier extension of the certificate at 192.0.2.1:443 is not marked critical (RFC 8737 §3 requires it)."},
		{"other digest", func(o *validation.TLSALPNObservation) { o.ExtensionValue = "bb" }, CodeTLSALPNBadExtension,
			"The acmeIdentifier extension of the certificate at 192.0.2.1:443 holds bb, not the digest of this challenge's key authorization (aa): it answers another challenge."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := ok
			tt.mod(&o)
			r := Domain([]validation.Observation{{Domain: "a.example.com", Method: validation.MethodTLSALPN01, Expected: "keyauth", TLSALPN: &o}}, time.Time{})
			if tt.code == "" {
				if r.Status != StatusApproved {
					t.Fatalf("not approved: %+v", r.Findings)
				}
				return
			}
			if r.Status != StatusPending || len(r.Findings) != 1 || r.Findings[0].Code != tt.code || r.Findings[0].Message != tt.message || r.Findings[0].Fix == "" {
				t.Fatalf("got %+v; want %s %q", r.Findings, tt.code, tt.message)
			}
		})
	}
}

// TestHTTP01Fixes checks the http-01 fixes, which name where the key
// authorization must be served: the URL asked for, or, when the wrong
// content came through a redirect, the URL it came from.
func TestHTTP01Fixes(t *testing.T) {
	t.Parallel()
	const (
		ip4      = "192.0.2.10:80"
		keyAuth  = "tok.thumb"
		chalURL  = "http://example.com/.well-known/acme-challenge/tok"
		otherURL = "http://www.example.net/.well-known/acme-challenge/tok"
	)
	// followed is a fetch of chalURL redirected to `to`, which answered final.
	followed := func(to string, final webfetch.Attempt) *webfetch.Trace {
		return &webfetch.Trace{URL: chalURL, Host: "example.com", Attempts: []webfetch.Attempt{
			at(answer(ip4, http.StatusFound, "", "Location", to), chalURL, 0, ""), at(final, to, 1, "")}}
	}
	redirected := followed(otherURL, answer("198.51.100.7:80", http.StatusOK, "TEST"))
	home := followed("https://example.com/", answer("192.0.2.10:443", http.StatusOK, "<p>Welcome</p>"))
	tests := []struct {
		name string
		obs  *webfetch.Trace
		code Code
		fix  string
	}{
		{"wrong content", trace(chalURL, answer(ip4, http.StatusOK, "TEST")), CodeFileContentMismatch,
			"Serve exactly the key authorization `tok.thumb` at " + chalURL + " and nothing else (a few spaces or line breaks after it are fine)."},
		{"wrong content through a redirect", redirected, CodeFileContentMismatch,
			"Serve exactly the key authorization `tok.thumb` at " + otherURL + ", where " + chalURL + " redirects, and nothing else; or answer " + chalURL + " directly with status 200 and the key authorization, without the redirect."},
		{"wrong content through a redirect to the home page", home, CodeFileContentMismatch,
			"Answer " + chalURL + " directly with status 200 and exactly the key authorization `tok.thumb`: it redirects to https://example.com/, which does not serve the challenge. Exempt /.well-known/acme-challenge/ from the redirect."},
		{"not found", trace(chalURL, answer(ip4, http.StatusNotFound, "")), CodeFileNotFound,
			"Make " + chalURL + " return the key authorization: the ACME client must answer on port 80 itself, or write the challenge file into .well-known/acme-challenge/ at the web root of the site answering for example.com."},
		// A stateless responder's mistakes (black-box run): the token
		// alone, another account key's thumbprint.
		{"the token alone", trace(chalURL, answer(ip4, http.StatusOK, "tok\n")), CodeFileContentMismatch,
			"Serve the token, a dot and the thumbprint `thumb` at " + chalURL + " (a responder that answers every token, as nginx `return 200 \"$1.thumb\";`, must append exactly that)."},
		{"the thumbprint alone", trace(chalURL, answer(ip4, http.StatusOK, "thumb")), CodeFileContentMismatch,
			"Serve the token, a dot and the thumbprint `thumb` at " + chalURL + " (a responder that answers every token, as nginx `return 200 \"$1.thumb\";`, must append exactly that)."},
		{"another account's thumbprint", trace(chalURL, answer(ip4, http.StatusOK, "tok.other")), CodeFileContentMismatch,
			"Use this account key's thumbprint `thumb` where the responder serving " + chalURL + " appends one (a stateless configuration), or run the ACME client with the account key its configuration was made for."},
		// A 403 that no CDN gave: the web server's own causes follow.
		{"forbidden", trace(chalURL, answer(ip4, http.StatusForbidden, "")), CodeFileBadStatus,
			"Make the web server answer " + chalURL + " with status 200 and the key authorization; if a CDN or firewall is in front of it, allow-list /.well-known/acme-challenge/. " + hint403},
		// The 404 came from where the challenge URL redirects: the fix
		// names that site, not the redirecting one (black-box run).
		{"not found through a redirect", followed(otherURL, answer("198.51.100.7:80", http.StatusNotFound, "")), CodeFileNotFound,
			chalURL + " redirects to " + otherURL + ", which has no challenge file: write the file into .well-known/acme-challenge/ at the web root of the site that serves " + otherURL + " (for a redirect to https, the https site, which may have a web root of its own); or exempt /.well-known/acme-challenge/ from the redirect, so that " + chalURL + " answers with the key authorization itself."},
		// A 404 from a page the redirect leads to that is not the
		// challenge's path: the redirect must go.
		{"not found through a redirect to the home page", followed("https://example.com/", answer("192.0.2.10:443", http.StatusNotFound, "")), CodeFileNotFound,
			"Answer " + chalURL + " directly with status 200 and exactly the key authorization `tok.thumb`: it redirects to https://example.com/, which does not serve the challenge. Exempt /.well-known/acme-challenge/ from the redirect."},
		// The key authorization is served, with the wrong status: the
		// status is the fix (verification run).
		{"404 with the key authorization", trace(chalURL, answer(ip4, http.StatusNotFound, keyAuth)), CodeFileNotFound,
			"Make the web server answer " + chalURL + " with status 200 OK, not 404 Not Found, with the same content (serve it as a file, or give the rule that answers it status 200); then check again."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := validation.Observation{Domain: "example.com", Method: validation.MethodHTTP01, Expected: keyAuth, StartedAt: testNow,
				File: &validation.FileObservation{URL: chalURL, Fetches: []*webfetch.Trace{tt.obs}}}
			r := Domain([]validation.Observation{o}, testNow)
			if len(r.Findings) != 1 || r.Findings[0].Code != tt.code || r.Findings[0].Fix != tt.fix {
				t.Fatalf("findings %s\nwant %s with fix %q", dump(r.Findings), tt.code, tt.fix)
			}
		})
	}
}

// TestDNS01OtherValue checks the dns-01 fix when the TXT record holds
// another dns-01 value (a name and its wildcard validate at one host): add
// this challenge's value beside it, instead of setting the record to it.
func TestDNS01OtherValue(t *testing.T) {
	t.Parallel()
	const (
		host   = "_acme-challenge.a.example.com"
		want   = "V0JQaGtTb3dWbW1pYkRVX2V4YW1wbGVfZGlnZXN0XzQ"
		other  = "oDoHZ2hsVm9wcnR5dWlvX2V4YW1wbGVfZGlnZXN0XzQ"
		addFix = "Add a TXT record at host `_acme-challenge.a` with the value `" + want + "` beside the one there while its challenge is pending: each name validated at this host needs its own record, so an ACME client's DNS hook must add records, not replace them. Remove the values of finished challenges."
		setFix = "Set the TXT record at host `_acme-challenge.a` to exactly `" + want + "`. Several TXT records at that host are fine: the others are ignored."
		note   = " A value there is another dns-01 challenge's: an earlier attempt's, or that of the other name of an order for both a.example.com and *.a.example.com, which validate at this same host."
	)
	tests := []struct {
		name, domain string
		values       []string
		fix          string
		note         bool
	}{
		{"the wildcard's value instead of this name's", "a.example.com", []string{other}, addFix, true},
		{"this name's value instead of the wildcard's", "*.a.example.com", []string{other}, addFix, true},
		{"a value of another form", "a.example.com", []string{"hello"}, setFix, false},
		// Near misses of this value are corrected, not published beside it.
		{"this value in lower case", "a.example.com", []string{strings.ToLower(want)}, setFix, false},
		{"this value with a typo", "a.example.com", []string{"X" + want[1:]}, setFix, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rrs []dnsclient.Record
			for _, v := range tt.values {
				rrs = append(rrs, txt(host+".", v))
			}
			o := dnsObs(resp(host, "NOERROR", rrs...), func(n *validation.DNSObservation) {
				n.Host = host
				n.Record.Name = host + "."
			})
			o.Domain, o.Method, o.Expected = tt.domain, validation.MethodDNS01, want
			r := Domain([]validation.Observation{o}, testNow)
			if len(r.Findings) != 1 || r.Findings[0].Code != CodeDNSRecordMismatch || r.Findings[0].Fix != tt.fix ||
				strings.HasSuffix(r.Findings[0].Message, note) != tt.note {
				t.Fatalf("findings %s\nwant %s with fix %q (note: %v)", dump(r.Findings), CodeDNSRecordMismatch, tt.fix, tt.note)
			}
		})
	}
}

// TestDNS01AtDNSAuthHost: a dns-01 value published at the dns method's
// host (_dnsauth) is named, with both hosts.
func TestDNS01AtDNSAuthHost(t *testing.T) {
	t.Parallel()
	const (
		host = "_acme-challenge.a.example.com"
		want = "V0JQaGtTb3dWbW1pYkRVX2V4YW1wbGVfZGlnZXN0XzQ"
	)
	o := dnsObs(resp(host, "NXDOMAIN"), func(n *validation.DNSObservation) {
		n.Host = host
		n.Record.Name = host + "."
		n.Probes = []validation.Probe{{Kind: validation.ProbeOtherPrefix, Lookup: validation.Lookup{Name: "_dnsauth.a.example.com.", Type: "TXT",
			Response: resp("_dnsauth.a.example.com", "NOERROR", txt("_dnsauth.a.example.com.", want))}}}
	})
	o.Method, o.Expected = validation.MethodDNS01, want
	checkFindings(t, Domain([]validation.Observation{o}, testNow).Findings, []Finding{errF(CodeDNSWrongHost,
		"The value was found at _dnsauth.a.example.com, the host of dcv's DNS validation method (prefix _dnsauth), not at _acme-challenge.a.example.com, where ACME's dns-01 challenge looks (prefix _acme-challenge).",
		"Add a TXT record with host `_acme-challenge.a` (full name `_acme-challenge.a.example.com`) and value `"+want+"`; the TXT record at _dnsauth.a.example.com is not used for this validation and can be removed.")})
}
