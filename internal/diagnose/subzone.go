package diagnose

import (
	"slices"
	"strings"

	"github.com/dcvhq/dcv/internal/validation"
)

// Message ids of a record host in a zone of its own below the registered
// domain.
const (
	noteSubzone            msg = "noteSubzone"
	noteSubzoneServers     msg = "noteSubzoneServers"
	noteSubzoneApex        msg = "noteSubzoneApex"
	noteSubzoneApexServers msg = "noteSubzoneApexServers"
)

func init() {
	extend("", nil, map[msg]string{
		noteSubzone:            "The host is relative to the zone %[1]s, delegated from %[2]s: add the record in the zone %[1]s, at the DNS host that serves it. A record at host `%[3]s` in the zone %[2]s is hidden by the delegation and never seen.",
		noteSubzoneServers:     "The host is relative to the zone %[1]s, delegated from %[2]s to the nameservers %[4]s: add the record in the zone %[1]s, at the DNS host that serves it. A record at host `%[3]s` in the zone %[2]s is hidden by the delegation and never seen.",
		noteSubzoneApex:        "The host %[1]s is a zone of its own, delegated from %[2]s: add the record at the apex of the zone %[1]s (host `@`), at the DNS host that serves it. A record at host `%[3]s` in the zone %[2]s is hidden by the delegation and never seen.",
		noteSubzoneApexServers: "The host %[1]s is a zone of its own, delegated from %[2]s to the nameservers %[4]s: add the record at the apex of the zone %[1]s (host `@`), at the DNS host that serves it. A record at host `%[3]s` in the zone %[2]s is hidden by the delegation and never seen.",
	})
}

// maxSubzoneServers bounds the nameservers a subzone note names.
const maxSubzoneServers = 4

// subzoneNote says, when the zone of host the evidence names (d.zone) is
// not the registered domain but a zone delegated below it, in which zone
// (and on which nameservers, when known) the record goes: someone editing
// the registered domain's zone would create it where the delegation hides
// it. When host is that zone's apex (the record host itself delegated, as
// for a validation service's own nameservers), the record goes at the
// apex, `@`. It returns "" otherwise.
func (d *diagnoser) subzoneNote(n *validation.DNSObservation, host string) string {
	zone := d.zone
	_, reg := relativeHost(host)
	if zone == "" || reg == "" || zone == reg || !strings.HasSuffix(zone, "."+reg) || host != zone && !strings.HasSuffix(host, "."+zone) {
		return ""
	}
	inParent := strings.TrimSuffix(host, "."+reg)
	var names []string
	if v := n.Authoritative; v != nil && strings.EqualFold(trimDot(v.Zone), zone) {
		for _, sv := range v.Servers {
			if name := Truncate(trimDot(strings.ToLower(sv.NS)), maxNameShown); name != "" && !slices.Contains(names, name) && len(names) < maxSubzoneServers {
				names = append(names, name)
			}
		}
	}
	z, r, p := Truncate(zone, maxNameShown), Truncate(reg, maxNameShown), Truncate(inParent, maxNameShown)
	note, withServers := noteSubzone, noteSubzoneServers
	if host == zone {
		note, withServers = noteSubzoneApex, noteSubzoneApexServers
	}
	if len(names) == 0 {
		return d.c.f(note, z, r, p)
	}
	return d.c.f(withServers, z, r, p, strings.Join(names, d.c.f(wordListSep)))
}

// withSubzoneNote appends the subzone note to the fix of the findings
// that tell where to put the record.
func (d *diagnoser) withSubzoneNote(fs []Finding, n *validation.DNSObservation, host string) []Finding {
	note := d.subzoneNote(n, host)
	if note == "" {
		return fs
	}
	for i := range fs {
		switch fs[i].Code {
		case CodeDNSRecordNotFound, CodeDNSRecordMismatch, CodeDNSWrongType, CodeDNSWrongHost, CodeDNSTXTPresent:
			fs[i].Fix = join(fs[i].Fix, note)
		}
	}
	return fs
}
