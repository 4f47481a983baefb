package webfetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
)

// noLookups is a resolver that fails the test when asked anything: an IP
// address host is dialled as it is.
type noLookups struct {
	dnsclient.Resolver
	t *testing.T
}

func (r noLookups) Lookup(_ context.Context, name string, _ uint16) (*dnsclient.Response, error) {
	r.t.Errorf("looked %s up", name)
	return nil, errors.New("no lookups")
}

// TestFetchIPAddressHost: a URL whose host is an IP address (an RFC 8738
// identifier's http-01 URL) is fetched from that address, without a
// lookup, with the address as Host; the address policy still applies; a
// redirect may go back to the same address, not to another domain.
func TestFetchIPAddressHost(t *testing.T) {
	t.Parallel()
	w := testenv.NewWebServer(t)
	w.Handle("", "/host", func(rw http.ResponseWriter, r *http.Request) { fmt.Fprint(rw, r.Host) })
	w.Handle("", "/to-https", redirect(http.StatusMovedPermanently, "https://"+w.IP.String()+"/host"))
	w.Handle("", "/to-name", redirect(http.StatusMovedPermanently, "http://other.example/host"))
	// Another address ending in the same two numbers is another origin.
	other := w.IP.As4()
	other[1]++
	w.Handle("", "/to-other-ip", redirect(http.StatusMovedPermanently, "http://"+netip.AddrFrom4(other).String()+"/host"))
	ip := w.IP.String()

	tests := []struct {
		name     string
		url      string
		loopback bool
		status   int
		body     string
		kind     ErrorKind
		rule     RedirectRule
		hops     int
	}{
		{name: "fetched from the address", url: "http://" + ip + "/host", loopback: true, status: 200, body: ip, hops: 1},
		{name: "reserved refused", url: "http://" + ip + "/host", kind: ErrReservedAddress, hops: 1},
		{name: "same address over https followed", url: "http://" + ip + "/to-https", loopback: true, status: 200, body: ip, hops: 2},
		{name: "another domain refused", url: "http://" + ip + "/to-name", loopback: true, status: 301, rule: RedirectOtherDomain, hops: 1},
		{name: "another address refused", url: "http://" + ip + "/to-other-ip", loopback: true, status: 301, rule: RedirectOtherDomain, hops: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := New(Config{Resolver: noLookups{t: t}, HTTPPort: w.HTTPPort, HTTPSPort: w.HTTPSPort, AllowLoopback: tc.loopback,
				ConnectTimeout: time.Second, Timeout: testTimeout, MaxRedirects: 3})
			if err != nil {
				t.Fatal(err)
			}
			if tr := f.Fetch(t.Context(), tc.url); tr.ResolveError == nil || tr.ResolveError.Kind != ErrInvalidURL || len(tr.Attempts) != 0 {
				t.Fatalf("Fetch of an address URL = %+v; want it refused, only FetchAddress takes one", tr)
			}
			tr := f.FetchAddress(t.Context(), tc.url)
			if tr.ResolveError != nil {
				t.Fatalf("ResolveError = %+v", tr.ResolveError)
			}
			if tr.Host != ip || len(tr.Addresses) != 1 || tr.Addresses[0] != ip {
				t.Errorf("host %q, addresses %v, want %s", tr.Host, tr.Addresses, ip)
			}
			if len(tr.Attempts) != tc.hops {
				t.Fatalf("%d attempts, want %d: %+v", len(tr.Attempts), tc.hops, tr.Attempts)
			}
			last := tr.Attempts[len(tr.Attempts)-1]
			if tc.kind != "" {
				if last.Err == nil || last.Err.Kind != tc.kind {
					t.Fatalf("error %+v, want %s", last.Err, tc.kind)
				}
				return
			}
			if last.Err != nil || last.Status != tc.status || last.RedirectRefused != tc.rule {
				t.Fatalf("attempt %+v, want status %d, rule %q", last, tc.status, tc.rule)
			}
			if tc.body != "" && string(last.Body) != tc.body {
				t.Errorf("body %q, want %q", last.Body, tc.body)
			}
		})
	}
}

// An IPv6 address host is sent bracketed in Host (RFC 9110 §7.2).
func TestFetchIPv6AddressHost(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatalf("no IPv6 loopback (::1), which the test machine has: %v", err)
	}
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { fmt.Fprint(rw, r.Host) })}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	f := fetcherOn(t, noLookups{t: t}, port, 0, true)
	tr := f.FetchAddress(t.Context(), "http://[::1]/x")
	if tr.ResolveError != nil || len(tr.Attempts) != 1 {
		t.Fatalf("trace %+v", tr)
	}
	a := tr.Attempts[0]
	if a.Err != nil || a.Status != 200 || string(a.Body) != "[::1]" {
		t.Fatalf("attempt status %d body %q err %v, want Host [::1]", a.Status, a.Body, a.Err)
	}
	if want := netip.AddrPortFrom(netip.IPv6Loopback(), uint16(port)).String(); a.Address != want {
		t.Errorf("dialled %s, want %s", a.Address, want)
	}
}

// FetchAddress takes an address only in its canonical form, without a zone.
func TestFetchAddressRefusesOtherForms(t *testing.T) {
	t.Parallel()
	f, err := New(Config{Resolver: noLookups{t: t}, AllowLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://[2001:DB8:0::1]/f", "http://[fe80::1%25eth0]/f", "http://[::ffff:127.0.0.1]/f"} {
		if tr := f.FetchAddress(t.Context(), u); tr.ResolveError == nil || tr.ResolveError.Kind != ErrInvalidURL {
			t.Errorf("FetchAddress(%s) = %+v; want invalid_url", u, tr.ResolveError)
		}
	}
}
