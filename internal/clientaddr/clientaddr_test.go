package clientaddr_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"

	"github.com/dcvhq/dcv/internal/clientaddr"
)

func TestParsePrefixes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "10.0.0.0/8", want: []string{"10.0.0.0/8"}},
		{in: " 10.0.0.0/8 , 2001:db8::/32", want: []string{"10.0.0.0/8", "2001:db8::/32"}},
		{in: "192.0.2.7", want: []string{"192.0.2.7/32"}},
		{in: "2001:db8::1", want: []string{"2001:db8::1/128"}},
		{in: "::ffff:10.0.0.0/104", want: []string{"10.0.0.0/8"}},
		{in: "10.0.0.1/8", wantErr: true},
		{in: "10.0.0.0/33", wantErr: true},
		{in: "10.0.0/8", wantErr: true},
		{in: "proxy.example.net", wantErr: true},
		{in: "10.0.0.0/8,", wantErr: true},
		{in: "fe80::1%eth0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := clientaddr.ParsePrefixes(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParsePrefixes(%q) = %v, %v; want error %v", tt.in, got, err, tt.wantErr)
			}
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			if !slices.Equal(s, tt.want) {
				t.Errorf("ParsePrefixes(%q) = %v, want %v", tt.in, s, tt.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string // header lines
		want    string
	}{
		{name: "no proxy trusted, header ignored", peer: "192.0.2.1:4321", xff: []string{"198.51.100.9"}, want: "192.0.2.1"},
		{name: "untrusted peer cannot spoof", trusted: trusted, peer: "192.0.2.1:4321", xff: []string{"198.51.100.9"}, want: "192.0.2.1"},
		{name: "untrusted peer naming a trusted proxy", trusted: trusted, peer: "192.0.2.1:4321", xff: []string{"10.0.0.5"}, want: "192.0.2.1"},
		{name: "trusted peer", trusted: trusted, peer: "10.0.0.2:4321", xff: []string{"198.51.100.9"}, want: "198.51.100.9"},
		{name: "trusted peer without header", trusted: trusted, peer: "10.0.0.2:4321", want: "10.0.0.2"},
		{name: "right-most untrusted entry", trusted: trusted, peer: "10.0.0.2:4321", xff: []string{"203.0.113.66, 198.51.100.9, 10.0.0.3"}, want: "198.51.100.9"},
		{name: "several header lines", trusted: trusted, peer: "10.0.0.2:4321", xff: []string{"203.0.113.66", "198.51.100.9, 10.0.0.3", "10.0.0.4"}, want: "198.51.100.9"},
		{name: "client-written entries left of the proxy's ignored", trusted: trusted, peer: "10.0.0.2:4321", xff: []string{"1.2.3.4, 198.51.100.9"}, want: "198.51.100.9"},
		{name: "only trusted entries", trusted: trusted, peer: "10.0.0.2:4321", xff: []string{"10.0.0.7, 10.0.0.3"}, want: "10.0.0.2"},
		{name: "malformed entry falls back to the peer", trusted: trusted, peer: "10.0.0.2:4321", xff: []string{"198.51.100.9, unknown"}, want: "10.0.0.2"},
		{name: "malformed after a trusted entry", trusted: trusted, peer: "10.0.0.2:4321", xff: []string{"198.51.100.9, garbage, 10.0.0.3"}, want: "10.0.0.2"},
		{name: "empty items skipped", trusted: trusted, peer: "10.0.0.2:4321", xff: []string{"198.51.100.9, , "}, want: "198.51.100.9"},
		{name: "entry with port", trusted: trusted, peer: "10.0.0.2:4321", xff: []string{"198.51.100.9:5555"}, want: "198.51.100.9"},
		{name: "IPv6 entry with port", trusted: trusted, peer: "10.0.0.2:4321", xff: []string{"[2001:db8:2::5]:443"}, want: "2001:db8:2::5"},
		{name: "IPv6 trusted peer", trusted: trusted, peer: "[2001:db8:1::2]:4321", xff: []string{"2001:db8:2::5, 2001:db8:1::9"}, want: "2001:db8:2::5"},
		{name: "IPv4-mapped peer", trusted: trusted, peer: "[::ffff:10.0.0.2]:4321", xff: []string{"::ffff:198.51.100.9"}, want: "198.51.100.9"},
		{name: "peer that is no address", trusted: trusted, peer: "@", xff: []string{"198.51.100.9"}, want: "@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := clientaddr.New(tt.trusted).Resolve(req); got != tt.want {
				t.Errorf("Resolve = %q, want %q", got, tt.want)
			}
			var got string
			clientaddr.New(tt.trusted).Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got = clientaddr.From(r)
			})).ServeHTTP(httptest.NewRecorder(), req)
			if got != tt.want {
				t.Errorf("From behind Handler = %q, want %q", got, tt.want)
			}
		})
	}
}
