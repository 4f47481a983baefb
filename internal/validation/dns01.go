package validation

import (
	"context"
	"slices"
	"sync"

	"github.com/miekg/dns"
)

// DNS01Prefix is the label of RFC 8555 §8.4: "_acme-challenge".
const DNS01Prefix = "_acme-challenge"

// observeDNS01 looks up the TXT records at _acme-challenge.<domain> (the base
// domain for a wildcard, RFC 8555 §8.4 and §7.1.3) and expects
// req.Value, the key authorization digest, among them. Where the resolver
// can, it asks every authoritative server of the zone for the record too,
// whether or not the value was seen. When it is missing it
// also looks at the domain itself and at the hosts where the record is
// commonly put by mistake, exactly as the dns method does (a random name
// beside each probed name that has the value included), so that diagnose
// can say where it went.
func (v *Validator) observeDNS01(ctx context.Context, req Request) *DNSObservation {
	base := baseDomain(req.Domain)
	host := DNS01Prefix + "." + base
	obs := &DNSObservation{Host: host, Record: v.lookup(ctx, host, dns.TypeTXT)}
	// Every authoritative server of the zone (and of a CNAME target's, as
	// for acme-dns) is asked for the record, found or not, as by the dns
	// method: a lookup reaches one server at random, so a record that a DNS
	// hook published on one server and not yet on another would pass or
	// fail by chance (black-box run); diagnose blocks it either way, and
	// names the server that lags.
	var wg sync.WaitGroup
	v.askAuthorities(ctx, &wg, obs)
	// As the dns method: a value in a bogus answer is no value found, and
	// the probes tell the rest.
	if recordHolds(&obs.Record, req.Value) {
		wg.Wait()
		return obs
	}
	type probe struct{ kind, name string }
	var probes []probe
	for _, zone := range doubledZones(base) {
		probes = append(probes, probe{ProbeDoubledZone, host + "." + zone})
	}
	probes = append(probes, probe{ProbeDoubledDomain, host + "." + base}, probe{ProbeBareDomain, base},
		probe{ProbeDoubledPrefix, DNS01Prefix + "." + host},
		// The dns method's host, where the value is often put by habit,
		// and the host typed with its labels in the wrong order.
		probe{ProbeOtherPrefix, DNSPrefix + "." + base})
	if name, ok := reversedHost(DNS01Prefix, base); ok {
		probes = append(probes, probe{ProbeReversed, name})
	}
	if name, ok := cnamePrefixed(&obs.Record, DNS01Prefix); ok {
		probes = append(probes, probe{ProbeCNAMEPrefixed, name})
	}
	probes = slices.DeleteFunc(probes, func(p probe) bool {
		_, ok := dns.IsDomainName(p.name)
		return !ok
	})
	var domain Lookup
	obs.Probes = make([]Probe, len(probes))
	wg.Go(func() { domain = v.lookup(ctx, base, dns.TypeA) })
	for i, p := range probes {
		wg.Go(func() { obs.Probes[i] = Probe{Kind: p.kind, Lookup: v.lookup(ctx, p.name, dns.TypeTXT)} })
	}
	// A random name beside the record host, as for the dns method: values
	// a wildcard gives there too are the wildcard's, and the fix warns of
	// what a record at the host does to it (verification run).
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
