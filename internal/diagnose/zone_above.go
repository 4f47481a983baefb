package diagnose

import (
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/dcvhq/dcv/internal/dnsclient"
)

// A lookup that fails because no server of a zone above the applicant's
// registered domain answers (a TLD's servers, as seen from dcv) is not the
// domain's nameservers' failure, and nothing the applicant changes at the
// domain fixes it: the finding says so, and names the zone.

const (
	msgRecordAboveDomain msg = "msgRecordAboveDomain"
	msgDomainAboveDomain msg = "msgDomainAboveDomain"
	msgCAAAboveDomain    msg = "msgCAAAboveDomain"
	fixAboveDomain       msg = "fixAboveDomain"
)

func init() {
	extend("", nil, map[msg]string{
		msgRecordAboveDomain: "The TXT lookup of %[1]s failed before it reached the domain's nameservers: no server of %[2]s, above %[3]s, answered dcv (%[4]s). That is the registry's side, or the network between it and dcv, not the domain's own nameservers.",
		msgDomainAboveDomain: "%[1]s could not be resolved: no server of %[2]s, above %[3]s, answered dcv (%[4]s). That is the registry's side, or the network between it and dcv, not the domain's own nameservers.",
		msgCAAAboveDomain:    "The CAA lookup of %[1]s failed before it reached the domain's nameservers: no server of %[2]s, above %[3]s, answered dcv (%[4]s). That is the registry's side, or the network between it and dcv, not the domain's own nameservers; dcv issues only after a CAA lookup that succeeds.",
		fixAboveDomain:       "Nothing needs to change at %[2]s: check again in a few minutes. If it lasts for hours, ask your registrar whether %[2]s is still delegated in %[1]s.",
	})
}

// zoneAbove returns the zone named by e (the zone none of whose servers
// answered) when it lies above the registered domain of host, with that
// registered domain; ok is false otherwise, or when e names no zone.
func zoneAbove(e *dnsclient.Error, host string) (zone, registered string, ok bool) {
	if e == nil || (e.Kind != dnsclient.KindTimeout && e.Kind != dnsclient.KindNetwork) {
		return "", "", false
	}
	return zoneAboveHost(e.Zone, host)
}

// zoneAboveHost returns failed (a zone none of whose servers answered a
// lookup of host) when it lies above the registered domain of host, with
// that registered domain; ok is false otherwise, or when failed is "".
func zoneAboveHost(failed, host string) (zone, registered string, ok bool) {
	if failed == "" {
		return "", "", false
	}
	reg, err := publicsuffix.EffectiveTLDPlusOne(trimDot(strings.ToLower(host)))
	if err != nil {
		return "", "", false
	}
	if failed == "." {
		return ".", reg, true
	}
	zone = trimDot(strings.ToLower(failed))
	if zone == reg || !strings.HasSuffix(reg, "."+zone) {
		return "", "", false
	}
	return failed, reg, true
}

// aboveDomainFinding is the finding of code for a lookup of name (the
// record's host, or the domain) that failed at zone, above registered, the
// way kind says (a timeout, a network error).
func (d *diagnoser) aboveDomainFinding(code Code, m msg, kind, name, zone, registered string) Finding {
	shown := "the " + trimDot(zone) + " zone"
	if zone == "." {
		shown = "the root zone"
	}
	return Finding{
		Code:      code,
		Severity:  SeverityError,
		Message:   d.c.f(m, name, shown, registered, kind),
		Fix:       d.c.f(fixAboveDomain, shown, registered),
		Retryable: true,
	}
}
