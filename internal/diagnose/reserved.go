package diagnose

import "github.com/dcvhq/dcv/internal/dnsclient"

// Message ids of a lookup that failed because the nameservers of a zone
// are at special-purpose addresses, which dcv does not query.
const (
	msgReservedServers msg = "msgReservedServers"
	fixReservedServers msg = "fixReservedServers"
)

func init() {
	extend("", nil, map[msg]string{
		msgReservedServers: "The %[3]s lookup of %[1]s failed: the nameservers of %[2]s are at special-purpose addresses (%[4]s). Those addresses (private, loopback, link-local and the like, RFC 6890) are not on the public Internet, and a certificate authority does not send queries to them.",
		fixReservedServers: "Give the nameservers of %[1]s public IP addresses: correct their A and AAAA records, and the glue records at the registrar of %[1]s for nameservers inside that zone; then check again.",
	})
}

// reservedServers diagnoses a lookup (lookupTXT, lookupCAA, lookupAddress)
// at host that failed because every nameserver of zone is at a
// special-purpose address (servers lists them; see
// dnsclient.Error.ReservedServers). The finding is DNS_LOOKUP_FAILED, for
// the caller to recode; it is not retryable: nothing changes until the
// addresses do. ok is false when servers is empty.
func (d *diagnoser) reservedServers(zone, servers, host, lookup string) (Finding, bool) {
	if servers == "" {
		return Finding{}, false
	}
	z := Truncate(trimDot(zone), maxNameShown)
	return Finding{
		Code:     CodeDNSLookupFailed,
		Severity: SeverityError,
		Message:  d.c.f(msgReservedServers, host, z, lookup, Truncate(servers, maxDetailShown)),
		Fix:      d.c.f(fixReservedServers, z),
	}, true
}

// reservedErr is reservedServers for a DNS lookup's error.
func (d *diagnoser) reservedErr(e *dnsclient.Error, host, lookup string) (Finding, bool) {
	if e == nil {
		return Finding{}, false
	}
	return d.reservedServers(e.Zone, e.ReservedServers, host, lookup)
}
