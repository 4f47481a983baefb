package diagnose

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/validation"
)

// Rcodes as dnsclient renders them.
const (
	rcodeNoError  = "NOERROR"
	rcodeNXDomain = "NXDOMAIN"
	rcodeServfail = "SERVFAIL"
	rcodeRefused  = "REFUSED"
)

// dns diagnoses the DNS (TXT at _dnsauth.<domain>) method. It returns no
// blocking finding when the expected value is one of the TXT values at the
// host (and the answer is not DNSSEC-bogus). With the authoritative servers'
// view (iterative mode) it also compares them: lame servers, servers
// without the value and differing SOA serials are reported, as warnings
// when the value was seen.
func (d *diagnoser) dns(o *validation.Observation) []Finding {
	fs := d.dnsRecord(o)
	// An answer dcv served from its own cache (forward mode, opt-in) may
	// be older than the record: say so, and by when a change is seen. The
	// resolver dcv forwards to cached the answer when dcv did, for its
	// TTL: it may answer the same until that runs out, after dcv's cache.
	if r := o.DNS.Record.Response; r != nil && r.Cached && r.CacheUntil.After(d.now) && len(fs) > 0 {
		switch fs[0].Code {
		case CodeDNSRecordMismatch, CodeDNSRecordNotFound, CodeDNSWrongType:
			eta := r.CacheUntil
			if ttlEnd := d.now.Add(time.Duration(answerTTL(r)) * time.Second); ttlEnd.After(eta) {
				eta = ttlEnd
			}
			fs[0].Message = join(fs[0].Message, d.c.f(noteFromCache, d.formatDuration(r.CacheUntil.Sub(d.now)), eta.UTC().Format(time.RFC3339)))
			fs[0].ETA = &eta
			fs[0].Retryable = true
		}
	}
	return fs
}

// answerTTL is what is left of r's time to live, in seconds: the least TTL
// of its records, or its negative TTL when it has none (RFC 2308).
func answerTTL(r *dnsclient.Response) uint32 {
	if len(r.Answer) == 0 {
		return r.NegativeTTL
	}
	ttl := r.Answer[0].TTL
	for _, a := range r.Answer[1:] {
		ttl = min(ttl, a.TTL)
	}
	return ttl
}

// dnsRecord diagnoses the record of the dns and dns-01 methods.
func (d *diagnoser) dnsRecord(o *validation.Observation) []Finding {
	n := o.DNS
	host := trimDot(n.Host)
	if host == "" {
		host = validation.DNSPrefix + "." + baseDomain(o.Domain)
	}
	d.zone = hostZone(n, host)
	z := analyseZone(n.Authoritative, o.Expected)
	t := targetZone(n, o.Expected)
	var out []Finding
	if lookupHas(&n.Record, o.Expected) {
		if f, ok := d.partial(z, host, true); ok {
			out = append(out, f)
		} else if f, ok := d.partialTarget(t, host, true); ok {
			out = append(out, f)
		}
	} else {
		out = d.withSubzoneNote(d.dnsMiss(o, z, t, host), n, host)
	}
	for _, z := range []*zoneAnalysis{z, t.zone} {
		if f, ok := d.lameServers(z); ok && !slices.ContainsFunc(out, func(f Finding) bool { return f.Code == CodeDNSLameDelegation }) {
			out = append(out, f)
		}
		if f, ok := d.inconsistent(z); ok && !slices.ContainsFunc(out, func(f Finding) bool {
			return f.Code == CodeDNSRecordNotPropagated || f.Code == CodeDNSNameserverInconsistent
		}) {
			out = append(out, f)
		}
	}
	return out
}

// cnameTarget is the zone analysis of the name a record's CNAME chain
// ends at (DNSObservation.TargetAuthoritative), with that name.
type cnameTarget struct {
	zone *zoneAnalysis
	name string
}

// targetZone analyses the servers of the CNAME target's zone, when the
// observation has them; the zero cnameTarget otherwise.
func targetZone(n *validation.DNSObservation, value string) cnameTarget {
	if n.Target == "" || n.TargetAuthoritative == nil {
		return cnameTarget{}
	}
	return cnameTarget{zone: analyseZone(n.TargetAuthoritative, value), name: Truncate(trimDot(n.Target), maxNameShown)}
}

// partialTarget is partial for the servers of the zone of host's CNAME
// target, which hold the record that counts: the finding names the target,
// and says that host leads to it.
func (d *diagnoser) partialTarget(t cnameTarget, host string, seen bool) (Finding, bool) {
	f, ok := d.partial(t.zone, t.name, seen)
	if ok {
		f.Message = join(f.Message, d.c.f(noteTargetOfCNAME, t.name, host))
	}
	return f, ok
}

// authoritativeServfail returns the zone whose own nameserver answered
// resp's SERVFAIL, when dcv resolved iteratively (not through a recursive
// resolver, whose SERVFAIL may be its DNSSEC validation failing): an
// authoritative server's SERVFAIL is about that server, which fails to
// serve the zone (not loaded, or expired) or fails on the query's type (as
// some fail on CAA), never about DNSSEC, which authoritative servers do not
// validate (black-box run: the fix spoke of the DS record of a zone without
// one).
func authoritativeServfail(resp *dnsclient.Response) (string, bool) {
	if resp.Resolver || len(resp.Trace) == 0 {
		return "", false
	}
	for i := len(resp.Trace) - 1; i >= 0; i-- {
		if st := resp.Trace[i]; st.Server == resp.Server && st.Rcode == rcodeServfail && st.Zone != "" {
			return Truncate(trimDot(st.Zone), maxNameShown), true
		}
	}
	return "", false
}

// rcodeFinding diagnoses a TXT lookup at name answered with a failing
// rcode (SERVFAIL, REFUSED from the name's servers, or another).
func (d *diagnoser) rcodeFinding(resp *dnsclient.Response, name string) Finding {
	switch resp.Rcode {
	case rcodeServfail:
		f := Finding{
			Code:      CodeDNSServfail,
			Severity:  SeverityError,
			Message:   d.c.f(msgRecordServfail, name, d.server(resp.Server)),
			Fix:       d.c.f(fixRecordServfail, name),
			Retryable: true,
		}
		if zone, ok := authoritativeServfail(resp); ok {
			f.Message = d.c.f(msgRecordServfailAuth, name, d.server(resp.Server), zone)
			f.Fix = d.c.f(fixServfailAuth, d.server(resp.Server), zone, name, "TXT")
		}
		return f
	}
	return Finding{
		Code:     CodeDNSLookupFailed,
		Severity: SeverityError,
		Message:  d.c.f(msgRecordRcode, name, d.server(resp.Server), Truncate(resp.Rcode, maxDetailShown)),
		Fix:      d.c.f(fixRecordLookupFailed, name),
	}
}

// failedRcode diagnoses the TXT lookup of host answered with a failing
// rcode: the CNAME target's failure when the chain led there, dcv's own
// resolver refusing as the CA's side, the name's servers otherwise. ok is
// false for NOERROR and NXDOMAIN, which are answers.
func (d *diagnoser) failedRcode(resp *dnsclient.Response, host string) (Finding, bool) {
	if at := lastCNAME(resp); at != "" && (resp.Rcode == rcodeRefused && !resp.Resolver || resp.Rcode == rcodeServfail ||
		resp.Rcode != rcodeNoError && resp.Rcode != rcodeNXDomain && resp.Rcode != rcodeRefused) {
		// The answer that failed is the CNAME target's.
		return d.atTarget(d.rcodeFinding(resp, at), at, host), true
	}
	switch resp.Rcode {
	case rcodeNoError, rcodeNXDomain:
		return Finding{}, false
	case rcodeRefused:
		if resp.Resolver {
			// dcv's own resolver refused it: its policy towards dcv
			// (or it is no recursive resolver), whatever the name.
			return d.upstreamFinding(msgUpstreamRefused, host, resp.Server, true), true
		}
	}
	return d.rcodeFinding(resp, host), true
}

// atTarget adds to f, a failure of the lookup at name, that name is where
// host's CNAME leads, when it is not host itself.
func (d *diagnoser) atTarget(f Finding, name, host string) Finding {
	if name != host {
		f.Message = join(f.Message, d.c.f(noteTargetOfCNAME, Truncate(name, maxNameShown), host))
	}
	return f
}

// lastCNAME is the last target of resp's CNAME chain (lowercase, without
// the final dot), or "".
func lastCNAME(resp *dnsclient.Response) string {
	if resp == nil || len(resp.CNAMEs) == 0 {
		return ""
	}
	return trimDot(strings.ToLower(resp.CNAMEs[len(resp.CNAMEs)-1]))
}

// dnsMiss diagnoses a TXT lookup that did not yield the expected value.
func (d *diagnoser) dnsMiss(o *validation.Observation, z *zoneAnalysis, t cnameTarget, host string) []Finding {
	n := o.DNS
	value := o.Expected
	rec := &n.Record
	if f, ok := d.dnssecBogus(rec, host); ok {
		return []Finding{f}
	}
	if f, ok := d.dnssecBogus(n.Domain, baseDomain(o.Domain)); ok {
		return []Finding{f}
	}
	if f, ok := d.domainUnresolvable(n.Domain, o.Domain); ok {
		return []Finding{f}
	}
	if f, ok := d.partial(z, host, false); ok {
		return []Finding{f}
	}
	if f, ok := d.partialTarget(t, host, false); ok {
		return []Finding{f}
	}
	if f, ok := d.cachedOlder(z, rec, host); ok {
		return []Finding{f}
	}
	if rec.Err != nil {
		// A failure met along a CNAME chain is the target's: its servers
		// are the ones to fix, not those of host's zone.
		at := host
		if rec.Err.Kind != dnsclient.KindLoop {
			// A loop or a chain too long is the chain's, from host.
			at = cmp.Or(followedTarget(rec.Err.Detail), host)
		}
		f, ok := d.resolverLame(rec.Err, at)
		if !ok {
			f = d.recordError(rec.Err, at)
		}
		return []Finding{d.atTarget(f, at, host)}
	}
	resp := rec.Response
	if resp == nil {
		return []Finding{d.invalid(o.Domain, msgInvalidNoEvidence)}
	}
	if f, ok := d.failedRcode(resp, host); ok {
		return []Finding{f}
	}
	wild := wildcardValues(n.Wildcard)
	var wildHits []*validation.Probe
	for i := range n.Probes {
		p := &n.Probes[i]
		switch {
		case !lookupHas(&p.Lookup, value) || explainedBy(wild, &p.Lookup):
		case fromWildcard(p):
			// A wildcard's answer, which the wildcard test beside
			// the host does not see: no record put at p's name.
			wildHits = append(wildHits, p)
		default:
			return []Finding{d.wrongHost(*p, host, value)}
		}
	}
	// The value is in a wildcard that does not answer at host: the
	// finding about host says so.
	note := d.wildcardNote(n, wildHits, host, baseDomain(o.Domain))
	noted := func(f Finding) []Finding {
		f.Message = join(f.Message, note)
		return []Finding{f}
	}
	var txt []dnsclient.Record
	for _, r := range resp.Answer {
		if r.Type == "TXT" {
			txt = append(txt, r)
		}
	}
	rel, _ := d.relativeHost(host)
	if len(txt) > 0 {
		var notes []string
		if explainedBy(wild, &n.Record) {
			notes = append(notes, d.c.f(noteWildcard))
		}
		if slices.ContainsFunc(txt, func(r dnsclient.Record) bool { return slices.Contains(n.OtherValues, r.Data) }) {
			notes = append(notes, d.c.f(noteOtherOrderDNS))
		}
		sibNotes, sameHost := d.siblingNotes(txt, n.OrderValues, o.Domain)
		notes = append(notes, sibNotes...)
		f := d.mismatch(txt, host, rel, value, resp.Server)
		f.Message = join(f.Message, notes...)
		if sameHost != "" {
			// The record holds the value of the other name validated at
			// this host (x and *.x): it must stay, and this value go
			// beside it, not replace it.
			f.Fix = d.c.f(fixMismatchSibling, rel, value, sameHost)
		}
		if explainedBy(wild, &n.Record) && lookupAnswered(n.Domain) && !isRegistered(baseDomain(o.Domain)) {
			// The values are a wildcard's, and the domain resolves: most
			// likely from the same wildcard, which a record at host stops
			// answering for the domain (black-box run: the site broke).
			f.Fix = join(f.Fix, d.c.f(noteWildcardParent, host, Truncate(baseDomain(o.Domain), maxNameShown)))
		}
		if len(resp.CNAMEs) > 0 {
			// The records are the CNAME target's: a CNAME cannot hold a
			// TXT record beside it (RFC 1034 §3.6.2).
			target := Truncate(lastCNAME(resp), maxNameShown)
			f.Message = join(f.Message, d.c.f(noteMismatchCNAME, host, target))
			f.Fix = d.c.f(fixMismatchCNAME, target, value, rel)
			if sameHost != "" {
				f.Fix = d.c.f(fixMismatchCNAMESibling, target, value, rel, sameHost)
			}
		}
		if eta, ok := resolverCacheExpiry(resp, txt, o.StartedAt); ok && eta.After(d.now) {
			// Forward mode: dcv's recursive resolver answered, from its
			// cache maybe, and does not tell; a value changed within the
			// TTL may be the old one still (console run).
			f.Message = join(f.Message, d.c.f(noteResolverCache, d.server(resp.Server), d.formatDuration(eta.Sub(d.now)), eta.UTC().Format(time.RFC3339)))
			f.Retryable, f.ETA = true, &eta
		}
		return noted(f)
	}
	if len(resp.CNAMEs) > 0 && n.Wildcard != nil && n.Wildcard.Response != nil && len(n.Wildcard.Response.CNAMEs) > 0 &&
		n.Wildcard.Response.CNAMEs[0] == resp.CNAMEs[0] {
		// A random name beside the host gets the same CNAME: a wildcard
		// CNAME answers there, no record of the host's (verification
		// run: "remove the CNAME" that is not there).
		f := d.wrongType(resp, host, rel, value)
		f.Message = join(f.Message, d.c.f(noteWildcardCNAME, host))
		f.Fix = d.c.f(fixWildcardCNAME, rel, value, Truncate(lastCNAME(resp), maxNameShown))
		if dom := n.Domain; dom != nil && dom.Response != nil && len(dom.Response.CNAMEs) > 0 && dom.Response.CNAMEs[0] == resp.CNAMEs[0] {
			f.Fix = join(f.Fix, d.c.f(noteWildcardParent, host, Truncate(baseDomain(o.Domain), maxNameShown)))
		}
		return noted(f)
	}
	if len(resp.CNAMEs) > 0 || len(resp.Other) > 0 {
		return noted(d.wrongType(resp, host, rel, value))
	}
	var wildcardA, domainFromWildcard bool
	for _, p := range n.Probes {
		if p.Kind == validation.ProbeHostAddress && resp.Rcode == rcodeNoError && p.Lookup.Response != nil && len(p.Lookup.Response.Answer) > 0 {
			if sameAnswer(&p.Lookup, p.Wildcard) {
				// A wildcard A record answers at the host, as at any
				// name: no record of another type is there to replace.
				wildcardA = true
				// The domain itself gets the same addresses: the same
				// wildcard answers for it, most likely.
				domainFromWildcard = sameAnswer(&p.Lookup, n.Domain)
				break
			}
			// NODATA for TXT, but an address record at the host.
			other := *resp
			other.Other = p.Lookup.Response.Answer
			return noted(d.wrongType(&other, host, rel, value))
		}
	}
	m := msgNotFoundNoData
	if resp.Rcode == rcodeNXDomain {
		m = msgNotFoundNXDomain
	}
	f := Finding{
		Code:      CodeDNSRecordNotFound,
		Severity:  SeverityError,
		Message:   d.c.f(m, host, d.server(resp.Server)),
		Fix:       d.c.f(fixNotFound, rel, value),
		Retryable: true, // the record may be waiting to be published
	}
	if wildcardA {
		f.Message = join(f.Message, d.c.f(noteWildcardAddress, host))
		if domainFromWildcard {
			f.Fix = join(f.Fix, d.c.f(noteWildcardParent, host, Truncate(baseDomain(o.Domain), maxNameShown)))
		}
	}
	if resp.Resolver && resp.NegativeTTL > 0 {
		// Forward mode: the resolver may hold this "no record" in its
		// cache (RFC 2308) for up to the negative TTL after it asked.
		eta := o.StartedAt.Add(time.Duration(resp.NegativeTTL) * time.Second)
		if resp.CacheUntil.After(eta) {
			eta = resp.CacheUntil
		}
		if eta.After(d.now) {
			f.Message = join(f.Message, d.c.f(noteResolverCacheNeg, d.server(resp.Server), d.formatDuration(eta.Sub(d.now)), eta.UTC().Format(time.RFC3339)))
			// The record may be there already: waiting is the fix then,
			// and it comes first (black-box run).
			f.Fix = join(d.c.f(fixResolverCacheNeg, eta.UTC().Format(time.RFC3339)), f.Fix)
			f.ETA = &eta
		}
	}
	return noted(f)
}

// resolverCacheExpiry returns when the TXT records txt of a forward-mode
// answer resp (dcv's own recursive resolver's) leave that resolver's
// cache, at the latest: the lookup's start plus their smallest TTL, or
// when dcv's own answer cache drops them, if later. ok is false for an
// answer of an authoritative server (iterative mode), or without TTLs.
func resolverCacheExpiry(resp *dnsclient.Response, txt []dnsclient.Record, started time.Time) (time.Time, bool) {
	if !resp.Resolver || len(txt) == 0 {
		return time.Time{}, false
	}
	ttl := txt[0].TTL
	for _, r := range txt[1:] {
		ttl = min(ttl, r.TTL)
	}
	if ttl == 0 {
		return time.Time{}, false
	}
	eta := started.Add(time.Duration(ttl) * time.Second)
	if resp.CacheUntil.After(eta) {
		eta = resp.CacheUntil
	}
	return eta, true
}

// sameAnswer reports whether lookup w (of a random name beside l's) got
// the same records as l: then a wildcard answered l (RFC 4592), since no
// record can be at a random name.
func sameAnswer(l, w *validation.Lookup) bool {
	if w == nil || w.Response == nil || l.Response == nil || len(w.Response.Answer) == 0 {
		return false
	}
	datas := func(rs []dnsclient.Record) []string {
		var out []string
		for _, r := range rs {
			if r.Type != "CNAME" {
				out = append(out, r.Type+" "+r.Data)
			}
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(datas(l.Response.Answer), datas(w.Response.Answer))
}

// maxSiblingNotes bounds the notes naming the order's other domains whose
// values a record holds.
const maxSiblingNotes = 3

// siblingNotes names the order's other domains whose value one of txt
// holds: the applicant published a value at the wrong domain's host, or,
// for a name and its wildcard, which validate at one host, replaced one
// value with the other. sameHost is the first such domain validated at
// this same host (shown), or "".
func (d *diagnoser) siblingNotes(txt []dnsclient.Record, siblings []validation.DomainValue, domain string) (notes []string, sameHost string) {
	for _, s := range siblings {
		if len(notes) == maxSiblingNotes {
			break
		}
		if !slices.ContainsFunc(txt, func(r dnsclient.Record) bool { return r.Data == s.Value }) {
			continue
		}
		name := Truncate(s.Domain, maxNameShown)
		if baseDomain(s.Domain) == baseDomain(domain) {
			notes = append(notes, d.c.f(noteSiblingSameHost, name))
			sameHost = cmp.Or(sameHost, name)
			continue
		}
		notes = append(notes, d.c.f(noteSibling, name, Truncate(validation.DNSPrefix+"."+baseDomain(s.Domain), maxNameShown)))
	}
	return notes, sameHost
}

// isRegistered reports whether name is a registered domain (a public
// suffix plus one label), the apex of its zone most likely: it exists
// whatever is added below it, and a wildcard never answers for it
// (review).
func isRegistered(name string) bool {
	_, reg := relativeHost(name)
	return reg != "" && reg == name
}

// lookupAnswered reports whether l got records in answer (an address, for
// the domain's lookup).
func lookupAnswered(l *validation.Lookup) bool {
	return l != nil && l.Response != nil && l.Response.Rcode == rcodeNoError && len(l.Response.Answer) > 0
}

// wildcardValues returns the TXT values of the wildcard probe, or nil.
func wildcardValues(l *validation.Lookup) []string {
	if l == nil || l.Err != nil || l.Response == nil || l.Response.Rcode != rcodeNoError {
		return nil
	}
	return l.TXTValues()
}

// explainedBy reports whether the TXT values of l are exactly the wildcard's
// (wild non-empty): then they come from the wildcard, not from a record
// someone put at l's name, and are no near miss.
func explainedBy(wild []string, l *validation.Lookup) bool {
	got := l.TXTValues()
	if len(wild) == 0 || len(got) != len(wild) {
		return false
	}
	a, b := slices.Clone(got), slices.Clone(wild)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// lookupHas reports whether l succeeded and one of its TXT values (a
// record's strings concatenated) is exactly value. A DNSSEC-bogus answer
// has no value: RFC 4035 §5.5, its data cannot be trusted.
func lookupHas(l *validation.Lookup, value string) bool {
	if l == nil || l.Err != nil || l.Response == nil || l.Response.Rcode != rcodeNoError ||
		l.Response.DNSSEC == dnsclient.Bogus.String() {
		return false
	}
	for _, v := range l.TXTValues() {
		if v == value {
			return true
		}
	}
	return false
}

// domainUnresolvable reports a domain that does not resolve at all, which
// explains every other failure under it.
func (d *diagnoser) domainUnresolvable(l *validation.Lookup, domain string) (Finding, bool) {
	if l == nil {
		return Finding{}, false
	}
	name := trimDot(l.Name)
	if name == "" {
		name = baseDomain(domain)
	}
	name = Truncate(name, maxNameShown)
	f := Finding{Code: CodeDomainUnresolvable, Severity: SeverityError}
	zone, reg, above := zoneAbove(l.Err, name)
	if rf, ok := d.reservedErr(l.Err, name, lookupAddress); ok {
		rf.Code = CodeDomainUnresolvable
		return rf, true
	}
	switch {
	case upstream(l.Err):
		return d.upstreamErrFinding(msgUpstreamRecord, name, l.Err), true
	case above:
		return d.aboveDomainFinding(CodeDomainUnresolvable, msgDomainAboveDomain, l.Err.Kind.String(), name, zone, reg), true
	case l.Err != nil && l.Err.Kind == dnsclient.KindTimeout:
		f.Message = join(d.c.f(msgDomainTimeout, name, d.server(l.Err.Server)), d.resolverTimeout(l.Err))
		f.Fix = d.c.f(fixDomainTimeout, name)
		f.Retryable = true
	case l.Err != nil || l.Response == nil:
		return Finding{}, false
	case l.Response.DNSSEC == dnsclient.Bogus.String():
		return d.dnssecBogus(l, name)
	case l.Response.Rcode == rcodeNXDomain && len(l.Response.CNAMEs) > 0:
		// The domain exists: its CNAME's target does not.
		return d.danglingCNAME(name, l.Response.CNAMEs, l.Response.DNAMEs, l.Response.Server), true
	case l.Response.Rcode == rcodeNXDomain:
		if zone := trimDot(l.Response.Zone); zone != "" && zone != name && strings.HasSuffix(name, "."+zone) {
			// The servers of a registered zone above the name answered:
			// the domain is registered and delegated. DNS validation
			// needs no address for the name, only the TXT record under
			// it: its absence is what the record's finding says.
			if _, reg := relativeHost(zone); reg != "" && (zone == reg || strings.HasSuffix(zone, "."+reg)) {
				return Finding{}, false
			}
		}
		f.Message = d.c.f(msgDomainNXDomain, name, d.server(l.Response.Server))
		f.Fix = d.c.f(fixDomainNXDomain, name)
	case l.Response.Rcode == rcodeServfail:
		f.Message = d.c.f(msgDomainServfail, name, d.server(l.Response.Server))
		f.Fix = d.c.f(fixDomainServfail, name)
		if zone, ok := authoritativeServfail(l.Response); ok {
			f.Message = d.c.f(msgDomainServfailAuth, name, d.server(l.Response.Server), zone)
			f.Fix = d.c.f(fixServfailAuth, d.server(l.Response.Server), zone, name, "A and AAAA")
		}
		f.Retryable = true
	default:
		return Finding{}, false
	}
	return f, true
}

// recordError diagnoses a TXT lookup at host that got no answer.
func (d *diagnoser) recordError(e *dnsclient.Error, host string) Finding {
	server := d.server(e.Server)
	f := Finding{Code: CodeDNSLookupFailed, Severity: SeverityError, Fix: d.c.f(fixRecordLookupFailed, host)}
	if upstream(e) {
		return d.upstreamErrFinding(msgUpstreamRecord, host, e)
	}
	if f, ok := d.reservedErr(e, host, lookupTXT); ok {
		return f
	}
	if zone, reg, ok := zoneAbove(e, host); ok {
		code := CodeDNSLookupFailed
		if e.Kind == dnsclient.KindTimeout {
			code = CodeDNSTimeout
		}
		return d.aboveDomainFinding(code, msgRecordAboveDomain, e.Kind.String(), host, zone, reg)
	}
	if f, ok := d.tcpFallback(e, host, lookupTXT); ok {
		return f
	}
	switch e.Kind {
	case dnsclient.KindTimeout:
		f.Code = CodeDNSTimeout
		f.Message = join(d.c.f(msgRecordTimeout, host, server), d.resolverTimeout(e))
		f.Fix = d.c.f(fixRecordTimeout, host)
		f.Retryable = true
	case dnsclient.KindNetwork:
		f.Message = d.c.f(msgRecordNetwork, host, server)
		f.Fix = d.c.f(fixRecordNetwork, server, host)
		f.Retryable = true
	case dnsclient.KindMalformed:
		f.Message = d.c.f(msgRecordMalformed, host, server)
	case dnsclient.KindTooLarge:
		f.Message = d.c.f(msgRecordTooLarge, host, server)
		f.Fix = d.c.f(fixRecordTooLarge, host)
	case dnsclient.KindLoop:
		f.Message = d.loopMessage(e, host)
		f.Fix = d.c.f(fixRecordLoop, host)
		if ns, zone := nsCycle(e.Detail); ns != "" {
			f.Fix = d.c.f(fixNSCycle, ns, zone)
		}
		if detail := stripFollowing(e.Detail); strings.HasPrefix(detail, detailCNAMETooLong) {
			_, limit := cnameChainDetail(detail)
			f.Fix = d.c.f(fixRecordCNAMETooLong, host, limit)
		}
	default:
		f.Message = d.c.f(msgRecordFailed, host, server)
	}
	return f
}

// wrongHost diagnoses the value found by probe p instead of at host.
func (d *diagnoser) wrongHost(p validation.Probe, host, value string) Finding {
	at := trimDot(p.Lookup.Name)
	if at == "" && p.Lookup.Response != nil {
		at = trimDot(p.Lookup.Response.Name)
	}
	f := Finding{Code: CodeDNSWrongHost, Severity: SeverityError}
	switch p.Kind {
	case validation.ProbeDoubledZone, validation.ProbeDoubledDomain:
		// The provider appended a suffix to the full name typed: the suffix
		// is the provider's zone, and the host to type is host without it.
		rel, zone := d.relativeHost(host)
		if suffix, ok := strings.CutPrefix(at, host+"."); ok && strings.HasSuffix(host, "."+suffix) {
			rel, zone = strings.TrimSuffix(host, "."+suffix), suffix
		}
		m := msgWrongHostDoubledZone
		if p.Kind == validation.ProbeDoubledDomain {
			m = msgWrongHostDoubledDomain
		}
		f.Message = d.c.f(m, Truncate(at, maxNameShown))
		f.Fix = d.c.f(fixWrongHostDoubled, rel, zone, host)
	case validation.ProbeOtherPrefix:
		// The other DNS method's host: _acme-challenge for the dns
		// method, _dnsauth for ACME dns-01.
		rel, _ := d.relativeHost(host)
		prefix, _, _ := strings.Cut(host, ".")
		other, _, _ := strings.Cut(at, ".")
		m := msgWrongHostACMEPrefix
		if prefix == validation.DNS01Prefix {
			m = msgWrongHostDNSAuthPrefix
		}
		f.Message = d.c.f(m, Truncate(at, maxNameShown), host, Truncate(other, maxNameShown), prefix)
		f.Fix = d.c.f(fixWrongHostOtherPrefix, rel, host, value, Truncate(at, maxNameShown))
	case validation.ProbeReversed:
		rel, _ := d.relativeHost(host)
		prefix, _, _ := strings.Cut(host, ".")
		f.Message = d.c.f(msgWrongHostReversed, Truncate(at, maxNameShown), host, prefix)
		f.Fix = d.c.f(fixWrongHostWWW, rel, host, value)
	case validation.ProbeWWW, validation.ProbeApex, validation.ProbeParent:
		// The record host of the www name for the apex, or the reverse.
		rel, _ := d.relativeHost(host)
		validates := strings.TrimPrefix(at, validation.DNSPrefix+".")
		f.Message = d.c.f(msgWrongHostWWW, Truncate(at, maxNameShown), Truncate(validates, maxNameShown), host)
		f.Fix = d.c.f(fixWrongHostWWW, rel, host, value)
	case validation.ProbeDoubledPrefix:
		rel, _ := d.relativeHost(host)
		prefix, _, _ := strings.Cut(host, ".")
		f.Message = d.c.f(msgWrongHostDoubledPrefix, Truncate(at, maxNameShown), prefix, host)
		f.Fix = d.c.f(fixWrongHostDoubledPrefix, rel, host, prefix)
	case validation.ProbeCNAMEPrefixed:
		// Validation delegated by CNAME, and the record published with
		// the prefix at the delegated end (black-box run).
		prefix, target, _ := strings.Cut(at, ".")
		f.Message = d.c.f(msgWrongHostCNAMEPrefixed, Truncate(at, maxNameShown), host, Truncate(target, maxNameShown), prefix)
		f.Fix = d.c.f(fixWrongHostCNAMEPrefixed, Truncate(target, maxNameShown), value, Truncate(at, maxNameShown))
	case validation.ProbeBareDomain:
		rel, _ := d.relativeHost(host)
		f.Message = d.c.f(msgWrongHostBare, Truncate(at, maxNameShown), host)
		f.Fix = d.c.f(fixWrongHostBare, rel, host, value, Truncate(at, maxNameShown))
	default:
		rel, _ := d.relativeHost(host)
		f.Message = d.c.f(msgWrongHostOther, Truncate(at, maxNameShown), host)
		f.Fix = d.c.f(fixNotFound, rel, value)
	}
	return f
}

// mismatch diagnoses TXT records at host none of which is the value, with
// notes on near misses.
func (d *diagnoser) mismatch(txt []dnsclient.Record, host, rel, value, server string) Finding {
	var shown []string
	var notes []string
	noted := map[msg]bool{}
	for i, r := range txt {
		if i < maxTXTListed {
			shown = append(shown, `"`+Truncate(r.Data, maxTXTShown)+`"`)
		}
		if note, ok := d.invisibleNote(unescapeTXT(r.Data), value); ok {
			if !slices.Contains(notes, note) {
				notes = append(notes, note)
			}
			continue
		}
		if m, n := nearMissTXT(r, value); m != "" && !noted[m] {
			noted[m] = true
			if n > 0 {
				notes = append(notes, d.c.f(m, n))
			} else {
				notes = append(notes, d.c.f(m))
			}
		}
	}
	if splitAcrossRecords(txt, value) {
		notes = append(notes, d.c.f(noteSplitRecords))
	}
	list := strings.Join(shown, d.c.f(wordListSep))
	if extra := len(txt) - len(shown); extra > 0 {
		list = d.c.f(wordAndMore, list, extra)
	}
	return Finding{
		Code:     CodeDNSRecordMismatch,
		Severity: SeverityError,
		Message:  join(d.c.f(msgMismatch, host, d.server(server), list), notes...),
		Fix:      d.c.f(fixMismatch, rel, value),
	}
}

// splitAcrossRecords reports whether two of the TXT records, joined in
// some order, make the value: a DNS console that cut a long value into two
// records (each TXT record is a value of its own; only the strings of one
// record are joined).
func splitAcrossRecords(txt []dnsclient.Record, value string) bool {
	if len(txt) < 2 || len(txt) > maxTXTListed {
		return false
	}
	for i := range txt {
		for j := range txt {
			if i != j && txt[i].Data != "" && txt[j].Data != "" && txt[i].Data+txt[j].Data == value {
				return true
			}
		}
	}
	return false
}

// nearMissTXT names the way record r almost holds value, with the count of
// strings for the split notes (0 for the others), or returns "".
func nearMissTXT(r dnsclient.Record, value string) (msg, int) {
	// The record's text as typed: typographic quotation marks and other
	// characters outside ASCII come escaped (RFC 1035 §5.1).
	v := unescapeTXT(r.Data)
	if len(r.Strings) > 1 {
		// A record's strings are joined without separator, the convention
		// RFC 7208 §3.3 states for SPF: "the record MUST be treated as if
		// those strings are concatenated together without adding spaces".
		// Applicants split or pad the parts by hand.
		for _, s := range r.Strings {
			if trimQuotesSpace(unescapeTXT(s)) == value {
				return noteSplitExtra, len(r.Strings)
			}
		}
		var joined strings.Builder
		for _, s := range r.Strings {
			joined.WriteString(trimQuotesSpace(unescapeTXT(s)))
		}
		if joined.String() == value {
			return noteSplitPadded, len(r.Strings)
		}
	}
	t := strings.TrimSpace(v)
	switch {
	case t != v && t == value:
		return noteSpace, 0
	case trimQuotesSpace(v) == value:
		return noteQuoted, 0
	case strings.EqualFold(trimQuotesSpace(v), value):
		return noteCase, 0
	case strings.Contains(v, value):
		return noteContained, 0
	}
	return "", 0
}

// trimQuotesSpace removes surrounding white space and one pair of
// surrounding quotation marks (straight or typographic). A straight double
// quote inside a TXT string comes as the RFC 1035 §5.1 escape \" (see
// dnsclient.Record.Strings).
func trimQuotesSpace(s string) string {
	s = strings.TrimSpace(s)
	for _, q := range [][2]string{{`\"`, `\"`}, {`"`, `"`}, {`'`, `'`}, {"“", "”"}, {"„", "“"}} {
		if len(s) >= len(q[0])+len(q[1]) && strings.HasPrefix(s, q[0]) && strings.HasSuffix(s, q[1]) {
			return strings.TrimSpace(s[len(q[0]) : len(s)-len(q[1])])
		}
	}
	return s
}

// wrongType diagnoses a host that has records, but none of type TXT.
func (d *diagnoser) wrongType(resp *dnsclient.Response, host, rel, value string) Finding {
	var found []string
	seen := map[string]bool{}
	if len(resp.CNAMEs) > 0 {
		chain := make([]string, len(resp.CNAMEs))
		for i, c := range resp.CNAMEs {
			chain[i] = Truncate(trimDot(c), maxNameShown)
		}
		found = append(found, d.c.f(wordCNAMETo, strings.Join(chain, " → ")))
	}
	var types []string
	for _, r := range resp.Other {
		t := Truncate(r.Type, maxDetailShown)
		if !seen[t] {
			seen[t] = true
			types = append(types, t)
		}
	}
	found = append(found, types...)
	f := Finding{
		Code:     CodeDNSWrongType,
		Severity: SeverityError,
		Message:  d.c.f(msgWrongType, host, strings.Join(found, d.c.f(wordListSep)), d.server(resp.Server)),
	}
	if len(resp.CNAMEs) > 0 {
		target := Truncate(lastCNAME(resp), maxNameShown)
		f.Fix = d.c.f(fixWrongTypeCNAME, rel, value, target)
		if resp.Rcode == rcodeNXDomain {
			// A dangling CNAME: validation delegated to a name that does
			// not exist (a provider's record removed, or a typo).
			f.Message = join(f.Message, d.c.f(noteCNAMEDangling, target))
			if resp.Zone == "." {
				// The root servers answered: the top-level domain itself
				// does not exist (a typo such as .con).
				tld := target[strings.LastIndexByte(target, '.')+1:]
				f.Message = join(f.Message, d.c.f(noteCNAMENoTLD, Truncate(tld, maxNameShown)))
				f.Fix = d.c.f(fixWrongTypeCNAMEUnregistered, rel, value, Truncate(target, maxNameShown))
			} else if _, reg := relativeHost(target); reg != "" && reg != target {
				if zone := trimDot(resp.Zone); zone != "" && zone != reg && strings.HasSuffix(reg, "."+zone) {
					// The registry's servers answered: the target's
					// domain itself is not registered, and no record
					// can be added there (console run).
					f.Message = join(f.Message, d.c.f(noteCNAMEUnregistered, Truncate(reg, maxNameShown), Truncate(zone, maxNameShown)))
					f.Fix = d.c.f(fixWrongTypeCNAMEUnregistered, rel, value, Truncate(reg, maxNameShown))
				}
			}
		}
	} else {
		f.Fix = d.c.f(fixWrongType, rel, value, strings.Join(types, d.c.f(wordListSep)))
	}
	if dn, ok := hostDNAME(resp, host); ok {
		// The CNAME is synthesized from a DNAME (RFC 6672): there is no
		// CNAME record to remove, and no record can be added below the
		// DNAME's owner (black-box run).
		owner, target := Truncate(trimDot(dn.Owner), maxNameShown), Truncate(trimDot(dn.Target), maxNameShown)
		f.Message = join(f.Message, d.c.f(noteDNAME, owner, target))
		f.Fix = d.c.f(fixWrongTypeDNAME, owner, rel, value, Truncate(lastCNAME(resp), maxNameShown))
	}
	return f
}

// hostDNAME returns the DNAME that synthesized the first CNAME of resp's
// chain, the one at host itself: its owner lies above host. A DNAME met
// further down the chain leaves host's own CNAME a record (review).
func hostDNAME(resp *dnsclient.Response, host string) (dnsclient.DNAME, bool) {
	for _, dn := range resp.DNAMEs {
		owner := trimDot(strings.ToLower(dn.Owner))
		if owner != "" && strings.HasSuffix(strings.ToLower(host), "."+owner) {
			return dn, true
		}
	}
	return dnsclient.DNAME{}, false
}

// server names the DNS server that answered, or a generic phrase.
func (d *diagnoser) server(s string) string {
	if s == "" {
		return d.c.f(wordTheDNSServer)
	}
	return Truncate(s, maxNameShown)
}

// relativeHost splits host into the part typed in a DNS provider's host
// field and the registered domain (public suffix plus one label) the
// provider appends: "_dnsauth.a.example.com" -> "_dnsauth.a", "example.com".
// When no registered domain can be found, rel is host itself.
// hostZone is the zone of host the evidence names: the zone of the
// authoritative view, or the owner of the SOA in a negative answer for
// host; "" when there is none. It may be host itself, when host is a
// zone's apex.
func hostZone(n *validation.DNSObservation, host string) string {
	var zone string
	switch {
	case n.Authoritative != nil && n.Authoritative.Zone != "":
		zone = n.Authoritative.Zone
	case n.Record.Response != nil && len(n.Record.Response.CNAMEs) == 0:
		// The SOA of a negative answer names the zone that gave it: the
		// host's, unless a CNAME led elsewhere (then it is the target's).
		zone = n.Record.Response.Zone
	}
	zone = trimDot(strings.ToLower(zone))
	if zone == "" || zone != host && !strings.HasSuffix(host, "."+zone) {
		return ""
	}
	if _, reg := relativeHost(host); reg != "" && zone != reg && !strings.HasSuffix(zone, "."+reg) && ident.IsPublicSuffix(zone) {
		// A zone above the registered domain (a TLD's negative answer):
		// not where the applicant types the record. An unlisted one is
		// an organisation's internal zone (corp.), where git.corp's
		// record is typed as _dnsauth.git (verification run).
		return ""
	}
	return zone
}

// apexHost is what a DNS provider's host field takes for a zone's apex.
const apexHost = "@"

// relativeHost splits host into what to type in a DNS provider's host
// field and the zone it is relative to: the zone the evidence names, else
// the registered domain. For the apex of the zone the evidence names,
// rel is "@".
func (d *diagnoser) relativeHost(host string) (rel, zone string) {
	switch {
	case d.zone != "" && host == d.zone:
		return apexHost, d.zone
	case d.zone != "" && strings.HasSuffix(host, "."+d.zone):
		return strings.TrimSuffix(host, "."+d.zone), d.zone
	}
	return relativeHost(host)
}

func relativeHost(host string) (rel, zone string) {
	zone, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil || zone == host {
		return host, zone
	}
	return strings.TrimSuffix(host, "."+zone), zone
}

// baseDomain strips a wildcard prefix and a trailing dot.
func baseDomain(domain string) string {
	return trimDot(strings.TrimPrefix(domain, "*."))
}
