package validation_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// Timeouts of the wire world: short, so that the cases where a server never
// answers still end in well under a second.
const (
	wireDNSTimeout   = 300 * time.Millisecond
	wireFetchTimeout = 2 * time.Second
	wireObserveLimit = 4 * time.Second
	// wireCAAIdentity is the issuer domain name the validator matches CAA
	// records against.
	wireCAAIdentity = "ca.dcv-test.net"
	// wireValue is the random value every case expects.
	wireValue = "p5xv2lqk7r3hmz6t4wnc8bd9fsg2ya1e"
)

// wireWorld is the whole observation path on loopback: a DNS server holding
// com. and applicant.com., a web server, the forward-mode resolver, the
// hardened fetcher and a Validator that also evaluates CAA.
type wireWorld struct {
	dns *testenv.DNSServer
	web *testenv.WebServer
	v   *validation.Validator
}

// addrs are the addresses a case's records point at: the web server's IP,
// and a loopback address where nothing listens.
type addrs struct{ web, dead string }

func setupWire(t *testing.T) *wireWorld {
	t.Helper()
	d := testenv.NewDNSServer(t)
	// CAA evaluation climbs to the TLD, so the TLD must answer too.
	d.AddZone("com.")
	d.AddZone("applicant.com.")
	w := testenv.NewWebServer(t)
	res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{d.Addr}, Timeout: wireDNSTimeout})
	if err != nil {
		t.Fatal(err)
	}
	f, err := webfetch.New(webfetch.Config{
		Resolver: res, HTTPPort: w.HTTPPort, HTTPSPort: w.HTTPSPort, AllowLoopback: true,
		ConnectTimeout: time.Second, Timeout: wireFetchTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{
		Resolver: res, Fetcher: f, CAAIdentity: wireCAAIdentity, Timeout: wireObserveLimit,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &wireWorld{dns: d, web: w, v: v}
}

// TestFindingsOnTheWire drives every finding code of the DNS and file
// methods (and CAA) through real DNS and HTTP servers on loopback, the
// resolver, the fetcher, the validator and diagnose, and checks the worst
// finding: its code, the observed facts its message names, and that it says
// how to fix the problem.
func TestFindingsOnTheWire(t *testing.T) {
	t.Parallel()
	const (
		domain  = "a.applicant.com"
		host    = "_dnsauth.a.applicant.com"
		httpURL = "http://a.applicant.com" + validation.FilePath
	)
	// Words a message or fix must contain may name the world's addresses,
	// known only once it is built: "{dns}" is the DNS server's ip:port,
	// "{web}" the web server's IP, "{http}" its ip:http-port, "{httpport}"
	// the http port, "{dead}" an address where nothing listens and
	// "{deadhttp}" that address with the http port.
	tests := []struct {
		name   string
		method validation.Method
		setup  func(w *wireWorld, a addrs)
		code   diagnose.Code // of the worst finding; "" for approval
		msg    []string
		fix    []string
	}{
		// The domain itself does not resolve.
		{
			// The servers of applicant.com, a registered zone, answered:
			// DNS validation needs only the TXT record, not the name.
			name:   "dns: domain nxdomain",
			method: validation.MethodDNS,
			setup:  func(*wireWorld, addrs) {},
			code:   diagnose.CodeDNSRecordNotFound,
			msg:    []string{"No TXT record at _dnsauth." + domain, "NXDOMAIN"},
			fix:    []string{"Add a TXT record"},
		},
		{
			name:   "dns: domain servfail",
			method: validation.MethodDNS,
			setup:  func(w *wireWorld, _ addrs) { w.dns.SetRcode(domain, dns.RcodeServerFailure) },
			code:   diagnose.CodeDomainUnresolvable,
			msg:    []string{domain + " could not be resolved", "{dns}", "SERVFAIL"},
			fix:    []string{domain, "DNSSEC"},
		},
		{
			name:   "dns: domain timeout",
			method: validation.MethodDNS,
			setup:  func(w *wireWorld, _ addrs) { w.dns.SetDelay(domain, -1) },
			code:   diagnose.CodeDomainUnresolvable,
			msg:    []string{domain + " could not be resolved", "{dns}", "no answer within the deadline"},
			fix:    []string{domain, "port 53"},
		},
		{
			name:   "file: domain behind a CNAME loop",
			method: validation.MethodFile,
			setup: func(w *wireWorld, _ addrs) {
				w.dns.Add(domain+". 300 IN CNAME x.applicant.com.", "x.applicant.com. 300 IN CNAME "+domain+".")
			},
			code: diagnose.CodeDomainUnresolvable,
			msg:  []string{domain + " could not be resolved: its CNAME chain loops: it comes back to "},
			fix:  []string{"Fix the CNAME records starting at " + domain},
		},
		{
			name:   "file: domain behind a CNAME chain too long",
			method: validation.MethodFile,
			setup: func(w *wireWorld, _ addrs) {
				w.dns.Add(domain + ". 300 IN CNAME c1.applicant.com.")
				for i := 1; i < 12; i++ {
					w.dns.Add(fmt.Sprintf("c%d.applicant.com. 300 IN CNAME c%d.applicant.com.", i, i+1))
				}
				w.dns.Add("c12.applicant.com. 300 IN A 127.0.0.1")
			},
			code: diagnose.CodeDomainUnresolvable,
			msg:  []string{domain + " could not be resolved: its CNAME chain is longer than the 8 links dcv follows"},
			fix:  []string{"Shorten the CNAME chain starting at " + domain, "at most 8 steps"},
		},
		{
			name:   "file: domain nxdomain",
			method: validation.MethodFile,
			setup:  func(*wireWorld, addrs) {},
			code:   diagnose.CodeDomainUnresolvable,
			msg:    []string{domain + " does not exist in DNS", "NXDOMAIN"},
			fix:    []string{domain},
		},

		// DNS method.
		{
			name:   "dns: record not found",
			method: validation.MethodDNS,
			setup:  func(w *wireWorld, _ addrs) { w.dns.Add(domain + ". A 127.0.0.1") },
			code:   diagnose.CodeDNSRecordNotFound,
			msg:    []string{"No TXT record at " + host, "{dns}", "NXDOMAIN"},
			fix:    []string{"`_dnsauth.a`", wireValue},
		},
		{
			name:   "dns: record mismatch shows the values seen",
			method: validation.MethodDNS,
			setup: func(w *wireWorld, _ addrs) {
				w.dns.Add(domain+". A 127.0.0.1", host+`. TXT "old-value-1"`, host+`. TXT "old-value-2"`)
			},
			code: diagnose.CodeDNSRecordMismatch,
			msg:  []string{host, "{dns}", `"old-value-1"`, `"old-value-2"`},
			fix:  []string{"`_dnsauth.a`", wireValue},
		},
		{
			name:   "dns: wrong host, zone appended twice",
			method: validation.MethodDNS,
			setup: func(w *wireWorld, _ addrs) {
				w.dns.Add(domain+". A 127.0.0.1", host+`.applicant.com. TXT "`+wireValue+`"`)
			},
			code: diagnose.CodeDNSWrongHost,
			msg:  []string{"found at " + host + ".applicant.com", "appended the zone name"},
			fix:  []string{"`_dnsauth.a`", "`.applicant.com`", host + "."},
		},
		{
			name:   "dns: wrong host, bare domain",
			method: validation.MethodDNS,
			setup: func(w *wireWorld, _ addrs) {
				w.dns.Add(domain+". A 127.0.0.1", domain+`. TXT "`+wireValue+`"`)
			},
			code: diagnose.CodeDNSWrongHost,
			msg:  []string{"TXT record at " + domain + " itself", "not at " + host},
			fix:  []string{"`_dnsauth.a`", host, wireValue},
		},
		{
			name:   "dns: wrong host, the ACME dns-01 host",
			method: validation.MethodDNS,
			setup: func(w *wireWorld, _ addrs) {
				w.dns.Add(domain+". A 127.0.0.1", "_acme-challenge."+domain+`. TXT "`+wireValue+`"`)
			},
			code: diagnose.CodeDNSWrongHost,
			msg:  []string{"found at _acme-challenge." + domain, "ACME's dns-01 challenge", "not at " + host},
			fix:  []string{"`_dnsauth.a`", host, wireValue},
		},
		{
			name:   "dns: wrong host, labels reversed",
			method: validation.MethodDNS,
			setup: func(w *wireWorld, _ addrs) {
				w.dns.Add(domain+". A 127.0.0.1", `a._dnsauth.applicant.com. TXT "`+wireValue+`"`)
			},
			code: diagnose.CodeDNSWrongHost,
			msg:  []string{"found at a._dnsauth.applicant.com", "in the wrong order", host},
			fix:  []string{"`_dnsauth.a`", wireValue},
		},
		{
			name:   "dns: wrong host, the parent's host",
			method: validation.MethodDNS,
			setup: func(w *wireWorld, _ addrs) {
				w.dns.Add(domain+". A 127.0.0.1", `_dnsauth.applicant.com. TXT "`+wireValue+`"`)
			},
			code: diagnose.CodeDNSWrongHost,
			msg:  []string{"found at _dnsauth.applicant.com, the record host of applicant.com", "not at " + host},
			fix:  []string{"`_dnsauth.a`", wireValue},
		},
		{
			// A zero-width space pasted before the value reaches dcv as
			// the escape \226\128\139: the note names the character.
			name:   "dns: zero-width space before the value",
			method: validation.MethodDNS,
			setup: func(w *wireWorld, _ addrs) {
				w.dns.Add(domain+". A 127.0.0.1", host+`. TXT "\226\128\139`+wireValue+`"`)
			},
			code: diagnose.CodeDNSRecordMismatch,
			msg:  []string{"with a zero-width space (U+200B) before it", "Delete it"},
			fix:  []string{"`_dnsauth.a`", wireValue},
		},
		{
			name:   "dns: approved",
			method: validation.MethodDNS,
			setup: func(w *wireWorld, _ addrs) {
				w.dns.Add(host+`. TXT "unrelated"`, host+`. TXT "`+wireValue+`"`)
			},
		},

		// File method: the HTTP answer.
		{
			name:   "file: 404",
			method: validation.MethodFile,
			setup:  func(w *wireWorld, a addrs) { w.dns.Add(domain + ". A " + a.web) },
			code:   diagnose.CodeFileNotFound,
			msg:    []string{httpURL, "{web}", "404 Not Found"},
			fix:    []string{domain, httpURL},
		},
		{
			name:   "file: 410",
			method: validation.MethodFile,
			setup: func(w *wireWorld, a addrs) {
				w.dns.Add(domain + ". A " + a.web)
				w.web.SetFile(domain, validation.FilePath, http.StatusGone, "gone")
			},
			code: diagnose.CodeFileNotFound,
			msg:  []string{httpURL, "{web}", "410 Gone"},
			fix:  []string{httpURL},
		},
		{
			name:   "file: 403",
			method: validation.MethodFile,
			setup: func(w *wireWorld, a addrs) {
				w.dns.Add(domain + ". A " + a.web)
				w.web.SetFile(domain, validation.FilePath, http.StatusForbidden, "denied")
			},
			code: diagnose.CodeFileBadStatus,
			msg:  []string{httpURL, "{web}", "403 Forbidden"},
			fix:  []string{httpURL, "status 200"},
		},
		{
			name:   "file: 500",
			method: validation.MethodFile,
			setup: func(w *wireWorld, a addrs) {
				w.dns.Add(domain + ". A " + a.web)
				w.web.SetFile(domain, validation.FilePath, http.StatusInternalServerError, "oops")
			},
			code: diagnose.CodeFileBadStatus,
			msg:  []string{httpURL, "{web}", "500 Internal Server Error"},
			fix:  []string{httpURL},
		},
		{
			name:   "file: redirect shows where it leads",
			method: validation.MethodFile,
			setup: func(w *wireWorld, a addrs) {
				w.dns.Add(domain + ". A " + a.web)
				w.web.Handle(domain, validation.FilePath, func(rw http.ResponseWriter, r *http.Request) {
					http.Redirect(rw, r, "https://www.applicant.com"+validation.FilePath, http.StatusMovedPermanently)
				})
			},
			code: diagnose.CodeFileRedirected,
			msg:  []string{httpURL + " → https://www.applicant.com" + validation.FilePath, "{web}", "301 Moved Permanently"},
			fix:  []string{httpURL, "redirects"},
		},
		{
			name:   "file: html page",
			method: validation.MethodFile,
			setup: func(w *wireWorld, a addrs) {
				w.dns.Add(domain + ". A " + a.web)
				w.web.Handle(domain, validation.FilePath, func(rw http.ResponseWriter, _ *http.Request) {
					rw.Header().Set("Content-Type", "text/html; charset=utf-8")
					fmt.Fprint(rw, "<html><body>Welcome to nginx!</body></html>")
				})
			},
			code: diagnose.CodeFileContentMismatch,
			msg:  []string{httpURL, "{web}", "Welcome to nginx!", "HTML page"},
			fix:  []string{wireValue, domain},
		},
		{
			name:   "file: byte order mark",
			method: validation.MethodFile,
			setup: func(w *wireWorld, a addrs) {
				w.dns.Add(domain + ". A " + a.web)
				w.web.SetFile(domain, validation.FilePath, http.StatusOK, "\ufeff"+wireValue+"\n")
			},
			code: diagnose.CodeFileContentMismatch,
			msg:  []string{`\ufeff` + wireValue, "byte order mark"},
			fix:  []string{wireValue, "without a byte order mark"},
		},
		{
			name:   "file: crlf inside",
			method: validation.MethodFile,
			setup: func(w *wireWorld, a addrs) {
				w.dns.Add(domain + ". A " + a.web)
				w.web.SetFile(domain, validation.FilePath, http.StatusOK, "token\r\n"+wireValue+"\r\n")
			},
			code: diagnose.CodeFileContentMismatch,
			msg:  []string{`token\r\n` + wireValue, "carriage returns", "also other text"},
			fix:  []string{wireValue},
		},
		{
			name:   "file: wrong value",
			method: validation.MethodFile,
			setup: func(w *wireWorld, a addrs) {
				w.dns.Add(domain + ". A " + a.web)
				w.web.SetFile(domain, validation.FilePath, http.StatusOK, "stale-value-from-last-year\n")
			},
			code: diagnose.CodeFileContentMismatch,
			msg:  []string{httpURL, "{web}", `"stale-value-from-last-year\n"`},
			fix:  []string{"exactly `" + wireValue + "`"},
		},

		// File method: no HTTP answer.
		{
			name:   "file: connection refused",
			method: validation.MethodFile,
			setup:  func(w *wireWorld, a addrs) { w.dns.Add(domain + ". A " + a.dead) },
			code:   diagnose.CodeFileUnreachable,
			msg:    []string{"Connection refused by {deadhttp}", "nothing listens on port {httpport}"},
			fix:    []string{"port {httpport}", "{dead}", domain},
		},
		{
			name:   "file: connection reset",
			method: validation.MethodFile,
			setup: func(w *wireWorld, a addrs) {
				w.dns.Add(domain + ". A " + a.web)
				w.web.SetMode(w.web.HTTPPort, testenv.ModeReset)
			},
			code: diagnose.CodeFileUnreachable,
			msg:  []string{"connection to {http} was reset"},
			fix:  []string{"{http}", "firewall"},
		},
		{
			name:   "file: closed without an answer (nginx return 444)",
			method: validation.MethodFile,
			setup: func(w *wireWorld, a addrs) {
				w.dns.Add(domain + ". A " + a.web)
				w.web.SetMode(w.web.HTTPPort, testenv.ModeClose)
			},
			code: diagnose.CodeFileUnreachable,
			msg:  []string{"{http} accepted the connection, then closed it without answering", "return 444", "port forwarder"},
			fix:  []string{"error log of the web server at {http}", httpURL},
		},
		{
			name:   "http-01: the status line trickles (nginx limit_rate)",
			method: validation.MethodHTTP01,
			setup: func(w *wireWorld, a addrs) {
				w.dns.Add(domain + ". A " + a.web)
				w.web.SetMode(w.web.HTTPPort, testenv.ModeSlowHead)
			},
			code: diagnose.CodeFileUnreachable,
			msg:  []string{"{http} began to answer, but had not sent its whole status line and headers", "limit_rate"},
			fix:  []string{"rate limits and bandwidth caps of the web server at {http}"},
		},
		{
			name:   "http-01: closed without an answer (nginx return 444)",
			method: validation.MethodHTTP01,
			setup: func(w *wireWorld, a addrs) {
				w.dns.Add(domain + ". A " + a.web)
				w.web.SetMode(w.web.HTTPPort, testenv.ModeClose)
			},
			code: diagnose.CodeFileUnreachable,
			msg:  []string{"{http} accepted the connection, then closed it without answering"},
			fix:  []string{"error log of the web server at {http}"},
		},
		{
			name:   "file: tls on port 80",
			method: validation.MethodFile,
			setup: func(w *wireWorld, a addrs) {
				w.dns.Add(domain + ". A " + a.web)
				w.web.SetMode(w.web.HTTPPort, testenv.ModeTLS)
			},
			code: diagnose.CodeFileUnreachable,
			msg:  []string{"{http} answered with TLS on the plain HTTP port"},
			fix:  []string{"plain HTTP", "port {httpport}"},
		},
		{
			name:   "file: http/2 on port 80",
			method: validation.MethodFile,
			setup: func(w *wireWorld, a addrs) {
				w.dns.Add(domain + ". A " + a.web)
				w.web.SetMode(w.web.HTTPPort, testenv.ModeHTTP2)
			},
			code: diagnose.CodeFileUnreachable,
			msg:  []string{"{http} answered with HTTP/2"},
			fix:  []string{"HTTP/1.1", "port {httpport}"},
		},
		{
			name:   "file: no address",
			method: validation.MethodFile,
			setup:  func(w *wireWorld, _ addrs) { w.dns.Add(domain + `. TXT "v=spf1 -all"`) },
			code:   diagnose.CodeFileUnreachable,
			msg:    []string{domain + " has no A or AAAA record"},
			fix:    []string{"A (IPv4) or AAAA (IPv6) record for " + domain},
		},
		{
			name:   "file: approved",
			method: validation.MethodFile,
			setup: func(w *wireWorld, a addrs) {
				w.dns.Add(domain + ". A " + a.web)
				w.web.SetFile(domain, validation.FilePath, http.StatusOK, wireValue+"\r\n")
			},
		},

		// CAA.
		{
			name:   "caa: another ca only",
			method: validation.MethodDNS,
			setup: func(w *wireWorld, _ addrs) {
				w.dns.Add(host+`. TXT "`+wireValue+`"`, `applicant.com. CAA 0 issue "other-ca.example"`)
			},
			code: diagnose.CodeCAAForbids,
			msg:  []string{"CAA records at applicant.com", "other-ca.example", wireCAAIdentity + " is not among them"},
			fix:  []string{`applicant.com. CAA 0 issue "` + wireCAAIdentity + `"`},
		},
		{
			name:   "caa: this ca listed",
			method: validation.MethodDNS,
			setup: func(w *wireWorld, _ addrs) {
				w.dns.Add(host+`. TXT "`+wireValue+`"`, `applicant.com. CAA 0 issue "`+wireCAAIdentity+`"`)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := setupWire(t)
			dead := testenv.NewLoopbackAddr().String()
			expand := strings.NewReplacer(
				"{dns}", w.dns.Addr,
				"{web}", w.web.IP.String(),
				"{http}", fmt.Sprintf("%s:%d", w.web.IP, w.web.HTTPPort),
				"{httpport}", fmt.Sprint(w.web.HTTPPort),
				"{deadhttp}", fmt.Sprintf("%s:%d", dead, w.web.HTTPPort),
				"{dead}", dead,
			).Replace
			tc.setup(w, addrs{web: w.web.IP.String(), dead: dead})

			obs, err := w.v.Observe(context.Background(), validation.Request{Domain: domain, Method: tc.method, Value: wireValue})
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			res := diagnose.Domain([]validation.Observation{obs}, time.Now())
			if tc.code == "" {
				if res.Status != diagnose.StatusApproved || len(res.Findings) != 0 {
					t.Fatalf("status %s, findings %+v; want approved without findings", res.Status, res.Findings)
				}
				return
			}
			if res.Status != diagnose.StatusPending || len(res.Findings) == 0 {
				t.Fatalf("status %s, findings %+v; want pending with %s", res.Status, res.Findings, tc.code)
			}
			f := res.Findings[0]
			if f.Code != tc.code {
				t.Fatalf("worst finding %s (%q), want %s; all: %+v", f.Code, f.Message, tc.code, res.Findings)
			}
			if f.Severity != diagnose.SeverityError {
				t.Errorf("severity %s, want error", f.Severity)
			}
			for _, want := range tc.msg {
				if want = expand(want); !strings.Contains(f.Message, want) {
					t.Errorf("message %q lacks %q", f.Message, want)
				}
			}
			if f.Fix == "" {
				t.Errorf("%s has no fix", f.Code)
			}
			for _, want := range tc.fix {
				if want = expand(want); !strings.Contains(f.Fix, want) {
					t.Errorf("fix %q lacks %q", f.Fix, want)
				}
			}
		})
	}
}
