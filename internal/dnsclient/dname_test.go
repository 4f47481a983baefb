package dnsclient

import (
	"slices"
	"testing"

	"github.com/miekg/dns"
)

// TestFillChainNamesDNAMEs: a CNAME of the chain synthesized from a DNAME
// (RFC 6672) is followed like any other, and the DNAME it comes from is
// named, so that the diagnosis does not tell to remove a CNAME record that
// does not exist (black-box run). A CNAME that no DNAME explains names
// none.
func TestFillChainNamesDNAMEs(t *testing.T) {
	t.Parallel()
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name   string
		answer []dns.RR
		cnames []string
		dnames []DNAME
	}{
		{"synthesized from a DNAME",
			[]dns.RR{rr("legacy.app.com. 300 IN DNAME legacy.other.net."), rr("_dnsauth.www.legacy.app.com. 300 IN CNAME _dnsauth.www.legacy.other.net."),
				rr(`_dnsauth.www.legacy.other.net. 300 IN TXT "v"`)},
			[]string{"_dnsauth.www.legacy.other.net."}, []DNAME{{Owner: "legacy.app.com.", Target: "legacy.other.net."}}},
		{"a CNAME record",
			[]dns.RR{rr("_dnsauth.www.legacy.app.com. 300 IN CNAME v.other.net."), rr(`v.other.net. 300 IN TXT "v"`)},
			[]string{"v.other.net."}, nil},
		{"a DNAME that does not explain the CNAME",
			[]dns.RR{rr("legacy.app.com. 300 IN DNAME elsewhere.net."), rr("_dnsauth.www.legacy.app.com. 300 IN CNAME v.other.net.")},
			[]string{"v.other.net."}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msg := new(dns.Msg)
			msg.Answer = tc.answer
			resp := &Response{}
			const name = "_dnsauth.www.legacy.app.com."
			if _, err := fillChain(resp, msg, name, dns.TypeTXT, map[string]bool{name: true}, maxCNAMEChain, ""); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(resp.CNAMEs, tc.cnames) || !slices.Equal(resp.DNAMEs, tc.dnames) {
				t.Errorf("cnames %v, dnames %v; want %v, %v", resp.CNAMEs, resp.DNAMEs, tc.cnames, tc.dnames)
			}
		})
	}
}
