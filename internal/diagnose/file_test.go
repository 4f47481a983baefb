package diagnose

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

const (
	httpURL  = "http://example.com/.well-known/pki-validation/fileauth.txt"
	httpsURL = "https://example.com/.well-known/pki-validation/fileauth.txt"
)

func fileObs(traces ...*webfetch.Trace) validation.Observation {
	return validation.Observation{
		Perspective: "primary",
		Domain:      "example.com",
		Method:      validation.MethodFile,
		Expected:    testValue,
		StartedAt:   testNow,
		File:        &validation.FileObservation{URL: httpURL, Fetches: traces},
	}
}

func trace(u string, attempts ...webfetch.Attempt) *webfetch.Trace {
	for i := range attempts {
		attempts[i].URL = u
	}
	return &webfetch.Trace{URL: u, Host: "example.com", Attempts: attempts}
}

func answer(addr string, status int, body string, kv ...string) webfetch.Attempt {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	a := webfetch.Attempt{Address: addr, Status: status, Proto: "HTTP/1.1", Header: h, Body: []byte(body)}
	if loc := h.Get("Location"); loc != "" {
		a.Location = loc
	}
	return a
}

func failed(addr string, kind webfetch.ErrorKind, detail string, dur time.Duration) webfetch.Attempt {
	return webfetch.Attempt{Address: addr, Err: &webfetch.Error{Kind: kind, Address: addr, Detail: detail}, Duration: dur}
}

func resolveFailed(u string, kind webfetch.ErrorKind) *webfetch.Trace {
	return &webfetch.Trace{URL: u, Host: "example.com", ResolveError: &webfetch.Error{Kind: kind}}
}

// hint403 is the fix's hint for a 401 or 403 that no CDN gave.
const hint403 = "A 401 or 403 usually comes from the web server's own rules: check that its user can read the file and the folders above it (permissions), that no rule denies paths that begin with a dot such as /.well-known/ (nginx `location ~ /\\. { deny all; }`, an Apache FilesMatch or .htaccess rule), and that the path asks for no password."

func TestDomainFile(t *testing.T) {
	t.Parallel()
	const ip4 = "192.0.2.10:80"
	fixContent := "Make fileauth.txt contain exactly `" + testValue + "` and nothing else (a few spaces or line breaks after it are fine), saved as plain text without a byte order mark."
	fixHTML := " If this is not your file, upload fileauth.txt into .well-known/pki-validation/ at the web root of the site answering for example.com."
	content := func(snippet string) string {
		return `The server at 192.0.2.10 answered 200 OK for ` + httpURL + `, but the content is not the expected value: "` + snippet + `".`
	}
	fixNotFound := "Upload fileauth.txt into .well-known/pki-validation/ at the web root of the site answering for example.com, so that " + httpURL + " returns the value."
	eta := testNow.Add(120 * time.Second)
	tests := []struct {
		name string
		obs  validation.Observation
		want []Finding
	}{
		{
			name: "http 200 with the value and a final newline passes",
			obs:  fileObs(trace(httpURL, answer(ip4, 200, testValue+"\r\n"))),
		},
		{
			name: "https passes after an http redirect",
			obs: fileObs(
				trace(httpURL, answer(ip4, 301, "", "Location", httpsURL)),
				trace(httpsURL, answer("192.0.2.10:443", 200, testValue))),
		},
		{
			name: "truncated body never passes",
			obs: fileObs(trace(httpURL, func() webfetch.Attempt {
				a := answer(ip4, 200, testValue)
				a.BodyTruncated = true
				return a
			}())),
			want: []Finding{errF(CodeFileContentMismatch,
				content(testValue)+" The file is longer than the 20 bytes dcv reads; it must hold only the value.", fixContent)},
		},
		{
			name: "host NXDOMAIN",
			obs:  fileObs(resolveFailed(httpURL, webfetch.ErrDNSNXDomain)),
			want: []Finding{errF(CodeDomainUnresolvable,
				"example.com does not exist in DNS: the DNS server answered NXDOMAIN.",
				"Check the spelling of example.com, that the domain is registered and not expired, and that its delegation (the NS records at the registry) points to working nameservers.")},
		},
		{
			// The host exists: its CNAME leads to a name that does not.
			name: "host CNAME to a name that does not exist",
			obs: fileObs(&webfetch.Trace{URL: httpURL, Host: "example.com", ResolveError: &webfetch.Error{
				Kind: webfetch.ErrDNSNXDomain, Detail: "A example.com.: NXDOMAIN from 192.0.2.53:53", CNAMEs: []string{"nowhere.example.net."}}}),
			want: []Finding{errF(CodeDomainUnresolvable,
				"example.com is a CNAME to nowhere.example.net, and nowhere.example.net does not exist in DNS (192.0.2.53:53 answered NXDOMAIN): the CNAME points nowhere, so example.com has no address.",
				"Point the CNAME record of example.com at a name that exists (check the spelling of nowhere.example.net, and that the service it names is still set up for your domain), or replace the CNAME with A or AAAA records pointing at the public address of the web server of example.com.")},
		},
		{
			name: "host CNAME chain to a name that does not exist",
			obs: fileObs(&webfetch.Trace{URL: httpURL, Host: "example.com", ResolveError: &webfetch.Error{
				Kind: webfetch.ErrDNSNXDomain, CNAMEs: []string{"a.example.com.", "nowhere.example.net."}}}),
			want: []Finding{errF(CodeDomainUnresolvable,
				"example.com is a CNAME to a.example.com → nowhere.example.net, and nowhere.example.net does not exist in DNS (the DNS server answered NXDOMAIN): the CNAME points nowhere, so example.com has no address.",
				"Point the CNAME record of example.com at a name that exists (check the spelling of nowhere.example.net, and that the service it names is still set up for your domain), or replace the CNAME with A or AAAA records pointing at the public address of the web server of example.com.")},
		},
		{
			// A CNAME into a zone whose DNSSEC fails: the NXDOMAIN proves
			// nothing, and the zone to fix is the target's.
			name: "host CNAME into a DNSSEC-bogus zone",
			obs: fileObs(&webfetch.Trace{URL: httpURL, Host: "example.com", ResolveError: &webfetch.Error{
				Kind: webfetch.ErrDNSNXDomain, CNAMEs: []string{"x.bad.example.net."},
				DNSSEC: "bogus", DNSSECReason: dnsclient.ReasonSignatureExpired + "2025-05-01", DNSSECZone: "bad.example.net."}}),
			want: []Finding{errF(CodeDNSSECBogus,
				"DNSSEC validation of example.com failed: the signatures have expired (signature expired on 2025-05-01). The record is reached through a CNAME to x.bad.example.net: the zone that fails is bad.example.net, the target's, not the one holding the CNAME.",
				"Ask the DNS host of bad.example.net to re-sign the zone so that its signatures are current and made with the keys it publishes; if you turned DNSSEC off at the DNS host, also remove the DS record at the registrar.")},
		},
		{
			name: "host SERVFAIL",
			obs:  fileObs(resolveFailed(httpURL, webfetch.ErrDNSServfail)),
			want: []Finding{retryF(CodeDomainUnresolvable,
				"example.com could not be resolved: the DNS server answered SERVFAIL: the domain's nameservers are failing or DNSSEC is broken.",
				"Check that every nameserver of example.com answers for the domain and, if DNSSEC is enabled, that the DS record at the registrar matches the zone's DNSKEY and that the signatures are current.")},
		},
		{
			name: "host lookup timeout",
			obs:  fileObs(resolveFailed(httpURL, webfetch.ErrDNSTimeout)),
			want: []Finding{retryF(CodeDomainUnresolvable,
				"example.com could not be resolved: the DNS server gave no answer within the deadline.",
				"Check that the nameservers of example.com are reachable on UDP and TCP port 53 and answer for the domain; then check again.")},
		},
		{
			name: "host lookup timeout at the TLD",
			obs:  fileObs(&webfetch.Trace{URL: httpURL, Host: "example.com", ResolveError: &webfetch.Error{Kind: webfetch.ErrDNSTimeout, Zone: "com."}}),
			want: []Finding{retryF(CodeDomainUnresolvable,
				"example.com could not be resolved: no server of the com zone, above example.com, answered dcv (timeout). That is the registry's side, or the network between it and dcv, not the domain's own nameservers.",
				"Nothing needs to change at example.com: check again in a few minutes. If it lasts for hours, ask your registrar whether example.com is still delegated in the com zone.")},
		},
		{
			name: "host lookup unreachable at the root",
			obs:  fileObs(&webfetch.Trace{URL: httpURL, Host: "example.com", ResolveError: &webfetch.Error{Kind: webfetch.ErrDNSError, Zone: "."}}),
			want: []Finding{retryF(CodeDomainUnresolvable,
				"example.com could not be resolved: no server of the root zone, above example.com, answered dcv (network). That is the registry's side, or the network between it and dcv, not the domain's own nameservers.",
				"Nothing needs to change at example.com: check again in a few minutes. If it lasts for hours, ask your registrar whether example.com is still delegated in the root zone.")},
		},
		{
			name: "host SERVFAIL names the server",
			obs:  fileObs(&webfetch.Trace{URL: httpURL, Host: "example.com", ResolveError: &webfetch.Error{Kind: webfetch.ErrDNSServfail, Detail: "A example.com.: SERVFAIL from 192.0.2.53:53"}}),
			want: []Finding{retryF(CodeDomainUnresolvable,
				"example.com could not be resolved: 192.0.2.53:53 answered SERVFAIL: the domain's nameservers are failing or DNSSEC is broken.",
				"Check that every nameserver of example.com answers for the domain and, if DNSSEC is enabled, that the DS record at the registrar matches the zone's DNSKEY and that the signatures are current.")},
		},
		{
			name: "host REFUSED by the domain's nameserver",
			obs:  fileObs(&webfetch.Trace{URL: httpURL, Host: "example.com", ResolveError: &webfetch.Error{Kind: webfetch.ErrDNSRefused, Address: "192.0.2.53:53", Detail: "A example.com.: REFUSED from 192.0.2.53:53"}}),
			want: []Finding{errF(CodeDomainUnresolvable,
				"example.com could not be resolved: 192.0.2.53:53 answered REFUSED: the nameserver does not serve the domain's zone (a lame delegation).",
				"Make every nameserver listed in the NS records of example.com's zone (at the zone and at its parent, the registrar) serve the zone, or remove from the NS records those that do not.")},
		},
		{
			name: "host lookup: every server lame",
			obs:  fileObs(&webfetch.Trace{URL: httpURL, Host: "example.com", ResolveError: &webfetch.Error{Kind: webfetch.ErrDNSError, Address: "192.0.2.53:53", Detail: "A example.com.: lame delegation: 192.0.2.53:53 refused"}}),
			want: []Finding{errF(CodeDomainUnresolvable,
				"example.com could not be resolved: no nameserver delegated for its zone serves it: the last one asked was 192.0.2.53:53.",
				"Make every nameserver listed in the NS records of example.com's zone (at the zone and at its parent, the registrar) serve the zone, or remove from the NS records those that do not.")},
		},
		{
			name: "host lookup: every server lame, each named",
			obs: fileObs(&webfetch.Trace{URL: httpURL, Host: "example.com", ResolveError: &webfetch.Error{Kind: webfetch.ErrDNSError, Address: "192.0.2.53:53",
				Detail: "A example.com.: lame delegation: no server of example.com. answers with authority (192.0.2.54:53: no answer (timeout); 192.0.2.53:53: not authoritative (AA=0))"}}),
			want: []Finding{errF(CodeDomainUnresolvable,
				"example.com could not be resolved: no nameserver delegated for its zone serves it: 192.0.2.54:53: no answer (timeout); 192.0.2.53:53: not authoritative (AA=0).",
				"Make every nameserver listed in the NS records of example.com's zone (at the zone and at its parent, the registrar) serve the zone, or remove from the NS records those that do not.")},
		},
		{
			name: "host lookup failed otherwise",
			obs:  fileObs(resolveFailed(httpURL, webfetch.ErrDNSError)),
			want: []Finding{retryF(CodeDomainUnresolvable,
				"example.com could not be resolved: the lookup at the DNS server failed.",
				"Check that the nameservers of example.com are reachable on UDP and TCP port 53 and answer for the domain; then check again.")},
		},
		{
			name: "host CNAME loop",
			obs: fileObs(&webfetch.Trace{URL: httpURL, Host: "example.com", ResolveError: &webfetch.Error{
				Kind: webfetch.ErrDNSError, Detail: "dns A example.com.: loop: cname chain loops at www.example.com."}}),
			want: []Finding{errF(CodeDomainUnresolvable,
				"example.com could not be resolved: its CNAME chain loops: it comes back to www.example.com.",
				"Fix the CNAME records starting at example.com so that the chain ends, in a few steps, at a name with A or AAAA records.")},
		},
		{
			// Black-box run: a delegation without glue was said to be
			// a CNAME loop.
			name: "host behind a nameserver without glue",
			obs: fileObs(&webfetch.Trace{URL: httpURL, Host: "example.com", ResolveError: &webfetch.Error{
				Kind: webfetch.ErrDNSError, Detail: "dns A example.com.: loop: name server ns1.example.com. needs itself to be resolved (glueless loop)"}}),
			want: []Finding{errF(CodeDomainUnresolvable,
				"example.com could not be resolved: the nameserver ns1.example.com lies inside the zone it serves, and the delegation to that zone gives no address (glue) for it, so it can only be found by asking itself.",
				"At the registrar of the zone that ns1.example.com serves, add a glue record: the IPv4 (and IPv6) address of ns1.example.com, as the zone itself publishes it. Or delegate the zone to nameservers outside it.")},
		},
		{
			name: "host CNAME loop, with its chain",
			obs: fileObs(&webfetch.Trace{URL: httpURL, Host: "example.com", ResolveError: &webfetch.Error{
				Kind: webfetch.ErrDNSError, Detail: "dns A example.com.: loop: cname chain loops at www.example.com. (example.com -> www.example.com -> cdn.example.net -> www.example.com)"}}),
			want: []Finding{errF(CodeDomainUnresolvable,
				"example.com could not be resolved: its CNAME chain loops: it comes back to www.example.com. The chain: example.com → www.example.com → cdn.example.net → www.example.com.",
				"Fix the CNAME records starting at example.com so that the chain ends, in a few steps, at a name with A or AAAA records.")},
		},
		{
			name: "host CNAME chain too long",
			obs: fileObs(&webfetch.Trace{URL: httpURL, Host: "example.com", ResolveError: &webfetch.Error{
				Kind: webfetch.ErrDNSError, Detail: "dns A example.com.: loop: cname chain longer than 8"}}),
			want: []Finding{errF(CodeDomainUnresolvable,
				"example.com could not be resolved: its CNAME chain is longer than the 8 links dcv follows.",
				"Shorten the CNAME chain starting at example.com: point its CNAME closer to the name with the A or AAAA records, so that it is reached in at most 8 steps.")},
		},
		{
			// dcv sends no Accept-Encoding: a gzip answer is not the value.
			name: "content compressed although not asked",
			obs: fileObs(trace(httpURL, answer(ip4, 200, func() string {
				var b bytes.Buffer
				zw := gzip.NewWriter(&b)
				zw.Write([]byte(testValue + "\n"))
				zw.Close()
				return b.String()
			}(), "Content-Encoding", "gzip"))),
			want: []Finding{errF(CodeFileContentMismatch,
				"The server at 192.0.2.10 answered 200 OK for "+httpURL+", but compressed the content (Content-Encoding: gzip) although dcv did not ask for it: its request has no Accept-Encoding header, so it reads the content as sent, and compressed data is not the value. Uncompressed, the content is the expected value: only the compression stands in the way.",
				"Make the web server send fileauth.txt uncompressed to a request without an Accept-Encoding header (RFC 9110 §12.5.3): turn off forced compression (gzip, brotli) for /.well-known/pki-validation/, or for .txt files.")},
		},
		{
			name: "content in another coding",
			obs:  fileObs(trace(httpURL, answer(ip4, 200, "\x1b\x00binary", "Content-Encoding", "br"))),
			want: []Finding{errF(CodeFileContentMismatch,
				"The server at 192.0.2.10 answered 200 OK for "+httpURL+", but compressed the content (Content-Encoding: br) although dcv did not ask for it: its request has no Accept-Encoding header, so it reads the content as sent, and compressed data is not the value.",
				"Make the web server send fileauth.txt uncompressed to a request without an Accept-Encoding header (RFC 9110 §12.5.3): turn off forced compression (gzip, brotli) for /.well-known/pki-validation/, or for .txt files.")},
		},
		{
			name: "no address",
			obs:  fileObs(resolveFailed(httpURL, webfetch.ErrNoAddress)),
			want: []Finding{errF(CodeFileUnreachable,
				"example.com has no A or AAAA record, so there is no web server to fetch the file from.",
				"Add an A (IPv4) or AAAA (IPv6) record for example.com pointing at the public address of its web server.")},
		},
		{
			name: "wildcard domain",
			obs: func() validation.Observation {
				o := fileObs(&webfetch.Trace{URL: "http://*.example.com" + validation.FilePath, ResolveError: &webfetch.Error{Kind: webfetch.ErrInvalidURL}})
				o.Domain = "*.example.com"
				return o
			}(),
			want: []Finding{errF(CodeFileUnreachable,
				"The file method cannot validate the wildcard name *.example.com: a file on one web server does not prove control of every name under the domain.",
				"Validate *.example.com with the DNS method (a TXT record) instead.")},
		},
		{
			name: "only reserved addresses",
			obs: fileObs(trace(httpURL,
				failed("[fd00::5]:80", webfetch.ErrReservedAddress, "", 0),
				failed("10.1.2.3:80", webfetch.ErrReservedAddress, "", 0),
				failed("127.0.0.1:80", webfetch.ErrReservedAddress, "", 0))),
			want: []Finding{errF(CodeAddressReserved,
				"example.com resolves only to addresses that are not reachable from the internet, which dcv does not connect to: fd00::5 (unique local (private network), fc00::/7), 10.1.2.3 (private network, 10.0.0.0/8), 127.0.0.1 (loopback, 127.0.0.0/8).",
				"Point the A/AAAA records of example.com at the public address of the web server that should answer for it.")},
		},
		{
			name: "reserved address skipped after a refused connection",
			obs: fileObs(trace(httpURL,
				failed(ip4, webfetch.ErrConnectionRefused, "", 0),
				failed("10.1.2.3:80", webfetch.ErrReservedAddress, "", 0))),
			want: []Finding{errF(CodeFileUnreachable,
				"Connection refused by 192.0.2.10:80: nothing listens on port 80.",
				"Start a web server on port 80 of 192.0.2.10, or point the A/AAAA records of example.com at the public address of the web server.")},
		},
		{
			name: "HTML page",
			obs:  fileObs(trace(httpURL, answer(ip4, 200, "<!DOCTYPE html>\n<html><body>Welcome to nginx!</body></html>", "Content-Type", "text/html"))),
			want: []Finding{errF(CodeFileContentMismatch,
				content(`<!DOCTYPE html>\n<html><body>Welcome to nginx!</body></html>`)+" It looks like an HTML page — often a soft 404 or a default site rather than the uploaded file.",
				fixContent+fixHTML)},
		},
		{
			name: "UTF-8 byte order mark",
			obs:  fileObs(trace(httpURL, answer(ip4, 200, "\ufeff"+testValue+"\n"))),
			want: []Finding{errF(CodeFileContentMismatch,
				content(`\ufeff`+testValue+`\n`)+" The file starts with a UTF-8 byte order mark (BOM).", fixContent)},
		},
		{
			name: "UTF-16",
			obs:  fileObs(trace(httpURL, answer(ip4, 200, "\xff\xfek\x003\x00"))),
			want: []Finding{errF(CodeFileContentMismatch,
				content(`\xff\xfek\x003\x00`)+" The file is encoded as UTF-16; it must be plain text (ASCII or UTF-8).", fixContent)},
		},
		{
			name: "value and a second line with CRLF",
			obs:  fileObs(trace(httpURL, answer(ip4, 200, testValue+"\r\nsecond line\r\n"))),
			want: []Finding{errF(CodeFileContentMismatch,
				content(testValue+`\r\nsecond line\r\n`)+" The file contains carriage returns (CRLF line breaks) before its end. The file contains the value, but also other text.", fixContent)},
		},
		{
			name: "leading blank line",
			obs:  fileObs(trace(httpURL, answer(ip4, 200, "\n  "+testValue))),
			want: []Finding{errF(CodeFileContentMismatch,
				content(`\n  `+testValue)+" The value is preceded by spaces or blank lines.", fixContent)},
		},
		{
			name: "empty file",
			obs:  fileObs(trace(httpURL, answer(ip4, 200, ""))),
			want: []Finding{errF(CodeFileContentMismatch, content("")+" The file is empty.", fixContent)},
		},
		{
			name: "different case, long content cut",
			obs:  fileObs(trace(httpURL, answer(ip4, 200, strings.ToLower(testValue)), answer(ip4, 200, strings.Repeat("z", 150)))),
			want: []Finding{errF(CodeFileContentMismatch,
				content(strings.ToLower(testValue))+" The content differs from the value only in letter case; the value is case-sensitive.", fixContent)},
		},
		{
			name: "404 over http and https: one finding",
			obs: fileObs(
				trace(httpURL, answer(ip4, 404, "not found")),
				trace(httpsURL, answer("192.0.2.10:443", 404, "not found"))),
			want: []Finding{errF(CodeFileNotFound, "The server at 192.0.2.10 answered 404 Not Found for "+httpURL+".", fixNotFound)},
		},
		{
			// The http answer is what to fix; the https site's comes
			// after, as a warning.
			name: "410 over http, 403 over https: both, http first",
			obs: fileObs(
				trace(httpURL, answer("[2001:db8::10]:80", 410, "")),
				trace(httpsURL, answer("[2001:db8::10]:443", 403, ""))),
			want: []Finding{
				errF(CodeFileNotFound, "The server at 2001:db8::10 answered 410 Gone for "+httpURL+".", fixNotFound),
				warnF(CodeFileBadStatus, "The server at 2001:db8::10 answered 403 Forbidden for "+httpsURL+".",
					"Make the web server answer "+httpsURL+" with status 200 and the file's content. "+hint403),
			},
		},
		{
			// No CDN answered: the usual causes of a 502 at the web
			// server's side (black-box run).
			name: "502 from a proxy",
			obs:  fileObs(trace(httpURL, answer(ip4, 502, "<html>Bad Gateway</html>"))),
			want: []Finding{retryF(CodeFileBadStatus, "The server at 192.0.2.10 answered 502 Bad Gateway for "+httpURL+".",
				"Make the web server answer "+httpURL+" with status 200 and the file's content. A 502 or 504 comes from a reverse proxy or load balancer that got no valid answer in time from the server behind it: check that the backend (the application server) runs and is reachable from the proxy, or serve /.well-known/ from the proxy itself.")},
		},
		{
			name: "redirect to https, https refused",
			obs: fileObs(
				trace(httpURL, answer(ip4, 301, "", "Location", httpsURL)),
				trace(httpsURL, failed("192.0.2.10:443", webfetch.ErrConnectionRefused, "", 0))),
			// The redirect is what to fix; the refused https fallback
			// follows as a warning.
			want: []Finding{
				errF(CodeFileRedirected,
					"The server at 192.0.2.10 answered 301 Moved Permanently: "+httpURL+" → "+httpsURL+". dcv requires a direct 200 answer; redirects are not followed.",
					"Serve the file directly, with status 200, at "+httpURL+": exempt /.well-known/pki-validation/ from HTTP→HTTPS and www redirects."),
				warnF(CodeFileUnreachable, "Connection refused by 192.0.2.10:443: nothing listens on port 443.",
					"Start a web server on port 443 of 192.0.2.10, or point the A/AAAA records of example.com at the public address of the web server."),
			},
		},
		{
			// Nothing on port 80, and port 443 resets the handshake: two
			// failures of two kinds, both to fix; the second is no
			// repeat of the first.
			name: "refused on port 80, reset on port 443",
			obs: fileObs(
				trace(httpURL, failed(ip4, webfetch.ErrConnectionRefused, "", 0)),
				trace(httpsURL, failed("192.0.2.10:443", webfetch.ErrConnectionReset, "", 0))),
			want: []Finding{
				errF(CodeFileUnreachable, "Connection refused by 192.0.2.10:80: nothing listens on port 80.",
					"Start a web server on port 80 of 192.0.2.10, or point the A/AAAA records of example.com at the public address of the web server."),
				retryF(CodeFileUnreachable, "The connection to 192.0.2.10:443 was reset (often a firewall or an overloaded server).",
					"Check the firewall and intrusion-prevention rules in front of 192.0.2.10:443; then check again."),
			},
		},
		{
			name: "relative redirect to www, and none at all",
			obs: fileObs(
				trace(httpURL, answer(ip4, 302, "", "Location", "//www.example.com/.well-known/pki-validation/fileauth.txt")),
				trace(httpsURL, answer("192.0.2.10:443", 307, ""))),
			want: []Finding{
				errF(CodeFileRedirected,
					"The server at 192.0.2.10 answered 302 Found: "+httpURL+" → http://www.example.com/.well-known/pki-validation/fileauth.txt. dcv requires a direct 200 answer; redirects are not followed.",
					"Serve the file directly, with status 200, at "+httpURL+": exempt /.well-known/pki-validation/ from HTTP→HTTPS and www redirects."),
				warnF(CodeFileRedirected,
					"The server at 192.0.2.10 answered 307 Temporary Redirect: "+httpsURL+" → (no Location header). dcv requires a direct 200 answer; redirects are not followed.",
					"Serve the file directly, with status 200, at "+httpsURL+": exempt /.well-known/pki-validation/ from HTTP→HTTPS and www redirects."),
			},
		},
		{
			name: "403 from Cloudflare",
			obs:  fileObs(trace(httpURL, answer(ip4, 403, "", "Server", "cloudflare", "Cf-Ray", "8a1b2c3d4e5f-AMS"))),
			want: []Finding{errF(CodeFileBadStatus,
				"The server at 192.0.2.10 answered 403 Forbidden for "+httpURL+". The answer came through Cloudflare (Server: cloudflare), whose firewall or bot protection may be blocking dcv.",
				"Make the web server answer "+httpURL+" with status 200 and the file's content. In Cloudflare, allow-list requests to /.well-known/pki-validation/ (firewall rules, bot protection, challenge pages).")},
		},
		{
			name: "403 from Akamai by header",
			obs:  fileObs(trace(httpURL, answer(ip4, 403, "", "X-Akamai-Request-Id", "1"))),
			want: []Finding{errF(CodeFileBadStatus,
				"The server at 192.0.2.10 answered 403 Forbidden for "+httpURL+". The answer came through Akamai (X-Akamai-Request-Id), whose firewall or bot protection may be blocking dcv.",
				"Make the web server answer "+httpURL+" with status 200 and the file's content. In Akamai, allow-list requests to /.well-known/pki-validation/ (firewall rules, bot protection, challenge pages).")},
		},
		{
			name: "503 behind CloudFront with Retry-After",
			obs:  fileObs(trace(httpURL, answer(ip4, 503, "", "Retry-After", "120", "X-Amz-Cf-Id", "abc"))),
			want: []Finding{{
				Code: CodeFileBadStatus, Severity: SeverityError, Retryable: true, ETA: &eta,
				Message: "The server at 192.0.2.10 answered 503 Service Unavailable for " + httpURL + ". It asked to retry after 18:02:50 UTC. The answer came through Amazon CloudFront (X-Amz-Cf-Id), whose firewall or bot protection may be blocking dcv.",
				Fix:     "Make the web server answer " + httpURL + " with status 200 and the file's content. In Amazon CloudFront, allow-list requests to /.well-known/pki-validation/ (firewall rules, bot protection, challenge pages).",
			}},
		},
		{
			name: "unknown status code, absurd Retry-After",
			obs:  fileObs(trace(httpURL, answer(ip4, 599, "", "Retry-After", "999999999"))),
			want: []Finding{errF(CodeFileBadStatus, "The server at 192.0.2.10 answered 599 for "+httpURL+".",
				"Make the web server answer "+httpURL+" with status 200 and the file's content.")},
		},
		{
			name: "connect timeout",
			obs:  fileObs(trace(httpURL, failed(ip4, webfetch.ErrConnectTimeout, "", 0))),
			want: []Finding{retryF(CodeFileUnreachable,
				"Timeout during connect to 192.0.2.10:80 (likely a firewall dropping the connection).",
				"Allow incoming connections to port 80 from the internet in the firewall in front of 192.0.2.10, and check that 192.0.2.10 is the current public address of the web server of example.com.")},
		},
		{
			name: "connection reset",
			obs:  fileObs(trace(httpURL, failed(ip4, webfetch.ErrConnectionReset, "", 0))),
			want: []Finding{retryF(CodeFileUnreachable,
				"The connection to 192.0.2.10:80 was reset (often a firewall or an overloaded server).",
				"Check the firewall and intrusion-prevention rules in front of 192.0.2.10:80; then check again.")},
		},
		// The time waited is told rounded down: "no answer within 11
		// seconds" after a 10 s timeout would not be true.
		{
			name: "timeout after connect",
			obs:  fileObs(trace(httpURL, failed(ip4, webfetch.ErrTimeoutAfterConn, "", 10*time.Second+300*time.Millisecond))),
			want: []Finding{retryF(CodeFileUnreachable,
				"Connected to 192.0.2.10:80 but got no complete answer within 10 seconds.",
				"Check that the web server at 192.0.2.10:80 answers the request promptly (a stalled backend, or a proxy waiting on one, is the usual cause).")},
		},
		{
			name: "timeout after connect, a 10 s timeout measured a little over",
			obs:  fileObs(trace(httpURL, failed(ip4, webfetch.ErrTimeoutAfterConn, "", 10*time.Second+2*time.Millisecond))),
			want: []Finding{retryF(CodeFileUnreachable,
				"Connected to 192.0.2.10:80 but got no complete answer within 10 seconds.",
				"Check that the web server at 192.0.2.10:80 answers the request promptly (a stalled backend, or a proxy waiting on one, is the usual cause).")},
		},
		{
			name: "timeout after connect, over a minute",
			obs:  fileObs(trace(httpURL, failed(ip4, webfetch.ErrTimeoutAfterConn, "", 61*time.Second+900*time.Millisecond))),
			want: []Finding{retryF(CodeFileUnreachable,
				"Connected to 192.0.2.10:80 but got no complete answer within 1 minute 1 second.",
				"Check that the web server at 192.0.2.10:80 answers the request promptly (a stalled backend, or a proxy waiting on one, is the usual cause).")},
		},
		{
			name: "timeout after connect, under a second",
			obs:  fileObs(trace(httpURL, failed(ip4, webfetch.ErrTimeoutAfterConn, "", 450*time.Millisecond+300*time.Microsecond))),
			want: []Finding{retryF(CodeFileUnreachable,
				"Connected to 192.0.2.10:80 but got no complete answer within 450 milliseconds.",
				"Check that the web server at 192.0.2.10:80 answers the request promptly (a stalled backend, or a proxy waiting on one, is the usual cause).")},
		},
		{
			name: "timeout after connect, no duration",
			obs:  fileObs(trace(httpURL, failed(ip4, webfetch.ErrTimeoutAfterConn, "", 0))),
			want: []Finding{retryF(CodeFileUnreachable,
				"Connected to 192.0.2.10:80 but got no complete answer in time.",
				"Check that the web server at 192.0.2.10:80 answers the request promptly (a stalled backend, or a proxy waiting on one, is the usual cause).")},
		},
		{
			name: "nothing listens on 443 after http 404",
			obs: fileObs(
				trace(httpURL, answer(ip4, 404, "")),
				trace(httpsURL, failed("192.0.2.10:443", webfetch.ErrConnectionRefused, "", 0))),
			// A site without https is fine: the http answer alone is what
			// to fix, and nothing sends the applicant to set up https.
			want: []Finding{errF(CodeFileNotFound, "The server at 192.0.2.10 answered 404 Not Found for "+httpURL+".", fixNotFound)},
		},
		{
			name: "TLS error over https after http 404",
			obs: fileObs(
				trace(httpURL, answer(ip4, 404, "")),
				trace(httpsURL, failed("192.0.2.10:443", webfetch.ErrTLS, "remote error: tls: handshake failure", 0))),
			// The http answer is what to fix; the https fallback's failure
			// is a warning after it.
			want: []Finding{
				errF(CodeFileNotFound, "The server at 192.0.2.10 answered 404 Not Found for "+httpURL+".", fixNotFound),
				warnF(CodeFileUnreachable, "The TLS handshake with 192.0.2.10:443 failed (remote error: tls: handshake failure).",
					"Fix the TLS configuration of the web server at 192.0.2.10:443, or serve the file over plain HTTP on port 80."),
			},
		},
		{
			name: "TLS error without detail",
			obs:  fileObs(trace(httpsURL, failed("192.0.2.10:443", webfetch.ErrTLS, "", 0))),
			want: []Finding{errF(CodeFileUnreachable, "The TLS handshake with 192.0.2.10:443 failed.",
				"Fix the TLS configuration of the web server at 192.0.2.10:443, or serve the file over plain HTTP on port 80.")},
		},
		{
			name: "TLS on port 80",
			obs:  fileObs(trace(httpURL, failed(ip4, webfetch.ErrTLSOnPlain, "", 0))),
			want: []Finding{errF(CodeFileUnreachable, "192.0.2.10:80 answered with TLS on the plain HTTP port.", "Serve plain HTTP, not HTTPS, on port 80.")},
		},
		{
			name: "nothing on port 80, plain HTTP on 443: both told",
			obs: fileObs(trace(httpURL, failed(ip4, webfetch.ErrConnectionRefused, "", 0)),
				trace(httpsURL, failed("192.0.2.10:443", webfetch.ErrPlainOnTLS, "", 0))),
			want: []Finding{
				errF(CodeFileUnreachable, "Connection refused by 192.0.2.10:80: nothing listens on port 80.",
					"Start a web server on port 80 of 192.0.2.10, or point the A/AAAA records of example.com at the public address of the web server."),
				errF(CodeFileUnreachable, "192.0.2.10:443 answered with plain HTTP on the HTTPS port.",
					"Configure TLS on port 443, or serve the file over plain HTTP on port 80."),
			},
		},
		{
			name: "nginx with TLS on port 80 answers 400",
			obs:  fileObs(trace(httpURL, answer(ip4, 400, "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n"))),
			want: []Finding{errF(CodeFileBadStatus, httpURL+": the web server at 192.0.2.10 answered 400 Bad Request because it expects HTTPS on this port (\"The plain HTTP request was sent to HTTPS port\"): TLS is configured on the plain HTTP port.",
				"Serve plain HTTP, not HTTPS, on port 80.")},
		},
		{
			name: "HTTP/2 on port 80",
			obs:  fileObs(trace(httpURL, failed(ip4, webfetch.ErrHTTP2OnPlain, "", 0))),
			want: []Finding{errF(CodeFileUnreachable, "192.0.2.10:80 answered with HTTP/2 where HTTP/1.1 was expected.",
				"Let the web server speak HTTP/1.1 on port 80; it must not require HTTP/2 without TLS.")},
		},
		{
			name: "plain HTTP on port 443",
			obs:  fileObs(trace(httpsURL, failed("192.0.2.10:443", webfetch.ErrPlainOnTLS, "", 0))),
			want: []Finding{errF(CodeFileUnreachable, "192.0.2.10:443 answered with plain HTTP on the HTTPS port.",
				"Configure TLS on port 443, or serve the file over plain HTTP on port 80.")},
		},
		{
			name: "protocol error",
			obs:  fileObs(trace(httpURL, failed(ip4, webfetch.ErrProtocol, "", 0))),
			want: []Finding{errF(CodeFileUnreachable, "192.0.2.10:80 sent a malformed HTTP response.",
				"Check the web server or proxy at 192.0.2.10:80: it must answer with valid HTTP/1.1.")},
		},
		{
			name: "network error",
			obs:  fileObs(trace(httpURL, failed("[2001:db8::10]:80", webfetch.ErrNetwork, "", 0))),
			want: []Finding{retryF(CodeFileUnreachable, "[2001:db8::10]:80 could not be reached (network error).",
				"Check that [2001:db8::10]:80 is reachable from the internet and is the web server of example.com; then check again.")},
		},
		{
			// dcv's source address cannot reach the site's only
			// address: nothing was learnt of the domain.
			name: "no source address of the site's family",
			obs:  fileObs(trace(httpURL, failed("[2001:db8::10]:80", webfetch.ErrSourceAddress, "not dialled: connections are made from 192.0.2.7, and there is no IPv6 source address", 0))),
			want: []Finding{retryF(CodeObservationInvalid,
				"dcv has no usable evidence for example.com: dcv could not connect to any of its addresses from the source address it is configured to use. [2001:db8::10]:80: not dialled: connections are made from 192.0.2.7, and there is no IPv6 source address.",
				"This is a problem on the certificate authority's side, not with your domain: check again later, or contact the operator if it persists.")},
		},
		{
			name: "IPv4 refused, IPv6 not dialled: the refusal is the domain's",
			obs: fileObs(trace(httpURL,
				failed(ip4, webfetch.ErrConnectionRefused, "", 0),
				failed("[2001:db8::10]:80", webfetch.ErrSourceAddress, "not dialled", 0))),
			want: []Finding{errF(CodeFileUnreachable,
				"Connection refused by 192.0.2.10:80: nothing listens on port 80.",
				"Start a web server on port 80 of 192.0.2.10, or point the A/AAAA records of example.com at the public address of the web server.")},
		},
		{
			// The redirect's host has addresses of the other family only:
			// dcv's side, as at the first hop, not the applicant's.
			name: "redirected to a host dcv's source address cannot reach",
			obs: fileObs(func() *webfetch.Trace {
				hop := failed("[2001:db8::20]:443", webfetch.ErrSourceAddress, "not dialled: connections are made from 192.0.2.7, and there is no IPv6 source address", 0)
				hop.Hop = 1
				tr := trace(httpURL, answer(ip4, 301, "", "Location", "https://cdn.example.net/.well-known/pki-validation/fileauth.txt"), hop)
				tr.Attempts[1].URL = "https://cdn.example.net/.well-known/pki-validation/fileauth.txt"
				return tr
			}()),
			want: []Finding{retryF(CodeObservationInvalid,
				"dcv has no usable evidence for cdn.example.net: dcv could not connect to any of its addresses from the source address it is configured to use. [2001:db8::20]:443: not dialled: connections are made from 192.0.2.7, and there is no IPv6 source address. "+
					"dcv reached it through redirects: http://example.com/.well-known/pki-validation/fileauth.txt (301 Moved Permanently) → https://cdn.example.net/.well-known/pki-validation/fileauth.txt.",
				"This is a problem on the certificate authority's side, not with your domain: check again later, or contact the operator if it persists.")},
		},
		{
			// Nothing listens on 443 at the one address dcv could try:
			// a site without https, not a server to start.
			name: "http 404, nothing on 443 where dcv could connect",
			obs: fileObs(trace(httpURL, failed("[2001:db8::10]:80", webfetch.ErrSourceAddress, "not dialled", 0), answer(ip4, 404, "nope")),
				trace(httpsURL, failed("[2001:db8::10]:443", webfetch.ErrSourceAddress, "not dialled", 0), failed("192.0.2.10:443", webfetch.ErrConnectionRefused, "", 0))),
			want: []Finding{errF(CodeFileNotFound,
				"The server at 192.0.2.10 answered 404 Not Found for http://example.com/.well-known/pki-validation/fileauth.txt.",
				"Upload fileauth.txt into .well-known/pki-validation/ at the web root of the site answering for example.com, so that http://example.com/.well-known/pki-validation/fileauth.txt returns the value.")},
		},
		{
			name: "no fetch at all",
			obs:  fileObs(),
			want: []Finding{retryF(CodeObservationInvalid,
				"dcv has no usable evidence for example.com: the evidence of the validation method is missing.",
				"This is a problem on the certificate authority's side, not with your domain: check again later, or contact the operator if it persists.")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Domain([]validation.Observation{tt.obs}, testNow)
			checkFindings(t, got.Findings, tt.want)
			if want := len(tt.want) == 0; (got.Status == StatusApproved) != want {
				t.Errorf("Status = %q with %d findings", got.Status, len(got.Findings))
			}
		})
	}
}

func TestReservedRange(t *testing.T) {
	t.Parallel()
	d := diagnoser{c: &catalogEN}
	tests := []struct{ name, ip, want string }{
		{"private 172.16", "172.20.0.1", "172.20.0.1 (private network, 172.16.0.0/12)"},
		{"cgnat", "100.64.1.1", "100.64.1.1 (shared address space of carrier-grade NAT, 100.64.0.0/10)"},
		{"link-local v4", "169.254.169.254", "169.254.169.254 (link-local, 169.254.0.0/16)"},
		{"documentation", "203.0.113.7", "203.0.113.7 (documentation range, 203.0.113.0/24)"},
		{"broadcast before reserved", "255.255.255.255", "255.255.255.255 (limited broadcast, 255.255.255.255/32)"},
		{"reserved", "240.0.0.1", "240.0.0.1 (reserved for future use, 240.0.0.0/4)"},
		{"ipv4-mapped loopback", "::ffff:127.0.0.1", "::ffff:127.0.0.1 (loopback, 127.0.0.0/8)"},
		{"v6 loopback", "::1", "::1 (loopback, ::1/128)"},
		{"v6 link-local", "fe80::1", "fe80::1 (link-local, fe80::/10)"},
		{"v6 documentation", "2001:db8::1", "2001:db8::1 (documentation range, 2001:db8::/32)"},
		{"public", "8.8.8.8", "8.8.8.8 (special-purpose address)"},
		{"unparsable", "nonsense", "nonsense (special-purpose address)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := d.describeAddr(tt.ip); got != tt.want {
				t.Errorf("describeAddr(%q) = %q, want %q", tt.ip, got, tt.want)
			}
		})
	}
}

func TestDetectCDN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		header        []string
		cdn, evidence string
	}{
		{"none", []string{"Server", "nginx"}, "", ""},
		{"cloudflare ray only", []string{"Cf-Ray", "1"}, "Cloudflare", "CF-Ray"},
		{"cloudfront server", []string{"Server", "CloudFront"}, "Amazon CloudFront", "Server: CloudFront"},
		{"sucuri header", []string{"X-Sucuri-Id", "1"}, "Sucuri", "X-Sucuri-Id"},
		{"sucuri server", []string{"Server", "Sucuri/Cloudproxy"}, "Sucuri", "Server: Sucuri/Cloudproxy"},
		{"akamai server", []string{"Server", "AkamaiGHost"}, "Akamai", "Server: AkamaiGHost"},
		{"imperva", []string{"X-Iinfo", "1"}, "Imperva", "X-Iinfo"},
		{"fastly", []string{"X-Fastly-Request-Id", "1"}, "Fastly", "X-Fastly-Request-Id"},
		{"long server value cut", []string{"Server", "cloudflare" + strings.Repeat("-", 80)}, "Cloudflare", "Server: cloudflare" + strings.Repeat("-", 49) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			h.Set(tt.header[0], tt.header[1])
			cdn, ev := detectCDN(h)
			if cdn != tt.cdn || ev != tt.evidence {
				t.Errorf("detectCDN = %q, %q; want %q, %q", cdn, ev, tt.cdn, tt.evidence)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value string
		want        time.Time // zero: no ETA
	}{
		{"seconds", "90", testNow.Add(90 * time.Second)},
		{"HTTP date", "Sun, 01 Jun 2025 18:30:00 GMT", time.Date(2025, 6, 1, 18, 30, 0, 0, time.UTC)},
		{"date in the past", "Sun, 01 Jun 2025 17:00:00 GMT", time.Time{}},
		{"beyond a day", "90000", time.Time{}},
		{"garbage", "soon", time.Time{}},
		{"negative", "-5", time.Time{}},
		{"absent", "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tt.value != "" {
				h.Set("Retry-After", tt.value)
			}
			got, ok := retryAfter(h, testNow)
			if ok != !tt.want.IsZero() || (ok && !got.Equal(tt.want)) {
				t.Errorf("retryAfter(%q) = %v, %v; want %v", tt.value, got, ok, tt.want)
			}
		})
	}
}

func TestDomainFileOddEvidence(t *testing.T) {
	t.Parallel()
	fixInv := "This is a problem on the certificate authority's side, not with your domain: check again later, or contact the operator if it persists."
	tests := []struct {
		name string
		obs  validation.Observation
		want []Finding
	}{
		{
			name: "invalid URL for a plain domain",
			obs:  fileObs(&webfetch.Trace{URL: "http://exa mple.com/", ResolveError: &webfetch.Error{Kind: webfetch.ErrInvalidURL}}),
			want: []Finding{errF(CodeFileUnreachable, "dcv cannot fetch http://exa mple.com/: the URL is not valid for file validation.", fixInv)},
		},
		{
			name: "resolved but no attempt",
			obs:  fileObs(&webfetch.Trace{URL: httpURL}),
			want: []Finding{errF(CodeFileUnreachable, "No connection was attempted to fetch "+httpURL+".",
				"Add an A (IPv4) or AAAA (IPv6) record for example.com pointing at the public address of its web server.")},
		},
		{
			name: "attempt failed with an unclassified error",
			obs:  fileObs(trace(httpURL, webfetch.Attempt{Err: &webfetch.Error{Kind: "something_new", Address: "192.0.2.10:80"}})),
			want: []Finding{retryF(CodeFileUnreachable, "Fetching "+httpURL+" from 192.0.2.10:80 failed.",
				"Check that 192.0.2.10:80 is reachable from the internet and is the web server of example.com; then check again.")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Domain([]validation.Observation{tt.obs}, testNow)
			checkFindings(t, got.Findings, tt.want)
			if got.Status != StatusPending {
				t.Errorf("Status = %q", got.Status)
			}
		})
	}
}

// TestDomainFileNXDomain: a host name missing from a zone that works is
// told as a record to add in that zone, naming the server; the
// registration advice stays for a registered domain that does not exist.
func TestDomainFileNXDomain(t *testing.T) {
	t.Parallel()
	const missing = "nonexist.example.com"
	// nxObs is a file observation of domain whose address lookup answered
	// NXDOMAIN (the detail as webfetch words it), with the CAA steps given.
	nxObs := func(domain string, steps ...caa.Step) validation.Observation {
		u := "http://" + domain + validation.FilePath
		o := fileObs(&webfetch.Trace{URL: u, Host: domain, ResolveError: &webfetch.Error{Kind: webfetch.ErrDNSNXDomain,
			Detail: "AAAA " + domain + ".: NXDOMAIN from " + testServer}})
		o.Domain, o.File.URL = domain, u
		if steps != nil {
			o.CAA = &caa.Result{Domain: domain, Identity: "dcv.example", Permitted: true, Trace: steps}
		}
		return o
	}
	step := func(name, rcode, zone string, cnames ...string) caa.Step {
		return caa.Step{Name: name, Response: &dnsclient.Response{Name: name + ".", Type: "CAA", Server: "192.0.2.54:53", Rcode: rcode, Zone: zone, CNAMEs: cnames}}
	}
	registration := func(name string) string {
		return "Check the spelling of " + name + ", that the domain is registered and not expired, and that its delegation (the NS records at the registry) points to working nameservers."
	}
	tests := []struct {
		name string
		obs  validation.Observation
		want []Finding
	}{
		{
			name: "a name missing from a zone that works: add its address record there",
			obs:  nxObs(missing, step(missing, "NXDOMAIN", "example.com."), step("example.com", "NOERROR", "example.com."), step("com", "NOERROR", "com.")),
			want: []Finding{errF(CodeDomainUnresolvable,
				missing+" does not exist in DNS: the zone example.com has no record for this name (192.0.2.54:53 answered NXDOMAIN).",
				"Add an A (IPv4) or AAAA (IPv6) record for "+missing+" (host `nonexist` in the zone example.com, at the DNS host that serves it) pointing at the public address of its web server, or check the spelling of the name.")},
		},
		{
			name: "a name two labels below a delegated subzone",
			obs:  nxObs("a.b.shop.example.com", step("a.b.shop.example.com", "NXDOMAIN", "shop.example.com.")),
			want: []Finding{errF(CodeDomainUnresolvable,
				"a.b.shop.example.com does not exist in DNS: the zone shop.example.com has no record for this name (192.0.2.54:53 answered NXDOMAIN).",
				"Add an A (IPv4) or AAAA (IPv6) record for a.b.shop.example.com (host `a.b` in the zone shop.example.com, at the DNS host that serves it) pointing at the public address of its web server, or check the spelling of the name.")},
		},
		{
			name: "the registered domain does not exist: registration advice, naming the server",
			obs:  nxObs("example.com", step("example.com", "NXDOMAIN", "com.")),
			want: []Finding{errF(CodeDomainUnresolvable, "example.com does not exist in DNS: 192.0.2.54:53 answered NXDOMAIN.", registration("example.com"))},
		},
		{
			name: "a name under a domain that is not delegated: registration advice",
			obs:  nxObs(missing, step(missing, "NXDOMAIN", "com.")),
			want: []Finding{errF(CodeDomainUnresolvable, missing+" does not exist in DNS: 192.0.2.54:53 answered NXDOMAIN.", registration(missing))},
		},
		{
			name: "a CNAME to a name that does not exist is not a missing name",
			obs:  nxObs(missing, step(missing, "NXDOMAIN", "example.com.", "gone.example.com.")),
			want: []Finding{errF(CodeDomainUnresolvable, missing+" does not exist in DNS: 192.0.2.54:53 answered NXDOMAIN.", registration(missing))},
		},
		{
			name: "no CAA evidence: the server named from the address lookup",
			obs:  nxObs(missing),
			want: []Finding{errF(CodeDomainUnresolvable, missing+" does not exist in DNS: "+testServer+" answered NXDOMAIN.", registration(missing))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Domain([]validation.Observation{tt.obs}, testNow)
			checkFindings(t, got.Findings, tt.want)
			if got.Status != StatusPending {
				t.Errorf("Status = %q", got.Status)
			}
		})
	}
}

// TestDomainFileResolverRefused: a web site's address refused by dcv's own
// resolver is the CA's side, told as a refusal.
func TestDomainFileResolverRefused(t *testing.T) {
	t.Parallel()
	const host = "www.example.com"
	u := "http://" + host + validation.FilePath
	o := fileObs(&webfetch.Trace{URL: u, Host: host, ResolveError: &webfetch.Error{Kind: webfetch.ErrDNSRefused,
		Detail: "A " + host + ".: REFUSED from 192.0.2.60:53", Address: "192.0.2.60:53", Upstream: true, Resolver: true}})
	o.Domain, o.File.URL = host, u
	r := Domain([]validation.Observation{o}, testNow)
	if len(r.Findings) == 0 || r.Findings[0].Code != CodeResolverUnavailable ||
		!strings.Contains(r.Findings[0].Message, "192.0.2.60:53, dcv's own recursive resolver, refused the query") {
		t.Errorf("findings %+v, want RESOLVER_UNAVAILABLE saying the resolver refused", r.Findings)
	}
}
