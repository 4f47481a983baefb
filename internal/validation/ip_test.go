package validation_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// ipChallengeCert is a tls-alpn-01 certificate whose subjectAltName holds
// the given IP addresses and dNSNames.
func ipChallengeCert(t *testing.T, ips []string, names []string, ext *pkix.Extension) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: names}
	for _, s := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(s))
	}
	if ext != nil {
		tmpl.ExtraExtensions = []pkix.Extension{*ext}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// TestTLSALPN01IPAddress: an IP address identifier (RFC 8738 §6) is dialled
// without a lookup, with its reverse mapping name as SNI, and proved by a
// certificate whose only subjectAltName is that address as an iPAddress.
func TestTLSALPN01IPAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cert  func(t *testing.T, ip string, k acmeKeys) tls.Certificate
		ips   []string
		sans  []string
		code  diagnose.Code
		words []string
	}{
		{
			name: "valid",
			cert: func(t *testing.T, ip string, k acmeKeys) tls.Certificate {
				return ipChallengeCert(t, []string{ip}, nil, acmeIdentifier(t, k.keyAuth, true))
			},
		},
		{
			name: "the address as a dNSName",
			cert: func(t *testing.T, ip string, k acmeKeys) tls.Certificate {
				return ipChallengeCert(t, nil, []string{ip}, acmeIdentifier(t, k.keyAuth, true))
			},
			code: diagnose.CodeTLSALPNWrongCertificate, words: []string{"names {ip} (as a DNS name)", "exactly {ip}, as an IP address (an iPAddress subjectAltName"},
		},
		{
			name: "a name beside the address",
			cert: func(t *testing.T, ip string, k acmeKeys) tls.Certificate {
				return ipChallengeCert(t, []string{ip}, []string{"www.applicant.com"}, acmeIdentifier(t, k.keyAuth, true))
			},
			code: diagnose.CodeTLSALPNWrongCertificate, words: []string{"www.applicant.com (as a DNS name), {ip};"},
		},
		{
			name: "another address",
			cert: func(t *testing.T, _ string, k acmeKeys) tls.Certificate {
				return ipChallengeCert(t, []string{"192.0.2.7"}, nil, acmeIdentifier(t, k.keyAuth, true))
			},
			code: diagnose.CodeTLSALPNWrongCertificate, words: []string{"names 192.0.2.7", "exactly {ip}"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := setupALPN(t)
			k := newACMEKeys(t)
			var mu sync.Mutex
			var sni []string
			cert := tc.cert(t, w.ip, k)
			w.serve(&tls.Config{GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
				mu.Lock()
				sni = append(sni, hi.ServerName)
				mu.Unlock()
				return &tls.Config{NextProtos: []string{validation.ALPNProtocol}, Certificates: []tls.Certificate{cert}}, nil
			}})
			obs, res := diagnoseOne(t, w.v, validation.Request{Domain: w.ip, Method: validation.MethodTLSALPN01, Value: k.keyAuth, Token: acmeToken})
			o := obs.TLSALPN
			if o == nil || len(o.Lookups) != 0 {
				t.Fatalf("observation %+v; want one without lookups", o)
			}
			rev, _ := dns.ReverseAddr(w.ip)
			mu.Lock()
			if len(sni) != 1 || sni[0] != strings.TrimSuffix(rev, ".") {
				t.Errorf("SNI %q, want the reverse mapping name %q", sni, rev)
			}
			mu.Unlock()
			if o.Matches(w.ip) != (tc.code == "") {
				t.Errorf("Matches = %v; SANs %v, IP SANs %v", o.Matches(w.ip), o.SANs, o.IPSANs)
			}
			checkVerdict(t, res, tc.code, expandAll(strings.NewReplacer("{ip}", w.ip).Replace, tc.words), nil)
		})
	}
}

// A DNS name is not proved by a certificate that also names an address.
func TestTLSALPN01NameWithAnAddressBeside(t *testing.T) {
	t.Parallel()
	const domain = "t.applicant.com"
	w := setupALPN(t)
	k := newACMEKeys(t)
	w.dns.Add(domain + ". A " + w.ip)
	w.serve(&tls.Config{NextProtos: []string{validation.ALPNProtocol},
		Certificates: []tls.Certificate{ipChallengeCert(t, []string{"192.0.2.7"}, []string{domain}, acmeIdentifier(t, k.keyAuth, true))}})
	obs, res := diagnoseOne(t, w.v, validation.Request{Domain: domain, Method: validation.MethodTLSALPN01, Value: k.keyAuth, Token: acmeToken})
	if obs.TLSALPN.Matches(domain) || len(obs.TLSALPN.IPSANs) != 1 {
		t.Fatalf("matched, or IP SANs %v", obs.TLSALPN.IPSANs)
	}
	checkVerdict(t, res, diagnose.CodeTLSALPNWrongCertificate, []string{domain + ", 192.0.2.7 (an IP address)", "exactly " + domain}, nil)
}

// TestHTTP01IPAddress: http-01 for an IP address identifier fetches
// http://<address>/.well-known/acme-challenge/<token> from the address
// itself, with the address as Host, and looks nothing up, not even CAA.
func TestHTTP01IPAddress(t *testing.T) {
	t.Parallel()
	web := testenv.NewWebServer(t)
	k := newACMEKeys(t)
	var host string
	var mu sync.Mutex
	web.Handle("", validation.HTTP01Path+acmeToken, func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		host = r.Host
		mu.Unlock()
		_, _ = rw.Write([]byte(k.keyAuth))
	})
	f, err := webfetch.New(webfetch.Config{Resolver: refuseLookups{t}, HTTPPort: web.HTTPPort, HTTPSPort: web.HTTPSPort, AllowLoopback: true,
		ConnectTimeout: time.Second, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: refuseLookups{t}, Fetcher: f, Timeout: wireObserveLimit, CAAIdentity: "dcv.test"})
	if err != nil {
		t.Fatal(err)
	}
	ip := web.IP.String()
	obs, res := diagnoseOne(t, v, validation.Request{Domain: ip, Method: validation.MethodHTTP01, Value: k.keyAuth, Token: acmeToken})
	checkVerdict(t, res, "", nil, nil)
	if obs.CAA != nil {
		t.Errorf("CAA looked up for an IP address: %+v", obs.CAA)
	}
	if want := "http://" + ip + validation.HTTP01Path + acmeToken; obs.File.URL != want {
		t.Errorf("URL %s, want %s", obs.File.URL, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if host != ip {
		t.Errorf("Host %q, want %q", host, ip)
	}
	if got := validation.HTTP01URL("2001:db8::1", "tok"); got != "http://[2001:db8::1]"+validation.HTTP01Path+"tok" {
		t.Errorf("HTTP01URL(IPv6) = %s", got)
	}
}

// refuseLookups is a resolver that fails the test when asked anything.
type refuseLookups struct{ t *testing.T }

func (r refuseLookups) Lookup(_ context.Context, name string, qtype uint16) (*dnsclient.Response, error) {
	r.t.Errorf("looked %s %s up", name, dns.TypeToString[qtype])
	return nil, errors.New("no lookups expected")
}

// An IP address whose http-01 port refuses the connection is told to run a
// server at the address itself, not to change DNS records it has none of.
func TestHTTP01IPAddressRefused(t *testing.T) {
	t.Parallel()
	ln, err := testenv.ListenTCP(0)
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().(*net.TCPAddr)
	ln.Close() // nothing listens there now
	f, err := webfetch.New(webfetch.Config{Resolver: refuseLookups{t}, HTTPPort: a.Port, HTTPSPort: a.Port, AllowLoopback: true,
		ConnectTimeout: time.Second, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: refuseLookups{t}, Fetcher: f, Timeout: wireObserveLimit})
	if err != nil {
		t.Fatal(err)
	}
	ip := a.IP.String()
	_, res := diagnoseOne(t, v, validation.Request{Domain: ip, Method: validation.MethodHTTP01, Value: "ka", Token: acmeToken})
	checkVerdict(t, res, diagnose.CodeFileUnreachable, []string{"Connection refused by " + ip}, []string{"on port", "of " + ip, "validated at the address itself"})
	if strings.Contains(res.Findings[0].Fix, "A/AAAA") {
		t.Errorf("fix %q speaks of DNS records", res.Findings[0].Fix)
	}
}

// TestHTTP01IPAddressRedirects: where a redirect from an address leads is
// told in an address's terms, not a domain's: another host is not the
// address validated, and a special-purpose address is one dcv does not
// connect to (nothing is sent to it), with no DNS record to change.
func TestHTTP01IPAddressRedirects(t *testing.T) {
	t.Parallel()
	web := testenv.NewWebServer(t)
	web.Handle("", validation.HTTP01Path+"to-name", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "http://www.applicant.com/x", http.StatusFound)
	})
	web.Handle("", validation.HTTP01Path+"to-metadata", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	web.Handle("", validation.HTTP01Path+"to-odd-form", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "http://[0:0::1]/x", http.StatusFound)
	})
	web.Handle("", validation.HTTP01Path+"to-octal", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "http://127.0.0.010/x", http.StatusFound)
	})
	ip := web.IP.String()
	tests := []struct {
		token           string
		any             bool // redirects to other domains followed, as for http-01
		code            diagnose.Code
		msg, fix, notIn []string
	}{
		{token: "to-name", code: diagnose.CodeFileRedirected, msg: []string{"leads to www.applicant.com, another host than the address " + ip}, notIn: []string{"registered domain"}},
		{token: "to-metadata", any: true, code: diagnose.CodeAddressReserved, msg: []string{"169.254.169.254 is an address dcv does not connect to"}, fix: []string{"Do not redirect the validation path to 169.254.169.254"}, notIn: []string{"A/AAAA"}},
		{token: "to-octal", code: diagnose.CodeFileRedirected, msg: []string{"a number with a leading zero", "dotted decimal"}, fix: []string{"exempt /.well-known/acme-challenge/ from the redirect"}, notIn: []string{"www"}},
		{token: "to-odd-form", code: diagnose.CodeFileRedirected, msg: []string{"another form than its canonical one (::1)"}},
	}
	for _, tc := range tests {
		t.Run(tc.token, func(t *testing.T) {
			t.Parallel()
			f, err := webfetch.New(webfetch.Config{Resolver: refuseLookups{t}, HTTPPort: web.HTTPPort, HTTPSPort: web.HTTPSPort, AllowLoopback: true,
				ConnectTimeout: time.Second, Timeout: 2 * time.Second, MaxRedirects: 3, AnyDomainRedirects: tc.any})
			if err != nil {
				t.Fatal(err)
			}
			v, err := validation.New(validation.Config{Resolver: refuseLookups{t}, Fetcher: f, Timeout: wireObserveLimit})
			if err != nil {
				t.Fatal(err)
			}
			_, res := diagnoseOne(t, v, validation.Request{Domain: ip, Method: validation.MethodHTTP01, Value: "ka", Token: tc.token})
			checkVerdict(t, res, tc.code, tc.msg, tc.fix)
			for _, w := range tc.notIn {
				if strings.Contains(res.Findings[0].Message+res.Findings[0].Fix, w) {
					t.Errorf("finding speaks of %q: %+v", w, res.Findings[0])
				}
			}
		})
	}
}

// The file method at an address that redirects is told to exempt the path
// from the redirect, with no www twin to speak of.
func TestFileIPAddressRedirected(t *testing.T) {
	t.Parallel()
	web := testenv.NewWebServer(t)
	web.Handle("", validation.FilePath, func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "https://"+r.Host+"/elsewhere", http.StatusMovedPermanently)
	})
	f, err := webfetch.New(webfetch.Config{Resolver: refuseLookups{t}, HTTPPort: web.HTTPPort, HTTPSPort: web.HTTPSPort, AllowLoopback: true,
		ConnectTimeout: time.Second, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: refuseLookups{t}, Fetcher: f, Timeout: wireObserveLimit})
	if err != nil {
		t.Fatal(err)
	}
	ip := web.IP.String()
	obs, res := diagnoseOne(t, v, validation.Request{Domain: ip, Method: validation.MethodFile, Value: "v"})
	checkVerdict(t, res, diagnose.CodeFileRedirected, []string{"http://" + ip + validation.FilePath}, []string{"from the redirect"})
	if strings.Contains(res.Findings[0].Fix, "www") {
		t.Errorf("fix %q speaks of www", res.Findings[0].Fix)
	}
	for _, p := range obs.File.Probes {
		if strings.Contains(p.Trace.URL, "www.") {
			t.Errorf("probed %s for an address", p.Trace.URL)
		}
	}
}
