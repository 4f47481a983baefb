package validation

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// TestTLSALPNAddresses: tls-alpn-01 judges the domain's address lookups
// as a file fetch does (webfetch.Addresses): a failed lookup is told as
// such, never as "no address", and addresses from an answer that fails
// DNSSEC validation are not dialled.
func TestTLSALPNAddresses(t *testing.T) {
	t.Parallel()
	const name = "t.example.com."
	resp := func(typ, rcode string, addrs ...string) *dnsclient.Response {
		r := &dnsclient.Response{Name: name, Type: typ, Rcode: rcode, Server: "192.0.2.53:53"}
		for _, a := range addrs {
			r.Answer = append(r.Answer, dnsclient.Record{Name: name, Type: typ, Data: a})
		}
		return r
	}
	bogus := resp("A", "NOERROR", "192.0.2.10")
	bogus.DNSSEC = dnsclient.Bogus.String()
	tests := []struct {
		name    string
		a, aaaa Lookup
		addrs   []netip.Addr
		kind    webfetch.ErrorKind
	}{
		{"addresses", Lookup{Type: "A", Response: resp("A", "NOERROR", "192.0.2.10")}, Lookup{Type: "AAAA", Response: resp("AAAA", "NOERROR", "2001:db8::10")},
			[]netip.Addr{netip.MustParseAddr("2001:db8::10"), netip.MustParseAddr("192.0.2.10")}, ""},
		{"none", Lookup{Type: "A", Response: resp("A", "NOERROR")}, Lookup{Type: "AAAA", Response: resp("AAAA", "NOERROR")}, nil, webfetch.ErrNoAddress},
		{"nxdomain", Lookup{Type: "A", Response: resp("A", "NXDOMAIN")}, Lookup{Type: "AAAA", Response: resp("AAAA", "NXDOMAIN")}, nil, webfetch.ErrDNSNXDomain},
		{"refused by the domain's server", Lookup{Type: "A", Response: resp("A", "REFUSED")}, Lookup{Type: "AAAA", Response: resp("AAAA", "REFUSED")}, nil, webfetch.ErrDNSRefused},
		{"servfail", Lookup{Type: "A", Response: resp("A", "SERVFAIL")}, Lookup{Type: "AAAA", Response: resp("AAAA", "NOERROR")}, nil, webfetch.ErrDNSServfail},
		{"timeout", Lookup{Type: "A", Err: &dnsclient.Error{Kind: dnsclient.KindTimeout}}, Lookup{Type: "AAAA", Response: resp("AAAA", "NOERROR")}, nil, webfetch.ErrDNSTimeout},
		{"bogus addresses", Lookup{Type: "A", Response: bogus}, Lookup{Type: "AAAA", Response: resp("AAAA", "NOERROR", "2001:db8::10")}, nil, webfetch.ErrDNSServfail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.a.Name, tt.aaaa.Name = name, name
			addrs, err := tlsALPNAddresses([]Lookup{tt.a, tt.aaaa})
			if !slices.Equal(addrs, tt.addrs) {
				t.Errorf("addresses %v, want %v", addrs, tt.addrs)
			}
			if (err == nil) != (tt.kind == "") || err != nil && err.Kind != tt.kind {
				t.Errorf("error %v, want kind %q", err, tt.kind)
			}
		})
	}
}
