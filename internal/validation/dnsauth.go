package validation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"
	"golang.org/x/net/publicsuffix"

	"github.com/dcvhq/dcv/internal/dnsclient"
)

// authoritativeViewer is the optional capability of a resolver that can ask
// every authoritative server of a name's zone directly
// (dnsclient.Iterative). Forward mode (dnsclient.Forwarder) only reaches
// recursive resolvers, which hide the servers behind them: with it, the
// observation has no Authoritative view and diagnosis cannot compare the
// servers.
type authoritativeViewer interface {
	Authoritative(ctx context.Context, name string, qtype uint16) (*dnsclient.ZoneView, error)
}

var _ authoritativeViewer = (*dnsclient.Iterative)(nil)

// wildcardLabelBytes is the entropy of the random label asked to detect a
// wildcard TXT record: 64 bits, so that no real name collides with it.
const wildcardLabelBytes = 8

// observeDNSAuth looks up the TXT record at _dnsauth.<domain> (for
// "*.<domain>" too: the record proves control of the base domain) and, when
// the resolver can, asks every authoritative server of its zone for it (see
// DNSObservation.Authoritative), whether or not the value was seen: servers
// that disagree explain a value that comes and goes. When the expected value
// is not among the TXT values it also looks, in parallel, at the domain
// itself (type A, to tell "the domain does not resolve" from "the record is
// missing"), at the names where applicants commonly put the record by
// mistake (among them the ACME dns-01 host _acme-challenge.<domain>, the
// parent's record host and the host with its labels reversed: at most 11
// names, each one query), and at a random label beside the host to detect a wildcard TXT
// record, so that diagnose can say where the value went. Where a probe
// finds the value, a random name beside the probed one is asked too (see
// askProbeWildcards), so that a wildcard's answer is not taken for a
// record put at the wrong host.
//
// The record is looked up before the authoritative servers are asked: the
// resolver's answer may come from its cache, and that is what diagnosis
// compares with the servers.
func (v *Validator) observeDNSAuth(ctx context.Context, req Request) *DNSObservation {
	base := baseDomain(req.Domain)
	host := DNSPrefix + "." + base
	obs := &DNSObservation{Host: host, Record: v.lookup(ctx, host, dns.TypeTXT)}

	var wg sync.WaitGroup
	v.askAuthorities(ctx, &wg, obs)
	if recordHolds(&obs.Record, req.Value) {
		wg.Wait()
		return obs
	}

	type probe struct {
		kind  string
		name  string
		qtype uint16
	}
	var probes []probe
	// The zone appended twice: what a DNS console produces when the
	// applicant types the full host into a field that appends the zone.
	for _, zone := range doubledZones(base) {
		probes = append(probes, probe{ProbeDoubledZone, host + "." + zone, dns.TypeTXT})
	}
	probes = append(probes,
		probe{ProbeDoubledDomain, host + "." + base, dns.TypeTXT},
		probe{ProbeBareDomain, base, dns.TypeTXT},
		probe{ProbeDoubledPrefix, DNSPrefix + "." + host, dns.TypeTXT},
	)
	if r := obs.Record.Response; r != nil && r.Rcode == "NOERROR" && len(r.Answer) == 0 && len(r.CNAMEs) == 0 && len(r.Other) == 0 {
		// NODATA: the host exists; an A record there is the wrong type.
		probes = append(probes, probe{ProbeHostAddress, host, dns.TypeA})
	}
	// The record of the www name for the apex, or the reverse: applicants
	// who order both publish one value at the other's host.
	if apex, ok := strings.CutPrefix(base, "www."); ok {
		if zone, err := publicsuffix.EffectiveTLDPlusOne(apex); err == nil && dns.IsSubDomain(zone, apex) {
			probes = append(probes, probe{ProbeApex, DNSPrefix + "." + apex, dns.TypeTXT})
		}
	} else {
		probes = append(probes, probe{ProbeWWW, DNSPrefix + ".www." + base, dns.TypeTXT})
		if parent, ok := parentInRegistered(base); ok {
			probes = append(probes, probe{ProbeParent, DNSPrefix + "." + parent, dns.TypeTXT})
		}
	}
	// The ACME dns-01 host, the most common near miss, and the host typed
	// with its labels in the wrong order.
	probes = append(probes, probe{ProbeOtherPrefix, DNS01Prefix + "." + base, dns.TypeTXT})
	if name, ok := reversedHost(DNSPrefix, base); ok {
		probes = append(probes, probe{ProbeReversed, name, dns.TypeTXT})
	}
	if name, ok := cnamePrefixed(&obs.Record, DNSPrefix); ok {
		probes = append(probes, probe{ProbeCNAMEPrefixed, name, dns.TypeTXT})
	}
	// A doubled name may exceed the 255 octets of RFC 1035 §2.3.4; it
	// cannot hold a record then, so it is not asked.
	probes = slices.DeleteFunc(probes, func(p probe) bool {
		_, ok := dns.IsDomainName(p.name)
		return !ok
	})
	if n := len(req.OtherValues); n > 0 {
		obs.OtherValues = append([]string(nil), req.OtherValues[:min(n, MaxOtherValues)]...)
	}
	obs.OrderValues = slices.Clone(req.OrderValues)

	var domain Lookup
	obs.Probes = make([]Probe, len(probes))
	wg.Go(func() { domain = v.lookup(ctx, base, dns.TypeA) })
	for i, p := range probes {
		wg.Go(func() { obs.Probes[i] = Probe{Kind: p.kind, Lookup: v.lookup(ctx, p.name, p.qtype)} })
	}
	if name := wildcardProbeName(base); name != "" {
		wg.Go(func() {
			l := v.lookup(ctx, name, dns.TypeTXT)
			obs.Wildcard = &l
		})
	}
	wg.Wait()
	obs.Domain = &domain
	v.askProbeWildcards(ctx, obs.Probes, req.Value)
	return obs
}

// askProbeWildcards sets, on each probe that found value, the TXT lookup
// of a random name beside the probed one (Probe.Wildcard): a wildcard
// (RFC 4592 §3.3.1) answers at every name that does not exist below its
// closest encloser, and the random name has the same closest encloser as
// a probed name that does not exist, so the same values there mean the
// probe's answer was the wildcard's. The wildcard test beside the record
// host does not tell it: below an existing domain, a wildcard higher up
// does not answer there, but does at the probed names outside it
// (_dnsauth.example.com for a.example.com, with *.example.com). Probes
// with the same parent share one lookup; none is made when no probe found
// the value. The address probe at the record host (ProbeHostAddress) that
// got addresses is tested the same way, with an A lookup: a wildcard A
// record (common at web hosts) answers there without any record at the
// host.
func (v *Validator) askProbeWildcards(ctx context.Context, probes []Probe, value string) {
	type key struct {
		parent string
		qtype  uint16
	}
	byParent := map[key]*Lookup{}
	var wg sync.WaitGroup
	for i := range probes {
		p := &probes[i]
		qtype := dns.TypeTXT
		switch {
		case p.Kind == ProbeHostAddress && p.Lookup.Type == "A" && p.Lookup.Response != nil && len(p.Lookup.Response.Answer) > 0:
			qtype = dns.TypeA
		case p.Lookup.Type != "TXT" || !recordHolds(&p.Lookup, value):
			continue
		}
		_, parent, _ := strings.Cut(strings.TrimSuffix(p.Lookup.Name, "."), ".")
		if parent == "" {
			continue
		}
		l, ok := byParent[key{parent, qtype}]
		if !ok {
			name := wildcardProbeName(parent)
			if name == "" {
				continue
			}
			l = &Lookup{}
			byParent[key{parent, qtype}] = l
			wg.Go(func() { *l = v.lookup(ctx, name, qtype) })
		}
		p.Wildcard = l
	}
	wg.Wait()
}

// maxDoubledZones bounds the zones tried for a doubled name (see
// doubledZones): one query each, and a zone is seldom cut more than two
// labels below the registered domain.
const maxDoubledZones = 3

// doubledZones returns the zones a DNS console may have appended to the full
// host typed by the applicant: the registered domain of base (public suffix
// plus one label) first, then each parent of base below it, nearest the
// registered domain first, since a delegated subzone (shop.example.com for
// www.shop.example.com) appends its own name. base itself is not included
// (that is the doubled-domain probe); at most maxDoubledZones are returned.
func doubledZones(base string) []string {
	reg, err := publicsuffix.EffectiveTLDPlusOne(base)
	if err != nil || reg == base {
		return nil
	}
	zones := []string{reg}
	labels := strings.Split(strings.TrimSuffix(base, "."+reg), ".")
	for i := len(labels) - 1; i >= 1 && len(zones) < maxDoubledZones; i-- {
		zones = append(zones, strings.Join(labels[i:], ".")+"."+reg)
	}
	return zones
}

// parentInRegistered returns the parent of base (base without its first
// label) when base lies strictly below its registered domain (public
// suffix plus one label): the parent is then a name of the applicant's.
func parentInRegistered(base string) (string, bool) {
	reg, err := publicsuffix.EffectiveTLDPlusOne(base)
	if err != nil || reg == base {
		return "", false
	}
	_, parent, _ := strings.Cut(base, ".")
	return parent, true
}

// reversedHost returns <first label of base>.<prefix>.<rest of base>: the
// record host typed with the prefix after the domain's first label
// (www._dnsauth.example.com). Only when base lies below its registered
// domain, so that the name stays in the applicant's zone.
func reversedHost(prefix, base string) (string, bool) {
	parent, ok := parentInRegistered(base)
	if !ok {
		return "", false
	}
	label, _, _ := strings.Cut(base, ".")
	return label + "." + prefix + "." + parent, true
}

// recordHolds reports whether the lookup l has value among its TXT values
// and is not DNSSEC-bogus: a bogus answer proves nothing (RFC 4035 §5.5),
// however right its data looks.
func recordHolds(l *Lookup, value string) bool {
	if l.Response != nil && l.Response.DNSSEC == dnsclient.Bogus.String() {
		return false
	}
	return slices.Contains(l.TXTValues(), value)
}

// wildcardProbeName returns _dnsauth-<random>.<base>: a name in the same
// zone as the record host that nobody created, so TXT records there come
// from a wildcard (RFC 4592). It returns "" when the name would be too long.
func wildcardProbeName(base string) string {
	b := make([]byte, wildcardLabelBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	name := DNSPrefix + "-" + hex.EncodeToString(b) + "." + base
	if _, ok := dns.IsDomainName(name); !ok {
		return ""
	}
	return name
}

// askAuthorities starts, in wg, asking every authoritative server of the
// zone of obs.Host for its TXT records (obs.Authoritative) and, when the
// record lookup followed a CNAME chain, every one of the zone of the name it
// ends at (obs.Target, obs.TargetAuthoritative): the record that counts
// lives there, and those servers may disagree too. It does nothing when the
// resolver cannot ask authoritative servers (forward mode).
func (v *Validator) askAuthorities(ctx context.Context, wg *sync.WaitGroup, obs *DNSObservation) {
	av, ok := v.cfg.Resolver.(authoritativeViewer)
	if !ok {
		return
	}
	if r := obs.Record.Response; r != nil && len(r.CNAMEs) > 0 {
		obs.Target = strings.ToLower(dns.Fqdn(r.CNAMEs[len(r.CNAMEs)-1]))
	}
	host, target := obs.Host, obs.Target
	wg.Go(func() { obs.Authoritative, obs.AuthoritativeErr = authoritative(ctx, av, host) })
	if target != "" {
		wg.Go(func() { obs.TargetAuthoritative, obs.TargetAuthoritativeErr = authoritative(ctx, av, target) })
	}
}

// authoritative asks av for every authoritative server's view of host's
// TXT records, keeping a failure as a *dnsclient.Error.
func authoritative(ctx context.Context, av authoritativeViewer, host string) (*dnsclient.ZoneView, *dnsclient.Error) {
	return authoritativeOf(ctx, av, host, dns.TypeTXT)
}

// authoritativeOf is authoritative for records of type qtype.
func authoritativeOf(ctx context.Context, av authoritativeViewer, host string, qtype uint16) (*dnsclient.ZoneView, *dnsclient.Error) {
	view, err := av.Authoritative(ctx, host, qtype)
	typ := dns.TypeToString[qtype]
	var de *dnsclient.Error
	switch {
	case errors.As(err, &de):
		return nil, de
	case err != nil:
		return nil, &dnsclient.Error{Kind: dnsclient.KindUnknown, Name: host, Type: typ, Detail: err.Error()}
	case view == nil:
		return nil, &dnsclient.Error{Kind: dnsclient.KindUnknown, Name: host, Type: typ, Detail: "resolver returned no zone view"}
	}
	return view, nil
}

// baseDomain strips the wildcard label of a wildcard domain.
func baseDomain(domain string) string { return strings.TrimPrefix(domain, "*.") }

// lookup asks the resolver for name and qtype and keeps the response or the
// error as evidence. An error that is not a *dnsclient.Error is kept as one
// of KindUnknown.
func (v *Validator) lookup(ctx context.Context, name string, qtype uint16) Lookup {
	l := Lookup{Name: name, Type: dns.TypeToString[qtype]}
	resp, err := v.cfg.Resolver.Lookup(ctx, name, qtype)
	var de *dnsclient.Error
	switch {
	case errors.As(err, &de):
		l.Err = de
	case err != nil:
		l.Err = &dnsclient.Error{Kind: dnsclient.KindUnknown, Name: name, Type: l.Type, Detail: err.Error()}
	case resp == nil:
		l.Err = &dnsclient.Error{Kind: dnsclient.KindUnknown, Name: name, Type: l.Type, Detail: "resolver returned no response"}
	default:
		l.Response = resp
	}
	return l
}

// cnamePrefixed returns prefix put before the end of the CNAME chain of
// rec, the record host's lookup, when there is one: where an applicant who
// delegated validation by CNAME may have published the record with its
// prefix (black-box run), instead of at the CNAME's target itself.
func cnamePrefixed(rec *Lookup, prefix string) (string, bool) {
	r := rec.Response
	if r == nil || len(r.CNAMEs) == 0 {
		return "", false
	}
	target := strings.TrimSuffix(r.CNAMEs[len(r.CNAMEs)-1], ".")
	if target == "" || strings.HasPrefix(target, prefix+".") {
		return "", false
	}
	return prefix + "." + target, true
}
