package dnsclient

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/ident"
)

// Defaults of IterativeConfig.
const (
	// DefaultIterativeTimeout bounds one query to one authoritative server
	// when IterativeConfig.Timeout is zero.
	DefaultIterativeTimeout = 2 * time.Second
	// DefaultMaxQueries bounds the queries of one lookup when
	// IterativeConfig.MaxQueries is zero: a cold lookup through a CNAME to
	// another zone with glueless delegations takes about 20.
	DefaultMaxQueries = 64
	// DefaultMaxCNAME bounds a CNAME chain when IterativeConfig.MaxCNAME is
	// zero, as forward mode does.
	DefaultMaxCNAME = maxCNAMEChain
	// DefaultCacheSize is the number of cache entries when
	// IterativeConfig.CacheSize is zero.
	DefaultCacheSize = 10000
)

const (
	// maxReferralNS bounds the NS names taken from one referral: each is a
	// server that may be tried, so each adds to the worst case of a lookup.
	// Real delegations have 2 to 13.
	maxReferralNS = 16
	// maxAddrsPerNS bounds the addresses kept for one NS name (glue or
	// resolved): a server with more is unusual and the rest add nothing.
	maxAddrsPerNS = 4
	// maxSubDepth bounds nested sub-resolutions of NS names (glueless
	// delegations whose NS names are themselves in glueless zones).
	maxSubDepth = 4
	// maxAuthServers bounds the addresses Authoritative asks: 13 NS names
	// with an IPv4 and an IPv6 address each fit.
	maxAuthServers = 32
)

// IterativeConfig configures an Iterative resolver. The zero value resolves
// from the IANA root servers with the defaults below.
type IterativeConfig struct {
	// RootHints are the root servers' addresses. If nil, the built-in IANA
	// root hints (BuiltinRootHints).
	RootHints []netip.Addr
	// Port is the port of every authoritative server. If zero, 53.
	Port int
	// Timeout bounds one query to one server. If zero,
	// DefaultIterativeTimeout.
	Timeout time.Duration
	// MaxQueries bounds the queries sent for one Lookup, referrals, CNAME
	// targets, NS address lookups and TCP retries included. If zero,
	// DefaultMaxQueries.
	MaxQueries int
	// MaxCNAME bounds the CNAME chain of one Lookup. If zero,
	// DefaultMaxCNAME.
	MaxCNAME int
	// CacheSize is the number of answers and delegations kept. If zero,
	// DefaultCacheSize.
	CacheSize int
	// Source is the local address queries are sent from; only servers of
	// its address family are used. If zero, any.
	Source netip.Addr
	// Validator validates DNSSEC of every final answer. If nil, no
	// validation is done and Response.DNSSEC stays empty.
	Validator Validating
	// Now is the cache's clock. If nil, time.Now.
	Now func() time.Time
	// AllowLoopbackServers permits queries to nameservers a delegation
	// places at loopback addresses (tests, a lab on one machine).
	AllowLoopbackServers bool
	// AllowPrivateServers permits queries to nameservers a delegation
	// places at private-use addresses (ident.IsPrivate): a CA that serves
	// an organisation's own network, whose zones its own servers hold.
	AllowPrivateServers bool
	// AllowReservedServers permits queries to nameservers a delegation
	// places at any special-purpose address (ident.IsReserved): a private
	// DNS tree under the operator's own root hints. Without it, such a
	// nameserver is never queried: a zone delegated to 10.0.0.1 or
	// 169.254.169.254 must not make the CA send packets into its own
	// network and tell the applicant how they were answered. The root
	// hints are always queried.
	AllowReservedServers bool
}

// Iterative is a Resolver that resolves names itself from the root servers
// (iterative mode): it follows referrals and CNAMEs, with glue and glueless
// delegations, and keeps a cache of delegations, nameserver addresses and
// DNSSEC records; the answers Lookup returns are always asked anew of the
// authoritative servers (see Lookup). Every query is
// sent with RD=0, EDNS0 (UDP payload 1232) and the DO bit, a random ID and the
// letters of the name in random case (draft-vixie-dnsext-dns0x20), and is
// retried over TCP when truncated. It is safe for concurrent use.
type Iterative struct {
	roots      []netip.Addr
	port       uint16
	timeout    time.Duration
	maxQueries int
	maxCNAME   int
	source     netip.Addr
	// targets and allowReserved: see IterativeConfig's
	// AllowLoopbackServers, AllowPrivateServers and AllowReservedServers.
	targets       ident.Targets
	allowReserved bool
	// refuse, when set, replaces the special-purpose address policy
	// (tests of the refusal on loopback, export_test.go).
	refuse    func(netip.Addr) bool
	validator Validating
	now       func() time.Time
	cache     *cache
	canary    [2]canary // by address family (famV4, famV6)
}

var (
	_ Resolver = (*Iterative)(nil)
	_ Querier  = (*Iterative)(nil)
)

// NewIterative returns an Iterative resolver for cfg. It returns an error
// for a port outside 0-65535, a negative timeout or limit, or a Source
// address for which no root hint of its family exists.
func NewIterative(cfg IterativeConfig) (*Iterative, error) {
	if cfg.Port < 0 || cfg.Port > math.MaxUint16 {
		return nil, fmt.Errorf("dnsclient: port %d outside 0-65535", cfg.Port)
	}
	if cfg.Timeout < 0 || cfg.MaxQueries < 0 || cfg.MaxCNAME < 0 || cfg.CacheSize < 0 {
		return nil, errors.New("dnsclient: negative timeout or limit in iterative configuration")
	}
	roots := cfg.RootHints
	if roots == nil {
		roots = BuiltinRootHints()
	}
	r := &Iterative{
		port:          uint16(cmp.Or(cfg.Port, 53)),
		timeout:       cmp.Or(cfg.Timeout, DefaultIterativeTimeout),
		maxQueries:    cmp.Or(cfg.MaxQueries, DefaultMaxQueries),
		maxCNAME:      cmp.Or(cfg.MaxCNAME, DefaultMaxCNAME),
		source:        cfg.Source.Unmap(),
		targets:       ident.Targets{Loopback: cfg.AllowLoopbackServers, Private: cfg.AllowPrivateServers},
		allowReserved: cfg.AllowReservedServers,
		validator:     cfg.Validator,
		now:           cfg.Now,
		cache:         newCache(cmp.Or(cfg.CacheSize, DefaultCacheSize)),
	}
	if r.now == nil {
		r.now = time.Now
	}
	for _, a := range roots {
		if a.IsValid() && r.usable(a.Unmap()) {
			r.roots = append(r.roots, a.Unmap())
		}
	}
	if len(r.roots) == 0 {
		return nil, errors.New("dnsclient: no usable root hint address (for the source address's family)")
	}
	return r, nil
}

// usable reports whether a can be reached from the source address.
func (r *Iterative) usable(a netip.Addr) bool {
	return !r.source.IsValid() || r.source.Is4() == a.Is4()
}

// refusedWord is how a trace tells a nameserver not queried for its
// address, and refusedWhy why.
const (
	refusedWord = "not queried (special-purpose address)"
	refusedWhy  = "private, loopback, link-local and other special-purpose addresses (RFC 6890) are not on the public Internet; give the zone's name servers public addresses"
)

// refused reports whether a nameserver at a, which a delegation names,
// must not be queried: a special-purpose address the configuration does
// not permit (see IterativeConfig.AllowReservedServers).
func (r *Iterative) refused(a netip.Addr) bool {
	if r.refuse != nil {
		return r.refuse(a)
	}
	return !r.allowReserved && r.targets.Refused(a)
}

// Lookup resolves name and qtype from the closest cached delegation, or the
// root, following referrals and the CNAME chain (see Response). Each answer
// of the chain is asked of the authoritative servers, never taken from the
// cache: Response.Cached is always false, and Response.TTL says how long
// the answer may be kept. NXDOMAIN and NODATA answers of the authoritative
// servers are answers (Rcode, NegativeTTL). When every server of a zone
// answers SERVFAIL or REFUSED, that answer is returned. Response.Server is
// the server that gave the final answer, Response.Trace the queries sent.
//
// With a Validator, every answer of the chain is validated; Response.DNSSEC
// is the worst status of them (bogus, then indeterminate, then insecure) and
// AD is set only when all are secure. A bogus answer is returned with its
// status: callers MUST NOT rely on its data.
//
// Lookup returns a *Error, with the queries sent in its Trace, of
// KindTimeout when no server answered in time or ctx expired, KindLoop when
// the CNAME chain loops or exceeds MaxCNAME, referrals loop ("referral
// loop") or MaxQueries is exceeded ("too many queries"), KindTooLarge for an
// answer over 256 records or 64 KiB of TXT data, KindMalformed when every
// server sent malformed, spoofed-looking (0x20 case changed) or lame
// ("lame delegation") answers, and KindNetwork when no server was reachable.
func (r *Iterative) Lookup(ctx context.Context, name string, qtype uint16) (*Response, error) {
	start := time.Now()
	name = strings.ToLower(dns.Fqdn(name))
	typ := typeString(qtype)
	if _, ok := dns.IsDomainName(name); !ok {
		return nil, &Error{Kind: KindUnknown, Name: name, Type: typ, Detail: "invalid domain name"}
	}
	st := &lookupState{max: r.maxQueries}
	querier := &lookupQuerier{r: r, st: st}
	resp := &Response{Name: name, Type: typ}
	seen := map[string]bool{name: true}
	target := name
	cached, ttl := true, uint32(math.MaxUint32)
	var (
		status       DNSSECStatus
		reason, zone string
	)
	fail := func(e *Error) (*Response, error) {
		r.blameOwnNetwork(ctx, st, e)
		e.Name, e.Type, e.Trace = name, typ, st.steps()
		if target != name {
			e.Detail = "following cname to " + target + ": " + e.Detail
		}
		return nil, e
	}
	for {
		// Never from the cache: an answer for validation is what the
		// authoritative servers say now. A record just published, or
		// corrected, must not wait for the TTL of the answer seen
		// before (up to a day), nor a removed CAA record for its own.
		a, err := r.resolve(ctx, st, target, qtype, 0, false)
		if err != nil && brokenDelegation(err) && r.dropDelegations(target) {
			// Failed on delegations kept from before (a nameserver
			// without glue, a lame one): the operator may have mended
			// them since, at the registrar. Asked anew from the root,
			// the fix is seen at the next check, not after the kept
			// referrals' TTL (up to a day; black-box run). The retry
			// has a budget of its own, and its trace is the lookup's.
			st = &lookupState{max: r.maxQueries}
			querier = &lookupQuerier{r: r, st: st}
			a, err = r.resolve(ctx, st, target, qtype, 0, false)
		}
		if err != nil {
			return fail(err)
		}
		if r.validator != nil && !a.validated {
			r.validate(ctx, querier, target, qtype, a)
			forgot := false
			if f, ok := r.validator.(interface{ Forget(string) bool }); ok && a.status == Bogus {
				// Keys validated before and kept (review: an emergency
				// key roll stayed bogus for their hour).
				forgot = f.Forget(a.zone)
			}
			if a.status == Bogus && (querier.fromCache.Load() || forgot) {
				// Judged on DS or DNSKEY answers kept from before: the
				// zone's operator may have mended them since (a new DS
				// at the parent, a re-signed zone). Asked anew, they
				// replace the kept ones, and the answer is judged
				// again, so that a fix is seen at the next check, not
				// after those answers' TTL (black-box run).
				r.validate(ctx, &lookupQuerier{r: r, st: st, fresh: true}, target, qtype, a)
			}
		}
		resp.Server, resp.Rcode = a.server, rcodeString(a.msg.Rcode)
		resp.Answer, resp.Other, resp.NegativeTTL = nil, nil, 0
		end, ferr := fillChain(resp, a.msg, target, qtype, seen, r.maxCNAME, a.zone)
		if ferr != nil {
			ferr.Server = a.server
			return fail(ferr)
		}
		cached = cached && a.cached
		ttl = min(ttl, a.ttl)
		if target == name || dnssecRank(a.status) > dnssecRank(status) {
			status, reason, zone = a.status, a.reason, a.zone
		}
		// An authoritative server gives the chain inside its zone; a chain
		// that leaves it stops at a CNAME whose target is resolved anew,
		// whatever the server said of the target (fillChain). Inside the
		// zone, a chain that ends with no data ends the lookup: its rcode
		// and SOA are the zone's answer for the target (RFC 1034 §4.3.2).
		if end == target || (dns.IsSubDomain(a.zone, end) && (len(resp.Answer) > 0 || len(resp.Other) > 0 ||
			a.msg.Rcode != dns.RcodeSuccess || hasSOA(a.msg.Ns))) {
			break
		}
		target = end
	}
	resp.Cached, resp.TTL, resp.Trace = cached, ttl, st.steps()
	if r.validator != nil {
		resp.AD = status == Secure
		resp.DNSSEC, resp.DNSSECReason = status.String(), reason
		if status != Secure {
			resp.DNSSECZone = zone
		}
	}
	resp.Duration = time.Since(start)
	return resp, nil
}

// dnssecRank orders statuses from best to worst, for a chain whose status is
// that of its worst link.
func dnssecRank(s DNSSECStatus) int {
	switch s {
	case Secure:
		return 0
	case Insecure:
		return 1
	case Indeterminate:
		return 2
	default:
		return 3
	}
}

// validate runs the validator on a and caches the result with the answer.
func (r *Iterative) validate(ctx context.Context, q Querier, name string, qtype uint16, a *answer) {
	if rc := a.msg.Rcode; rc != dns.RcodeSuccess && rc != dns.RcodeNameError {
		a.status, a.reason = Indeterminate, "no answer to validate: "+rcodeString(rc)
	} else {
		a.status, a.reason = r.validator.Validate(ctx, q, a.zone, a.msg)
	}
	a.validated = true
	if !a.cached && cacheableRcode(a.msg.Rcode) {
		stored := *a
		stored.cached, stored.msg = false, a.msg.Copy()
		r.cache.put(&cacheEntry{key: cacheKey{name: name, qtype: qtype}, answer: &stored},
			r.now(), time.Duration(a.ttl)*time.Second)
	}
}

// lookupState is the budget and trace of one lookup, shared by its
// sub-resolutions and by the validator's queries.
type lookupState struct {
	max int

	mu       sync.Mutex
	queries  int
	answered bool    // a server answered a query (any rcode)
	fams     [2]bool // the address families of the servers asked
	trace    []TraceStep
	pending  map[string]bool // NS names being resolved
}

// families returns the address families of the servers the lookup asked;
// both when it asked none.
func (st *lookupState) families() [2]bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.fams == [2]bool{} {
		return [2]bool{true, true}
	}
	return st.fams
}

// anyAnswer reports whether a server answered one of the lookup's queries.
func (st *lookupState) anyAnswer() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.answered
}

// take counts one query; it returns a *Error when the budget is spent.
func (st *lookupState) take() *Error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.queries >= st.max {
		return &Error{Kind: KindLoop, Detail: fmt.Sprintf("too many queries: more than %d for one lookup", st.max)}
	}
	st.queries++
	return nil
}

// stop reports whether the lookup must end: ctx is done or the budget is
// spent, so trying another server is pointless.
func (st *lookupState) stop(ctx context.Context) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return ctx.Err() != nil || st.queries >= st.max
}

func (st *lookupState) record(s TraceStep) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.answered = st.answered || s.Rcode != ""
	st.trace = append(st.trace, s)
	return len(st.trace) - 1
}

func (st *lookupState) note(i int, f func(*TraceStep)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	f(&st.trace[i])
}

func (st *lookupState) steps() []TraceStep {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]TraceStep(nil), st.trace...)
}

// begin marks the sub-resolution of name; false when it is already under
// way (a delegation whose NS names need itself).
func (st *lookupState) begin(name string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.pending[name] {
		return false
	}
	if st.pending == nil {
		st.pending = map[string]bool{}
	}
	st.pending[name] = true
	return true
}

func (st *lookupState) end(name string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.pending, name)
}

// resolve finds the authoritative answer for qname and qtype without
// following CNAMEs: from the cache when useCache, else from the closest
// cached delegation down. depth counts nested NS sub-resolutions.
func (r *Iterative) resolve(ctx context.Context, st *lookupState, qname string, qtype uint16, depth int, useCache bool) (*answer, *Error) {
	key := cacheKey{name: qname, qtype: qtype}
	if useCache {
		if a := r.cachedAnswer(key); a != nil {
			return a, nil
		}
	}
	d := r.closestDelegation(qname, qtype)
	seen := map[string]bool{}
	for {
		seen[d.zone] = true
		res, err := r.askZone(ctx, st, d, qname, qtype, depth)
		if err != nil {
			return nil, err
		}
		if res.referral == nil {
			if sub := r.sharedCut(ctx, st, d, qname, res.msg, depth); sub != nil {
				d = sub
			}
			a := &answer{msg: res.msg, server: res.server, zone: d.zone, deleg: d, ttl: answerTTL(res.msg)}
			if cacheableRcode(res.msg.Rcode) {
				// The cache keeps its own copy: callers and the validator
				// may hold a.msg.
				stored := *a
				stored.msg = res.msg.Copy()
				r.cache.put(&cacheEntry{key: key, answer: &stored}, r.now(), time.Duration(a.ttl)*time.Second)
			}
			return a, nil
		}
		next := res.referral
		// askZone only follows referrals that move closer to qname, so a
		// zone seen twice means the cache or the servers are inconsistent.
		if seen[next.zone] {
			return nil, &Error{Kind: KindLoop, Server: res.server, Detail: "referral loop: referred back to " + next.zone}
		}
		r.cache.put(&cacheEntry{key: cacheKey{name: next.zone, deleg: true}, deleg: next},
			r.now(), time.Duration(res.referralTTL)*time.Second)
		d = next
	}
}

// brokenDelegation reports whether e is a failure of the delegations
// followed rather than of the answer: a nameserver needed to find its own
// address (no glue), a referral loop, or no server answering with
// authority (lame). Timeouts are not: asking again would double the wait.
func brokenDelegation(e *Error) bool {
	switch e.Kind {
	case KindLoop:
		return strings.Contains(e.Detail, "(glueless loop)") || strings.Contains(e.Detail, "referral loop")
	case KindMalformed:
		return strings.Contains(e.Detail, "lame delegation")
	}
	return false
}

// dropDelegations removes the cached delegations of qname's ancestors
// (the root's hints aside), and reports whether there was one.
func (r *Iterative) dropDelegations(qname string) bool {
	dropped := false
	for n := qname; n != "."; n = upName(n) {
		if r.cache.drop(cacheKey{name: n, deleg: true}) {
			dropped = true
		}
	}
	return dropped
}

func cacheableRcode(rc int) bool { return rc == dns.RcodeSuccess || rc == dns.RcodeNameError }

// sharedCut returns the delegation of a zone below d.zone that the
// servers of d.zone also serve, when msg, their authoritative answer for
// qname, comes from it; else nil. A DNS host serving a zone and a sub-zone
// it delegates to itself answers for names in the sub-zone with authority
// instead of a referral, so resolution never sees the cut; but the answer
// betrays it: the owner of an SOA or NS RRset, or the signer of an RRSIG,
// between d.zone and qname. Without it the sub-zone would be taken for a
// part of its parent: its nameservers for the parent's, and its DNSSEC
// keys never fetched. The sub-zone's NS set is read from msg or asked of
// the same servers; its delegation is cached like a referral's.
func (r *Iterative) sharedCut(ctx context.Context, st *lookupState, d *delegation, qname string, msg *dns.Msg, depth int) *delegation {
	if !msg.Authoritative {
		return nil
	}
	cut := ""
	consider := func(owner string) {
		owner = strings.ToLower(dns.Fqdn(owner))
		if owner != d.zone && dns.IsSubDomain(d.zone, owner) && dns.IsSubDomain(owner, qname) && len(owner) > len(cut) {
			cut = owner
		}
	}
	for _, sec := range [][]dns.RR{msg.Answer, msg.Ns} {
		for _, rr := range sec {
			switch v := rr.(type) {
			case *dns.SOA, *dns.NS:
				consider(v.Header().Name)
			case *dns.RRSIG:
				consider(v.SignerName)
			}
		}
	}
	if cut == "" {
		return nil
	}
	if e := r.cache.get(cacheKey{name: cut, deleg: true}, r.now()); e != nil {
		return e.deleg
	}
	src := msg
	if !hasNSSet(msg, cut) {
		res, err := r.askZone(ctx, st, d, cut, dns.TypeNS, depth)
		switch {
		case err != nil:
			return nil
		case res.referral != nil:
			if res.referral.zone != cut {
				return nil
			}
			r.cache.put(&cacheEntry{key: cacheKey{name: cut, deleg: true}, deleg: res.referral}, r.now(), time.Duration(res.referralTTL)*time.Second)
			return res.referral
		case !res.msg.Authoritative || !hasNSSet(res.msg, cut):
			return nil
		}
		src = res.msg
	}
	sub := &delegation{zone: cut, addrs: map[string][]netip.Addr{}}
	names, ttl := nsNames(cut, src.Answer, src.Ns)
	for _, n := range names {
		sub.names = append(sub.names, n)
		// The servers of d.zone vouch for addresses in their own zone
		// only (bailiwick), as for glue.
		sub.addrs[n] = slices.Clone(d.addrs[n])
		if len(sub.addrs[n]) == 0 && dns.IsSubDomain(d.zone, n) {
			for _, a := range addrsOf(src.Extra, n) {
				if r.usable(a) && len(sub.addrs[n]) < maxAddrsPerNS {
					sub.addrs[n] = append(sub.addrs[n], a)
				}
			}
		}
	}
	r.cache.put(&cacheEntry{key: cacheKey{name: cut, deleg: true}, deleg: sub}, r.now(), time.Duration(ttl)*time.Second)
	return sub
}

// nsNames returns the NS names of owner in the sections given, lowercase,
// once each and at most maxReferralNS, with the smallest TTL of their
// records (math.MaxUint32 for none).
func nsNames(owner string, sections ...[]dns.RR) ([]string, uint32) {
	var names []string
	ttl := uint32(math.MaxUint32)
	for _, sec := range sections {
		for _, rr := range sec {
			ns, ok := rr.(*dns.NS)
			if !ok || !strings.EqualFold(ns.Hdr.Name, owner) {
				continue
			}
			ttl = min(ttl, ns.Hdr.Ttl)
			if n := strings.ToLower(dns.Fqdn(ns.Ns)); !slices.Contains(names, n) && len(names) < maxReferralNS {
				names = append(names, n)
			}
		}
	}
	return names, ttl
}

// hasNSSet reports whether msg holds an NS record owned by name.
func hasNSSet(msg *dns.Msg, name string) bool {
	for _, sec := range [][]dns.RR{msg.Answer, msg.Ns} {
		for _, rr := range sec {
			if rr.Header().Rrtype == dns.TypeNS && strings.EqualFold(rr.Header().Name, name) {
				return true
			}
		}
	}
	return false
}

// cachedAnswer returns a copy of the live cached answer for key, with its
// records' TTLs lowered by the time spent in the cache, or nil.
func (r *Iterative) cachedAnswer(key cacheKey) *answer {
	now := r.now()
	e := r.cache.get(key, now)
	if e == nil || e.answer == nil {
		return nil
	}
	a := *e.answer
	a.cached = true
	elapsed := uint32(min(now.Sub(e.stored)/time.Second, math.MaxUint32))
	a.ttl = uint32(min(e.expires.Sub(now)/time.Second, math.MaxUint32))
	a.msg = e.answer.msg.Copy()
	for _, sec := range [][]dns.RR{a.msg.Answer, a.msg.Ns, a.msg.Extra} {
		for _, rr := range sec {
			h := rr.Header()
			if h.Rrtype == dns.TypeOPT {
				continue
			}
			h.Ttl = min(h.Ttl-min(h.Ttl, elapsed), a.ttl)
		}
	}
	return &a
}

// answerTTL returns how long msg may be cached, in seconds: the smallest
// TTL of its answer section, or for a negative answer the negative TTL of
// RFC 2308 §5 ("the minimum of the SOA record's TTL and the SOA MINIMUM
// field"); zero (not cached) for a negative answer without SOA.
func answerTTL(msg *dns.Msg) uint32 {
	ttl := uint32(math.MaxUint32)
	positive := false
	if msg.Rcode == dns.RcodeSuccess {
		for _, rr := range msg.Answer {
			ttl, positive = min(ttl, rr.Header().Ttl), true
		}
	}
	if !positive {
		ttl = 0
		for _, rr := range msg.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				ttl = min(soa.Hdr.Ttl, soa.Minttl)
				break
			}
		}
	}
	return min(ttl, uint32(maxCacheTTL/time.Second))
}

// closestDelegation returns the cached delegation closest to qname, or the
// root hints. RFC 4035 §4.2: DS records live at the parent side of a cut, so
// for DS the search starts at qname's parent.
func (r *Iterative) closestDelegation(qname string, qtype uint16) *delegation {
	n := qname
	if qtype == dns.TypeDS && n != "." {
		n = upName(n)
	}
	now := r.now()
	for n != "." {
		if e := r.cache.get(cacheKey{name: n, deleg: true}, now); e != nil {
			return e.deleg
		}
		n = upName(n)
	}
	return r.rootDelegation()
}

func (r *Iterative) rootDelegation() *delegation {
	return &delegation{zone: ".", names: []string{""}, addrs: map[string][]netip.Addr{"": r.roots}}
}

// upName returns the name one label up ("." for a TLD and for ".").
func upName(n string) string {
	if n == "." {
		return "."
	}
	i, end := dns.NextLabel(n, 0)
	if end || i >= len(n) {
		return "."
	}
	return n[i:]
}

// maxFailuresListed bounds the servers a lame delegation's detail names: a
// zone has rarely more, and the detail stays one readable line.
const maxFailuresListed = 6

// listFailures joins what each server said, the first maxFailuresListed of
// them, and how many more there were.
func listFailures(f []string) string {
	if len(f) <= maxFailuresListed {
		return strings.Join(f, "; ")
	}
	return strings.Join(f[:maxFailuresListed], "; ") + fmt.Sprintf("; and %d more", len(f)-maxFailuresListed)
}

// failureWord says in a few words what a server that gave no answer did.
func failureWord(k Kind) string {
	switch k {
	case KindTimeout:
		return "no answer (timeout)"
	case KindNetwork:
		return "unreachable"
	case KindMalformed:
		return "malformed answer"
	}
	return k.String()
}

// zoneResult is what the servers of one zone said about one question.
type zoneResult struct {
	msg         *dns.Msg
	server      string
	referral    *delegation
	referralTTL uint32
}

// askZone asks the servers of d for qname and qtype until one gives an
// answer or a referral closer to qname: first the servers with known
// addresses in random order, then the NS names without glue, each resolved
// when reached. A server that times out, is unreachable, answers malformed,
// SERVFAIL, REFUSED, without authority or refers back is skipped.
func (r *Iterative) askZone(ctx context.Context, st *lookupState, d *delegation, qname string, qtype uint16, depth int) (*zoneResult, *Error) {
	var (
		lastErr  *Error
		rcodeRes *zoneResult
		loopFrom string
		lameFrom string
		// failures lists what each server tried said instead of an
		// answer, for a lame delegation's detail.
		failures    []string
		allTimeouts = true
		// allUpstream: every failure so far was dcv's own (a glueless
		// NS's sub-resolution that found no root server answering).
		allUpstream = true
		tried       = 0
	)
	try := func(addr netip.Addr) (*zoneResult, *Error) {
		tried++
		srv := netip.AddrPortFrom(addr, r.port)
		msg, idx, err := r.query(ctx, st, d.zone, srv, qname, qtype)
		if err != nil {
			if st.stop(ctx) {
				// Not every server of d was tried: no Zone.
				return nil, err
			}
			lastErr = err
			allTimeouts = allTimeouts && err.Kind == KindTimeout
			allUpstream = false
			failures = append(failures, srv.String()+": "+failureWord(err.Kind))
			return nil, nil
		}
		allTimeouts = false
		res := &zoneResult{msg: msg, server: srv.String()}
		kind, child, why := classifyAnswer(d.zone, qname, qtype, msg)
		switch kind {
		case answerFinal:
			return res, nil
		case answerReferral:
			res.referral, res.referralTTL = r.referralFrom(msg, d.zone, child)
			st.note(idx, func(s *TraceStep) { s.Referral = child })
			return res, nil
		case answerLoop:
			loopFrom = srv.String()
		case answerRcode:
			rcodeRes = res
		case answerLame:
			lameFrom = srv.String()
		}
		failures = append(failures, srv.String()+": "+why)
		st.note(idx, func(s *TraceStep) { s.Error = why })
		return nil, nil
	}

	var glueless []string
	var servers []netip.Addr
	// refused lists the servers not queried for their special-purpose
	// address ("ns1.example.com 10.0.0.1").
	var refused []string
	for _, n := range d.names {
		if len(d.addrs[n]) == 0 {
			glueless = append(glueless, n)
		}
		for _, a := range d.addrs[n] {
			switch {
			case !r.usable(a):
			case d.zone != "." && r.refused(a):
				refused = append(refused, strings.TrimSuffix(n, ".")+" "+a.String())
			default:
				servers = append(servers, a)
			}
		}
	}
	rand.Shuffle(len(servers), func(i, j int) { servers[i], servers[j] = servers[j], servers[i] })
	rand.Shuffle(len(glueless), func(i, j int) { glueless[i], glueless[j] = glueless[j], glueless[i] })
	for _, a := range servers {
		if res, err := try(a); res != nil || err != nil {
			return res, err
		}
	}
	for _, n := range glueless {
		addrs, err := r.resolveNS(ctx, st, n, depth, false)
		if err != nil {
			if st.stop(ctx) {
				return nil, err
			}
			lastErr, allTimeouts = err, allTimeouts && err.Kind == KindTimeout
			allUpstream = allUpstream && err.Upstream
			continue
		}
		for _, a := range addrs {
			if r.refused(a) {
				refused = append(refused, strings.TrimSuffix(n, ".")+" "+a.String())
				continue
			}
			if res, err := try(a); res != nil || err != nil {
				return res, err
			}
		}
	}
	for _, s := range refused {
		failures = append(failures, s+": "+refusedWord)
	}

	switch {
	case rcodeRes != nil:
		return rcodeRes, nil
	case loopFrom != "":
		return nil, &Error{Kind: KindLoop, Server: loopFrom, Detail: "referral loop: the servers of " + d.zone + " refer back to " + d.zone + " or above"}
	case lameFrom != "":
		return nil, &Error{Kind: KindMalformed, Server: lameFrom, Detail: "lame delegation: no server of " + d.zone + " answers with authority (" + listFailures(failures) + ")"}
	case lastErr != nil:
		if !allTimeouts && lastErr.Kind == KindTimeout {
			lastErr.Kind = KindNetwork
		}
		lastErr.Detail = "no server of " + d.zone + " answered: " + lastErr.Detail
		lastErr.Zone = d.zone
		switch {
		case d.zone == "." && !deadlinePassed(ctx):
			// Not one root server answered, within the time there was:
			// dcv's own network (or its root hints) fails, whatever name
			// was asked. A timeout at the lookup's deadline is the time
			// spent, maybe by the domain's own servers before; Lookup then
			// asks the roots again (blameOwnNetwork).
			lastErr.Upstream = true
		case !allUpstream:
			// A server of this zone failed itself: the domain's servers,
			// whatever a glueless NS's sub-resolution met.
			lastErr.Upstream = false
		}
		return nil, lastErr
	case tried == 0 && len(refused) > 0:
		list := strings.Join(refused, ", ")
		return nil, &Error{Kind: KindNetwork, Zone: d.zone, ReservedServers: list, Detail: "the name servers of " + d.zone + " are only at special-purpose addresses (" + list + "), which a certificate authority does not query: " + refusedWhy}
	case tried == 0:
		return nil, &Error{Kind: KindNetwork, Detail: "no usable address for the name servers of " + d.zone}
	}
	return nil, &Error{Kind: KindUnknown, Detail: "no server of " + d.zone + " answered"}
}

// deadlinePassed reports whether ctx has ended or its deadline has passed:
// a read timed out at the deadline may come a moment before ctx says so.
func deadlinePassed(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// resolveNS returns the addresses of the NS name n, found by a
// sub-resolution counted in st's budget (RFC 2181 §10.3: an NS name has
// address records, not a CNAME). With all, both A and AAAA are asked; else
// AAAA only when there is no usable A.
func (r *Iterative) resolveNS(ctx context.Context, st *lookupState, n string, depth int, all bool) ([]netip.Addr, *Error) {
	if depth >= maxSubDepth {
		return nil, &Error{Kind: KindLoop, Name: n, Detail: "glueless delegations nested too deep at " + n}
	}
	if !st.begin(n) {
		return nil, &Error{Kind: KindLoop, Name: n, Detail: "name server " + n + " needs itself to be resolved (glueless loop)"}
	}
	defer st.end(n)
	var (
		out     []netip.Addr
		lastErr *Error
	)
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		if !all && slices.ContainsFunc(out, func(a netip.Addr) bool { return !r.refused(a) }) {
			// An address to query: the AAAA lookup is spared. One at a
			// refused address (a private A beside a public AAAA) is not
			// one (review).
			break
		}
		if (t == dns.TypeA && r.source.Is6()) || (t == dns.TypeAAAA && r.source.Is4()) {
			continue
		}
		a, err := r.resolve(ctx, st, n, t, depth+1, true)
		if err != nil {
			lastErr = err
			if st.stop(ctx) {
				return nil, err
			}
			continue
		}
		out = append(out, addrsOf(a.msg.Answer, n)...)
	}
	if len(out) == 0 {
		if lastErr != nil {
			lastErr.Detail = "resolving name server " + n + ": " + lastErr.Detail
			return nil, lastErr
		}
		return nil, &Error{Kind: KindNetwork, Name: n, Detail: "name server " + n + " has no usable address"}
	}
	return out[:min(len(out), 2*maxAddrsPerNS)], nil
}

// addrsOf returns the addresses of the A and AAAA records owned by name.
func addrsOf(rrs []dns.RR, name string) []netip.Addr {
	var out []netip.Addr
	for _, rr := range rrs {
		if !strings.EqualFold(rr.Header().Name, name) {
			continue
		}
		var ip net.IP
		switch v := rr.(type) {
		case *dns.A:
			ip = v.A.To4()
		case *dns.AAAA:
			ip = v.AAAA
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a.Unmap())
		}
	}
	return out
}

type answerKind int

const (
	answerFinal    answerKind = iota // an answer, NXDOMAIN or NODATA with authority
	answerReferral                   // a delegation closer to the name
	answerLoop                       // a referral to the same zone or above
	answerRcode                      // SERVFAIL, REFUSED or another error rcode
	answerLame                       // no authority and no referral
)

// classifyAnswer says what msg, from a server of zone, is for qname and
// qtype; for a referral it returns the child zone.
func classifyAnswer(zone, qname string, qtype uint16, msg *dns.Msg) (answerKind, string, string) {
	const notAuth = "not authoritative (AA=0)"
	switch msg.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		if !msg.Authoritative {
			return answerLame, "", notAuth
		}
		return answerFinal, "", ""
	default:
		return answerRcode, "", strings.ToLower(rcodeString(msg.Rcode))
	}
	for _, rr := range msg.Answer {
		h := rr.Header()
		if strings.EqualFold(h.Name, qname) && (h.Rrtype == qtype || h.Rrtype == dns.TypeCNAME) {
			if !msg.Authoritative {
				return answerLame, "", notAuth
			}
			return answerFinal, "", ""
		}
	}
	if msg.Authoritative {
		return answerFinal, "", "" // NODATA
	}
	// RFC 1034 §4.3.2 / RFC 4035 §3.1.4: a referral has no answer, AA=0
	// and the child's NS set in the authority section.
	var child string
	for _, rr := range msg.Ns {
		if rr.Header().Rrtype == dns.TypeNS {
			child = strings.ToLower(rr.Header().Name)
			break
		}
	}
	switch {
	case child == "":
		return answerLame, "", notAuth
	case child == zone || dns.IsSubDomain(child, zone):
		return answerLoop, "", "referral back to " + child
	case !dns.IsSubDomain(zone, child) || !dns.IsSubDomain(child, qname):
		return answerLame, "", "referral to unrelated zone " + child
	}
	return answerReferral, child, ""
}

// referralFrom builds the delegation to child from a referral given by a
// server of zone. Glue is taken only for the NS names of child and only
// when in zone's bailiwick: a server has no authority over addresses
// outside its zone, and trusting them would let it poison the cache.
func (r *Iterative) referralFrom(msg *dns.Msg, zone, child string) (*delegation, uint32) {
	d := &delegation{zone: child, addrs: map[string][]netip.Addr{}}
	names, ttl := nsNames(child, msg.Ns)
	for _, n := range names {
		d.names = append(d.names, n)
		d.addrs[n] = nil
	}
	for _, n := range d.names {
		if !dns.IsSubDomain(zone, n) {
			continue
		}
		for _, a := range addrsOf(msg.Extra, n) {
			if r.usable(a) && len(d.addrs[n]) < maxAddrsPerNS {
				d.addrs[n] = append(d.addrs[n], a)
			}
		}
	}
	return d, ttl
}

// query sends one question to server, counted in st's budget and recorded
// in its trace, and returns the answer and its trace index.
func (r *Iterative) query(ctx context.Context, st *lookupState, zone string, server netip.AddrPort, qname string, qtype uint16) (*dns.Msg, int, *Error) {
	if err := st.take(); err != nil {
		return nil, -1, err
	}
	start := time.Now()
	st.mu.Lock()
	st.fams[familyOf(server.Addr())] = true
	st.mu.Unlock()
	msg, tcp, err := r.exchange(ctx, server, qname, qtype, st.take)
	step := TraceStep{Server: server.String(), Zone: zone, Name: qname, Type: typeString(qtype), TCP: tcp, Duration: time.Since(start)}
	if err != nil {
		step.Error = err.Kind.String() + ": " + err.Detail
	} else {
		step.Rcode = rcodeString(msg.Rcode)
	}
	idx := st.record(step)
	return msg, idx, err
}

// exchange asks server for qname and qtype over UDP and, when the answer is
// truncated, over TCP (RFC 7766 §5), after calling beforeTCP if not nil.
func (r *Iterative) exchange(ctx context.Context, server netip.AddrPort, qname string, qtype uint16, beforeTCP func() *Error) (*dns.Msg, bool, *Error) {
	q := new(dns.Msg)
	q.Id = dns.Id()
	q.RecursionDesired = false
	q.Question = []dns.Question{{Name: randomCase(qname), Qtype: qtype, Qclass: dns.ClassINET}}
	// RFC 3225 §3: the DO bit asks for DNSSEC records in the answer.
	q.SetEdns0(ednsUDPSize, true)
	msg, err := r.exchangeNet(ctx, "udp", server, q)
	if err != nil || !msg.Truncated {
		return msg, false, err
	}
	if beforeTCP != nil {
		if err := beforeTCP(); err != nil {
			return nil, true, err
		}
	}
	q.Id = dns.Id()
	msg, err = r.exchangeNet(ctx, "tcp", server, q)
	if err == nil && msg.Truncated {
		return nil, true, &Error{Kind: KindMalformed, Server: server.String(), Detail: "truncated answer over tcp"}
	}
	return msg, true, err
}

func (r *Iterative) exchangeNet(ctx context.Context, network string, server netip.AddrPort, q *dns.Msg) (*dns.Msg, *Error) {
	srv := server.String()
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	dialer := &net.Dialer{}
	if r.source.IsValid() {
		if network == "tcp" {
			dialer.LocalAddr = &net.TCPAddr{IP: r.source.AsSlice()}
		} else {
			dialer.LocalAddr = &net.UDPAddr{IP: r.source.AsSlice()}
		}
	}
	c := &dns.Client{Net: network, Timeout: r.timeout, UDPSize: ednsUDPSize, Dialer: dialer}
	conn, err := c.DialContext(ctx, srv)
	if err != nil {
		return nil, classify(ctx, network, srv, err)
	}
	defer conn.Close()
	// miekg/dns reads until its own deadline even when ctx ends early.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	msg, _, err := c.ExchangeWithConnContext(ctx, q, conn)
	if err != nil {
		return nil, classify(ctx, network, srv, err)
	}
	if d := screen(q, msg); d != "" {
		return nil, &Error{Kind: KindMalformed, Server: srv, Detail: network + ": " + d}
	}
	// draft-vixie-dnsext-dns0x20: the question must come back in the exact
	// case it was sent; a server that changes it is either broken or the
	// answer is forged by someone who did not see the query.
	if got, sent := msg.Question[0].Name, q.Question[0].Name; got != sent {
		return nil, &Error{Kind: KindMalformed, Server: srv, Detail: fmt.Sprintf("%s: answer question %q does not keep the case of %q (0x20)", network, got, sent)}
	}
	return msg, nil
}

// randomCase returns name with each ASCII letter in random case.
func randomCase(name string) string {
	b := []byte(name)
	bits := rand.Uint64()
	for i, c := range b {
		if i%64 == 0 && i > 0 {
			bits = rand.Uint64()
		}
		if bits&(1<<(i%64)) != 0 {
			switch {
			case 'a' <= c && c <= 'z':
				b[i] = c - 'a' + 'A'
			case 'A' <= c && c <= 'Z':
				b[i] = c - 'A' + 'a'
			}
		}
	}
	return string(b)
}

// trimFinalDot is name without its final dot.
func trimFinalDot(name string) string { return strings.TrimSuffix(name, ".") }

// dnameOf returns the DNAME of msg's answer that the CNAME from name to
// next was synthesized from (RFC 6672 §2.2: next is name with the DNAME's
// owner replaced by its target), if any.
func dnameOf(msg *dns.Msg, name, next string) (DNAME, bool) {
	for _, rr := range msg.Answer {
		d, ok := rr.(*dns.DNAME)
		if !ok {
			continue
		}
		owner, target := strings.ToLower(dns.Fqdn(d.Hdr.Name)), strings.ToLower(dns.Fqdn(d.Target))
		if owner == name || !dns.IsSubDomain(owner, name) {
			continue
		}
		if strings.TrimSuffix(name, owner)+target == next || (target == "." && strings.TrimSuffix(name, "."+owner)+"." == next) {
			return DNAME{Owner: owner, Target: target}, true
		}
	}
	return DNAME{}, false
}

// fillChain follows the CNAME chain of msg's answer section from target, and
// sets resp's CNAMEs (with the DNAMEs they come from), Answer, Other and
// NegativeTTL. It returns the chain's
// end. seen holds the names of the chain so far, across messages.
//
// When zone is not "", msg comes from zone's authoritative servers, which
// speak for names in zone only (bailiwick): the chain stops at the first
// name outside it, and nothing is taken about that name, neither records
// nor a negative answer; the caller resolves it anew from its own servers
// (RFC 6604 §3: the rcode of a chain that leaves the zone says nothing of
// the target). "" (a recursive resolver's answer) follows the whole chain.
func fillChain(resp *Response, msg *dns.Msg, target string, qtype uint16, seen map[string]bool, maxCNAME int, zone string) (string, *Error) {
	if len(msg.Answer) > maxAnswerRecords {
		return "", &Error{Kind: KindTooLarge, Detail: fmt.Sprintf("%d answer records, at most %d accepted", len(msg.Answer), maxAnswerRecords)}
	}
	end := target
	outside := func(name string) bool { return zone != "" && !dns.IsSubDomain(zone, name) }
	if qtype != dns.TypeCNAME {
		for !outside(end) {
			var next string
			for _, rr := range msg.Answer {
				if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, end) {
					next = strings.ToLower(dns.Fqdn(c.Target))
					break
				}
			}
			if next == "" {
				break
			}
			if seen[next] {
				// The whole chain, for the applicant to find the link to
				// change (black-box run: the point alone).
				var links []string
				for _, l := range append([]string{resp.Name}, resp.CNAMEs...) {
					if l != "" {
						links = append(links, trimFinalDot(l))
					}
				}
				return "", &Error{Kind: KindLoop, Detail: "cname chain loops at " + next + " (" + strings.Join(append(links, trimFinalDot(next)), " -> ") + ")"}
			}
			if len(resp.CNAMEs) >= maxCNAME {
				return "", &Error{Kind: KindLoop, Detail: fmt.Sprintf("cname chain longer than %d", maxCNAME)}
			}
			seen[next] = true
			resp.CNAMEs = append(resp.CNAMEs, next)
			if d, ok := dnameOf(msg, end, next); ok && !slices.Contains(resp.DNAMEs, d) {
				resp.DNAMEs = append(resp.DNAMEs, d)
			}
			end = next
		}
	}
	if outside(end) {
		return end, nil
	}
	if err := collectAnswer(resp, msg, end, qtype); err != nil {
		return "", err
	}
	return end, nil
}

// QueryZone asks the authoritative servers of zone for name and qtype (RD=0,
// DO=1) and returns the first answer that is not a failure, for DNSSEC
// validation (the DNSKEY set is asked of the zone, DS of the parent). It
// finds zone's servers from the cache or by resolution, with a budget of
// MaxQueries, and caches answers apart from those of Lookup. It returns a
// *Error as Lookup does, and one of KindUnknown when zone is not a zone cut.
func (r *Iterative) QueryZone(ctx context.Context, zone, name string, qtype uint16) (*dns.Msg, error) {
	return (&lookupQuerier{r: r, st: &lookupState{max: r.maxQueries}}).QueryZone(ctx, zone, name, qtype)
}

// lookupQuerier is the Querier given to the validator during a lookup: its
// queries count in the lookup's budget and trace.
type lookupQuerier struct {
	r  *Iterative
	st *lookupState
	// fresh asks every query of the servers, never of the cache.
	fresh bool
	// fromCache is set once a query was answered from the cache.
	fromCache atomic.Bool
}

func (q *lookupQuerier) QueryZone(ctx context.Context, zone, name string, qtype uint16) (*dns.Msg, error) {
	r := q.r
	zone, name = strings.ToLower(dns.Fqdn(zone)), strings.ToLower(dns.Fqdn(name))
	fail := func(e *Error) (*dns.Msg, error) {
		e.Name, e.Type = name, typeString(qtype)
		return nil, e
	}
	key := cacheKey{name: name, qtype: qtype, zone: zone}
	if !q.fresh {
		if a := r.cachedAnswer(key); a != nil {
			q.fromCache.Store(true)
			return a.msg, nil
		}
	}
	d, err := r.zoneDelegation(ctx, q.st, zone)
	if err != nil {
		return fail(err)
	}
	res, err := r.askZone(ctx, q.st, d, name, qtype, 0)
	if err != nil {
		return fail(err)
	}
	if res.referral == nil && cacheableRcode(res.msg.Rcode) {
		ttl := answerTTL(res.msg)
		r.cache.put(&cacheEntry{key: key, answer: &answer{msg: res.msg, server: res.server, zone: zone, ttl: ttl}},
			r.now(), time.Duration(ttl)*time.Second)
	}
	return res.msg.Copy(), nil
}

// zoneDelegation returns the servers of zone: the root hints, a cached
// delegation, or the zone cut found by resolving zone's NS set.
func (r *Iterative) zoneDelegation(ctx context.Context, st *lookupState, zone string) (*delegation, *Error) {
	if zone == "." {
		return r.rootDelegation(), nil
	}
	if e := r.cache.get(cacheKey{name: zone, deleg: true}, r.now()); e != nil {
		return e.deleg, nil
	}
	a, err := r.resolve(ctx, st, zone, dns.TypeNS, 0, false)
	if err != nil {
		return nil, err
	}
	if a.deleg.zone != zone {
		return nil, &Error{Kind: KindUnknown, Detail: zone + " is not a zone cut (it is inside " + a.deleg.zone + ")"}
	}
	return a.deleg, nil
}

// ZoneView is what every authoritative server of a zone says about one
// name, for comparing them (propagation, lame delegations, SOA serials).
type ZoneView struct {
	// Zone is the closest enclosing zone cut of the name.
	Zone string `json:"zone"`
	// NS are the zone's NS names as delegated by the parent (empty for
	// the root zone reached through root hints).
	NS []string `json:"ns"`
	// Servers has one entry per NS name and address, in NS order.
	Servers []ServerView `json:"servers"`
}

// ServerView is the answers of one authoritative server address.
type ServerView struct {
	// NS is the NS name; Address the ip:port asked ("" when the name has
	// no address).
	NS      string `json:"ns"`
	Address string `json:"address,omitempty"`
	// Answer is the server's answer for the name, whatever its rcode and
	// AA bit; AnswerErr is set instead when there was none.
	Answer    *Response `json:"answer,omitempty"`
	AnswerErr *Error    `json:"answer_error,omitempty"`
	// SOASerial is the serial of the zone's SOA from this server;
	// SOAErr is set instead when the server gave no SOA.
	SOASerial uint32 `json:"soa_serial,omitempty"`
	SOAErr    *Error `json:"soa_error,omitempty"`
	// SOARefresh is the REFRESH of that SOA, in seconds (RFC 1035 §3.3.13):
	// how often a secondary asks its primary for a new version of the zone
	// when no NOTIFY comes.
	SOARefresh uint32 `json:"soa_refresh,omitempty"`
	// ZoneNS is the NS RRset this server serves at the zone's apex
	// (lowercase, fully qualified), when it answered one: the zone's own
	// list of its servers, which may differ from the parent's delegation
	// (ZoneView.NS).
	ZoneNS []string `json:"zone_ns,omitempty"`
	// Lame is set when the server is delegated but does not serve the zone;
	// LameReason is "refused", "timeout", "servfail", "not authoritative
	// (AA=0)", "unreachable", "malformed answer", "no address",
	// LameNoTCP or LameReservedAddress.
	Lame       bool   `json:"lame,omitempty"`
	LameReason string `json:"lame_reason,omitempty"`
}

// UnlistedServers returns the NS names (lowercase, without the final dot)
// of the servers of one zone that no other server of it lists in its
// ZoneNS, while they themselves list one of those: still delegated to by
// the parent, but gone from the zone's own NS records (a leftover of the
// same zone, which no transfer updates any more). A server's own ZoneNS,
// an old copy perhaps, does not vouch for it; a server that lists none of
// the others serves another zone's copy (a move between DNS hosts under
// way), of which neither side is the leftover. None when no other server
// told its NS set, or when no server at all is listed.
func UnlistedServers(servers []ServerView) []string {
	var out []string
	listedAny := false
	for i, s := range servers {
		name := strings.ToLower(dns.Fqdn(s.NS))
		if s.NS == "" {
			continue
		}
		known, listed, lineage := false, false, false
		for j, o := range servers {
			if j == i || len(o.ZoneNS) == 0 || strings.EqualFold(dns.Fqdn(o.NS), name) {
				continue // no NS set told, or another address of the same server
			}
			known = true
			if slices.Contains(o.ZoneNS, name) {
				listed = true
				break
			}
			// s knows o: s serves an (older) copy of o's zone.
			lineage = lineage || slices.Contains(s.ZoneNS, strings.ToLower(dns.Fqdn(o.NS)))
		}
		switch n := strings.TrimSuffix(name, "."); {
		case listed:
			listedAny = true
		case known && lineage && !slices.Contains(out, n):
			out = append(out, n)
		}
	}
	if !listedAny {
		return nil
	}
	return out
}

// Authoritative finds the zone of name (its closest enclosing zone cut, by
// iterative resolution without the answer cache), its NS set, and the
// addresses of every NS name (glue, or resolved for glueless names), then
// asks every address directly and in parallel (RD=0) for name and qtype and
// for the zone's SOA. It asks at most 32 addresses. It returns a *Error as
// Lookup does when the zone cannot be found; failures of single servers are
// in their ServerView.
func (r *Iterative) Authoritative(ctx context.Context, name string, qtype uint16) (*ZoneView, error) {
	name = strings.ToLower(dns.Fqdn(name))
	typ := typeString(qtype)
	if _, ok := dns.IsDomainName(name); !ok {
		return nil, &Error{Kind: KindUnknown, Name: name, Type: typ, Detail: "invalid domain name"}
	}
	st := &lookupState{max: r.maxQueries}
	a, err := r.resolve(ctx, st, name, qtype, 0, false)
	if err != nil {
		err.Name, err.Type, err.Trace = name, typ, st.steps()
		return nil, err
	}
	d := a.deleg
	view := &ZoneView{Zone: d.zone}
	type target struct {
		ns   string
		addr netip.Addr
	}
	var targets []target
	var missing []ServerView
	for _, n := range d.names {
		if n != "" {
			view.NS = append(view.NS, n)
		}
		addrs := d.addrs[n]
		if len(addrs) == 0 {
			var err *Error
			addrs, err = r.resolveNS(ctx, st, n, 0, true)
			if err != nil {
				err.Name, err.Type = n, "A"
				missing = append(missing, ServerView{NS: n, AnswerErr: err, Lame: true, LameReason: "no address"})
				continue
			}
		}
		for _, addr := range addrs {
			switch {
			case !r.usable(addr) || len(targets) >= maxAuthServers:
			case r.refused(addr):
				missing = append(missing, ServerView{NS: n, Address: netip.AddrPortFrom(addr, r.port).String(), Lame: true, LameReason: LameReservedAddress})
			default:
				targets = append(targets, target{n, addr})
			}
		}
	}
	view.Servers = make([]ServerView, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { view.Servers[i] = r.askServer(ctx, d.zone, t.ns, t.addr, name, qtype) })
	}
	wg.Wait()
	view.Servers = append(view.Servers, missing...)
	return view, nil
}

// askServer asks one server for name/qtype, for zone's SOA and for zone's
// NS set, in parallel.
func (r *Iterative) askServer(ctx context.Context, zone, ns string, addr netip.Addr, name string, qtype uint16) ServerView {
	srv := netip.AddrPortFrom(addr, r.port)
	sv := ServerView{NS: ns, Address: srv.String()}
	var (
		wg             sync.WaitGroup
		ansMsg, soaMsg *dns.Msg
		ansErr, soaErr *Error
		ansTime        time.Duration
		ansStart       = time.Now()
	)
	wg.Go(func() {
		ansMsg, _, ansErr = r.exchange(ctx, srv, name, qtype, nil)
		ansTime = time.Since(ansStart)
	})
	wg.Go(func() { soaMsg, _, soaErr = r.exchange(ctx, srv, zone, dns.TypeSOA, nil) })
	wg.Go(func() {
		// Only what the server says of its zone matters: a failure here
		// is no lameness (the SOA and the answer tell that).
		if m, _, err := r.exchange(ctx, srv, zone, dns.TypeNS, nil); err == nil && m.Authoritative && m.Rcode == dns.RcodeSuccess {
			for _, rr := range m.Answer {
				if n, ok := rr.(*dns.NS); ok && strings.EqualFold(n.Hdr.Name, zone) && len(sv.ZoneNS) < maxAuthServers {
					sv.ZoneNS = append(sv.ZoneNS, strings.ToLower(dns.Fqdn(n.Ns)))
				}
			}
		}
	})
	wg.Wait()

	if ansErr != nil {
		ansErr.Name, ansErr.Type = name, typeString(qtype)
		sv.AnswerErr = ansErr
	} else {
		resp := &Response{Name: name, Type: typeString(qtype), Server: srv.String(), Rcode: rcodeString(ansMsg.Rcode), Duration: ansTime}
		// A view of one server: everything it said, out of its zone too.
		if _, ferr := fillChain(resp, ansMsg, name, qtype, map[string]bool{name: true}, r.maxCNAME, ""); ferr != nil {
			ferr.Name, ferr.Type, ferr.Server = name, typeString(qtype), srv.String()
			sv.AnswerErr = ferr
		} else {
			resp.TTL = answerTTL(ansMsg)
			sv.Answer = resp
		}
	}
	if soaErr != nil {
		soaErr.Name, soaErr.Type = zone, "SOA"
		sv.SOAErr = soaErr
	} else {
		for _, rr := range soaMsg.Answer {
			if soa, ok := rr.(*dns.SOA); ok && strings.EqualFold(soa.Hdr.Name, zone) {
				sv.SOASerial, sv.SOARefresh = soa.Serial, soa.Refresh
				break
			}
		}
		if sv.SOASerial == 0 {
			sv.SOAErr = &Error{Kind: KindMalformed, Name: zone, Type: "SOA", Server: srv.String(),
				Detail: "no SOA in the answer (rcode " + rcodeString(soaMsg.Rcode) + ")"}
		}
	}
	// The first failure, of the answer then of the SOA query, says why the
	// server is lame.
	for _, q := range []struct {
		msg *dns.Msg
		err *Error
	}{{ansMsg, ansErr}, {soaMsg, soaErr}} {
		if why := lameReason(q.msg, q.err); why != "" {
			sv.Lame, sv.LameReason = true, why
			break
		}
	}
	return sv
}

// LameReservedAddress is the ServerView.LameReason of a server at a
// special-purpose address, which is not queried (see
// IterativeConfig.AllowReservedServers).
const LameReservedAddress = "special-purpose address, not queried"

// LameNoTCP is the ServerView.LameReason of a server that answered over
// UDP with a truncated answer and then failed the TCP retry (see
// Error.TCPFallback): it was reached, but does not answer over TCP.
const LameNoTCP = "no answer over tcp"

// lameReason says why an answer (or its absence) shows a lame server, or "".
func lameReason(msg *dns.Msg, err *Error) string {
	if err != nil {
		if err.TCPFallback != "" && (err.Kind == KindNetwork || err.Kind == KindTimeout) {
			return LameNoTCP
		}
		switch err.Kind {
		case KindTimeout:
			return "timeout"
		case KindNetwork:
			return "unreachable"
		case KindMalformed:
			return "malformed answer"
		}
		return ""
	}
	switch {
	case msg.Rcode == dns.RcodeRefused:
		return "refused"
	case msg.Rcode == dns.RcodeServerFailure:
		return "servfail"
	case msg.Rcode != dns.RcodeSuccess && msg.Rcode != dns.RcodeNameError:
		return strings.ToLower(rcodeString(msg.Rcode))
	case !msg.Authoritative:
		return "not authoritative (AA=0)"
	}
	return ""
}
