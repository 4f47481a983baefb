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

// ask sends one query (RD=0, EDNS0 1232, DO as given) to s.
func ask(t *testing.T, s *testenv.AuthServer, network, name string, qtype uint16, do bool) (*dns.Msg, error) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	m.SetEdns0(1232, do)
	c := &dns.Client{Net: network, Timeout: 300 * time.Millisecond}
	r, _, err := c.Exchange(m, s.AddrPort().String())
	return r, err
}

// brief renders the parts of a reply the tests compare, sections in order.
func brief(r *dns.Msg) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s aa=%t ra=%t tc=%t", dns.RcodeToString[r.Rcode], r.Authoritative, r.RecursionAvailable, r.Truncated)
	for _, sec := range []struct {
		tag string
		rrs []dns.RR
	}{{"an", r.Answer}, {"ns", r.Ns}, {"ad", r.Extra}} {
		for _, rr := range sec.rrs {
			h := rr.Header()
			if h.Rrtype == dns.TypeOPT {
				continue
			}
			fmt.Fprintf(&b, " %s:%s/%s", sec.tag, h.Name, dns.TypeToString[h.Rrtype])
		}
	}
	return b.String()
}

// A fake signature: its bytes are not checked by the server.
const sigTail = "20300101000000 20200101000000 12345 example.com. AAAA"

func TestWorldAnswers(t *testing.T) {
	t.Parallel()
	w := testenv.NewWorld(t)
	com := w.AddZone("com", "", 1)
	ex := w.AddZone("example.com", "com", 2)
	com.Add(`example.com. 3600 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF`,
		`example.com. 3600 IN RRSIG DS 13 2 3600 `+strings.Replace(sigTail, "example.com.", "com.", 1))
	ex.Add(
		`a.example.com. 300 IN TXT "v"`,
		`a.example.com. 300 IN RRSIG TXT 13 3 300 `+sigTail,
		`www.example.com. 300 IN CNAME a.example.com.`,
		`out.example.com. 300 IN CNAME x.example.net.`,
		`x.y.example.com. 300 IN A 192.0.2.1`,
		`*.w.example.com. 300 IN TXT "wild"`,
		`sub.example.com. 300 IN NS ns.sub.example.com.`,
		`ns.sub.example.com. 300 IN A 192.0.2.53`,
		`example.com. 300 IN NSEC a.example.com. SOA NS NSEC RRSIG`,
		`a.example.com. 300 IN NSEC example.com. TXT NSEC RRSIG`,
		`a.example.com. 300 IN RRSIG NSEC 13 3 300 `+sigTail,
	)
	s := ex.Server(0)
	tests := []struct {
		name   string
		server *testenv.AuthServer
		qname  string
		qtype  uint16
		do     bool
		want   string
	}{
		{"root refers to com with glue", w.Root, "a.example.com.", dns.TypeTXT, false,
			"NOERROR aa=false ra=false tc=false ns:com./NS ad:ns1.com./A"},
		{"com refers to example.com", com.Server(0), "a.example.com.", dns.TypeTXT, false,
			"NOERROR aa=false ra=false tc=false ns:example.com./NS ns:example.com./NS ad:ns1.example.com./A ad:ns2.example.com./A"},
		{"referral with DO carries the DS", com.Server(0), "a.example.com.", dns.TypeTXT, true,
			"NOERROR aa=false ra=false tc=false ns:example.com./NS ns:example.com./NS ns:example.com./DS ns:example.com./RRSIG ad:ns1.example.com./A ad:ns2.example.com./A"},
		{"DS answered by the parent", com.Server(0), "example.com.", dns.TypeDS, false,
			"NOERROR aa=true ra=false tc=false an:example.com./DS"},
		{"answer without DO", s, "a.example.com.", dns.TypeTXT, false, "NOERROR aa=true ra=false tc=false an:a.example.com./TXT"},
		{"answer with DO has RRSIG", s, "A.Example.com.", dns.TypeTXT, true, "NOERROR aa=true ra=false tc=false an:a.example.com./TXT an:a.example.com./RRSIG"},
		{"cname followed in zone", s, "www.example.com.", dns.TypeTXT, false, "NOERROR aa=true ra=false tc=false an:www.example.com./CNAME an:a.example.com./TXT"},
		{"cname leaving the zone", s, "out.example.com.", dns.TypeTXT, false, "NOERROR aa=true ra=false tc=false an:out.example.com./CNAME"},
		{"nodata", s, "a.example.com.", dns.TypeA, false, "NOERROR aa=true ra=false tc=false ns:example.com./SOA"},
		{"nodata with DO proves with NSEC", s, "a.example.com.", dns.TypeA, true, "NOERROR aa=true ra=false tc=false ns:example.com./SOA ns:a.example.com./NSEC ns:a.example.com./RRSIG"},
		{"nxdomain", s, "b.example.com.", dns.TypeTXT, false, "NXDOMAIN aa=true ra=false tc=false ns:example.com./SOA"},
		{"nxdomain with DO: covering NSECs", s, "b.example.com.", dns.TypeTXT, true, "NXDOMAIN aa=true ra=false tc=false ns:example.com./SOA ns:a.example.com./NSEC ns:a.example.com./RRSIG ns:example.com./NSEC"},
		{"empty non-terminal", s, "y.example.com.", dns.TypeA, false, "NOERROR aa=true ra=false tc=false ns:example.com./SOA"},
		{"wildcard", s, "q.w.example.com.", dns.TypeTXT, false, "NOERROR aa=true ra=false tc=false an:q.w.example.com./TXT"},
		{"child delegation", s, "h.sub.example.com.", dns.TypeA, false, "NOERROR aa=false ra=false tc=false ns:sub.example.com./NS ad:ns.sub.example.com./A"},
		{"outside its zones", s, "example.org.", dns.TypeA, false, "REFUSED aa=false ra=false tc=false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := ask(t, tt.server, "udp", tt.qname, tt.qtype, tt.do)
			if err != nil {
				t.Fatal(err)
			}
			if got := brief(r); got != tt.want {
				t.Errorf("reply = %q\nwant    %q", got, tt.want)
			}
			if r.Question[0].Name != tt.qname {
				t.Errorf("question echoed as %q, want %q", r.Question[0].Name, tt.qname)
			}
		})
	}
}

func TestWorldModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mode testenv.AuthMode
		want string // "" for no answer
	}{
		{"refuse", testenv.AuthRefuse, "REFUSED aa=false ra=false tc=false"},
		{"servfail", testenv.AuthServfail, "SERVFAIL aa=false ra=false tc=false"},
		{"not authoritative", testenv.AuthNotAuthoritative, "NOERROR aa=false ra=false tc=false an:a.example.com./A"},
		{"self referral", testenv.AuthSelfReferral, "NOERROR aa=false ra=false tc=false ns:example.com./NS ad:self.example.com./A"},
		{"timeout", testenv.AuthTimeout, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := testenv.NewWorld(t)
			w.AddZone("com", "", 1)
			ex := w.AddZone("example.com", "com", 1)
			ex.Add(`a.example.com. 300 IN A 192.0.2.1`)
			s := ex.Server(0)
			s.SetMode(tt.mode)
			r, err := ask(t, s, "udp", "a.example.com.", dns.TypeA, false)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("got an answer %q, want none", brief(r))
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if got := brief(r); got != tt.want {
					t.Errorf("reply = %q, want %q", got, tt.want)
				}
			}
			if s.QueryCount() != 1 {
				t.Errorf("QueryCount = %d, want 1", s.QueryCount())
			}
		})
	}
}

func TestWorldTruncatesUDP(t *testing.T) {
	t.Parallel()
	w := testenv.NewWorld(t)
	z := w.AddZone("big", "", 1)
	for i := range 20 {
		z.Add(fmt.Sprintf(`t.big. 300 IN TXT "%02d%s"`, i, strings.Repeat("x", 200)))
	}
	udp, err := ask(t, z.Server(0), "udp", "t.big.", dns.TypeTXT, false)
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := ask(t, z.Server(0), "tcp", "t.big.", dns.TypeTXT, false)
	if err != nil {
		t.Fatal(err)
	}
	if !udp.Truncated || tcp.Truncated || len(tcp.Answer) != 20 {
		t.Errorf("udp tc=%t, tcp tc=%t with %d records; want udp truncated, tcp whole with 20", udp.Truncated, tcp.Truncated, len(tcp.Answer))
	}
}

func TestWorldPerServerData(t *testing.T) {
	t.Parallel()
	w := testenv.NewWorld(t)
	z := w.AddZone("example", "", 2)
	z.Server(1).Add("example.", `new.example. 300 IN TXT "only on ns2"`)
	z.Server(1).SetSerial("example", 7)
	for i, want := range []string{"NXDOMAIN", "NOERROR"} {
		r, err := ask(t, z.Server(i), "udp", "new.example.", dns.TypeTXT, false)
		if err != nil {
			t.Fatal(err)
		}
		if dns.RcodeToString[r.Rcode] != want {
			t.Errorf("server %d: %s, want %s", i, dns.RcodeToString[r.Rcode], want)
		}
	}
	// Records and SetRecords round-trip, and are the seam for signing.
	rrs := z.Server(1).Records("example")
	var soa *dns.SOA
	for _, rr := range rrs {
		if s, ok := rr.(*dns.SOA); ok {
			soa = s
		}
	}
	if soa == nil || soa.Serial != 7 {
		t.Fatalf("Records: SOA %v, want serial 7", soa)
	}
	z.Server(0).SetRecords("example", rrs)
	if got := z.Server(0).Records("example"); len(got) != len(rrs) || got[0].String() != rrs[0].String() {
		t.Errorf("SetRecords then Records: %d records, want %d", len(got), len(rrs))
	}
	if z.Server(0).Records("other") != nil {
		t.Error("Records of a zone not served is not nil")
	}
	// A hook may replace the answer.
	z.Server(0).SetHook(func(req *dns.Msg) *dns.Msg {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeNotImplemented)
		return m
	})
	r, err := ask(t, z.Server(0), "udp", "new.example.", dns.TypeTXT, false)
	if err != nil || r.Rcode != dns.RcodeNotImplemented {
		t.Errorf("hooked answer = %v, %v, want NOTIMP", r, err)
	}
}

func TestCanonicalCompare(t *testing.T) {
	t.Parallel()
	// RFC 4034 §6.1's example, in canonical order.
	ordered := []string{
		"example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.",
		"zABC.a.EXAMPLE.", "z.example.", `\001.z.example.`, "*.z.example.", `\200.z.example.`,
	}
	shuffled := slices.Clone(ordered)
	slices.Reverse(shuffled)
	slices.SortFunc(shuffled, testenv.CanonicalCompare)
	if !slices.Equal(shuffled, ordered) {
		t.Errorf("sorted = %q\nwant     %q", shuffled, ordered)
	}
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{"equal ignoring case", "A.example.", "a.EXAMPLE.", 0},
		{"parent first", "example.", "a.example.", -1},
		{"rightmost label decides", "b.a.", "a.b.", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := testenv.CanonicalCompare(tt.a, tt.b); got != tt.want {
				t.Errorf("CanonicalCompare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}
