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

// gluelessIn is glueless for an error's detail alone.
func gluelessIn(detail string) string {
	detail = stripFollowing(detail)
	i := strings.Index(detail, detailGluelessLoop)
	if i < 0 {
		return ""
	}
	ns := detail[:i]
	if j := strings.LastIndex(ns, detailGluelessPrefix); j >= 0 {
		ns = ns[j+len(detailGluelessPrefix):]
	}
	return Truncate(trimDot(strings.ToLower(ns)), maxNameShown)
}
