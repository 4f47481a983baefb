package testenv

import (
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Values of the zones a DNSServer creates. The SOA minimum is the negative
// caching TTL (RFC 2308 §4), which tests of NegativeTTL rely on.
const (
	zoneTTL        = 3600
	zoneSOAMinimum = 300
	// maxCNAMEHops bounds the chain the server follows inside its zones, so
	// that a test zone with a CNAME loop still gets an answer.
	maxCNAMEHops = 16
)

// DNSServer is a DNS server on a fresh loopback address that answers, over
// UDP and TCP, like a recursive resolver that knows only the zones a test
// gives it:
//
//   - every answer has RA=1 and AA=1;
//   - CNAMEs are followed inside its own zones and the chain is put in the
//     answer section; a chain that leaves its zones stops at the last CNAME
//     (NOERROR), as a partial answer;
//   - a name that does not exist gets NXDOMAIN with the zone's SOA in the
//     authority section; a name with names below it but no records of its
//     own is an empty non-terminal (NOERROR, no data, SOA); a name without
//     the type asked gets NOERROR, no data, SOA;
//   - a name outside all zones gets REFUSED;
//   - the EDNS0 UDP size of the query is honoured (512 without EDNS0) and a
//     UDP reply that does not fit is truncated with TC=1.
//
// Wildcards, DNSSEC and delegations are not implemented. Its methods are
// safe for concurrent use and may be called while it serves.
type DNSServer struct {
	// Addr is the ip:port the server listens on, for UDP and TCP.
	Addr string

	t       testing.TB
	queries atomic.Int64
	done    chan struct{}

	mu     sync.Mutex
	zones  map[string]*testZone // by origin
	rcodes map[string]int       // by name
	delays map[string]time.Duration
}

type testZone struct {
	origin string
	soa    *dns.SOA
	// rrs holds the zone's records by lowercase owner name.
	rrs map[string][]dns.RR
}

// NewDNSServer starts a DNSServer with no zones. It stops when the test ends.
// It calls t.Fatal when it cannot listen.
func NewDNSServer(t testing.TB) *DNSServer {
	t.Helper()
	pc, ln, err := ListenUDPTCP()
	if err != nil {
		t.Fatalf("testenv: dns server: %v", err)
	}
	s := &DNSServer{
		Addr:   ln.Addr().String(),
		t:      t,
		done:   make(chan struct{}),
		zones:  map[string]*testZone{},
		rcodes: map[string]int{},
		delays: map[string]time.Duration{},
	}
	serveDNS(t, pc, ln, s.serve, s.done)
	return s
}

// serveDNS serves handler on pc (UDP) and ln (TCP) and returns once both
// servers run. When the test ends it closes done, then shuts both down.
func serveDNS(t testing.TB, pc net.PacketConn, ln net.Listener, handler dns.HandlerFunc, done chan struct{}) {
	var started sync.WaitGroup
	started.Add(2)
	udp := &dns.Server{PacketConn: pc, Handler: handler, NotifyStartedFunc: started.Done}
	tcp := &dns.Server{Listener: ln, Handler: handler, NotifyStartedFunc: started.Done}
	for _, srv := range []*dns.Server{udp, tcp} {
		go func() {
			// The error after Shutdown is expected; any other shows up
			// in the test as queries that time out.
			_ = srv.ActivateAndServe()
		}()
	}
	started.Wait()
	t.Cleanup(func() {
		close(done)
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
	})
}

// AddZone creates the zone at origin with its SOA (negative TTL 300) and an
// NS record. Adding a zone that exists resets it.
func (s *DNSServer) AddZone(origin string) {
	s.t.Helper()
	origin = dnsCanonical(origin)
	z := &testZone{origin: origin, rrs: map[string][]dns.RR{}}
	z.soa = &dns.SOA{
		Hdr:     dns.RR_Header{Name: origin, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: zoneTTL},
		Ns:      "ns1." + origin,
		Mbox:    "hostmaster." + origin,
		Serial:  1,
		Refresh: 7200,
		Retry:   3600,
		Expire:  1209600,
		Minttl:  zoneSOAMinimum,
	}
	ns := &dns.NS{
		Hdr: dns.RR_Header{Name: origin, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: zoneTTL},
		Ns:  "ns1." + origin,
	}
	z.rrs[origin] = []dns.RR{z.soa, ns}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zones[origin] = z
}

// Add adds records given in RFC 1035 presentation form with absolute owner
// names, for example
//
//	s.Add(`_dnsauth.a.example.com. 300 IN TXT "v"`, `a.example.com. A 192.0.2.1`)
//
// A missing TTL means 3600. Each record goes to the zone with the longest
// origin that contains its owner. Add calls t.Fatal when a line does not
// parse or no zone holds its owner.
func (s *DNSServer) Add(rrs ...string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, line := range rrs {
		rr, err := dns.NewRR(line)
		if err != nil {
			s.t.Fatalf("testenv: dns server: parsing %q: %v", line, err)
		}
		if rr == nil {
			s.t.Fatalf("testenv: dns server: no record in %q", line)
		}
		owner := dnsCanonical(rr.Header().Name)
		z := s.zoneFor(owner)
		if z == nil {
			s.t.Fatalf("testenv: dns server: no zone for %q (call AddZone first)", line)
		}
		z.rrs[owner] = append(z.rrs[owner], rr)
	}
}

// Remove deletes the records of type qtype at name; dns.TypeANY deletes all
// records at name.
func (s *DNSServer) Remove(name string, qtype uint16) {
	name = dnsCanonical(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zoneFor(name)
	if z == nil {
		return
	}
	removeRRs(z.rrs, name, qtype)
}

// removeRRs deletes the records of type qtype (dns.TypeANY: all) at the
// canonical name from rrs, a zone's records by owner.
func removeRRs(rrs map[string][]dns.RR, name string, qtype uint16) {
	kept := slices.DeleteFunc(rrs[name], func(rr dns.RR) bool {
		return qtype == dns.TypeANY || rr.Header().Rrtype == qtype
	})
	if len(kept) == 0 {
		delete(rrs, name)
		return
	}
	rrs[name] = kept
}

// SetRcode makes every query at name, of any type, answer rcode (for example
// dns.RcodeServerFailure) with empty sections. The name need not be in a
// zone. An rcode of 0 (NOERROR) restores normal answers.
func (s *DNSServer) SetRcode(name string, rcode int) {
	name = dnsCanonical(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if rcode == dns.RcodeSuccess {
		delete(s.rcodes, name)
		return
	}
	s.rcodes[name] = rcode
}

// SetDelay delays the answers to queries at name by d; a negative d drops
// them (the server never answers). Zero restores prompt answers. Delayed
// answers are abandoned when the test ends.
func (s *DNSServer) SetDelay(name string, d time.Duration) {
	name = dnsCanonical(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if d == 0 {
		delete(s.delays, name)
		return
	}
	s.delays[name] = d
}

// QueryCount returns the number of queries received so far, over UDP and
// TCP, dropped ones included.
func (s *DNSServer) QueryCount() int { return int(s.queries.Load()) }

func dnsCanonical(name string) string { return strings.ToLower(dns.Fqdn(name)) }

// zoneFor returns the zone with the longest origin containing name, or nil.
// s.mu must be held.
func (s *DNSServer) zoneFor(name string) *testZone {
	var best *testZone
	for origin, z := range s.zones {
		if dns.IsSubDomain(origin, name) && (best == nil || len(origin) > len(best.origin)) {
			best = z
		}
	}
	return best
}

func (s *DNSServer) serve(w dns.ResponseWriter, req *dns.Msg) {
	s.queries.Add(1)
	if len(req.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := dnsCanonical(q.Name)

	s.mu.Lock()
	delay, delayed := s.delays[name]
	s.mu.Unlock()
	if delayed {
		if delay < 0 {
			return
		}
		select {
		case <-time.After(delay):
		case <-s.done:
			return
		}
	}

	m := s.answer(req, name, q.Qtype)
	m.RecursionAvailable = true
	m.Authoritative = true

	// RFC 6891 §6.2.5: a requestor's UDP payload size below 512 is treated
	// as 512; without EDNS0 a UDP reply is limited to 512 octets.
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = max(int(opt.UDPSize()), dns.MinMsgSize)
		m.SetEdns0(opt.UDPSize(), false)
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// answer builds the reply to one question at name (canonical).
func (s *DNSServer) answer(req *dns.Msg, name string, qtype uint16) *dns.Msg {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := new(dns.Msg)
	if rcode, ok := s.rcodes[name]; ok {
		m.SetRcode(req, rcode)
		return m
	}
	m.SetReply(req)
	z := s.zoneFor(name)
	if z == nil {
		m.Rcode = dns.RcodeRefused
		return m
	}
	for range maxCNAMEHops {
		rrs := z.rrs[name]
		var cname *dns.CNAME
		found := false
		for _, rr := range rrs {
			if rr.Header().Rrtype == qtype {
				m.Answer = append(m.Answer, dns.Copy(rr))
				found = true
			}
			if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		if found {
			return m
		}
		if cname != nil && qtype != dns.TypeCNAME {
			m.Answer = append(m.Answer, dns.Copy(cname))
			name = dnsCanonical(cname.Target)
			if rc, ok := s.rcodes[name]; ok {
				m.Rcode = rc
				return m
			}
			next := s.zoneFor(name)
			if next == nil {
				// The chain leaves the zones this server knows: a partial
				// answer, as a resolver would give if it stopped here.
				return m
			}
			z = next
			continue
		}
		if len(rrs) == 0 && !z.hasBelow(name) {
			m.Rcode = dns.RcodeNameError
		}
		m.Ns = append(m.Ns, dns.Copy(z.soa))
		return m
	}
	// The chain is longer than maxCNAMEHops: answer what was followed.
	return m
}

// hasBelow reports whether some name below name holds records, which makes
// name an empty non-terminal (RFC 8020: it exists).
func (z *testZone) hasBelow(name string) bool {
	for owner := range z.rrs {
		if owner != name && dns.IsSubDomain(name, owner) {
			return true
		}
	}
	return false
}
