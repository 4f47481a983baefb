package validation_test

import (
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// TestForeign: another perspective's observation counts only when it was
// made as this validator makes its own: its fetches and TLS-ALPN
// handshake at the ports this validator dials, at addresses its policy
// allows (security review: an agent's test knobs were trusted). The
// addresses are data only: nothing is dialled.
func TestForeign(t *testing.T) {
	t.Parallel()
	res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{"127.0.0.1:53"}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := webfetch.New(webfetch.Config{Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: res, Fetcher: f, HTTP01Fetcher: f})
	if err != nil {
		t.Fatal(err)
	}
	// vl dials loopback targets too (--allow-loopback-targets).
	fl, err := webfetch.New(webfetch.Config{Resolver: res, AllowLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	vl, err := validation.New(validation.Config{Resolver: res, Fetcher: fl, HTTP01Fetcher: fl, TLSALPN: validation.TLSALPNConfig{AllowLoopback: true}})
	if err != nil {
		t.Fatal(err)
	}
	file := func(as ...webfetch.Attempt) *validation.Observation {
		return &validation.Observation{File: &validation.FileObservation{Fetches: []*webfetch.Trace{{Attempts: as}}}}
	}
	const u, us = "http://a.example.com" + validation.FilePath, "https://a.example.com" + validation.FilePath
	reserved := &webfetch.Error{Kind: webfetch.ErrReservedAddress}
	tests := []struct {
		name     string
		loopback bool // judged by vl, not v
		obs      *validation.Observation
		want     string // words of the reason; "" for none
	}{
		{"the ports and addresses of this validator", false, file(webfetch.Attempt{URL: u, Address: "93.184.215.14:80", Status: 200},
			webfetch.Attempt{URL: us, Address: "[2606:4700::1111]:443", Status: 404}), ""},
		{"another http port", false, file(webfetch.Attempt{URL: u, Address: "93.184.215.14:8080", Status: 200}), "for " + u + " it dialled port 8080, where this CA's primary perspective dials 80"},
		{"a loopback address this validator refuses", false, file(webfetch.Attempt{URL: u, Address: "127.0.0.1:80", Status: 200}), "it dialled 127.0.0.1:80, a special-purpose address"},
		{"a private address this validator refuses", false, file(webfetch.Attempt{URL: u, Address: "10.1.2.3:80", Status: 200}), "it dialled 10.1.2.3:80"},
		{"a reserved address it did not dial either", false, file(webfetch.Attempt{URL: u, Address: "10.1.2.3:80", Err: reserved}), ""},
		// An agent stricter than its primary (verification run: counted
		// as disagreeing, an applicant's failure).
		{"an address this validator dials, left undialled", true, file(webfetch.Attempt{URL: u, Address: "127.0.0.1:80", Err: reserved}), "it did not dial 127.0.0.1:80, which this CA's primary perspective dials"},
		{"a DNS observation dials nothing", false, &validation.Observation{DNS: &validation.DNSObservation{}}, ""},
		{"tls-alpn-01 at another port", false, &validation.Observation{TLSALPN: &validation.TLSALPNObservation{Port: 8443, Address: "93.184.215.14:8443"}}, "for tls-alpn-01 it dialled port 8443"},
		{"tls-alpn-01 at 443", false, &validation.Observation{TLSALPN: &validation.TLSALPNObservation{Port: 443, Address: "93.184.215.14:443"}}, ""},
		{"tls-alpn-01 at an address this validator dials, left undialled", true, &validation.Observation{TLSALPN: &validation.TLSALPNObservation{Port: 443,
			Error: &webfetch.Error{Kind: webfetch.ErrReservedAddress, Address: "127.0.0.1:443"}}}, "it did not dial 127.0.0.1:443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			judge := v
			if tt.loopback {
				judge = vl
			}
			got := judge.Foreign(tt.obs)
			if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
				t.Errorf("Foreign = %q, want %q", got, tt.want)
			}
		})
	}
}
