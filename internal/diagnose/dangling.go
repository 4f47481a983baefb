package diagnose

import (
	"strings"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// Message ids of a domain whose CNAME leads nowhere.
const (
	msgDomainCNAMEDangling msg = "msgDomainCNAMEDangling"
	fixDomainCNAMEDangling msg = "fixDomainCNAMEDangling"
	msgDomainDNAMEDangling msg = "msgDomainDNAMEDangling"
	fixDomainDNAMEDangling msg = "fixDomainDNAMEDangling"
)

func init() {
	extend("", nil, map[msg]string{
		msgDomainCNAMEDangling: "%[1]s is a CNAME to %[2]s, and %[3]s does not exist in DNS (%[4]s answered NXDOMAIN): the CNAME points nowhere, so %[1]s has no address.",
		msgDomainDNAMEDangling: "%[1]s lies below a DNAME record at %[2]s, which redirects every name below it to the same name below %[3]s: to %[4]s, which does not exist in DNS (%[5]s answered NXDOMAIN), so %[1]s has no address. No CNAME record is there to change (RFC 6672).",
		fixDomainDNAMEDangling: "Add the address (A or AAAA) records at %[3]s, where the DNAME leads. Or remove the DNAME at %[2]s and give %[1]s its own address records; every other name below %[2]s then needs its own records too, or it stops resolving.",
		fixDomainCNAMEDangling: "Point the CNAME record of %[1]s at a name that exists (check the spelling of %[2]s, and that the service it names is still set up for your domain), or replace the CNAME with A or AAAA records pointing at the public address of the web server of %[1]s.",
	})
}

// danglingCNAME is the finding of a domain whose address lookup followed
// the CNAME chain cnames to a name that does not exist: the domain is
// there, its CNAME's target is not.
func (d *diagnoser) danglingCNAME(host string, cnames []string, dnames []dnsclient.DNAME, server string) Finding {
	chain := make([]string, len(cnames))
	for i, c := range cnames {
		chain[i] = Truncate(trimDot(c), maxNameShown)
	}
	target := chain[len(chain)-1]
	if dn, ok := hostDNAME(&dnsclient.Response{DNAMEs: dnames}, host); ok {
		// Synthesized from a DNAME: no CNAME to point elsewhere, and no
		// record to add below the DNAME (verification run).
		owner, to := Truncate(trimDot(dn.Owner), maxNameShown), Truncate(trimDot(dn.Target), maxNameShown)
		return Finding{
			Code:     CodeDomainUnresolvable,
			Severity: SeverityError,
			Message:  d.c.f(msgDomainDNAMEDangling, host, owner, to, target, d.server(server)),
			Fix:      d.c.f(fixDomainDNAMEDangling, host, owner, target),
		}
	}
	return Finding{
		Code:     CodeDomainUnresolvable,
		Severity: SeverityError,
		Message:  d.c.f(msgDomainCNAMEDangling, host, strings.Join(chain, " → "), target, d.server(server)),
		Fix:      d.c.f(fixDomainCNAMEDangling, host, target),
	}
}

// fetchBogus reports an address lookup of host whose answer failed DNSSEC
// validation (e, from webfetch), as the record lookups' DNSSEC_BOGUS: at
// the zone that failed, the CNAME target's when the chain leads there.
func (d *diagnoser) fetchBogus(e *webfetch.Error, host string) (Finding, bool) {
	if e.DNSSEC != dnsclient.Bogus.String() {
		return Finding{}, false
	}
	l := validation.Lookup{Name: host, Response: &dnsclient.Response{
		Name: host + ".", DNSSEC: e.DNSSEC, DNSSECReason: e.DNSSECReason, DNSSECZone: e.DNSSECZone, CNAMEs: e.CNAMEs,
	}}
	return d.dnssecBogus(&l, host)
}
