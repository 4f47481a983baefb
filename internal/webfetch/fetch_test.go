package webfetch

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
)

// fakeResolver answers from a map keyed "name TYPE"; unknown keys get an
// empty NOERROR answer.
type fakeResolver struct {
	dnsclient.Resolver
	answers map[string]*dnsclient.Response
	errs    map[string]error
}

func (r *fakeResolver) Lookup(_ context.Context, name string, qtype uint16) (*dnsclient.Response, error) {
	typ := map[uint16]string{qtypeA: "A", qtypeAAAA: "AAAA"}[qtype]
	key := name + " " + typ
	if err := r.errs[key]; err != nil {
		return nil, err
	}
	if resp := r.answers[key]; resp != nil {
		return resp, nil
	}
	return &dnsclient.Response{Name: name, Type: typ, Rcode: "NOERROR", Server: "fake"}, nil
}

// addrs returns a resolver answering name with addrs (A or AAAA by family).
func addrs(name string, as ...netip.Addr) *fakeResolver {
	r := &fakeResolver{answers: map[string]*dnsclient.Response{}}
	for _, a := range as {
		typ := "A"
		if a.Is6() {
			typ = "AAAA"
		}
		key := name + " " + typ
		if r.answers[key] == nil {
			r.answers[key] = &dnsclient.Response{Name: name, Type: typ, Rcode: "NOERROR", Server: "fake"}
		}
		r.answers[key].Answer = append(r.answers[key].Answer, dnsclient.Record{Name: name, Type: typ, TTL: 60, Data: a.String()})
	}
	return r
}

const (
	testHost    = "www.example.test"
	testTimeout = 1500 * time.Millisecond
)

func newFetcher(t *testing.T, w *testenv.WebServer, res dnsclient.Resolver, allowLoopback bool) *Fetcher {
	t.Helper()
	return fetcherOn(t, res, w.HTTPPort, w.HTTPSPort, allowLoopback)
}

// fetcherOn returns a Fetcher with the tests' timeouts that dials the
// given ports.
func fetcherOn(tb testing.TB, res dnsclient.Resolver, httpPort, httpsPort int, allowLoopback bool) *Fetcher {
	tb.Helper()
	f, err := New(Config{
		Resolver:       res,
		HTTPPort:       httpPort,
		HTTPSPort:      httpsPort,
		AllowLoopback:  allowLoopback,
		ConnectTimeout: time.Second,
		Timeout:        testTimeout,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func TestFetchOnTheWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		setup     func(w *testenv.WebServer)
		https     bool
		addrs     func(w *testenv.WebServer) []netip.Addr // default: the server's IP
		noLoop    bool                                    // AllowLoopback=false
		status    int
		body      string
		truncated bool
		prefix    bool        // Body need only start with body
		kinds     []ErrorKind // when set, the error kind of each attempt ("" for none)
		location  string
		kind      ErrorKind // of the final attempt
		detail    string    // in the final attempt's error detail
		attempts  int
		conns     int // connections the server saw on the port; -1 to skip
	}{
		{
			name:     "200 body kept",
			setup:    func(w *testenv.WebServer) { w.SetFile(testHost, "/f", 200, "value\r\n") },
			status:   200,
			body:     "value\r\n",
			attempts: 1, conns: 1,
		},
		{
			name: "request host, user agent, http/1.1",
			setup: func(w *testenv.WebServer) {
				w.Handle("", "/f", func(rw http.ResponseWriter, r *http.Request) {
					fmt.Fprintf(rw, "%s|%s|%s|%s", r.Host, r.UserAgent(), r.Proto, r.Header.Get("Accept-Encoding"))
				})
			},
			status:   200,
			body:     testHost + "|dcv-validation/1 (+perspective primary)|HTTP/1.1|",
			attempts: 1, conns: 1,
		},
		{
			name:     "404",
			setup:    func(*testenv.WebServer) {},
			status:   404,
			body:     "not found\n",
			attempts: 1, conns: 1,
		},
		{
			name: "redirect recorded, not followed",
			setup: func(w *testenv.WebServer) {
				w.Handle("", "/f", func(rw http.ResponseWriter, r *http.Request) {
					rw.Header().Set("Location", "/elsewhere")
					rw.WriteHeader(http.StatusFound)
				})
				w.SetFile("", "/elsewhere", 200, "followed")
			},
			status:   302,
			location: "/elsewhere",
			attempts: 1, conns: 1,
		},
		{
			name:     "https 200 with any sni",
			https:    true,
			setup:    func(w *testenv.WebServer) { w.SetFile(testHost, "/f", 200, "tls value") },
			status:   200,
			body:     "tls value",
			attempts: 1, conns: 1,
		},
		{
			name:  "refused on a loopback address with nothing listening",
			setup: func(*testenv.WebServer) {},
			addrs: func(*testenv.WebServer) []netip.Addr {
				return []netip.Addr{testenv.NewLoopbackAddr()}
			},
			kind:     ErrConnectionRefused,
			attempts: 1, conns: 0,
		},
		{
			name:     "reset",
			setup:    func(w *testenv.WebServer) { w.SetMode(w.HTTPPort, testenv.ModeReset) },
			kind:     ErrConnectionReset,
			attempts: 1, conns: 1,
		},
		{
			name:     "hang: timeout after connect",
			setup:    func(w *testenv.WebServer) { w.SetMode(w.HTTPPort, testenv.ModeHang) },
			kind:     ErrTimeoutAfterConn,
			detail:   "timeout waiting for response headers",
			attempts: 1, conns: 1,
		},
		{
			name:     "https hang: timeout during tls handshake",
			https:    true,
			setup:    func(w *testenv.WebServer) { w.SetMode(w.HTTPSPort, testenv.ModeHang) },
			kind:     ErrTimeoutAfterConn,
			detail:   "timeout during tls handshake",
			attempts: 1, conns: 1,
		},
		{
			// Over TLS the handshake's bytes are no part of the answer:
			// a handler that never answers is no trickle (review).
			name:  "https handler that never answers: timeout waiting for headers",
			https: true,
			setup: func(w *testenv.WebServer) {
				w.Handle("", "/f", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
			},
			kind:     ErrTimeoutAfterConn,
			detail:   "timeout waiting for response headers",
			attempts: 1, conns: 1,
		},
		{
			name:     "slow body ends at the deadline",
			setup:    func(w *testenv.WebServer) { w.Handle("", "/f", testenv.SlowBody) },
			status:   200,
			body:     "x",
			prefix:   true,
			kind:     ErrTimeoutAfterConn,
			detail:   "timeout reading body",
			attempts: 1, conns: 1,
		},
		{
			// The deadline cuts the status line: a slow server, not a
			// malformed answer.
			name:     "slow status line ends at the deadline",
			setup:    func(w *testenv.WebServer) { w.SetMode(w.HTTPPort, testenv.ModeSlowHead) },
			kind:     ErrTimeoutAfterConn,
			detail:   DetailPartialHead,
			attempts: 1, conns: 1,
		},
		{
			name:     "http/2 on the http port",
			setup:    func(w *testenv.WebServer) { w.SetMode(w.HTTPPort, testenv.ModeHTTP2) },
			kind:     ErrHTTP2OnPlain,
			attempts: 1, conns: 1,
		},
		{
			name:     "tls on the http port",
			setup:    func(w *testenv.WebServer) { w.SetMode(w.HTTPPort, testenv.ModeTLS) },
			kind:     ErrTLSOnPlain,
			attempts: 1, conns: 1,
		},
		{
			name:     "plain http on the https port",
			https:    true,
			setup:    func(w *testenv.WebServer) { w.SetMode(w.HTTPSPort, testenv.ModePlain) },
			kind:     ErrPlainOnTLS,
			detail:   "plain http",
			attempts: 1, conns: 1,
		},
		{
			name:      "1 GiB body: only MaxBodyKept kept",
			setup:     func(w *testenv.WebServer) { w.Handle("", "/f", testenv.HugeBody) },
			status:    200,
			body:      strings.Repeat("a", MaxBodyKept),
			truncated: true,
			attempts:  1, conns: 1,
		},
		{
			name:     "reserved address refused without a connection",
			setup:    func(w *testenv.WebServer) { w.SetFile("", "/f", 200, "v") },
			noLoop:   true,
			kind:     ErrReservedAddress,
			attempts: 1, conns: 0,
		},
		{
			name:  "ipv6 first, reserved skipped, refused skipped, then ipv4",
			setup: func(w *testenv.WebServer) { w.SetFile("", "/f", 200, "v") },
			addrs: func(w *testenv.WebServer) []netip.Addr {
				return []netip.Addr{testenv.NewLoopbackAddr(), netip.MustParseAddr("2001:db8::1"), w.IP}
			},
			status:   200,
			body:     "v",
			kinds:    []ErrorKind{ErrReservedAddress, ErrConnectionRefused, ""},
			attempts: 3, conns: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := testenv.NewWebServer(t)
			tc.setup(w)
			as := []netip.Addr{w.IP}
			if tc.addrs != nil {
				as = tc.addrs(w)
			}
			f := newFetcher(t, w, addrs(testHost+".", as...), !tc.noLoop)
			scheme, port := "http", w.HTTPPort
			if tc.https {
				scheme, port = "https", w.HTTPSPort
			}
			start := time.Now()
			tr := f.Fetch(t.Context(), scheme+"://"+testHost+"/f")
			elapsed := time.Since(start)

			if tr.ResolveError != nil {
				t.Fatalf("ResolveError = %v", tr.ResolveError)
			}
			if len(tr.Attempts) != tc.attempts {
				t.Fatalf("%d attempts, want %d: %+v", len(tr.Attempts), tc.attempts, tr.Attempts)
			}
			for i, k := range tc.kinds {
				if got := tr.Attempts[i].Err; (got == nil) != (k == "") || got != nil && got.Kind != k {
					t.Errorf("attempt %d: Err = %v, want %q", i, got, k)
				}
			}
			if len(tr.Addresses) != len(as) || !strings.Contains(tr.Addresses[0], ":") && len(tc.kinds) > 0 {
				t.Errorf("Addresses = %v, want %d with IPv6 first", tr.Addresses, len(as))
			}
			a := tr.Final()
			if a.Status != tc.status {
				t.Errorf("Status = %d, want %d (err %v)", a.Status, tc.status, a.Err)
			}
			if got := string(a.Body); tc.status != 0 && got != tc.body && !(tc.prefix && strings.HasPrefix(got, tc.body)) {
				t.Errorf("Body = %.80q, want %.80q", a.Body, tc.body)
			}
			if a.BodyTruncated != tc.truncated {
				t.Errorf("BodyTruncated = %v, want %v", a.BodyTruncated, tc.truncated)
			}
			if a.Location != tc.location {
				t.Errorf("Location = %q, want %q", a.Location, tc.location)
			}
			switch {
			case tc.kind == "" && a.Err != nil:
				t.Errorf("Err = %v, want none", a.Err)
			case tc.kind != "" && a.Err == nil:
				t.Errorf("Err = nil, want %s", tc.kind)
			case tc.kind != "":
				if a.Err.Kind != tc.kind || a.Err.Address != a.Address || !strings.Contains(a.Err.Detail, tc.detail) {
					t.Errorf("Err = %+v, want kind %s at %s with %q", a.Err, tc.kind, a.Address, tc.detail)
				}
			}
			if tc.status != 0 && a.Proto != "HTTP/1.1" {
				t.Errorf("Proto = %q, want HTTP/1.1", a.Proto)
			}
			if a.Status != 0 && (a.ConnectDuration <= 0 || a.Duration < a.ConnectDuration) {
				t.Errorf("ConnectDuration %v, Duration %v", a.ConnectDuration, a.Duration)
			}
			if got := w.Connections(port); got != tc.conns {
				t.Errorf("server saw %d connections on %d, want %d", got, port, tc.conns)
			}
			if limit := testTimeout + time.Second; elapsed > limit {
				t.Errorf("fetch took %v, want under %v", elapsed, limit)
			}
		})
	}
}

func TestFetchResolveErrors(t *testing.T) {
	t.Parallel()
	name := testHost + "."
	resp := func(typ, rcode string) *dnsclient.Response {
		return &dnsclient.Response{Name: name, Type: typ, Rcode: rcode, Server: "192.0.2.53:53"}
	}
	tests := []struct {
		name     string
		answers  map[string]*dnsclient.Response
		errs     map[string]error
		kind     ErrorKind
		detail   string
		upstream bool     // dcv's own side
		zone     string   // the zone none of whose servers answered
		cnames   []string // the CNAME chain kept
		dnssec   string   // the DNSSEC status kept
	}{
		{
			// A CNAME to a name that does not exist: the chain is kept,
			// so that the diagnosis names the missing target.
			name: "nxdomain at a CNAME target",
			answers: map[string]*dnsclient.Response{name + " A": func() *dnsclient.Response {
				r := resp("A", "NXDOMAIN")
				r.CNAMEs = []string{"nowhere.example.net."}
				return r
			}(), name + " AAAA": func() *dnsclient.Response {
				r := resp("AAAA", "NXDOMAIN")
				r.CNAMEs = []string{"nowhere.example.net."}
				return r
			}()},
			kind: ErrDNSNXDomain, cnames: []string{"nowhere.example.net."},
		},
		{
			name: "bogus nxdomain",
			answers: map[string]*dnsclient.Response{name + " A": func() *dnsclient.Response {
				r := resp("A", "NXDOMAIN")
				r.CNAMEs = []string{"x.bad.example."}
				r.DNSSEC, r.DNSSECZone = "bogus", "bad.example."
				return r
			}()},
			kind: ErrDNSNXDomain, cnames: []string{"x.bad.example."}, dnssec: "bogus",
		},
		{
			name:    "nxdomain",
			answers: map[string]*dnsclient.Response{name + " A": resp("A", "NXDOMAIN"), name + " AAAA": resp("AAAA", "NXDOMAIN")},
			kind:    ErrDNSNXDomain, detail: "NXDOMAIN from 192.0.2.53:53",
		},
		{
			name:    "servfail",
			answers: map[string]*dnsclient.Response{name + " A": resp("A", "SERVFAIL"), name + " AAAA": resp("AAAA", "SERVFAIL")},
			kind:    ErrDNSServfail, detail: "SERVFAIL",
		},
		{
			name:    "nxdomain wins over servfail",
			answers: map[string]*dnsclient.Response{name + " A": resp("A", "NXDOMAIN"), name + " AAAA": resp("AAAA", "SERVFAIL")},
			kind:    ErrDNSNXDomain,
		},
		{
			name:    "refused rcode",
			answers: map[string]*dnsclient.Response{name + " A": resp("A", "REFUSED")},
			kind:    ErrDNSRefused, detail: "REFUSED",
		},
		{
			// dcv's own forward resolver refusing refuses dcv.
			name: "refused by dcv's resolver",
			answers: map[string]*dnsclient.Response{name + " A": func() *dnsclient.Response {
				r := resp("A", "REFUSED")
				r.Resolver = true
				return r
			}()},
			kind: ErrDNSRefused, detail: "REFUSED", upstream: true,
		},
		{
			name: "timeout",
			errs: map[string]error{name + " A": &dnsclient.Error{Kind: dnsclient.KindTimeout, Name: name, Type: "A"}},
			kind: ErrDNSTimeout, detail: "timeout",
		},
		{
			// Addresses from an answer that fails DNSSEC validation may
			// be forged: none is dialled, not even the other family's.
			name: "bogus address answer",
			answers: map[string]*dnsclient.Response{
				name + " A": func() *dnsclient.Response {
					r := resp("A", "NOERROR")
					r.Answer = []dnsclient.Record{{Name: name, Type: "A", Data: "192.0.2.10"}}
					r.DNSSEC, r.DNSSECReason = dnsclient.Bogus.String(), "signature expired"
					return r
				}(),
				name + " AAAA": func() *dnsclient.Response {
					r := resp("AAAA", "NOERROR")
					r.Answer = []dnsclient.Record{{Name: name, Type: "AAAA", Data: "2001:db8::10"}}
					return r
				}(),
			},
			kind: ErrDNSServfail, detail: "DNSSEC bogus: signature expired", dnssec: "bogus",
		},
		{
			// Every server of com silent: the zone is kept for the
			// diagnosis (the registry's side, not the domain's).
			name: "timeout at a zone",
			errs: map[string]error{name + " A": &dnsclient.Error{Kind: dnsclient.KindTimeout, Name: name, Type: "A", Zone: "com."}},
			kind: ErrDNSTimeout, detail: "timeout", zone: "com.",
		},
		{
			name: "unreachable zone",
			errs: map[string]error{name + " A": &dnsclient.Error{Kind: dnsclient.KindNetwork, Name: name, Type: "A", Zone: "com."}},
			kind: ErrDNSError, zone: "com.",
		},
		{
			name: "timeout on one, empty on the other: not no_address",
			errs: map[string]error{name + " AAAA": &dnsclient.Error{Kind: dnsclient.KindTimeout, Name: name, Type: "AAAA"}},
			kind: ErrDNSTimeout,
		},
		{
			name: "other lookup error",
			errs: map[string]error{name + " A": &dnsclient.Error{Kind: dnsclient.KindMalformed, Name: name, Type: "A"}},
			kind: ErrDNSError, detail: "malformed",
		},
		{
			name: "both empty",
			kind: ErrNoAddress, detail: "no A or AAAA record for " + testHost,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := New(Config{Resolver: &fakeResolver{answers: tc.answers, errs: tc.errs}})
			if err != nil {
				t.Fatal(err)
			}
			tr := f.Fetch(t.Context(), "http://"+testHost+"/f")
			if tr.ResolveError == nil || tr.ResolveError.Kind != tc.kind || !strings.Contains(tr.ResolveError.Detail, tc.detail) {
				t.Fatalf("ResolveError = %+v, want %s with %q", tr.ResolveError, tc.kind, tc.detail)
			}
			if !slices.Equal(tr.ResolveError.CNAMEs, tc.cnames) || tr.ResolveError.DNSSEC != tc.dnssec {
				t.Errorf("ResolveError = %+v, want CNAMEs %v, DNSSEC %q", tr.ResolveError, tc.cnames, tc.dnssec)
			}
			if tr.ResolveError.Zone != tc.zone {
				t.Errorf("ResolveError.Zone = %q, want %q", tr.ResolveError.Zone, tc.zone)
			}
			if tr.ResolveError.Upstream != tc.upstream || (tc.upstream && (!tr.ResolveError.Resolver || tr.ResolveError.Address != "192.0.2.53:53")) {
				t.Errorf("ResolveError = %+v: upstream %v, want %v", tr.ResolveError, tr.ResolveError.Upstream, tc.upstream)
			}
			if len(tr.Attempts) != 0 || tr.Final() != nil || tr.Host != testHost {
				t.Errorf("attempts %v, host %q", tr.Attempts, tr.Host)
			}
		})
	}
}

func TestFetchInvalidURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, url, detail string }{
		{"ftp scheme", "ftp://example.test/f", "not http or https"},
		{"ipv4 literal", "http://192.0.2.1/f", "ip address"},
		{"ipv6 literal", "http://[2001:db8::1]/f", "ip address"},
		{"numeric form", "http://127.1/f", "numeric top label"},
		{"localhost", "http://localhost/f", "special-use name"},
		{"under localhost", "http://www.localhost./f", "special-use name"},
		{"invalid", "http://a.invalid/f", "special-use name"},
		{"userinfo", "http://user:pw@example.test/f", "userinfo"},
		{"other port", "http://example.test:8080/f", "port 8080 not allowed"},
		{"https port on http", "http://example.test:443/f", "port 443 not allowed"},
		{"bad character", "http://exa%21mple.test/f", ""},
		{"empty host", "http:///f", "empty"},
		{"long label", "http://" + strings.Repeat("a", 64) + ".test/f", "63"},
		{"unparsable", "http://[::1/f", "parsing url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := &fakeResolver{}
			f, err := New(Config{Resolver: res})
			if err != nil {
				t.Fatal(err)
			}
			tr := f.Fetch(t.Context(), tc.url)
			if tr == nil || tr.ResolveError == nil || tr.ResolveError.Kind != ErrInvalidURL || !strings.Contains(tr.ResolveError.Detail, tc.detail) {
				t.Fatalf("Fetch(%q).ResolveError = %+v, want invalid_url with %q", tc.url, tr.ResolveError, tc.detail)
			}
		})
	}
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"no resolver", Config{}, "resolver is required"},
		{"bad port", Config{Resolver: &fakeResolver{}, HTTPPort: 70000}, "port 70000 out of range"},
		{"negative timeout", Config{Resolver: &fakeResolver{}, Timeout: -1}, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("New() error = %v, want %q", err, tc.err)
			}
		})
	}
	f, err := New(Config{Resolver: &fakeResolver{}, Perspective: "eu-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Resolver: f.cfg.Resolver, HTTPPort: 80, HTTPSPort: 443, ConnectTimeout: 5 * time.Second,
		Timeout: 10 * time.Second, Perspective: "eu-1", UserAgent: "dcv-validation/1 (+perspective eu-1)"}
	if f.cfg != want {
		t.Errorf("defaults = %+v, want %+v", f.cfg, want)
	}
}

// TestFetchSourceFamily: with a source address, an address of the other
// family is not dialled (no connection from an IPv4 source reaches IPv6)
// and is told apart as dcv's own limit; one of the same family is dialled.
func TestFetchSourceFamily(t *testing.T) {
	t.Parallel()
	w := testenv.NewWebServer(t)
	w.SetFile("", "/f", http.StatusOK, "ok")
	src := testenv.NewLoopbackAddr()
	tests := []struct {
		name  string
		addrs []netip.Addr
		// kinds are the attempts' error kinds, "" for a fetch that served.
		kinds []ErrorKind
	}{
		{"IPv6 only", []netip.Addr{netip.MustParseAddr("::1")}, []ErrorKind{ErrSourceAddress}},
		{"IPv4 only", []netip.Addr{w.IP}, []ErrorKind{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := New(Config{Resolver: addrs(testHost+".", tt.addrs...), HTTPPort: w.HTTPPort, HTTPSPort: w.HTTPSPort, AllowLoopback: true,
				ConnectTimeout: time.Second, Timeout: testTimeout, Source: src})
			if err != nil {
				t.Fatal(err)
			}
			tr := f.Fetch(t.Context(), "http://"+testHost+"/f")
			var kinds []ErrorKind
			for _, a := range tr.Attempts {
				k := ErrorKind("")
				if a.Err != nil {
					k = a.Err.Kind
					if k == ErrSourceAddress && !strings.Contains(a.Err.Detail, "not dialled: connections are made from "+src.String()+", and there is no IPv6 source address") {
						t.Errorf("detail %q", a.Err.Detail)
					}
				}
				kinds = append(kinds, k)
			}
			if !slices.Equal(kinds, tt.kinds) {
				t.Fatalf("attempts %v, want %v (trace %+v)", kinds, tt.kinds, tr)
			}
		})
	}
}
