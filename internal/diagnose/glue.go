package diagnose

import (
	"strings"

	"github.com/dcvhq/dcv/internal/dnsclient"
)

// CodeDNSGlueMissing is a delegation whose nameservers can be found only
// through themselves: each lies inside the zone it serves, and the parent
// zone gives no address (glue) for it.
const CodeDNSGlueMissing Code = "DNS_GLUE_MISSING"

// Message ids of a delegation without glue.
const (
	msgRecordGlueMissing msg = "msgRecordGlueMissing"
	msgDomainGlueMissing msg = "msgDomainGlueMissing"
	msgRecordNSCycle     msg = "msgRecordNSCycle"
	msgDomainNSCycle     msg = "msgDomainNSCycle"
	fixNSCycle           msg = "fixNSCycle"
	wordCAANSCycle       msg = "wordCAANSCycle"
	fixGlueMissing       msg = "fixGlueMissing"
	wordCAAGlueMissing   msg = "wordCAAGlueMissing"
)

// detailGluelessLoop is the end of the dnsclient error detail of a
// nameserver that is needed to find its own address ("name server X needs
// itself to be resolved (glueless loop)").
const (
	detailGluelessPrefix = "name server "
	detailGluelessLoop   = " needs itself to be resolved (glueless loop)"
)

func init() {
	extend(CodeDNSTimeout, map[Code]string{CodeDNSGlueMissing: "Nameserver without glue"}, map[msg]string{
		msgRecordGlueMissing: "The TXT lookup of %[1]s failed: the nameserver %[2]s lies inside the zone it serves, and the delegation to that zone gives no address (glue) for it, so it can only be found by asking itself.",
		msgDomainGlueMissing: "%[1]s could not be resolved: the nameserver %[2]s lies inside the zone it serves, and the delegation to that zone gives no address (glue) for it, so it can only be found by asking itself.",
		msgRecordNSCycle:     "The TXT lookup of %[1]s failed: the nameserver %[2]s of %[3]s lies in %[4]s, whose own nameservers can only be found through %[3]s (a circular delegation), so none is reached.",
		msgDomainNSCycle:     "%[1]s could not be resolved: the nameserver %[2]s of %[3]s lies in %[4]s, whose own nameservers can only be found through %[3]s (a circular delegation), so none is reached.",
		fixNSCycle:           "Give %[2]s at least one nameserver whose address can be found without it: one inside %[2]s with a glue record at its registrar, or one in a zone that does not depend on %[2]s; or give the zone of %[1]s nameservers that do not depend on %[2]s.",
		wordCAANSCycle:       "the nameserver %[1]s of %[2]s lies in %[3]s, whose own nameservers can only be found through %[2]s (a circular delegation)",
		fixGlueMissing:       "At the registrar of the zone that %[1]s serves, add a glue record: the IPv4 (and IPv6) address of %[1]s, as the zone itself publishes it. Or delegate the zone to nameservers outside it.",
		wordCAAGlueMissing:   "the nameserver %[1]s lies inside the zone it serves, and the delegation gives no address (glue) for it",
	}, CodeDNSGlueMissing)
}

// glueless returns the nameserver a resolver error says can only be found
// through itself (a delegation without glue), or "".
func glueless(e *dnsclient.Error) string {
	if e == nil || e.Kind != dnsclient.KindLoop {
		return ""
	}
	return gluelessIn(e.Detail)
}

// gluelessIn is glueless for an error's detail alone. Only a nameserver
// inside the zone whose servers failed counts: a cycle between two zones
// (each one's nameservers named in the other) is no missing glue, and is
// nsCycle's (review).
func gluelessIn(detail string) string {
	ns, zone, ok := gluelessLoop(detail)
	if !ok || (zone != "" && ns != zone && !strings.HasSuffix(ns, "."+zone)) {
		return ""
	}
	return Truncate(ns, maxNameShown)
}

// nsCycle returns, for a resolver error's detail, the nameserver that
// needs itself to be found and the zone whose servers failed, when the
// nameserver lies outside that zone: two zones whose nameservers are named
// in each other, neither reachable first (a circular delegation). Both ""
// otherwise.
func nsCycle(detail string) (ns, zone string) {
	ns, zone, ok := gluelessLoop(detail)
	if !ok || zone == "" || ns == zone || strings.HasSuffix(ns, "."+zone) {
		return "", ""
	}
	return Truncate(ns, maxNameShown), Truncate(zone, maxNameShown)
}

// gluelessLoop parses the detail of a nameserver needed to find its own
// address ("no server of Z answered: ... name server X needs itself to be
// resolved (glueless loop)"): X, and Z when the detail names it (else
// ""), both lowercase without the final dot; ok is false for another
// detail.
func gluelessLoop(detail string) (ns, zone string, ok bool) {
	detail = stripFollowing(detail)
	i := strings.Index(detail, detailGluelessLoop)
	if i < 0 {
		return "", "", false
	}
	before := detail[:i]
	ns = before
	if j := strings.LastIndex(ns, detailGluelessPrefix); j >= 0 {
		ns = ns[j+len(detailGluelessPrefix):]
	}
	if k := strings.LastIndex(before, detailNoServerOf); k >= 0 {
		zone, _, _ = strings.Cut(before[k+len(detailNoServerOf):], " ")
	}
	return trimDot(strings.ToLower(ns)), trimDot(strings.ToLower(zone)), true
}

// nsZone is the registered domain a nameserver's name lies in, the zone
// that serves it most likely; the name itself when none is known.
func nsZone(ns string) string {
	if _, reg := relativeHost(ns); reg != "" {
		return reg
	}
	return ns
}

// detailNoServerOf starts the part of a resolver error naming the zone
// whose servers all failed ("no server of Z answered: ...").
const detailNoServerOf = "no server of "
