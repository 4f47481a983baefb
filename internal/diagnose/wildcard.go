package diagnose

import (
	"strings"

	"github.com/dcvhq/dcv/internal/validation"
)

// Message ids of a value found, at a probed host, in a wildcard record
// that does not cover the record host.
const (
	noteWildcardOwner         msg = "noteWildcardOwner"
	noteWildcardOwnerNoReason msg = "noteWildcardOwnerNoReason"
	noteWildcardAt            msg = "noteWildcardAt"
	noteWildcardAtNoReason    msg = "noteWildcardAtNoReason"
)

func init() {
	extend("", nil, map[msg]string{
		noteWildcardOwner:         "A wildcard TXT record %[1]s holds the value, but a wildcard stands in only for names that do not exist: it does not cover %[2]s, because %[3]s exists.",
		noteWildcardOwnerNoReason: "A wildcard TXT record %[1]s holds the value, but a wildcard stands in only for names that do not exist: it does not cover %[2]s.",
		noteWildcardAt:            "A wildcard TXT record holds the value (%[1]s and a random name beside it return it), but a wildcard stands in only for names that do not exist: it does not cover %[2]s, because %[3]s exists.",
		noteWildcardAtNoReason:    "A wildcard TXT record holds the value (%[1]s and a random name beside it return it), but a wildcard stands in only for names that do not exist: it does not cover %[2]s.",
	})
}

// fromWildcard reports whether probe p's TXT values are exactly those of
// the random name asked beside it (Probe.Wildcard): then they come from a
// wildcard record, not from a record someone put at the probed name.
func fromWildcard(p *validation.Probe) bool {
	return explainedBy(wildcardValues(p.Wildcard), &p.Lookup)
}

// wildcardNote explains the value that probes found only in a wildcard
// record (hits, each fromWildcard): it names the wildcard when a random
// name was asked right under an ancestor of the domain (which exists when
// the domain does, so that the wildcard there is the one that answered),
// and says why it does not answer at host: host exists (a NOERROR answer
// without the value), or the domain does and host does not (RFC 4592
// §2.2.1: a wildcard does not cover the names below an existing name).
// It returns "" when hits is empty.
func (d *diagnoser) wildcardNote(n *validation.DNSObservation, hits []*validation.Probe, host, base string) string {
	if len(hits) == 0 {
		return ""
	}
	var parent string
	for _, p := range hits {
		_, at, _ := strings.Cut(trimDot(strings.ToLower(p.Wildcard.Name)), ".")
		if (at == base || strings.HasSuffix(base, "."+at)) && len(at) > len(parent) {
			parent = at
		}
	}
	var exists string
	switch r := n.Record.Response; {
	case r != nil && r.Rcode == rcodeNoError && len(r.CNAMEs) == 0:
		exists = host
	case r != nil && r.Rcode == rcodeNXDomain && len(r.CNAMEs) == 0 &&
		n.Domain != nil && n.Domain.Err == nil && n.Domain.Response != nil && n.Domain.Response.Rcode == rcodeNoError:
		exists = base
	}
	h, e := Truncate(host, maxNameShown), Truncate(exists, maxNameShown)
	switch {
	case parent != "" && exists != "":
		return d.c.f(noteWildcardOwner, Truncate("*."+parent, maxNameShown), h, e)
	case parent != "":
		return d.c.f(noteWildcardOwnerNoReason, Truncate("*."+parent, maxNameShown), h)
	}
	at := Truncate(trimDot(hits[0].Lookup.Name), maxNameShown)
	if exists != "" {
		return d.c.f(noteWildcardAt, at, h, e)
	}
	return d.c.f(noteWildcardAtNoReason, at, h)
}
