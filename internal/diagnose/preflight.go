package diagnose

import (
	"slices"
	"time"

	"github.com/dcvhq/dcv/internal/validation"
)

// Preflight diagnoses a pre-flight check of one domain: observations made
// without an order (`dcv check`, POST /api/v1/checks). With an expected
// value it is Domain. Without one (Expected empty) nothing can be compared,
// so it diagnoses what can be: whether the domain resolves, the
// authoritative servers (lame, out of sync), DNSSEC and CAA, and for the
// DNS method adds an informational DNS_TXT_PRESENT finding listing the TXT
// values at the record host; for the file method, the fetch's failures
// except a content mismatch. now is used only for ETAs.
//
// Preflight does no I/O and is safe for concurrent use.
func Preflight(obs []validation.Observation, now time.Time) Result {
	if len(obs) == 0 || obs[0].Expected != "" {
		return Domain(obs, now)
	}
	d := diagnoser{c: &catalogEN, now: now}
	o := &obs[0]
	var all []Finding
	switch {
	case o.DNS != nil:
		all = d.dnsNoValue(o)
	case o.File != nil:
		all = slices.DeleteFunc(d.file(o), func(f Finding) bool { return f.Code == CodeFileContentMismatch })
	default:
		all = []Finding{d.invalid(o.Domain, msgInvalidNoEvidence)}
	}
	all = append(all, d.caaFindings(o.CAA, recordZones(o)...)...)
	if all == nil {
		all = []Finding{}
	}
	Sort(all)
	status := StatusApproved
	if slices.ContainsFunc(all, Finding.Blocking) {
		status = StatusPending
	}
	return Result{Status: status, Findings: all}
}

// dnsNoValue diagnoses the DNS evidence of a pre-flight check without a
// value.
func (d *diagnoser) dnsNoValue(o *validation.Observation) []Finding {
	n := o.DNS
	host := trimDot(n.Host)
	if host == "" {
		host = validation.DNSPrefix + "." + baseDomain(o.Domain)
	}
	d.zone = hostZone(n, host)
	z := analyseZone(n.Authoritative, "")
	var out []Finding
	rec := &n.Record
	switch f, ok := d.dnssecBogus(rec, host); {
	case ok:
		out = append(out, f)
	default:
		if f, ok := d.dnssecBogus(n.Domain, baseDomain(o.Domain)); ok {
			out = append(out, f)
			break
		}
		if f, ok := d.domainUnresolvable(n.Domain, o.Domain); ok {
			out = append(out, f)
			break
		}
		if rec.Err != nil {
			if f, ok := d.resolverLame(rec.Err, host); ok {
				out = append(out, f)
			} else {
				out = append(out, d.recordError(rec.Err, host))
			}
			break
		}
		if rec.Response != nil {
			// A lookup that failed is not "no record yet".
			if f, ok := d.failedRcode(rec.Response, host); ok {
				out = append(out, f)
				break
			}
		}
		out = append(out, d.withSubzoneNote([]Finding{d.txtPresent(rec, host)}, n, host)...)
	}
	if f, ok := d.lameServers(z); ok && !slices.ContainsFunc(out, func(f Finding) bool { return f.Code == CodeDNSLameDelegation }) {
		out = append(out, f)
	}
	if f, ok := d.inconsistent(z); ok {
		out = append(out, f)
	}
	return out
}
