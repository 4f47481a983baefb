package testenv_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/testenv"
)

// exchange sends one query to s and returns the reply.
func exchange(t *testing.T, s *testenv.DNSServer, network, name string, qtype uint16, edns uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if edns != 0 {
		m.SetEdns0(edns, false)
	}
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, s.Addr)
	if err != nil {
		t.Fatalf("exchange %s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return r
}

// summary renders the parts of a reply the tests compare.
func summary(r *dns.Msg) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s aa=%t ra=%t tc=%t", dns.RcodeToString[r.Rcode], r.Authoritative, r.RecursionAvailable, r.Truncated)
	for _, rr := range r.Answer {
		h := rr.Header()
		fmt.Fprintf(&b, " an:%s/%s", h.Name, dns.TypeToString[h.Rrtype])
	}
	for _, rr := range r.Ns {
		h := rr.Header()
		fmt.Fprintf(&b, " ns:%s/%s", h.Name, dns.TypeToString[h.Rrtype])
	}
	return b.String()
}

func TestDNSServerAnswers(t *testing.T) {
	t.Parallel()
	s := testenv.NewDNSServer(t)
	s.AddZone("example.com")
	s.AddZone("sub.example.com.")
	s.AddZone("other.test")
	s.Add(
		`a.example.com. 300 IN A 192.0.2.1`,
		`x.y.example.com. 300 IN TXT "deep"`,
		`www.example.com. 300 IN CNAME a.example.com.`,
		`cross.example.com. 300 IN CNAME b.other.test.`,
		`b.other.test. 300 IN TXT "over there"`,
		`out.example.com. 300 IN CNAME elsewhere.invalid.`,
		`MiXeD.Example.COM. 300 IN A 192.0.2.9`,
		`h.sub.example.com. 300 IN A 192.0.2.2`,
		`gone.example.com. 300 IN A 192.0.2.3`,
		`fail.example.com. 300 IN A 192.0.2.4`,
		`tofail.example.com. 300 IN CNAME fail.example.com.`,
	)
	s.Remove("gone.example.com", dns.TypeA)
	s.SetRcode("fail.example.com", dns.RcodeServerFailure)
	s.SetRcode("cleared.example.com", dns.RcodeRefused)
	s.SetRcode("cleared.example.com", 0)

	tests := []struct {
		name  string
		qname string
		qtype uint16
		want  string
	}{
		{"record", "a.example.com.", dns.TypeA, "NOERROR aa=true ra=true tc=false an:a.example.com./A"},
		{"case insensitive", "A.EXAMPLE.com.", dns.TypeA, "NOERROR aa=true ra=true tc=false an:a.example.com./A"},
		{"mixed case owner", "mixed.example.com.", dns.TypeA, "NOERROR aa=true ra=true tc=false an:MiXeD.Example.COM./A"},
		{"nxdomain", "nope.example.com.", dns.TypeTXT, "NXDOMAIN aa=true ra=true tc=false ns:example.com./SOA"},
		{"nodata", "a.example.com.", dns.TypeTXT, "NOERROR aa=true ra=true tc=false ns:example.com./SOA"},
		{"empty non-terminal", "y.example.com.", dns.TypeTXT, "NOERROR aa=true ra=true tc=false ns:example.com./SOA"},
		{"apex soa", "example.com.", dns.TypeSOA, "NOERROR aa=true ra=true tc=false an:example.com./SOA"},
		{"apex ns", "example.com.", dns.TypeNS, "NOERROR aa=true ra=true tc=false an:example.com./NS"},
		{"outside zones", "example.net.", dns.TypeA, "REFUSED aa=true ra=true tc=false"},
		{"cname followed", "www.example.com.", dns.TypeA, "NOERROR aa=true ra=true tc=false an:www.example.com./CNAME an:a.example.com./A"},
		{"cname asked", "www.example.com.", dns.TypeCNAME, "NOERROR aa=true ra=true tc=false an:www.example.com./CNAME"},
		{"cname to nodata", "www.example.com.", dns.TypeTXT, "NOERROR aa=true ra=true tc=false an:www.example.com./CNAME ns:example.com./SOA"},
		{"cname across zones", "cross.example.com.", dns.TypeTXT, "NOERROR aa=true ra=true tc=false an:cross.example.com./CNAME an:b.other.test./TXT"},
		{"cname leaves zones", "out.example.com.", dns.TypeA, "NOERROR aa=true ra=true tc=false an:out.example.com./CNAME"},
		{"longest zone", "nope.sub.example.com.", dns.TypeA, "NXDOMAIN aa=true ra=true tc=false ns:sub.example.com./SOA"},
		{"removed", "gone.example.com.", dns.TypeA, "NXDOMAIN aa=true ra=true tc=false ns:example.com./SOA"},
		{"rcode set", "fail.example.com.", dns.TypeA, "SERVFAIL aa=true ra=true tc=false"},
		{"rcode at cname target", "tofail.example.com.", dns.TypeA, "SERVFAIL aa=true ra=true tc=false an:tofail.example.com./CNAME"},
		{"rcode cleared", "cleared.example.com.", dns.TypeA, "NXDOMAIN aa=true ra=true tc=false ns:example.com./SOA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := exchange(t, s, "udp", tt.qname, tt.qtype, 1232)
			if got := summary(r); got != tt.want {
				t.Errorf("reply:\n got %s\nwant %s", got, tt.want)
			}
			if r.Question[0].Name != tt.qname {
				t.Errorf("question %q, want it echoed as %q", r.Question[0].Name, tt.qname)
			}
		})
	}
}

func TestDNSServerNegativeSOA(t *testing.T) {
	t.Parallel()
	s := testenv.NewDNSServer(t)
	s.AddZone("example.com")
	r := exchange(t, s, "udp", "nope.example.com.", dns.TypeA, 0)
	soa, ok := r.Ns[0].(*dns.SOA)
	if !ok || soa.Minttl != 300 {
		t.Fatalf("authority %v, want the zone SOA with minimum 300", r.Ns)
	}
}

func TestDNSServerTruncation(t *testing.T) {
	t.Parallel()
	s := testenv.NewDNSServer(t)
	s.AddZone("example.com")
	long := strings.Repeat("x", 200)
	for i := range 15 {
		s.Add(fmt.Sprintf(`big.example.com. 300 IN TXT "%02d%s"`, i, long))
	}
	tests := []struct {
		name        string
		network     string
		edns        uint16
		wantTC      bool
		wantAnswers int
	}{
		{"udp without edns", "udp", 0, true, 2},
		{"udp edns 1232", "udp", 1232, true, 5},
		{"udp edns 4096", "udp", 4096, false, 15},
		{"tcp", "tcp", 0, false, 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := exchange(t, s, tt.network, "big.example.com.", dns.TypeTXT, tt.edns)
			if r.Truncated != tt.wantTC || len(r.Answer) != tt.wantAnswers {
				t.Errorf("tc=%t answers=%d, want tc=%t answers=%d", r.Truncated, len(r.Answer), tt.wantTC, tt.wantAnswers)
			}
			if tt.edns != 0 && (r.IsEdns0() == nil || r.IsEdns0().UDPSize() != tt.edns) {
				t.Errorf("reply OPT %v, want one with udp size %d", r.IsEdns0(), tt.edns)
			}
		})
	}
}

func TestDNSServerDelay(t *testing.T) {
	t.Parallel()
	s := testenv.NewDNSServer(t)
	s.AddZone("example.com")
	s.Add(`slow.example.com. A 192.0.2.1`, `dropped.example.com. A 192.0.2.2`)
	s.SetDelay("slow.example.com", 150*time.Millisecond)
	s.SetDelay("dropped.example.com", -1)

	start := time.Now()
	r := exchange(t, s, "udp", "slow.example.com.", dns.TypeA, 0)
	if d := time.Since(start); d < 150*time.Millisecond || len(r.Answer) != 1 {
		t.Errorf("slow answer after %v with %d records, want >= 150ms and 1 record", d, len(r.Answer))
	}

	m := new(dns.Msg)
	m.SetQuestion("dropped.example.com.", dns.TypeA)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	if r, _, err := c.Exchange(m, s.Addr); err == nil {
		t.Errorf("dropped query answered: %v", r)
	}

	s.SetDelay("dropped.example.com", 0)
	r = exchange(t, s, "udp", "dropped.example.com.", dns.TypeA, 0)
	if len(r.Answer) != 1 {
		t.Errorf("after clearing the delay: %s, want one A record", summary(r))
	}
	if got := s.QueryCount(); got != 3 {
		t.Errorf("QueryCount = %d, want 3", got)
	}
}

func TestDNSServerZoneReset(t *testing.T) {
	t.Parallel()
	s := testenv.NewDNSServer(t)
	s.AddZone("example.com")
	s.Add(`a.example.com. A 192.0.2.1`, `a.example.com. TXT "t"`)
	s.Remove("a.example.com", dns.TypeANY)
	r := exchange(t, s, "tcp", "a.example.com.", dns.TypeTXT, 0)
	if got, want := summary(r), "NXDOMAIN aa=true ra=true tc=false ns:example.com./SOA"; got != want {
		t.Errorf("after Remove ANY: %s, want %s", got, want)
	}
	s.Add(`b.example.com. A 192.0.2.1`)
	s.AddZone("example.com")
	r = exchange(t, s, "tcp", "b.example.com.", dns.TypeA, 0)
	if r.Rcode != dns.RcodeNameError {
		t.Errorf("after AddZone again: %s, want NXDOMAIN", summary(r))
	}
	if !slices.ContainsFunc(exchange(t, s, "tcp", "example.com.", dns.TypeSOA, 0).Answer, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeSOA }) {
		t.Error("reset zone lost its SOA")
	}
}
