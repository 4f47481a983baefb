package diagnose

import (
	"cmp"
	"slices"
	"strings"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
)

const (
	noteAddressesDisagree msg = "noteAddressesDisagree"
	noteAddressesVary     msg = "noteAddressesVary"
	msgDomainRefused      msg = "msgDomainRefused"
	msgDomainLame         msg = "msgDomainLame"
	fixDomainLame         msg = "fixDomainLame"
	wordServerGives       msg = "wordServerGives"
	wordNoAddress         msg = "wordNoAddress"
)

func init() {
	extend("", nil, map[msg]string{
		noteAddressesDisagree: "The nameservers of the %[1]s zone give different %[2]s records for %[3]s: %[4]s. A fetch reaches the web server of whichever answer the lookup got, so the outcome can change from one check to the next. If you changed the address recently, wait until every nameserver serves it (the highest SOA serial is the newest version); otherwise correct the zone on the servers that differ.",
		noteAddressesVary:     "The nameservers of the %[1]s zone give different %[2]s records for %[3]s from the same version of the zone: %[4]s. A fetch reaches the web server of whichever answer the lookup got. If the DNS host answers differently on purpose (geographic or load-balanced answers), every address it gives must serve the file; otherwise correct the zone on the servers that differ.",
		wordServerGives:       "%[1]s gives %[2]s",
		wordNoAddress:         "none",
		msgDomainRefused:      "%[1]s could not be resolved: %[2]s answered REFUSED: the nameserver does not serve the domain's zone (a lame delegation).",
		msgDomainLame:         "%[1]s could not be resolved: no nameserver delegated for its zone serves it: %[2]s.",
		fixDomainLame:         "Make every nameserver listed in the NS records of %[1]s's zone (at the zone and at its parent, the registrar) serve the zone, or remove from the NS records those that do not.",
	})
}

// withAddressDisagreement adds to the first blocking finding of a file
// observation what the domain's authoritative servers disagree on, when
// they give different addresses for it, or for its CNAME target
// (validation.FileObservation's AddressViews): the fetch may have reached
// a stale one. Such a finding becomes retryable when the servers serve
// different versions of the zone: a lagging server catches up. A file
// check that passed while the servers serve different versions gets a
// warning: the next check may reach the other address.
func (d *diagnoser) withAddressDisagreement(o *validation.Observation, fs []Finding) []Finding {
	if o.File == nil {
		return fs
	}
	i := slices.IndexFunc(fs, Finding.Blocking)
	for _, view := range o.File.AddressViews {
		note, lagging, ok := d.addressesDisagree(view, trimDot(o.Domain))
		switch {
		case !ok:
			continue
		case i >= 0:
			fs[i].Message = join(fs[i].Message, note)
			// A lagging server catches up; answers that differ by design
			// do not change by waiting.
			fs[i].Retryable = fs[i].Retryable || lagging
			if lagging && fs[i].Code == CodeDomainUnresolvable {
				// The lookup reached a server without the address another
				// one serves: "add an address record" would be the wrong
				// fix; the servers are to bring in line.
				fs[i].Fix = d.c.f(fixInconsistent, Truncate(trimDot(view.Zone), maxNameShown))
			}
		case lagging:
			zone := Truncate(trimDot(view.Zone), maxNameShown)
			fs = append(fs, Finding{Code: CodeDNSNameserverInconsistent, Severity: SeverityWarning, Message: note,
				Fix: d.c.f(fixInconsistent, zone), Retryable: true})
		}
		return fs
	}
	return fs
}

// addressesDisagree says which addresses each server of view gives, when
// the servers that answer with authority do not all give the same set;
// lagging is set when they serve different versions of the zone (SOA
// serials), one of which may be catching up, rather than the same version
// answering differently (geographic or load-balanced answers).
func (d *diagnoser) addressesDisagree(view *dnsclient.ZoneView, host string) (note string, lagging, ok bool) {
	if view == nil {
		return "", false, false
	}
	var parts []string
	sets := map[string]bool{}
	serials := map[uint32]bool{}
	typ := ""
	for _, sv := range view.Servers {
		a := sv.Answer
		if sv.Lame || a == nil || (a.Rcode != rcodeNoError && a.Rcode != rcodeNXDomain) {
			continue
		}
		// A CNAME answer holds the target's addresses when the target is
		// in the same zone: they are the target's.
		typ = cmp.Or(typ, a.Type)
		host = cmp.Or(lastCNAME(a), trimDot(strings.ToLower(a.Name)), host)
		var addrs []string
		for _, r := range a.Answer {
			if r.Type == "A" || r.Type == "AAAA" {
				addrs = append(addrs, r.Data)
			}
		}
		slices.Sort(addrs)
		addrs = slices.Compact(addrs)
		sets[strings.Join(addrs, " ")] = true
		shown := d.c.f(wordNoAddress)
		if len(addrs) > 0 {
			shown = Truncate(strings.Join(addrs, d.c.f(wordListSep)), maxDetailShown)
		}
		serials[sv.SOASerial] = true
		parts = append(parts, d.c.f(wordServerGives, d.serversWithSerials([]dnsclient.ServerView{sv}), shown))
	}
	if len(sets) < 2 {
		return "", false, false
	}
	m := noteAddressesDisagree
	if len(serials) == 1 && !serials[0] {
		m = noteAddressesVary
	}
	return d.c.f(m, Truncate(trimDot(view.Zone), maxNameShown), cmp.Or(typ, "address"), Truncate(host, maxNameShown), strings.Join(parts, "; ")), m == noteAddressesDisagree, true
}
