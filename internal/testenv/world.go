package testenv

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Values of the zones a World creates. The SOA minimum (with the SOA TTL
// above it) is the negative caching TTL of RFC 2308 §5, which tests of
// negative caching rely on.
const (
	worldTTL        = 3600
	worldSOAMinimum = 300
	// maxAuthCNAMEHops bounds the CNAME chain an AuthServer follows inside
	// one zone, so that a zone with a CNAME loop still gets an answer.
	maxAuthCNAMEHops = 16
	// dnsPort is where every AuthServer listens: the resolver under test
	// reaches all authoritative servers on one port, as on the Internet.
	dnsPort = 53
)

// AuthMode makes an AuthServer misbehave in one of the ways real servers do.
type AuthMode int

// Modes of an AuthServer.
const (
	// AuthNormal answers as an authoritative server.
	AuthNormal AuthMode = iota
	// AuthRefuse answers every query REFUSED (a lame server that does not
	// serve the zone).
	AuthRefuse
	// AuthTimeout never answers.
	AuthTimeout
	// AuthNotAuthoritative answers normally but with AA=0 (a lame server
	// that answers from a cache or a stale copy).
	AuthNotAuthoritative
	// AuthServfail answers every query SERVFAIL.
	AuthServfail
	// AuthSelfReferral answers every query inside its zones with a
	// referral to the zone itself, pointing at this server.
	AuthSelfReferral
)

// AuthServer is an authoritative DNS server (miekg/dns) on its own loopback
// address, port 53, over UDP and TCP. For each question it picks the
// deepest zone it serves that contains the name (for DS at a zone apex, the
// parent zone when it serves it: RFC 4035 §3.1.4.1) and answers:
//
//   - AA=1, RA=0; the question is echoed in the case it was asked;
//   - below a delegation (NS records under the apex): a referral, AA=0,
//     with the NS set in the authority section and the A/AAAA records of
//     the NS names found in the zone as glue, and with DO=1 the DS set and
//     its RRSIGs (or the NSEC at the cut) — except DS at the cut, which is
//     answered from this side;
//   - CNAMEs are followed inside the zone and the chain put in the answer;
//   - a name without the type asked gets NOERROR, no data, SOA; a name that
//     does not exist NXDOMAIN and SOA; an empty non-terminal exists;
//     wildcards (RFC 4592) are expanded;
//   - with DO=1, the RRSIGs covering each RRset given, and for negative
//     answers the matching or covering NSEC records and their RRSIGs (no
//     NSEC3 selection: a zone signed with NSEC3 gets none);
//   - REFUSED for names outside its zones;
//   - the EDNS0 UDP size of the query is honoured (512 without EDNS0) and a
//     UDP reply that does not fit is truncated with TC=1.
//
// Its methods are safe for concurrent use and may be called while it serves.
type AuthServer struct {
	// Addr is the loopback address the server listens on, port 53.
	Addr netip.Addr

	t       testing.TB
	queries atomic.Int64
	done    chan struct{}

	mu    sync.Mutex
	zones map[string]*authZone // by origin, lowercase
	mode  AuthMode
	hook  func(req *dns.Msg) *dns.Msg
	delay time.Duration
	// noTCP is the name set by SetTruncateNoTCP, canonical, or "".
	noTCP string
}

type authZone struct {
	origin string
	// rrs holds the zone's records by lowercase owner name.
	rrs map[string][]dns.RR
}

// NewAuthServer starts an AuthServer serving no zone on a fresh loopback
// address, port 53; it stops when the test ends. It skips the test when the
// process may not bind port 53 (not root), and calls t.Fatal when it cannot
// listen for another reason.
func NewAuthServer(t testing.TB) *AuthServer {
	t.Helper()
	pc, ln, err := listen53()
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		t.Skipf("testenv: the DNS world binds port 53 on 127.0.0.0/8 and needs root or CAP_NET_BIND_SERVICE: %v", err)
	}
	if err != nil {
		t.Fatalf("testenv: authoritative server: %v", err)
	}
	addr := netip.MustParseAddrPort(ln.Addr().String()).Addr()
	s := &AuthServer{Addr: addr, t: t, done: make(chan struct{}), zones: map[string]*authZone{}}
	serveDNS(t, pc, ln, s.serve, s.done)
	return s
}

// listen53 binds UDP and TCP port 53 of a fresh loopback address.
func listen53() (net.PacketConn, net.Listener, error) {
	var last error
	for range 20 {
		ip := NewLoopbackAddr().String()
		addr := net.JoinHostPort(ip, fmt.Sprint(dnsPort))
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
				return nil, nil, err
			}
			last = err
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			pc.Close()
			last = err
			continue
		}
		return pc, ln, nil
	}
	return nil, nil, fmt.Errorf("no free loopback address for port %d: %w", dnsPort, last)
}

// AddrPort returns the server's ip:port.
func (s *AuthServer) AddrPort() netip.AddrPort { return netip.AddrPortFrom(s.Addr, dnsPort) }

// Add adds records in RFC 1035 presentation form with absolute owner names
// (a missing TTL means 3600) to the server's copy of zone. It calls t.Fatal
// when a line does not parse, the server does not serve zone, or an owner
// is outside it.
func (s *AuthServer) Add(zone string, rrs ...string) {
	s.t.Helper()
	zone = dnsCanonical(zone)
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[zone]
	if z == nil {
		s.t.Fatalf("testenv: server %s does not serve zone %s", s.Addr, zone)
	}
	for _, line := range rrs {
		rr := mustRR(s.t, line)
		owner := dnsCanonical(rr.Header().Name)
		if !dns.IsSubDomain(zone, owner) {
			s.t.Fatalf("testenv: record %q is outside zone %s", line, zone)
		}
		z.rrs[owner] = append(z.rrs[owner], rr)
	}
}

// Remove deletes the records of type qtype at name from the server's copy
// of zone; dns.TypeANY deletes all records at name.
func (s *AuthServer) Remove(zone, name string, qtype uint16) {
	zone, name = dnsCanonical(zone), dnsCanonical(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[zone]
	if z == nil {
		return
	}
	removeRRs(z.rrs, name, qtype)
}

// Records returns a copy of the server's records of zone in canonical order
// (RFC 4034 §6.1 by owner, then by type), or nil when it does not serve zone.
// With SetRecords, it lets a test sign a zone and serve the result.
func (s *AuthServer) Records(zone string) []dns.RR {
	zone = dnsCanonical(zone)
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[zone]
	if z == nil {
		return nil
	}
	var out []dns.RR
	for _, rrs := range z.rrs {
		for _, rr := range rrs {
			out = append(out, dns.Copy(rr))
		}
	}
	slices.SortStableFunc(out, func(a, b dns.RR) int {
		if c := CanonicalCompare(a.Header().Name, b.Header().Name); c != 0 {
			return c
		}
		return int(a.Header().Rrtype) - int(b.Header().Rrtype)
	})
	return out
}

// SetRecords replaces the server's copy of zone with copies of rrs, and
// starts serving zone if it did not. The records should include the SOA and
// NS set at the apex; RRSIG, DNSKEY, NSEC and DS records are served like
// any other (see AuthServer). Records outside zone are ignored.
func (s *AuthServer) SetRecords(zone string, rrs []dns.RR) {
	zone = dnsCanonical(zone)
	z := &authZone{origin: zone, rrs: map[string][]dns.RR{}}
	for _, rr := range rrs {
		owner := dnsCanonical(rr.Header().Name)
		if dns.IsSubDomain(zone, owner) {
			z.rrs[owner] = append(z.rrs[owner], dns.Copy(rr))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zones[zone] = z
}

// SetSerial sets the serial of zone's SOA on this server.
func (s *AuthServer) SetSerial(zone string, serial uint32) {
	zone = dnsCanonical(zone)
	s.mu.Lock()
	defer s.mu.Unlock()
	if z := s.zones[zone]; z != nil {
		for _, rr := range z.rrs[zone] {
			if soa, ok := rr.(*dns.SOA); ok {
				soa.Serial = serial
			}
		}
	}
}

// SetMode sets how the server behaves from now on.
func (s *AuthServer) SetMode(m AuthMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// SetDelay delays every answer by d (zero: none). Delayed answers are
// abandoned when the test ends.
func (s *AuthServer) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetTruncateNoTCP makes the server answer questions at name (any type)
// over UDP with an empty reply with TC=1, which asks to retry over TCP,
// and close every TCP connection that asks for name without answering: a
// server whose TCP is broken or blocked, which RFC 7766 §5 forbids. ""
// restores normal answers.
func (s *AuthServer) SetTruncateNoTCP(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noTCP = ""
	if name != "" {
		s.noTCP = dnsCanonical(name)
	}
}

// SetHook installs h (nil removes it), called with every query after the
// mode's checks: a non-nil reply is sent as is (after UDP truncation),
// nil lets the server answer normally. h may block (a slow answer) and may
// record the queries it sees; it must be safe for concurrent use.
func (s *AuthServer) SetHook(h func(req *dns.Msg) *dns.Msg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = h
}

// QueryCount returns the number of queries received, over UDP and TCP,
// unanswered ones included.
func (s *AuthServer) QueryCount() int { return int(s.queries.Load()) }

func (s *AuthServer) serve(w dns.ResponseWriter, req *dns.Msg) {
	s.queries.Add(1)
	s.mu.Lock()
	mode, hook, delay, noTCP := s.mode, s.hook, s.delay, s.noTCP
	s.mu.Unlock()
	if mode == AuthTimeout {
		return
	}
	if noTCP != "" && len(req.Question) == 1 && dnsCanonical(req.Question[0].Name) == noTCP {
		if _, udp := w.RemoteAddr().(*net.UDPAddr); !udp {
			_ = w.Close()
			return
		}
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative, m.Truncated = true, true
		_ = w.WriteMsg(m)
		return
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-s.done:
			return
		}
	}
	var m *dns.Msg
	if hook != nil {
		m = hook(req)
	}
	if m == nil {
		m = s.answer(req, mode)
	}
	// RFC 6891 §6.2.5: a requestor's UDP payload size below 512 is treated
	// as 512; without EDNS0 a UDP reply is limited to 512 octets.
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = max(int(opt.UDPSize()), dns.MinMsgSize)
		if m.IsEdns0() == nil {
			m.SetEdns0(opt.UDPSize(), opt.Do())
		}
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// answer builds the reply to req.
func (s *AuthServer) answer(req *dns.Msg, mode AuthMode) *dns.Msg {
	m := new(dns.Msg)
	if len(req.Question) != 1 {
		m.SetRcode(req, dns.RcodeFormatError)
		return m
	}
	m.SetReply(req)
	switch mode {
	case AuthRefuse:
		m.Rcode = dns.RcodeRefused
		return m
	case AuthServfail:
		m.Rcode = dns.RcodeServerFailure
		return m
	}
	q := req.Question[0]
	name := dnsCanonical(q.Name)
	do := req.IsEdns0() != nil && req.IsEdns0().Do()

	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zoneFor(name, q.Qtype)
	if z == nil {
		m.Rcode = dns.RcodeRefused
		return m
	}
	if mode == AuthSelfReferral {
		ns := strings.TrimSuffix("self."+z.origin, ".") + "."
		m.Ns = []dns.RR{&dns.NS{Hdr: rrHeader(z.origin, dns.TypeNS), Ns: ns}}
		m.Extra = []dns.RR{&dns.A{Hdr: rrHeader(ns, dns.TypeA), A: s.Addr.AsSlice()}}
		return m
	}
	z.resolve(m, name, q.Qtype, do)
	if mode == AuthNotAuthoritative {
		m.Authoritative = false
	}
	return m
}

func rrHeader(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: worldTTL}
}

// zoneFor returns the deepest zone served that contains name; for DS at an
// apex, the parent zone when served. s.mu must be held.
func (s *AuthServer) zoneFor(name string, qtype uint16) *authZone {
	var best, parent *authZone
	for origin, z := range s.zones {
		if !dns.IsSubDomain(origin, name) {
			continue
		}
		if best == nil || len(origin) > len(best.origin) {
			best = z
		}
		if origin != name && (parent == nil || len(origin) > len(parent.origin)) {
			parent = z
		}
	}
	if qtype == dns.TypeDS && best != nil && best.origin == name && parent != nil {
		return parent
	}
	return best
}

// cut returns the topmost delegation point between the apex (excluded) and
// name (included), or "".
func (z *authZone) cut(name string) string {
	var path []string
	for n := name; n != z.origin && dns.IsSubDomain(z.origin, n); n = worldParent(n) {
		path = append(path, n)
	}
	for i := len(path) - 1; i >= 0; i-- {
		if rrsOfType(z.rrs[path[i]], dns.TypeNS) != nil {
			return path[i]
		}
	}
	return ""
}

func worldParent(n string) string {
	i, end := dns.NextLabel(n, 0)
	if end || n == "." {
		return "."
	}
	return n[i:]
}

// resolve fills m with the answer of zone z for name and qtype.
func (z *authZone) resolve(m *dns.Msg, name string, qtype uint16, do bool) {
	for hop := 0; hop < maxAuthCNAMEHops; hop++ {
		if c := z.cut(name); c != "" && (qtype != dns.TypeDS || c != name) {
			if hop == 0 {
				z.referral(m, c, do)
			}
			// A chain that enters a delegated child stops at its CNAME.
			return
		}
		m.Authoritative = true
		rrs, wild := z.lookup(name)
		if set := rrsOfType(rrs, qtype); set != nil {
			m.Answer = append(m.Answer, withSigs(rrs, set, qtype, do)...)
			return
		}
		if cn := rrsOfType(rrs, dns.TypeCNAME); cn != nil && qtype != dns.TypeCNAME {
			m.Answer = append(m.Answer, withSigs(rrs, cn, dns.TypeCNAME, do)...)
			next := dnsCanonical(cn[0].(*dns.CNAME).Target)
			if !dns.IsSubDomain(z.origin, next) {
				return
			}
			name = next
			continue
		}
		exists := len(rrs) > 0 || z.hasBelow(name)
		if !exists {
			m.Rcode = dns.RcodeNameError
		}
		soa := z.rrs[z.origin]
		m.Ns = append(m.Ns, withSigs(soa, rrsOfType(soa, dns.TypeSOA), dns.TypeSOA, do)...)
		if do {
			m.Ns = append(m.Ns, z.denial(name, exists, wild)...)
		}
		return
	}
}

// lookup returns the records at name, expanded from a wildcard (RFC 4592
// §3.3.1) when name does not exist and the closest encloser has one.
func (z *authZone) lookup(name string) ([]dns.RR, bool) {
	if rrs := z.rrs[name]; len(rrs) > 0 || z.hasBelow(name) || name == z.origin {
		return rrs, false
	}
	for enc := worldParent(name); dns.IsSubDomain(z.origin, enc); enc = worldParent(enc) {
		if len(z.rrs[enc]) > 0 || z.hasBelow(enc) {
			wild := z.rrs["*."+enc]
			if len(wild) == 0 {
				return nil, false
			}
			out := make([]dns.RR, 0, len(wild))
			for _, rr := range wild {
				c := dns.Copy(rr)
				c.Header().Name = name
				out = append(out, c)
			}
			return out, true
		}
		if enc == "." {
			break
		}
	}
	return nil, false
}

// referral fills m with the delegation to cut.
func (z *authZone) referral(m *dns.Msg, cut string, do bool) {
	m.Authoritative = false
	rrs := z.rrs[cut]
	ns := rrsOfType(rrs, dns.TypeNS)
	m.Ns = append(m.Ns, copies(ns)...)
	if do {
		// RFC 4035 §3.1.4: the DS RRset and its RRSIGs with a referral to
		// a signed child; an NSEC proving there is none otherwise.
		if ds := rrsOfType(rrs, dns.TypeDS); ds != nil {
			m.Ns = append(m.Ns, withSigs(rrs, ds, dns.TypeDS, true)...)
		} else if nsec := rrsOfType(rrs, dns.TypeNSEC); nsec != nil {
			m.Ns = append(m.Ns, withSigs(rrs, nsec, dns.TypeNSEC, true)...)
		}
	}
	for _, rr := range ns {
		target := dnsCanonical(rr.(*dns.NS).Ns)
		for _, g := range z.rrs[target] {
			if t := g.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
				m.Extra = append(m.Extra, dns.Copy(g))
			}
		}
	}
}

// denial returns the NSEC records (with their RRSIGs) proving a negative
// answer for name: the NSEC at name for NODATA, or the NSECs covering name
// and the wildcard at the closest encloser for NXDOMAIN (RFC 4035 §3.1.3).
func (z *authZone) denial(name string, exists, wild bool) []dns.RR {
	var out []dns.RR
	add := func(owner string) {
		rrs := z.rrs[owner]
		if set := rrsOfType(rrs, dns.TypeNSEC); set != nil && !slices.ContainsFunc(out, func(rr dns.RR) bool { return dnsCanonical(rr.Header().Name) == owner }) {
			out = append(out, withSigs(rrs, set, dns.TypeNSEC, true)...)
		}
	}
	if exists && !wild {
		add(name)
		return out
	}
	add(z.covering(name))
	enc := worldParent(name)
	for dns.IsSubDomain(z.origin, enc) && enc != z.origin && len(z.rrs[enc]) == 0 && !z.hasBelow(enc) {
		enc = worldParent(enc)
	}
	add(z.covering("*." + enc))
	return out
}

// covering returns the owner of the NSEC record whose span covers name
// (canonically after its owner and before its next name), or "".
func (z *authZone) covering(name string) string {
	for owner, rrs := range z.rrs {
		for _, rr := range rrs {
			n, ok := rr.(*dns.NSEC)
			if !ok {
				continue
			}
			next := dnsCanonical(n.NextDomain)
			after := CanonicalCompare(owner, name) < 0
			before := CanonicalCompare(name, next) < 0
			// The last NSEC of the chain wraps round to the apex.
			last := CanonicalCompare(next, owner) <= 0
			if (after && before) || (last && (after || before)) {
				return owner
			}
		}
	}
	return ""
}

// hasBelow reports whether some name below name holds records, which makes
// name an empty non-terminal (RFC 8020: it exists).
func (z *authZone) hasBelow(name string) bool {
	for owner := range z.rrs {
		if owner != name && dns.IsSubDomain(name, owner) {
			return true
		}
	}
	return false
}

func rrsOfType(rrs []dns.RR, t uint16) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype == t {
			out = append(out, rr)
		}
	}
	return out
}

func copies(rrs []dns.RR) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		out[i] = dns.Copy(rr)
	}
	return out
}

// withSigs returns copies of set and, when do, of the RRSIGs among all (the
// records at the same owner) that cover t (RFC 4035 §3.1.1).
func withSigs(all, set []dns.RR, t uint16, do bool) []dns.RR {
	out := copies(set)
	if !do {
		return out
	}
	for _, rr := range all {
		if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == t {
			c := dns.Copy(rr)
			if len(set) > 0 {
				c.Header().Name = set[0].Header().Name // wildcard expansion
			}
			out = append(out, c)
		}
	}
	return out
}

// CanonicalCompare orders two domain names as RFC 4034 §6.1 does: by their
// labels from the rightmost, each compared as lowercase octets. It returns
// -1, 0 or +1.
func CanonicalCompare(a, b string) int {
	la, lb := dns.SplitDomainName(strings.ToLower(a)), dns.SplitDomainName(strings.ToLower(b))
	for i, j := len(la)-1, len(lb)-1; i >= 0 && j >= 0; i, j = i-1, j-1 {
		if c := strings.Compare(unescapeLabel(la[i]), unescapeLabel(lb[j])); c != 0 {
			return c
		}
	}
	switch {
	case len(la) < len(lb):
		return -1
	case len(la) > len(lb):
		return 1
	}
	return 0
}

// unescapeLabel turns a presentation-form label (\DDD, \X) into its octets.
func unescapeLabel(l string) string {
	if !strings.Contains(l, `\`) {
		return l
	}
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c == '\\' && i+3 < len(l) && isDigit(l[i+1]) && isDigit(l[i+2]) && isDigit(l[i+3]):
			c = (l[i+1]-'0')*100 + (l[i+2]-'0')*10 + (l[i+3] - '0')
			i += 3
		case c == '\\' && i+1 < len(l):
			i++
			c = l[i]
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func mustRR(t testing.TB, line string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(line)
	if err != nil {
		t.Fatalf("testenv: parsing %q: %v", line, err)
	}
	if rr == nil {
		t.Fatalf("testenv: no record in %q", line)
	}
	return rr
}

// World is a DNS hierarchy on loopback: a root server and the zones a test
// adds below it, each served by its own AuthServers on port 53 of distinct
// 127.0.0.0/8 addresses, with delegations (NS and glue) in the parents. A
// resolver given RootHints and port 53 resolves inside it only. Its methods
// are safe for concurrent use.
type World struct {
	// Root is the root zone's server; RootZone the root zone.
	Root     *AuthServer
	RootZone *Zone
	// RootHints is the root server's address, for the resolver under test.
	RootHints []netip.Addr

	t     testing.TB
	mu    sync.Mutex
	zones map[string]*Zone
}

// Zone is a zone of a World, served by one or more AuthServers.
type Zone struct {
	// Name is the zone's origin, lowercase, fully qualified.
	Name string
	// Servers serve the zone; Servers[i] is named ns<i+1>.<Name> (or as
	// AddGluelessZone names them).
	Servers []*AuthServer
	// NSNames are the zone's NS names, in the order of Servers.
	NSNames []string
}

// NewWorld starts a World with a root server serving "." (SOA, NS
// a.root-servers.invalid. and its address). It skips the test when the
// process may not bind port 53 (see NewAuthServer).
func NewWorld(t testing.TB) *World {
	t.Helper()
	root := NewAuthServer(t)
	w := &World{Root: root, RootHints: []netip.Addr{root.Addr}, t: t, zones: map[string]*Zone{}}
	ns := "a.root-servers.invalid."
	root.SetRecords(".", zoneRecords(t, ".", []string{ns}, []*AuthServer{root}, true))
	w.RootZone = &Zone{Name: ".", Servers: []*AuthServer{root}, NSNames: []string{ns}}
	w.zones["."] = w.RootZone
	return w
}

// zoneRecords returns the apex records of a new zone: SOA, NS, and when
// glue is set the A record of each NS name (which must be inside the zone).
func zoneRecords(t testing.TB, zone string, nsNames []string, servers []*AuthServer, glue bool) []dns.RR {
	rrs := []dns.RR{mustRR(t, fmt.Sprintf("%s %d IN SOA %s hostmaster.%s 1 7200 3600 1209600 %d",
		zone, worldTTL, nsNames[0], strings.TrimPrefix(zone, "."), worldSOAMinimum))}
	for i, n := range nsNames {
		rrs = append(rrs, &dns.NS{Hdr: rrHeader(zone, dns.TypeNS), Ns: n})
		if glue {
			rrs = append(rrs, &dns.A{Hdr: rrHeader(n, dns.TypeA), A: servers[i].Addr.AsSlice()})
		}
	}
	return rrs
}

// Zone returns the zone named name, or nil.
func (w *World) Zone(name string) *Zone {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.zones[dnsCanonical(name)]
}

// AddZone creates zone, served by nsCount new AuthServers named
// ns1.<zone>... with their addresses in the zone, and delegates it from
// parent ("" for the root) with NS records and glue on every server of the
// parent. It calls t.Fatal when parent does not exist, zone is not below it,
// or zone exists.
func (w *World) AddZone(zone, parent string, nsCount int) *Zone {
	w.t.Helper()
	zone = dnsCanonical(zone)
	var names []string
	for i := range nsCount {
		names = append(names, fmt.Sprintf("ns%d.%s", i+1, zone))
	}
	return w.addZone(zone, parent, names, nil)
}

// AddGluelessZone creates zone, served by nsCount new AuthServers whose NS
// names live in the existing zone host (ns1-<zone with dashes>.<host>...),
// with their A records added to host, and delegates it from parent with NS
// records only: a resolver must resolve the NS names to reach zone.
func (w *World) AddGluelessZone(zone, parent string, host *Zone, nsCount int) *Zone {
	w.t.Helper()
	zone = dnsCanonical(zone)
	label := strings.ReplaceAll(strings.TrimSuffix(zone, "."), ".", "-")
	var names []string
	for i := range nsCount {
		names = append(names, fmt.Sprintf("ns%d-%s.%s", i+1, label, host.Name))
	}
	return w.addZone(zone, parent, names, host)
}

// AddSharedZone creates zone on the servers of its parent, under the
// parent's NS names, as a DNS host that serves a zone and a sub-zone it
// delegates to itself: the parent holds the delegation (NS records), and
// its servers answer for names in zone with authority instead of a
// referral. It calls t.Fatal as AddZone does.
func (w *World) AddSharedZone(zone, parent string) *Zone {
	w.t.Helper()
	zone = dnsCanonical(zone)
	p := w.newZoneParent(zone, parent)
	z := &Zone{Name: zone, NSNames: p.NSNames, Servers: p.Servers}
	for _, s := range z.Servers {
		s.SetRecords(zone, zoneRecords(w.t, zone, z.NSNames, z.Servers, false))
	}
	var delegation []string
	for _, n := range z.NSNames {
		delegation = append(delegation, fmt.Sprintf("%s %d IN NS %s", zone, worldTTL, n))
	}
	p.Add(delegation...)
	w.mu.Lock()
	w.zones[zone] = z
	w.mu.Unlock()
	return z
}

// newZoneParent returns the parent ("" for the root) of a zone about to be
// created; it calls t.Fatal when the parent does not exist, zone is not
// below it, or zone exists.
func (w *World) newZoneParent(zone, parent string) *Zone {
	w.t.Helper()
	if parent == "" {
		parent = "."
	}
	parent = dnsCanonical(parent)
	w.mu.Lock()
	p, exists := w.zones[parent], w.zones[zone] != nil
	w.mu.Unlock()
	switch {
	case p == nil:
		w.t.Fatalf("testenv: parent zone %s of %s does not exist", parent, zone)
	case exists:
		w.t.Fatalf("testenv: zone %s exists", zone)
	case zone == parent || !dns.IsSubDomain(parent, zone):
		w.t.Fatalf("testenv: zone %s is not below %s", zone, parent)
	}
	return p
}

func (w *World) addZone(zone, parent string, names []string, host *Zone) *Zone {
	w.t.Helper()
	if len(names) == 0 {
		w.t.Fatalf("testenv: zone %s needs at least one name server", zone)
	}
	p := w.newZoneParent(zone, parent)
	z := &Zone{Name: zone, NSNames: names}
	for range names {
		z.Servers = append(z.Servers, NewAuthServer(w.t))
	}
	for _, s := range z.Servers {
		s.SetRecords(zone, zoneRecords(w.t, zone, names, z.Servers, host == nil))
	}
	var delegation []string
	for i, n := range names {
		delegation = append(delegation, fmt.Sprintf("%s %d IN NS %s", zone, worldTTL, n))
		line := fmt.Sprintf("%s %d IN A %s", n, worldTTL, z.Servers[i].Addr)
		if host != nil {
			host.Add(line)
		} else {
			delegation = append(delegation, line) // glue
		}
	}
	p.Add(delegation...)
	w.mu.Lock()
	w.zones[zone] = z
	w.mu.Unlock()
	return z
}

// Add adds records (see AuthServer.Add) to every server of the zone.
func (z *Zone) Add(rrs ...string) {
	for _, s := range z.Servers {
		s.t.Helper()
		s.Add(z.Name, rrs...)
	}
}

// SetHook installs h on every server of the zone (AuthServer.SetHook).
func (z *Zone) SetHook(h func(req *dns.Msg) *dns.Msg) {
	for _, s := range z.Servers {
		s.SetHook(h)
	}
}

// Remove deletes the records of type qtype at name on every server of the
// zone (dns.TypeANY: all of them).
func (z *Zone) Remove(name string, qtype uint16) {
	for _, s := range z.Servers {
		s.Remove(z.Name, name, qtype)
	}
}

// SetSerial sets the SOA serial on every server of the zone.
func (z *Zone) SetSerial(serial uint32) {
	for _, s := range z.Servers {
		s.SetSerial(z.Name, serial)
	}
}

// Server returns the zone's i-th server (from 0).
func (z *Zone) Server(i int) *AuthServer { return z.Servers[i] }

// QueryCount returns the queries received by all servers of the zone.
func (z *Zone) QueryCount() int {
	n := 0
	for _, s := range z.Servers {
		n += s.QueryCount()
	}
	return n
}
