package diagnose

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// hops builds a trace of u whose attempts keep their own URL (default u).
func hops(u string, attempts ...webfetch.Attempt) *webfetch.Trace {
	for i := range attempts {
		if attempts[i].URL == "" {
			attempts[i].URL = u
		}
	}
	return &webfetch.Trace{URL: u, Host: "example.com", Attempts: attempts}
}

// hostTrace builds a trace of u at host whose attempts keep their own URL
// (default u).
func hostTrace(u, host string, attempts ...webfetch.Attempt) *webfetch.Trace {
	t := hops(u, attempts...)
	t.Host = host
	return t
}

// at sets an attempt's URL, hop and refused rule.
func at(a webfetch.Attempt, u string, hop int, refused webfetch.RedirectRule) webfetch.Attempt {
	a.URL, a.Hop, a.RedirectRefused = u, hop, refused
	return a
}

func TestDomainFileMore(t *testing.T) {
	t.Parallel()
	const (
		ip4  = "192.0.2.10:80"
		ip6  = "[2001:db8::10]:80"
		root = "http://example.com/fileauth.txt"
		www  = "http://www.example.com" + validation.FilePath
		// wwwURL is the validation URL of www.example.com.
		wwwURL = www
	)
	// wwwObs is an observation of www.example.com.
	wwwObs := func(traces ...*webfetch.Trace) validation.Observation {
		o := fileObs(traces...)
		o.Domain, o.File.URL = "www.example.com", wwwURL
		return o
	}
	discFix := "Make every A and AAAA record of example.com point at a web server that serves the file, or remove the records of the addresses that do not (%s)."
	chainFix := "Serve the file with status 200 at " + httpURL + ", directly or through 301, 302, 307 or 308 redirects to http or https URLs on ports 80 and 443 within example.com, without loops."
	redirected := func(chain, from, rule string) string {
		return "dcv followed the redirects of " + httpURL + ": " + chain + ". The redirect from " + from + " was not followed: " + rule + "."
	}
	withProbes := func(o validation.Observation, ps ...validation.FileProbe) validation.Observation {
		o.File.Probes = ps
		return o
	}
	tests := []struct {
		name string
		obs  validation.Observation
		// noValue makes it a pre-flight check without a value.
		noValue  bool
		want     []Finding
		approved bool
	}{
		{
			name: "discrepancy: one address serves the value, the other 404",
			obs: fileObs(
				hops(httpURL, answer(ip6, 404, "not found"), answer(ip4, 200, testValue)),
				hops(httpsURL, answer("[2001:db8::10]:443", 404, ""), answer("192.0.2.10:443", 200, testValue))),
			want: []Finding{errF(CodeAddressDiscrepancy,
				"The addresses of example.com do not answer "+httpURL+" alike: 192.0.2.10 served the value, but 2001:db8::10 answered 404 Not Found.",
				fmt.Sprintf(discFix, "2001:db8::10"))},
		},
		{
			// The web server answered over http (the discrepancy is what
			// to fix): nothing on port 443 is no fault, and "start a web
			// server on port 443" would send the applicant the wrong way.
			name: "discrepancy over http, nothing listens on 443: only the discrepancy",
			obs: fileObs(
				hops(httpURL, answer(ip4, 200, testValue), answer(ip6, 200, "old\n")),
				hops(httpsURL, failed("192.0.2.10:443", webfetch.ErrConnectionRefused, "", 0), failed("[2001:db8::10]:443", webfetch.ErrConnectionRefused, "", 0))),
			want: []Finding{errF(CodeAddressDiscrepancy,
				"The addresses of example.com do not answer "+httpURL+` alike: 192.0.2.10 served the value, but 2001:db8::10 answered 200 OK with other content ("old\n").`,
				fmt.Sprintf(discFix, "2001:db8::10"))},
		},
		{
			name: "discrepancy: other content is quoted",
			obs:  fileObs(hops(httpURL, answer(ip4, 200, testValue), answer(ip6, 200, "old\n"))),
			want: []Finding{errF(CodeAddressDiscrepancy,
				"The addresses of example.com do not answer "+httpURL+` alike: 192.0.2.10 served the value, but 2001:db8::10 answered 200 OK with other content ("old\n").`,
				fmt.Sprintf(discFix, "2001:db8::10"))},
		},
		{
			name: "discrepancy: unreachable others only warn",
			obs: fileObs(hops(httpURL,
				failed(ip6, webfetch.ErrConnectTimeout, "", 0),
				answer(ip4, 200, testValue),
				failed("10.0.0.1:80", webfetch.ErrReservedAddress, "", 0),
				failed("192.0.2.11:80", webfetch.ErrConnectionRefused, "", 0),
				failed("192.0.2.12:80", webfetch.ErrConnectionReset, "", 0),
				failed("192.0.2.13:80", webfetch.ErrTimeoutAfterConn, "", 0),
				failed("192.0.2.14:80", webfetch.ErrTLSOnPlain, "", 0),
				failed("192.0.2.15:80", webfetch.ErrorKind("some_future_kind"), "", 0))),
			want: []Finding{{Code: CodeAddressDiscrepancy, Severity: SeverityWarning,
				Message: "The addresses of example.com do not answer " + httpURL + " alike: 192.0.2.10 served the value, but " +
					"2001:db8::10 did not accept the connection in time (likely a firewall), " +
					"10.0.0.1 (private network, 10.0.0.0/8) is not a public address and was not contacted, " +
					"192.0.2.11 refused the connection, 192.0.2.12 reset the connection, " +
					"192.0.2.13 accepted the connection but sent no complete answer in time, " +
					"192.0.2.14 spoke another protocol than the port's (TLS or HTTP/2 on the http port, or plain HTTP on the https port), " +
					"192.0.2.15 could not be fetched from (some_future_kind). " +
					"dcv accepted the value from the address that answered, but visitors sent to the others do not reach the site.",
				Fix: fmt.Sprintf(discFix, "2001:db8::10, 10.0.0.1, 192.0.2.11, 192.0.2.12, 192.0.2.13, 192.0.2.14, 192.0.2.15")}},
			approved: true,
		},
		{
			name: "discrepancy in the fetch that did not match: warned first, naming the other content",
			obs: fileObs(
				hops(httpURL, answer(ip6, 200, "old\n"), answer(ip4, 200, testValue)),
				hops(httpsURL, failed("[2001:db8::10]:443", webfetch.ErrConnectionRefused, "", 0), answer("192.0.2.10:443", 200, testValue))),
			want: []Finding{
				{Code: CodeAddressDiscrepancy, Severity: SeverityWarning,
					Message: "The addresses of example.com do not answer " + httpURL + ` alike: 192.0.2.10 served the value, but 2001:db8::10 answered 200 OK with other content ("old\n"). ` +
						"dcv accepted the value from " + httpsURL + "; visitors, and certificate authorities that validate through this URL or prefer another address, get the other answer.",
					Fix: fmt.Sprintf(discFix, "2001:db8::10")},
				{Code: CodeAddressDiscrepancy, Severity: SeverityWarning,
					Message: "The addresses of example.com do not answer " + httpsURL + " alike: 192.0.2.10 served the value, but 2001:db8::10 refused the connection. " +
						"dcv accepted the value from the address that answered, but visitors sent to the others do not reach the site.",
					Fix: fmt.Sprintf(discFix, "2001:db8::10")},
			},
			approved: true,
		},
		{
			name: "wrong location: the first probe that would pass, FILE_NOT_FOUND replaced",
			obs: withProbes(fileObs(hops(httpURL, answer(ip4, 404, "")), hops(httpsURL, answer("192.0.2.10:443", 404, ""))),
				validation.FileProbe{Kind: validation.FileProbeRoot, Trace: hops(root, answer(ip4, 200, testValue+"\n"))},
				validation.FileProbe{Kind: validation.FileProbeDoubledExt, Trace: hops(httpURL+".txt", answer(ip4, 404, ""))},
				validation.FileProbe{Kind: validation.FileProbeWWW, Trace: &webfetch.Trace{URL: www, Host: "www.example.com", Attempts: []webfetch.Attempt{answer(ip4, 200, "\ufeff"+testValue)}}}),
			// The www file starts with a BOM: it would not pass, and is
			// not called the file with the expected value.
			want: []Finding{errF(CodeFileWrongLocation,
				"The file with the expected value is at "+root+", not at "+httpURL+", where dcv looks for it.",
				"Move fileauth.txt from the web root into the folder .well-known/pki-validation/ (create it; the first folder's name starts with a dot), so that "+httpURL+" returns the value.")},
		},
		{
			name: "wrong location: www twin",
			obs: withProbes(fileObs(hops(httpURL, answer(ip4, 404, ""))),
				validation.FileProbe{Kind: validation.FileProbeWWW, Trace: &webfetch.Trace{URL: www, Host: "www.example.com", Attempts: []webfetch.Attempt{at(answer(ip4, 200, testValue), www, 0, "")}}}),
			want: []Finding{errF(CodeFileWrongLocation,
				"The file with the expected value is at "+www+", not at "+httpURL+", where dcv looks for it.",
				"www.example.com and example.com are served by different sites or folders: put fileauth.txt on the site answering for example.com too, so that "+httpURL+" returns the value.")},
		},
		{
			name: "wrong location: the apex file has a BOM: a near miss, named, with the content to fix",
			obs: withProbes(wwwObs(hostTrace(wwwURL, "www.example.com", answer(ip4, 404, ""))),
				validation.FileProbe{Kind: validation.FileProbeApex, Trace: hostTrace(httpURL, "example.com", answer(ip4, 200, "\ufeff"+testValue+"\n"))}),
			want: []Finding{errF(CodeFileWrongLocation,
				"A file at "+httpURL+" holds the expected value, but it is not at "+wwwURL+", where dcv looks for it, and its content would not pass validation as it is. "+
					"The file starts with a UTF-8 byte order mark (BOM).",
				"example.com and www.example.com are served by different sites or folders: put fileauth.txt on the site answering for www.example.com too, so that "+wwwURL+" returns the value. "+
					"Make fileauth.txt contain exactly `"+testValue+"` and nothing else (a few spaces or line breaks after it are fine), saved as plain text without a byte order mark.")},
		},
		{
			name: "wrong location: a near miss in the web root names the extra text",
			obs: withProbes(fileObs(hops(httpURL, answer(ip4, 404, ""))),
				validation.FileProbe{Kind: validation.FileProbeRoot, Trace: hops(root, answer(ip4, 200, testValue+"\nsecond line\n"))}),
			want: []Finding{errF(CodeFileWrongLocation,
				"A file at "+root+" holds the expected value, but it is not at "+httpURL+", where dcv looks for it, and its content would not pass validation as it is. "+
					"The file contains the value, but also other text.",
				"Move fileauth.txt from the web root into the folder .well-known/pki-validation/ (create it; the first folder's name starts with a dot), so that "+httpURL+" returns the value. "+
					"Make fileauth.txt contain exactly `"+testValue+"` and nothing else (a few spaces or line breaks after it are fine), saved as plain text without a byte order mark.")},
		},
		{
			name: "wrong location: a file that would pass comes before a near miss",
			obs: withProbes(fileObs(hops(httpURL, answer(ip4, 404, ""))),
				validation.FileProbe{Kind: validation.FileProbeRoot, Trace: hops(root, answer(ip4, 200, "\ufeff"+testValue))},
				validation.FileProbe{Kind: validation.FileProbeNoDot, Trace: hops("http://example.com/well-known/pki-validation/fileauth.txt", answer(ip4, 200, testValue))}),
			want: []Finding{errF(CodeFileWrongLocation,
				"The file with the expected value is at http://example.com/well-known/pki-validation/fileauth.txt, not at "+httpURL+", where dcv looks for it.",
				"Rename the folder well-known to .well-known, with the leading dot (some upload tools drop it from hidden folders), so that "+httpURL+" returns the value.")},
		},
		{
			name: "a probe whose body could not be read whole is no wrong location",
			obs: withProbes(fileObs(hops(httpURL, answer(ip4, 404, ""))),
				validation.FileProbe{Kind: validation.FileProbeRoot, Trace: hops(root, func() webfetch.Attempt {
					a := answer(ip4, 200, testValue)
					a.Err = &webfetch.Error{Kind: webfetch.ErrTimeoutAfterConn, Address: ip4}
					return a
				}())}),
			want: []Finding{errF(CodeFileNotFound, "The server at 192.0.2.10 answered 404 Not Found for "+httpURL+". The web server answered over http, so dcv did not ask https: the site that answers http://example.com must serve the file (or redirect to https).",
				"Upload fileauth.txt into .well-known/pki-validation/ at the web root of the site answering for example.com, so that "+httpURL+" returns the value.")},
		},
		{
			// dcv check --method file without --value: an empty value is
			// in every body, and no probe can say where the file is.
			name:    "pre-flight without a value: a 200 at the apex is not the file in the wrong place",
			noValue: true,
			obs: withProbes(wwwObs(hostTrace(wwwURL, "www.example.com", answer(ip4, 404, ""))),
				validation.FileProbe{Kind: validation.FileProbeApex, Trace: hostTrace(httpURL, "example.com", answer(ip4, 200, "some other file\n"))}),
			want: []Finding{errF(CodeFileNotFound, "The server at 192.0.2.10 answered 404 Not Found for "+wwwURL+". The web server answered over http, so dcv did not ask https: the site that answers http://www.example.com must serve the file (or redirect to https).",
				"Upload fileauth.txt into .well-known/pki-validation/ at the web root of the site answering for www.example.com, so that "+wwwURL+" returns the value.")},
		},
		{
			// nginx `return 404 "<value>"`: the content is there, with
			// the wrong status (console run).
			name: "404 whose body is the value: the status is what to fix",
			obs:  fileObs(hops(httpURL, answer(ip4, 404, testValue+"\n"))),
			want: []Finding{errF(CodeFileNotFound, "The server at 192.0.2.10 answered 404 Not Found for "+httpURL+". Its body is the expected value, but sent with the status 404 Not Found: the content is there, the status is wrong (an error page, or a rule that answers with this content and that status, such as nginx `return`).",
				"Make the web server answer "+httpURL+" with status 200 OK, not 404 Not Found, with the same content (serve it as a file, or give the rule that answers it status 200); then check again.")},
		},
		{
			name: "probes without the value leave FILE_NOT_FOUND",
			obs: withProbes(fileObs(hops(httpURL, answer(ip4, 404, ""))),
				validation.FileProbe{Kind: validation.FileProbeRoot, Trace: hops(root, answer(ip4, 200, "other"))},
				validation.FileProbe{Kind: validation.FileProbeWWW, Trace: nil}),
			want: []Finding{errF(CodeFileNotFound, "The server at 192.0.2.10 answered 404 Not Found for "+httpURL+". The web server answered over http, so dcv did not ask https: the site that answers http://example.com must serve the file (or redirect to https).",
				"Upload fileauth.txt into .well-known/pki-validation/ at the web root of the site answering for example.com, so that "+httpURL+" returns the value.")},
		},
		{
			name: "redirect: status 303",
			obs:  fileObs(hops(httpURL, at(answer(ip4, 303, "", "Location", "/x"), httpURL, 0, webfetch.RedirectStatus))),
			want: []Finding{errF(CodeFileRedirected,
				redirected(httpURL+" (303 See Other) → http://example.com/x", httpURL, "dcv follows only 301, 302, 307 and 308 redirects, not 303 See Other"), chainFix)},
		},
		{
			name: "redirect: scheme, at hop 1",
			obs: fileObs(hops(httpURL,
				at(answer(ip4, 301, "", "Location", "/a"), httpURL, 0, ""),
				at(answer(ip4, 302, "", "Location", "ftp://example.com/f"), "http://example.com/a", 1, webfetch.RedirectScheme))),
			want: []Finding{errF(CodeFileRedirected,
				redirected(httpURL+" (301 Moved Permanently) → http://example.com/a (302 Found) → ftp://example.com/f", "http://example.com/a",
					"it leads to the scheme ftp; only http and https are allowed"), chainFix)},
		},
		{
			name: "redirect: no location",
			obs:  fileObs(hops(httpURL, at(answer(ip4, 302, ""), httpURL, 0, webfetch.RedirectNoLocation))),
			want: []Finding{errF(CodeFileRedirected, redirected(httpURL+" (302 Found)", httpURL, "it has no Location header"), chainFix)},
		},
		{
			name: "redirect: two locations",
			obs:  fileObs(hops(httpURL, at(answer(ip4, 302, "", "Location", "/a", "Location", "/b"), httpURL, 0, webfetch.RedirectManyLocations))),
			want: []Finding{errF(CodeFileRedirected, redirected(httpURL+" (302 Found)", httpURL, "it has more than one Location header, so where it leads is ambiguous: send one"), chainFix)},
		},
		{
			name: "redirect: to an ip address",
			obs:  fileObs(hops(httpURL, at(answer(ip4, 302, "", "Location", "http://192.0.2.99/f"), httpURL, 0, webfetch.RedirectBadLocation))),
			want: []Finding{errF(CodeFileRedirected, redirected(httpURL+" (302 Found) → http://192.0.2.99/f", httpURL,
				"its Location http://192.0.2.99/f names an IP address: dcv follows redirects only to domain names, which it looks up and checks"), chainFix)},
		},
		{
			name: "redirect: to localhost",
			obs:  fileObs(hops(httpURL, at(answer(ip4, 302, "", "Location", "http://localhost/f"), httpURL, 0, webfetch.RedirectBadLocation))),
			want: []Finding{errF(CodeFileRedirected, redirected(httpURL+" (302 Found) → http://localhost/f", httpURL,
				"its Location http://localhost/f names localhost, a special-use name (RFC 6761) that no public web server answers for"), chainFix)},
		},
		{
			name: "redirect: invalid location",
			obs:  fileObs(hops(httpURL, at(answer(ip4, 302, "", "Location", "http://exa%21mple.com/f"), httpURL, 0, webfetch.RedirectBadLocation))),
			want: []Finding{errF(CodeFileRedirected, redirected(httpURL+" (302 Found) → http://exa%21mple.com/f", httpURL,
				"its Location http://exa%21mple.com/f is not a URL dcv may fetch"), chainFix)},
		},
		{
			name: "redirect: too many",
			obs: fileObs(hops(httpURL,
				at(answer(ip4, 302, "", "Location", "/1"), httpURL, 0, ""),
				at(answer(ip4, 302, "", "Location", "/2"), "http://example.com/1", 1, webfetch.RedirectTooMany))),
			want: []Finding{errF(CodeFileRedirected, redirected(httpURL+" (302 Found) → http://example.com/1 (302 Found) → http://example.com/2",
				"http://example.com/1", "following it would exceed the limit of redirects (1)"), chainFix)},
		},
		{
			name: "redirect: a hop that does not resolve",
			obs: fileObs(hops(httpURL,
				at(answer(ip4, 302, "", "Location", www), httpURL, 0, ""),
				webfetch.Attempt{URL: www, Hop: 1, Err: &webfetch.Error{Kind: webfetch.ErrDNSNXDomain}})),
			want: []Finding{errF(CodeDomainUnresolvable,
				"www.example.com does not exist in DNS: the DNS server answered NXDOMAIN. dcv reached it through redirects: "+httpURL+" (302 Found) → "+www+".",
				"Check the spelling of www.example.com, that the domain is registered and not expired, and that its delegation (the NS records at the registry) points to working nameservers.")},
		},
		{
			name: "redirect followed to a content mismatch, another address failed at the hop",
			obs: fileObs(hops(httpURL,
				at(answer(ip4, 301, "", "Location", "https://example.com/f"), httpURL, 0, ""),
				at(failed("[2001:db8::10]:443", webfetch.ErrConnectionRefused, "", 0), "https://example.com/f", 1, ""),
				at(answer("192.0.2.10:443", 200, "nope"), "https://example.com/f", 1, ""))),
			want: []Finding{errF(CodeFileContentMismatch,
				`The server at 192.0.2.10 answered 200 OK for https://example.com/f, but the content is not the expected value: "nope". dcv reached it through redirects: `+httpURL+" (301 Moved Permanently) → https://example.com/f (200 OK).",
				"Make fileauth.txt contain exactly `"+testValue+"` and nothing else (a few spaces or line breaks after it are fine), saved as plain text without a byte order mark.")},
		},
		{
			name: "the value of another order",
			obs: func() validation.Observation {
				o := fileObs(hops(httpURL, answer(ip4, 200, "\ufeffother-order-value\r\n")))
				o.File.OtherValues = []string{"x", "other-order-value"}
				return o
			}(),
			want: []Finding{errF(CodeFileContentMismatch,
				`The server at 192.0.2.10 answered 200 OK for `+httpURL+`, but the content is not the expected value: "\ufeffother-order-value\r\n". The file starts with a UTF-8 byte order mark (BOM). This is the value of another of your orders (a pending one, or an earlier one already issued), not of this one: each order, a renewal too, has its own value.`,
				"Make fileauth.txt contain exactly `"+testValue+"` and nothing else (a few spaces or line breaks after it are fine), saved as plain text without a byte order mark.")},
		},
		{
			name: "a 200 whose body timed out is unreachable, not a mismatch",
			obs: fileObs(hops(httpURL, func() webfetch.Attempt {
				a := answer(ip4, 200, "x")
				a.Err = &webfetch.Error{Kind: webfetch.ErrTimeoutAfterConn, Address: ip4}
				return a
			}())),
			want: []Finding{retryF(CodeFileUnreachable, "The server at 192.0.2.10:80 answered 200 OK, but sent only 1 byte of the body in time.",
				"Check that the web server at 192.0.2.10:80 sends the file at once: it holds a few bytes, and a body that trickles (a throttling proxy, a bandwidth limit, a backend that stalls while streaming) does not arrive in time.")},
		},
		{
			// The status line and headers came: the body trickled.
			name: "a slow body is told apart from a server that never answers",
			obs: fileObs(hops(httpURL, func() webfetch.Attempt {
				a := answer(ip4, 200, "abcdefghij")
				a.Header = http.Header{"Content-Length": {"32"}}
				a.Duration = 10*time.Second + 5*time.Millisecond
				a.Err = &webfetch.Error{Kind: webfetch.ErrTimeoutAfterConn, Address: ip4}
				return a
			}())),
			want: []Finding{retryF(CodeFileUnreachable, "The server at 192.0.2.10:80 answered 200 OK, but sent only 10 bytes of the body (of 32 announced) within 10 seconds.",
				"Check that the web server at 192.0.2.10:80 sends the file at once: it holds a few bytes, and a body that trickles (a throttling proxy, a bandwidth limit, a backend that stalls while streaming) does not arrive in time.")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Domain([]validation.Observation{tt.obs}, testNow)
			if tt.noValue {
				tt.obs.Expected = ""
				got = Preflight([]validation.Observation{tt.obs}, testNow)
			}
			checkFindings(t, got.Findings, tt.want)
			if (got.Status == StatusApproved) != tt.approved {
				t.Errorf("Status = %q, want approved %v", got.Status, tt.approved)
			}
		})
	}
}
