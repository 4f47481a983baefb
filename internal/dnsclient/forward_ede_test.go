package dnsclient_test

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/dnsclient"
)

// TestForwarderADAndEDE checks that forward mode reads the AD bit of a
// validating resolver and the RFC 8914 Extended DNS Errors of its failures.
func TestForwarderADAndEDE(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		rcode      int
		ad         bool
		ede        []*dns.EDNS0_EDE
		wantDNSSEC string
		wantReason string
		wantEDE    int
	}{
		{name: "AD set is secure", rcode: dns.RcodeSuccess, ad: true, wantDNSSEC: "secure"},
		{name: "no AD is unknown", rcode: dns.RcodeSuccess, wantDNSSEC: ""},
		{name: "servfail with signature expired", rcode: dns.RcodeServerFailure,
			ede:        []*dns.EDNS0_EDE{{InfoCode: dnsclient.EDESignatureExpired, ExtraText: "RRSIG of example.com. TXT expired"}},
			wantDNSSEC: "bogus", wantReason: "Signature Expired: RRSIG of example.com. TXT expired", wantEDE: 1},
		{name: "servfail with DNSKEY missing", rcode: dns.RcodeServerFailure,
			ede:        []*dns.EDNS0_EDE{{InfoCode: dnsclient.EDEDNSKEYMissing}},
			wantDNSSEC: "bogus", wantReason: "DNSKEY Missing", wantEDE: 1},
		{name: "servfail with a network EDE is not bogus", rcode: dns.RcodeServerFailure,
			ede:        []*dns.EDNS0_EDE{{InfoCode: 23, ExtraText: "network error"}},
			wantDNSSEC: "", wantEDE: 1},
		{name: "long and many EDE are bounded", rcode: dns.RcodeServerFailure,
			ede: func() []*dns.EDNS0_EDE {
				out := []*dns.EDNS0_EDE{{InfoCode: 22, ExtraText: strings.Repeat("x", 400)}}
				for range 11 {
					out = append(out, &dns.EDNS0_EDE{InfoCode: 23, ExtraText: "unreachable"})
				}
				return out
			}(),
			wantEDE: 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := serveFunc(t, func(w dns.ResponseWriter, req *dns.Msg) {
				m := new(dns.Msg)
				m.SetRcode(req, tc.rcode)
				m.AuthenticatedData = tc.ad
				if tc.rcode == dns.RcodeSuccess {
					m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{"v"}})
				}
				opt := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
				opt.SetUDPSize(1232)
				for _, e := range tc.ede {
					opt.Option = append(opt.Option, e)
				}
				m.Extra = append(m.Extra, opt)
				_ = w.WriteMsg(m)
			})
			f := newForwarder(t, time.Second, addr)
			resp, err := f.Lookup(t.Context(), "_dnsauth.example.com", dns.TypeTXT)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if resp.DNSSEC != tc.wantDNSSEC || resp.DNSSECReason != tc.wantReason {
				t.Errorf("DNSSEC %q reason %q, want %q %q", resp.DNSSEC, resp.DNSSECReason, tc.wantDNSSEC, tc.wantReason)
			}
			if resp.AD != tc.ad {
				t.Errorf("AD %t, want %t", resp.AD, tc.ad)
			}
			if len(resp.EDE) != tc.wantEDE {
				t.Fatalf("%d EDE, want %d", len(resp.EDE), tc.wantEDE)
			}
			for _, e := range resp.EDE {
				if len(e.Text) > 256 {
					t.Errorf("EDE text of %d bytes kept, want at most 256", len(e.Text))
				}
			}
		})
	}
}
