package validation

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"
	"golang.org/x/net/publicsuffix"

	"github.com/dcvhq/dcv/internal/dnsclient"
)

// observeDNSAuth looks up the TXT record at _dnsauth.<domain> (for
// "*.<domain>" too: the record proves control of the base domain). When the
// expected value is not among the TXT values it also looks, in parallel, at
// the domain itself (type A, to tell "the domain does not resolve" from "the
// record is missing") and at the names where applicants commonly put the
// record by mistake, so that diagnose can say where it went.
func (v *Validator) observeDNSAuth(ctx context.Context, req Request) *DNSObservation {
	base := baseDomain(req.Domain)
	host := DNSPrefix + "." + base
	obs := &DNSObservation{Host: host, Record: v.lookup(ctx, host, dns.TypeTXT)}
	if slices.Contains(obs.Record.TXTValues(), req.Value) {
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
	if zone, err := publicsuffix.EffectiveTLDPlusOne(base); err == nil && zone != base {
		probes = append(probes, probe{ProbeDoubledZone, host + "." + zone, dns.TypeTXT})
	}
	probes = append(probes,
		probe{ProbeDoubledDomain, host + "." + base, dns.TypeTXT},
		probe{ProbeBareDomain, base, dns.TypeTXT},
	)
	// A doubled name may exceed the 255 octets of RFC 1035 §2.3.4; it
	// cannot hold a record then, so it is not asked.
	probes = slices.DeleteFunc(probes, func(p probe) bool {
		_, ok := dns.IsDomainName(p.name)
		return !ok
	})

	var (
		wg     sync.WaitGroup
		domain Lookup
	)
	obs.Probes = make([]Probe, len(probes))
	wg.Go(func() { domain = v.lookup(ctx, base, dns.TypeA) })
	for i, p := range probes {
		wg.Go(func() { obs.Probes[i] = Probe{Kind: p.kind, Lookup: v.lookup(ctx, p.name, p.qtype)} })
	}
	wg.Wait()
	obs.Domain = &domain
	return obs
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
