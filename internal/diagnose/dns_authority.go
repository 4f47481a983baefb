package diagnose

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
)

// Codes of the DNS truth engine: what the authoritative servers of a zone
// say compared with what a resolver says, and DNSSEC. Like the others, they
// are API: their meaning never changes.
const (
	// CodeDNSRecordNotPropagated: some authoritative servers have the value
	// and others do not, or every one has it but the resolver still returns
	// an older (cached) answer. Blocking, seen or not. Not retryable when
	// servers without the value serve the same SOA serial as those with
	// it, or a later one: their zone differs, and waiting will not help.
	CodeDNSRecordNotPropagated Code = "DNS_RECORD_NOT_PROPAGATED"
	// CodeDNSNameserverInconsistent: the authoritative servers serve
	// different SOA serials of the zone. A warning.
	CodeDNSNameserverInconsistent Code = "DNS_NAMESERVER_INCONSISTENT"
	// CodeDNSLameDelegation: a server delegated for the zone refuses, times
	// out, or answers without authority. A warning while another server
	// answers; blocking when none does.
	CodeDNSLameDelegation Code = "DNS_LAME_DELEGATION"
	// CodeDNSSECBogus: the answer failed DNSSEC validation (a chain of
	// trust exists but does not hold). Blocking: a bogus answer proves
	// nothing (CA/B Forum ballot SC085).
	CodeDNSSECBogus Code = "DNSSEC_BOGUS"
	// CodeDNSTXTPresent: informational, in a pre-flight check without a
	// value: the TXT values found at the record host.
	CodeDNSTXTPresent Code = "DNS_TXT_PRESENT"
)

// Message ids of this file.
const (
	msgNotPropagatedPartial       msg = "msgNotPropagatedPartial"
	msgNotPropagatedStaleNS       msg = "msgNotPropagatedStaleNS"
	fixNotPropagatedStaleNS       msg = "fixNotPropagatedStaleNS"
	noteNotPropagatedStaleNS      msg = "noteNotPropagatedStaleNS"
	msgNotPropagatedSeen          msg = "msgNotPropagatedSeen"
	msgNotPropagatedDiverged      msg = "msgNotPropagatedDiverged"
	noteRefreshETA                msg = "noteRefreshETA"
	noteRefreshPassed             msg = "noteRefreshPassed"
	fixNotPropagatedDiverged      msg = "fixNotPropagatedDiverged"
	noteNotPropagatedAlsoLagging  msg = "noteNotPropagatedAlsoLagging"
	msgNotPropagatedSameSerial    msg = "msgNotPropagatedSameSerial"
	fixNotPropagatedSameSerial    msg = "fixNotPropagatedSameSerial"
	fixNotPropagatedPartial       msg = "fixNotPropagatedPartial"
	msgNotPropagatedCached        msg = "msgNotPropagatedCached"
	msgNotPropagatedFresh         msg = "msgNotPropagatedFresh"
	fixNotPropagatedCached        msg = "fixNotPropagatedCached"
	wordOlderNXDomain             msg = "wordOlderNXDomain"
	wordOlderNoData               msg = "wordOlderNoData"
	wordOlderValues               msg = "wordOlderValues"
	wordServerSerial              msg = "wordServerSerial"
	wordServerNoSerial            msg = "wordServerNoSerial"
	wordServer                    msg = "wordServer"
	msgInconsistent               msg = "msgInconsistent"
	fixInconsistent               msg = "fixInconsistent"
	msgLame                       msg = "msgLame"
	fixLame                       msg = "fixLame"
	fixLameMany                   msg = "fixLameMany"
	msgLameLoop                   msg = "msgLameLoop"
	msgLameResolver               msg = "msgLameResolver"
	fixLameAll                    msg = "fixLameAll"
	lameRefused                   msg = "lameRefused"
	lameTimeout                   msg = "lameTimeout"
	lameNotAuth                   msg = "lameNotAuth"
	lameServfail                  msg = "lameServfail"
	lameUnreachable               msg = "lameUnreachable"
	lameMalformed                 msg = "lameMalformed"
	lameNoAddress                 msg = "lameNoAddress"
	lameReserved                  msg = "lameReserved"
	lameOther                     msg = "lameOther"
	msgDNSSECBogus                msg = "msgDNSSECBogus"
	fixDNSSECResign               msg = "fixDNSSECResign"
	fixDNSSECDS                   msg = "fixDNSSECDS"
	fixDNSSECGeneric              msg = "fixDNSSECGeneric"
	bogusExpired                  msg = "bogusExpired"
	bogusNotYet                   msg = "bogusNotYet"
	bogusDSMismatch               msg = "bogusDSMismatch"
	bogusNoRRSIG                  msg = "bogusNoRRSIG"
	bogusBadSignature             msg = "bogusBadSignature"
	bogusDenial                   msg = "bogusDenial"
	bogusDNSKEYNotSigned          msg = "bogusDNSKEYNotSigned"
	bogusParentDenies             msg = "bogusParentDenies"
	bogusDNSKEYMissing            msg = "bogusDNSKEYMissing"
	bogusNoDNSKEY                 msg = "bogusNoDNSKEY"
	fixDNSSECUnsignedDS           msg = "fixDNSSECUnsignedDS"
	bogusGeneric                  msg = "bogusGeneric"
	bogusUnverifiable             msg = "bogusUnverifiable"
	noteBogusCNAME                msg = "noteBogusCNAME"
	noteMismatchCNAME             msg = "noteMismatchCNAME"
	noteTargetOfCNAME             msg = "noteTargetOfCNAME"
	noteCNAMEDangling             msg = "noteCNAMEDangling"
	noteCNAMEUnregistered         msg = "noteCNAMEUnregistered"
	noteCNAMENoTLD                msg = "noteCNAMENoTLD"
	msgAnchorMismatch             msg = "msgAnchorMismatch"
	fixAnchorMismatch             msg = "fixAnchorMismatch"
	bogusAnchorMismatch           msg = "bogusAnchorMismatch"
	fixWrongTypeCNAMEUnregistered msg = "fixWrongTypeCNAMEUnregistered"
	noteFromCache                 msg = "noteFromCache"
	fixMismatchCNAME              msg = "fixMismatchCNAME"
	fixMismatchSibling            msg = "fixMismatchSibling"
	fixMismatchCNAMESibling       msg = "fixMismatchCNAMESibling"
	fixDNSSECUnverifiable         msg = "fixDNSSECUnverifiable"
	msgTXTPresent                 msg = "msgTXTPresent"
	msgTXTAbsent                  msg = "msgTXTAbsent"
	fixTXTPresent                 msg = "fixTXTPresent"
	fixTXTPresentCNAME            msg = "fixTXTPresentCNAME"
	msgRecordLoopAt               msg = "msgRecordLoopAt"
	msgRecordTooManyQueries       msg = "msgRecordTooManyQueries"
	msgWrongHostWWW               msg = "msgWrongHostWWW"
	fixWrongHostWWW               msg = "fixWrongHostWWW"
	noteWildcard                  msg = "noteWildcard"
	noteWildcardAddress           msg = "noteWildcardAddress"
	noteWildcardCNAME             msg = "noteWildcardCNAME"
	fixWildcardCNAME              msg = "fixWildcardCNAME"
	noteWildcardParent            msg = "noteWildcardParent"
	noteOtherOrderDNS             msg = "noteOtherOrderDNS"
	noteSibling                   msg = "noteSibling"
	noteSiblingSameHost           msg = "noteSiblingSameHost"
	wordCAABogus                  msg = "wordCAABogus"
	wordAt                        msg = "wordAt"
	wordLastAsked                 msg = "wordLastAsked"
)

func init() {
	extend(CodeDNSTimeout,
		map[Code]string{
			CodeDNSSECBogus:       "DNSSEC validation failed",
			CodeDNSLameDelegation: "Lame nameserver",
		},
		map[msg]string{
			msgDNSSECBogus:        "DNSSEC validation of %[1]s failed: %[2]s (%[3]s).",
			fixDNSSECResign:       "Ask the DNS host of %[1]s to re-sign the zone so that its signatures are current and made with the keys it publishes; if you turned DNSSEC off at the DNS host, also remove the DS record at the registrar.",
			fixDNSSECDS:           "At the registrar of %[1]s, replace the DS record with one matching the zone's current key-signing key (the DNS host shows it), or remove the DS record if the zone is no longer signed.",
			fixDNSSECGeneric:      "Check the DNSSEC setup of %[1]s: the DS record at the registrar must match the zone's key-signing key, and the DNS host must keep the signatures current. If the zone should not be signed, remove the DS record at the registrar.",
			bogusExpired:          "the signatures have expired",
			bogusNotYet:           "the signatures are not valid yet (the signer's clock may be wrong)",
			bogusDSMismatch:       "the DS record at the registrar matches none of the zone's DNSKEY keys",
			bogusNoRRSIG:          "the answer is not signed (RRSIG records are missing)",
			bogusBadSignature:     "a signature does not verify",
			bogusDenial:           "the proof that the record does not exist (NSEC/NSEC3) is missing or does not cover it",
			bogusDNSKEYNotSigned:  "the zone's DNSKEY set is not signed by the key the DS record at the registrar points to",
			bogusParentDenies:     "the parent zone proves that the zone is not delegated, yet its servers answer for it",
			bogusDNSKEYMissing:    "no DNSKEY of the zone matches the DS record at the registrar",
			bogusGeneric:          "the chain of trust from the DNS root does not hold",
			bogusNoDNSKEY:         "the zone is not signed (it publishes no DNSKEY record), but its parent zone has a DS record for it, which says that it is",
			fixDNSSECUnsignedDS:   "At the registrar of %[1]s, remove the DS record: the zone is not signed. Or sign the zone at its DNS host and replace the DS record at the registrar with the one of its new key-signing key.",
			noteBogusCNAME:        "The record is reached through a CNAME to %[1]s: the zone that fails is %[2]s, the target's, not the one holding the CNAME.",
			bogusUnverifiable:     "dcv could not obtain the DS or DNSKEY records that prove the answer genuine, and a DNSSEC answer that cannot be checked is not accepted",
			fixDNSSECUnverifiable: "Make sure every nameserver of %[1]s and of its parent zones answers DS and DNSKEY queries with authority (no firewall or DNS host filtering those types), then check again. If %[1]s is no longer signed, remove its DS record at the registrar.",
			wordCAABogus:          "the answer from %[1]s failed DNSSEC validation: %[2]s",

			msgLame:         "Lame delegation of %[1]s: %[2]s.",
			fixLame:         "Remove %[1]s from the NS records of %[2]s (at the registrar and in the zone), or configure it to answer for the zone with authority.",
			fixLameMany:     "Remove %[1]s from the NS records of %[2]s (at the registrar and in the zone), or configure them to answer for the zone with authority.",
			msgLameLoop:     "The TXT lookup of %[1]s went in circles: %[2]s, a nameserver delegated for the zone, answers with a referral to the zone itself instead of an answer (lame delegation).",
			msgLameResolver: "The TXT lookup of %[1]s failed: no nameserver of the zone answers with authority (lame delegation): %[2]s.",
			fixLameAll:      "Check at the registrar that the NS records of the zone of %[1]s name nameservers that serve it, and configure those nameservers to answer for the zone with authority (AA flag).",
			lameRefused:     "%[1]s refuses to answer for the zone (REFUSED)",
			lameTimeout:     "%[1]s does not answer (timeout)",
			lameNotAuth:     "%[1]s answers without authority (AA=0): it does not serve the zone",
			lameServfail:    "%[1]s answers SERVFAIL",
			lameUnreachable: "%[1]s cannot be reached",
			lameMalformed:   "%[1]s sends malformed answers",
			lameNoAddress:   "%[1]s has no address",
			lameReserved:    "%[1]s is at a special-purpose address (private, loopback, link-local…), which is not on the public Internet: a certificate authority does not query it",
			lameOther:       "%[1]s answers %[2]s",
		},
		CodeDNSSECBogus, CodeDNSLameDelegation)
	extend(CodeDNSWrongHost,
		map[Code]string{
			CodeDNSRecordNotPropagated:    "TXT record not yet everywhere",
			CodeDNSNameserverInconsistent: "Nameservers out of sync",
		},
		map[msg]string{
			msgNotPropagatedPartial:      "The expected value is at %[1]s on %[2]s, but not on %[3]s: the zone's nameservers are not in sync yet.",
			msgNotPropagatedStaleNS:      "The expected value is at %[1]s on %[2]s, but not on %[3]s, which the parent zone still lists as a nameserver of %[4]s although the zone itself no longer does (its NS records name %[5]s): a leftover of an earlier set of nameservers, which no longer gets the zone's changes.",
			fixNotPropagatedStaleNS:      "Remove %[1]s from the nameservers of %[2]s at your registrar (the delegation in the parent zone), so that it lists only %[3]s; or, if it should serve %[2]s, add it to the zone's NS records and make it load the zone from your primary. Waiting does not help.",
			noteNotPropagatedStaleNS:     "%[1]s is no longer among the zone's own NS records (%[2]s) but still in its delegation at the registrar: remove it there, as waiting will not bring it the record.",
			msgNotPropagatedSeen:         "The expected value is at %[1]s on %[2]s, but not on %[3]s. dcv's lookup happened to reach a server with it, but a lookup reaches one of them at random (and remote perspectives, other ones), so the record is not validated until every nameserver serves it.",
			msgNotPropagatedDiverged:     "The expected value is at %[1]s on %[2]s, but not on %[3]s, which serve the same SOA serial or a later one: the zone differs between its nameservers, and waiting will not bring the record (a secondary loads a new version of the zone only when its serial grows).",
			fixNotPropagatedDiverged:     "Correct the zone on the nameservers without the record (%[1]s), or on the primary they transfer it from: publish the record there (with several primaries that do not transfer the zone to each other, add it on each) and increase the zone's SOA serial, so that every secondary loads the new version. Also check that a later change did not remove the record.",
			noteNotPropagatedAlsoLagging: "%[1]s lack it too, with an older or unknown serial: they may still load it from the primary.",
			msgNotPropagatedSameSerial:   "The expected value is at %[1]s on %[2]s, but not on %[3]s, which serve the same SOA serial: either the DNS host changes records without changing the serial and is still copying the change to them (then the record appears within minutes), or the zone differs between its nameservers (then waiting will not bring it).",
			fixNotPropagatedSameSerial:   "Check again in a few minutes. If the record is still missing on %[1]s, correct the zone there, or on the primary they transfer it from, and increase the zone's SOA serial so that every secondary loads the new version.",
			noteRefreshETA:               "Their zone's SOA refresh interval is %[1]s: a secondary without NOTIFY loads the new version within that time.",
			noteRefreshPassed:            "A previous check expected them to load it by %[1]s (the zone's SOA refresh interval is %[2]s): that time has passed, so they are probably not getting the new version from the primary. Check the zone transfers (AXFR/IXFR) from the primary to them, and that the primary's SOA serial increased.",
			fixNotPropagatedPartial:      "Wait for the lagging nameservers to load the new version of the zone (secondaries refresh at the SOA refresh interval or on NOTIFY); if it persists, check the zone transfers from the primary to %[1]s, or publish the record on every nameserver of the zone.",
			msgNotPropagatedCached:       "Every authoritative nameserver of %[1]s has the expected value at %[2]s, but the resolver still returns an older answer (%[3]s), cached for %[4]s more.",
			msgNotPropagatedFresh:        "Every authoritative nameserver of %[1]s has the expected value at %[2]s, but the resolver got an older answer (%[3]s); resolvers may keep it for up to %[4]s.",
			fixNotPropagatedCached:       "Nothing needs to change: the record is published. Check again after %[1]s, when cached answers have expired. A lookup made before a record exists is cached for the zone's negative TTL (RFC 2308), so publish records before asking for a check.",
			wordOlderNXDomain:            "the name does not exist",
			wordOlderNoData:              "no TXT record",
			wordOlderValues:              "TXT %[1]s",
			wordServerSerial:             "%[1]s (SOA serial %[2]d)",
			wordServerNoSerial:           "%[1]s (no SOA serial)",
			wordServer:                   "%[1]s at %[2]s",
			msgInconsistent:              "The nameservers of %[1]s serve different versions of the zone: %[2]s.",
			fixInconsistent:              "Make sure every nameserver of %[1]s receives the zone's updates from the primary (zone transfers, NOTIFY), or remove the stale ones from the NS records at the registrar.",
		},
		CodeDNSRecordNotPropagated, CodeDNSNameserverInconsistent)
	extend(CodeCheckTooFrequent,
		map[Code]string{CodeDNSTXTPresent: "TXT records found"},
		map[msg]string{
			msgTXTPresent:                 "TXT records at %[1]s (answer from %[2]s): %[3]s.",
			msgTXTAbsent:                  "No TXT record at %[1]s yet (answer from %[2]s).",
			fixTXTPresent:                 "To validate, publish a TXT record at host `%[1]s` with the value of your order.",
			fixTXTPresentCNAME:            "To validate, publish a TXT record with the value of your order at %[2]s, where the CNAME at host `%[1]s` leads (a name with a CNAME record can hold no other record).",
			msgRecordLoopAt:               "The TXT lookup of %[1]s failed: its CNAME chain loops (%[2]s).",
			msgRecordTooManyQueries:       "The TXT lookup of %[1]s failed: resolving it took more queries than dcv allows (%[2]s); the delegation chain or its CNAMEs go in circles.",
			msgWrongHostWWW:               "The value was found at %[1]s, the record host of %[2]s, not at %[3]s: each name has its own record host.",
			fixWrongHostWWW:               "Add a TXT record with host `%[1]s` (full name `%[2]s`) and value `%[3]s`.",
			noteWildcard:                  "These values come from a wildcard TXT record (a random name beside the host returns them too), not from a record at the host.",
			noteWildcardCNAME:             "That CNAME is a wildcard's (a random name beside %[1]s gets it too): no record of its own is at %[1]s.",
			fixWildcardCNAME:              "Add a TXT record at host `%[1]s` with value `%[2]s`: a record put there takes precedence over the wildcard. Or add that TXT record at %[3]s, where the wildcard points.",
			noteWildcardParent:            "Mind that %[2]s seems to get its own address from the same wildcard: a record at %[1]s makes %[2]s exist (with no records of its own), and the wildcard then no longer answers for it (RFC 4592). Add the address (or CNAME) record of %[2]s explicitly when you add the TXT record, or the site stops resolving.",
			noteWildcardAddress:           "A wildcard address record answers at %[1]s, as at any name of the zone that has no records of its own (a random name beside it gets the same addresses); it holds no TXT record, and a TXT record put at %[1]s takes precedence over it.",
			wordAt:                        "at %[1]s",
			wordLastAsked:                 "the last one asked was %[1]s",
			noteSibling:                   "One value is the one for %[1]s, another domain of this order: it belongs at %[2]s, and this host needs its own value.",
			noteSiblingSameHost:           "One value is the one for %[1]s, another domain of this order that validates at this same host: keep both records, one per value.",
			noteFromCache:                 "This answer came from dcv's own cache (--resolver-cache-max-ttl), which keeps it %[1]s more; the resolver dcv forwards to may keep it for its TTL: a record changed since is seen by %[2]s at the latest.",
			noteCNAMEDangling:             "The CNAME's target %[1]s does not exist (NXDOMAIN): the CNAME points nowhere.",
			noteCNAMEUnregistered:         "Its domain %[1]s is not registered: the servers of %[2]s answered that it does not exist.",
			msgAnchorMismatch:             "dcv could not validate the DNSSEC signatures of the answers for %[1]s: its own trust anchor does not match the keys of the zone it anchors (%[2]s). This is the certificate authority's configuration (its trust anchor, or a root key change it has not followed), not your domain.",
			fixAnchorMismatch:             "Nothing needs to change at %[1]s: the certificate authority's operator must correct dcv's DNSSEC trust anchor (--trust-anchor). Check again later.",
			bogusAnchorMismatch:           "dcv's own trust anchor does not match the keys of the zone it anchors (the certificate authority's configuration)",
			noteCNAMENoTLD:                "Its top-level domain .%[1]s does not exist: the root servers answered so (a typo in the target?).",
			fixWrongTypeCNAMEUnregistered: "Remove the CNAME record at host `%[1]s` and add a TXT record there with value `%[2]s`; or, if the CNAME hands validation to your DNS provider, ask it for the right target (%[3]s does not exist, so nothing can be published there).",
			noteMismatchCNAME:             "%[1]s is a CNAME to %[2]s: these are the records of %[2]s, where validation is delegated.",
			noteTargetOfCNAME:             "%[1]s is where the CNAME at %[2]s leads: its record is the one that counts.",
			fixMismatchCNAME:              "Set the TXT record at %[1]s to exactly `%[2]s` (in the zone of %[1]s, at the DNS host that serves it), or replace the CNAME at host `%[3]s` with a TXT record holding the value.",
			fixMismatchSibling:            "Add a second TXT record at host `%[1]s` with the value `%[2]s`, and keep the one holding the value for %[3]s: both names validate at this host, each with its own record.",
			fixMismatchCNAMESibling:       "Add a second TXT record at %[1]s with the value `%[2]s` (in the zone of %[1]s, at the DNS host that serves it), and keep the one holding the value for %[4]s: both names validate at this host, each with its own record. Or replace the CNAME at host `%[3]s` with two TXT records, one per value.",
			noteOtherOrderDNS:             "One value is the value of another of your orders (a pending one, or an earlier one already issued), not of this one: each order, a renewal too, has its own value.",
		},
		CodeDNSTXTPresent)
}

// dnssecBogus reports a lookup whose answer failed DNSSEC validation:
// iterative mode marks it bogus with dnsclient's reason; forward mode marks
// a SERVFAIL carrying an RFC 8914 DNSSEC error bogus with the EDE's words.
func (d *diagnoser) dnssecBogus(l *validation.Lookup, fallbackName string) (Finding, bool) {
	if l == nil || l.Response == nil || l.Response.DNSSEC != dnsclient.Bogus.String() {
		return Finding{}, false
	}
	r := l.Response
	name := Truncate(trimDot(cmp.Or(l.Name, r.Name, fallbackName)), maxNameShown)
	if strings.HasPrefix(r.DNSSECReason, dnsclient.ReasonAnchorMismatch) {
		// dcv's own trust anchor fails, for every name: the CA's side.
		return Finding{
			Code:      CodeResolverUnavailable,
			Severity:  SeverityError,
			Message:   d.c.f(msgAnchorMismatch, name, Truncate(r.DNSSECReason, maxDetailShown)),
			Fix:       d.c.f(fixAnchorMismatch, name),
			Retryable: true,
		}, true
	}
	words, fix := d.bogusWords(r.DNSSECReason, r.EDE)
	_, zone := relativeHost(trimDot(cmp.Or(l.Name, r.Name, fallbackName)))
	note := ""
	if z := trimDot(r.DNSSECZone); z != "" && len(r.CNAMEs) > 0 && z != zone && !strings.HasSuffix(z, "."+zone) {
		// The answer that failed is a CNAME target's, in another zone:
		// its DNS host is the one to fix, not the applicant's.
		zone = z
		note = d.c.f(noteBogusCNAME, Truncate(lastCNAME(r), maxNameShown), Truncate(z, maxNameShown))
	}
	if zone == "" {
		zone = name
	}
	return Finding{
		Code:     CodeDNSSECBogus,
		Severity: SeverityError,
		Message:  join(d.c.f(msgDNSSECBogus, name, words, Truncate(cmp.Or(r.DNSSECReason, "bogus"), maxDetailShown)), note),
		Fix:      d.c.f(fix, Truncate(zone, maxNameShown)),
		// Records that could not be obtained may come with the next try.
		Retryable: strings.HasPrefix(r.DNSSECReason, dnsclient.ReasonUnverifiable),
	}, true
}

// bogusWords turns a dnsclient bogus reason (one of its Reason* prefixes)
// or RFC 8914 EDE codes into plain words and the fix that goes with them:
// re-signing at the DNS host, or the DS record at the registrar.
func (d *diagnoser) bogusWords(reason string, ede []dnsclient.EDE) (string, msg) {
	type rule struct {
		prefix string
		words  msg
		fix    msg
	}
	rules := []rule{
		{dnsclient.ReasonSignatureExpired, bogusExpired, fixDNSSECResign},
		{dnsclient.ReasonSignatureNotYet, bogusNotYet, fixDNSSECResign},
		{dnsclient.ReasonDSMismatch, bogusDSMismatch, fixDNSSECDS},
		{dnsclient.ReasonNoDNSKEY, bogusNoDNSKEY, fixDNSSECUnsignedDS},
		{dnsclient.ReasonNoRRSIG, bogusNoRRSIG, fixDNSSECResign},
		{dnsclient.ReasonBadSignature, bogusBadSignature, fixDNSSECResign},
		{dnsclient.ReasonDenialNotCovering, bogusDenial, fixDNSSECResign},
		{dnsclient.ReasonDNSKEYNotSigned, bogusDNSKEYNotSigned, fixDNSSECDS},
		{dnsclient.ReasonParentDenies, bogusParentDenies, fixDNSSECDS},
		{dnsclient.ReasonUnverifiable, bogusUnverifiable, fixDNSSECUnverifiable},
		{dnsclient.ReasonAnchorMismatch, bogusAnchorMismatch, fixAnchorMismatch},
	}
	for _, r := range rules {
		if strings.HasPrefix(reason, r.prefix) {
			return d.c.f(r.words), r.fix
		}
	}
	// RFC 8914 §4.8-4.13.
	for _, e := range ede {
		switch e.Code {
		case dnsclient.EDESignatureExpired:
			return d.c.f(bogusExpired), fixDNSSECResign
		case dnsclient.EDESignatureNotYetValid:
			return d.c.f(bogusNotYet), fixDNSSECResign
		case dnsclient.EDEDNSKEYMissing:
			return d.c.f(bogusDNSKEYMissing), fixDNSSECDS
		case dnsclient.EDERRSIGsMissing:
			return d.c.f(bogusNoRRSIG), fixDNSSECResign
		case dnsclient.EDENSECMissing:
			return d.c.f(bogusDenial), fixDNSSECResign
		}
	}
	return d.c.f(bogusGeneric), fixDNSSECGeneric
}

// zoneAnalysis is what the authoritative servers of the record's zone say
// about the expected value.
type zoneAnalysis struct {
	view *dnsclient.ZoneView
	// have and lack are the servers that answer with authority, with and
	// without the value; lame the others.
	have, lack, lame []dnsclient.ServerView
	// delegated is set when a server answers with a CNAME: the record
	// lives in another zone, which this view does not cover.
	delegated bool
}

func analyseZone(view *dnsclient.ZoneView, value string) *zoneAnalysis {
	if view == nil {
		return nil
	}
	z := &zoneAnalysis{view: view}
	for _, sv := range view.Servers {
		switch {
		case sv.Lame:
			z.lame = append(z.lame, sv)
		case sv.Answer == nil:
			// An answer over a limit: neither here nor there.
		case len(sv.Answer.CNAMEs) > 0:
			z.delegated = true
		case value != "" && sv.Answer.Rcode == rcodeNoError && slices.ContainsFunc(sv.Answer.Answer, func(r dnsclient.Record) bool {
			return r.Type == "TXT" && r.Data == value
		}):
			z.have = append(z.have, sv)
		default:
			z.lack = append(z.lack, sv)
		}
	}
	return z
}

// serverName renders one server as "ns1.example.com at 192.0.2.1:53".
func (d *diagnoser) serverName(sv dnsclient.ServerView) string {
	ns := Truncate(trimDot(sv.NS), maxNameShown)
	switch {
	case ns == "":
		return Truncate(sv.Address, maxNameShown)
	case sv.Address == "":
		return ns
	}
	return d.c.f(wordServer, ns, Truncate(sv.Address, maxNameShown))
}

func (d *diagnoser) serversWithSerials(svs []dnsclient.ServerView) string {
	parts := make([]string, len(svs))
	for i, sv := range svs {
		if sv.SOAErr != nil || sv.SOASerial == 0 {
			parts[i] = d.c.f(wordServerNoSerial, d.serverName(sv))
		} else {
			parts[i] = d.c.f(wordServerSerial, d.serverName(sv), sv.SOASerial)
		}
	}
	return strings.Join(parts, d.c.f(wordListSep))
}

// partial reports authoritative servers that disagree about the value. It
// blocks whether or not the resolver saw the value: which server a lookup
// reaches is chance, and a verdict must not depend on it (a check would
// pass, the next fail, with nothing changed); seen only words the message.
// Servers without the value that serve the same SOA serial as those with
// it, or a later one, hold another zone: no transfer will bring them the
// record, so the finding says to correct the zone and is not retryable.
// Servers only behind are told to be waited for, with the SOA refresh
// interval as the ETA when it is known.
func (d *diagnoser) partial(z *zoneAnalysis, host string, seen bool) (Finding, bool) {
	if z == nil || z.delegated || len(z.have) == 0 || len(z.lack) == 0 {
		return Finding{}, false
	}
	if f, ok := d.staleNS(z, host); ok {
		return f, true
	}
	sep := d.c.f(wordListSep)
	if diverged, lagging := splitLack(z); len(diverged) > 0 {
		names := make([]string, len(diverged))
		for i, sv := range diverged {
			names[i] = d.serverName(sv)
		}
		f := Finding{
			Code:     CodeDNSRecordNotPropagated,
			Severity: SeverityError,
			Message:  d.c.f(msgNotPropagatedDiverged, host, d.serversWithSerials(z.have), d.serversWithSerials(diverged)),
			Fix:      d.c.f(fixNotPropagatedDiverged, strings.Join(names, sep)),
		}
		if !slices.ContainsFunc(diverged, func(l dnsclient.ServerView) bool { return laterThanAll(l, z.have) }) {
			// The same serial only: some DNS hosts change records without
			// changing the serial, and copy the change to their servers
			// within minutes. Either may be true: the finding says both,
			// and stays retryable (without an ETA).
			f.Message = d.c.f(msgNotPropagatedSameSerial, host, d.serversWithSerials(z.have), d.serversWithSerials(diverged))
			f.Fix = d.c.f(fixNotPropagatedSameSerial, strings.Join(names, sep))
			f.Retryable = true
		}
		if len(lagging) > 0 {
			f.Message = join(f.Message, d.c.f(noteNotPropagatedAlsoLagging, d.serversWithSerials(lagging)))
		}
		return f, true
	}
	m := msgNotPropagatedPartial
	if seen {
		m = msgNotPropagatedSeen
	}
	lagging := make([]string, len(z.lack))
	for i, sv := range z.lack {
		lagging[i] = d.serverName(sv)
	}
	fix := d.c.f(fixNotPropagatedPartial, strings.Join(lagging, sep))
	var eta *time.Time
	if refresh := lagRefresh(z); refresh > 0 {
		// A secondary without NOTIFY polls its primary every REFRESH: the
		// new version is loaded within that time of its last poll, which
		// came before the previous check that saw the lag already.
		at := d.now.Add(refresh)
		prev := d.prevRefreshETA(z.lack)
		switch {
		case prev.IsZero() || prev.After(at):
			eta = &at
			fix = join(fix, d.c.f(noteRefreshETA, d.formatDuration(refresh)))
		case prev.After(d.now):
			eta = &prev
			fix = join(fix, d.c.f(noteRefreshETA, d.formatDuration(refresh)))
		default:
			// That time has passed and they still lag: not a poll to wait
			// for. No ETA.
			fix = join(fix, d.c.f(noteRefreshPassed, prev.UTC().Format(time.RFC3339), d.formatDuration(refresh)))
		}
	}
	msg := d.c.f(m, host, d.serversWithSerials(z.have), d.serversWithSerials(z.lack))
	if stale, zoneNS := staleServers(z); len(stale) > 0 && slices.ContainsFunc(z.lack, func(sv dnsclient.ServerView) bool {
		return slices.Contains(stale, Truncate(trimDot(strings.ToLower(sv.NS)), maxNameShown))
	}) {
		msg = join(msg, d.c.f(noteNotPropagatedStaleNS, strings.Join(stale, sep), strings.Join(zoneNS, sep)))
	}
	return Finding{
		Code:      CodeDNSRecordNotPropagated,
		Severity:  SeverityError,
		Message:   msg,
		Fix:       fix,
		Retryable: true,
		ETA:       eta,
	}, true
}

// staleServers returns the names of the servers of z's zone that the
// zone's own NS records no longer list (dnsclient.UnlistedServers), and
// those records as the other servers serve them; none when that is not
// known. The parent's delegation still names such a server: a leftover,
// which no transfer brings the record to, whatever its SOA serial
// (console and verification runs: told to wait, or to raise the serial).
func staleServers(z *zoneAnalysis) (stale, zoneNS []string) {
	return unlisted(z.view.Servers)
}

// unlisted is staleServers over servers, names truncated for messages.
func unlisted(servers []dnsclient.ServerView) (stale, zoneNS []string) {
	raw := dnsclient.UnlistedServers(servers)
	if len(raw) == 0 {
		return nil, nil
	}
	for _, sv := range servers {
		if slices.Contains(raw, trimDot(strings.ToLower(sv.NS))) {
			continue
		}
		for _, n := range sv.ZoneNS {
			if n := Truncate(trimDot(n), maxNameShown); !slices.Contains(zoneNS, n) {
				zoneNS = append(zoneNS, n)
			}
		}
	}
	for _, n := range raw {
		stale = append(stale, Truncate(n, maxNameShown))
	}
	return stale, zoneNS
}

// staleNS is the finding of a record missing only on servers the zone
// itself no longer lists (staleServers): not a lag, a leftover delegation,
// fixed at the registrar; no ETA, not retryable.
func (d *diagnoser) staleNS(z *zoneAnalysis, host string) (Finding, bool) {
	stale, zoneNS := staleServers(z)
	if len(stale) == 0 || slices.ContainsFunc(z.lack, func(sv dnsclient.ServerView) bool {
		return !slices.Contains(stale, Truncate(trimDot(strings.ToLower(sv.NS)), maxNameShown))
	}) {
		return Finding{}, false // some lack it that the zone lists: a lag too
	}
	sep := d.c.f(wordListSep)
	zone := Truncate(trimDot(z.view.Zone), maxNameShown)
	return Finding{
		Code:     CodeDNSRecordNotPropagated,
		Severity: SeverityError,
		Message:  d.c.f(msgNotPropagatedStaleNS, host, d.serversWithSerials(z.have), d.serversWithSerials(z.lack), zone, strings.Join(zoneNS, sep)),
		Fix:      d.c.f(fixNotPropagatedStaleNS, strings.Join(stale, sep), zone, strings.Join(zoneNS, sep)),
	}, true
}

// prevRefreshETA is the ETA a previous check gave for the same lag: that
// of its DNS_RECORD_NOT_PROPAGATED finding that named every server of
// lack with the SOA serial it has now (a resolver's stale cache, the other
// kind of that finding, names none), or zero. A server that loaded
// another version since is another lag, with its own SOA refresh (console
// run: a lagging secondary that moved to a serial with a longer refresh
// kept the first ETA).
func (d *diagnoser) prevRefreshETA(lack []dnsclient.ServerView) time.Time {
	for _, f := range d.prevNotPropagated {
		if len(lack) > 0 && !slices.ContainsFunc(lack, func(sv dnsclient.ServerView) bool {
			return sv.Address == "" || !strings.Contains(f.Message, d.serversWithSerials([]dnsclient.ServerView{sv}))
		}) {
			return *f.ETA
		}
	}
	return time.Time{}
}

// maxRefreshETA bounds the SOA refresh believed for an ETA: a longer one
// (a misconfigured zone) gives none.
const maxRefreshETA = 24 * time.Hour

// lagRefresh returns the longest SOA refresh interval of the servers
// without the value when each is strictly behind (an older SOA serial)
// every server with it, or 0 when one is unknown, over maxRefreshETA, or a
// server is not behind.
func lagRefresh(z *zoneAnalysis) time.Duration {
	var longest time.Duration
	for _, l := range z.lack {
		r := time.Duration(l.SOARefresh) * time.Second
		if r <= 0 || r > maxRefreshETA {
			return 0
		}
		for _, h := range z.have {
			// A secondary loads a new version only when the serial
			// grows: one serving the same serial without the record has
			// nothing to load, and no refresh will bring it.
			if l.SOAErr != nil || h.SOAErr != nil || !serialBefore(l.SOASerial, h.SOASerial) {
				return 0
			}
		}
		longest = max(longest, r)
	}
	return longest
}

// splitLack splits the servers without the value into those that serve a
// SOA serial the same as or later than (RFC 1982 serial arithmetic) every
// server with it, and the others. A secondary loads a new version of the
// zone only when the serial grows (RFC 1034 §4.3.5): one serving the same
// serial as a server with the record, or a later one, has nothing to load,
// and its zone differs. A server whose serial is unknown, or that cannot
// be ordered against one with the value (serials 2^31 apart, or unknown),
// is not called diverged: it may still be behind.
func splitLack(z *zoneAnalysis) (diverged, others []dnsclient.ServerView) {
	for _, l := range z.lack {
		if sameOrLater(l, z.have) {
			diverged = append(diverged, l)
		} else {
			others = append(others, l)
		}
	}
	return diverged, others
}

// sameOrLater reports whether l's SOA serial is known and equal to or
// later than that of every server of have, each known.
func sameOrLater(l dnsclient.ServerView, have []dnsclient.ServerView) bool {
	if l.SOAErr != nil || l.SOASerial == 0 || len(have) == 0 {
		return false
	}
	for _, h := range have {
		if h.SOAErr != nil || h.SOASerial == 0 || h.SOASerial != l.SOASerial && !serialBefore(h.SOASerial, l.SOASerial) {
			return false
		}
	}
	return true
}

// laterThanAll reports whether l serves a SOA serial strictly later (RFC
// 1982) than every server of have.
func laterThanAll(l dnsclient.ServerView, have []dnsclient.ServerView) bool {
	if l.SOAErr != nil || l.SOASerial == 0 || len(have) == 0 {
		return false
	}
	for _, h := range have {
		if h.SOAErr != nil || h.SOASerial == 0 || !serialBefore(h.SOASerial, l.SOASerial) {
			return false
		}
	}
	return true
}

// serialBefore reports whether serial a precedes b in RFC 1982 §3.2
// sequence-space arithmetic (SERIAL_BITS 32). Serials 2^31 apart are in no
// defined order: neither precedes the other.
func serialBefore(a, b uint32) bool {
	return a < b && b-a < 1<<31 || a > b && a-b > 1<<31
}

// cachedOlder reports a value every authoritative server has while the
// resolver returned an older answer, with the time that answer may still
// be cached as the ETA: what is left of it when the resolver served it
// from its cache, else its TTL (for a negative answer, the negative TTL of
// RFC 2308 §5: the SOA's TTL or MINIMUM, whichever is less).
func (d *diagnoser) cachedOlder(z *zoneAnalysis, rec *validation.Lookup, host string) (Finding, bool) {
	if z == nil || z.delegated || len(z.have) == 0 || len(z.lack) > 0 || rec.Err != nil || rec.Response == nil {
		return Finding{}, false
	}
	r := rec.Response
	if r.Rcode != rcodeNoError && r.Rcode != rcodeNXDomain {
		return Finding{}, false
	}
	var values []string
	ttl, first := uint32(0), true
	for _, a := range r.Answer {
		if a.Type != "TXT" {
			continue
		}
		if len(values) < maxTXTListed {
			values = append(values, `"`+Truncate(a.Data, maxTXTShown)+`"`)
		}
		if first || a.TTL < ttl {
			ttl, first = a.TTL, false
		}
	}
	var older string
	switch {
	case len(values) > 0:
		older = d.c.f(wordOlderValues, strings.Join(values, d.c.f(wordListSep)))
	case r.Rcode == rcodeNXDomain:
		older, ttl = d.c.f(wordOlderNXDomain), r.NegativeTTL
	default:
		older, ttl = d.c.f(wordOlderNoData), r.NegativeTTL
	}
	if r.Cached || r.TTL > 0 {
		// Iterative mode: TTL is what is left of the answer in the cache
		// (all of it for a fresh answer).
		ttl = r.TTL
	}
	eta := d.now.Add(time.Duration(ttl) * time.Second)
	zone := Truncate(trimDot(z.view.Zone), maxNameShown)
	m := msgNotPropagatedFresh
	if r.Cached {
		m = msgNotPropagatedCached
	}
	left := d.formatDuration(time.Duration(ttl) * time.Second)
	return Finding{
		Code:      CodeDNSRecordNotPropagated,
		Severity:  SeverityError,
		Message:   d.c.f(m, zone, host, older, left),
		Fix:       d.c.f(fixNotPropagatedCached, left),
		Retryable: true,
		ETA:       &eta,
	}, true
}

// inconsistent reports servers that serve different SOA serials.
func (d *diagnoser) inconsistent(z *zoneAnalysis) (Finding, bool) {
	if z == nil {
		return Finding{}, false
	}
	var svs []dnsclient.ServerView
	serials := map[uint32]bool{}
	for _, sv := range z.view.Servers {
		if sv.Lame || sv.SOAErr != nil || sv.SOASerial == 0 {
			continue
		}
		svs = append(svs, sv)
		serials[sv.SOASerial] = true
	}
	if len(serials) < 2 {
		return Finding{}, false
	}
	zone := Truncate(trimDot(z.view.Zone), maxNameShown)
	return Finding{
		Code:      CodeDNSNameserverInconsistent,
		Severity:  SeverityWarning,
		Message:   d.c.f(msgInconsistent, zone, d.serversWithSerials(svs)),
		Fix:       d.c.f(fixInconsistent, zone),
		Retryable: true,
	}, true
}

// lameServers reports the delegated servers that do not serve the zone: a
// warning while another server answers, blocking when none does.
func (d *diagnoser) lameServers(z *zoneAnalysis) (Finding, bool) {
	if z == nil || len(z.lame) == 0 {
		return Finding{}, false
	}
	zone := Truncate(trimDot(z.view.Zone), maxNameShown)
	var parts, names, noTCP []string
	retry := false
	for _, sv := range z.lame {
		name := d.serverName(sv)
		names = append(names, Truncate(trimDot(cmp.Or(sv.NS, sv.Address)), maxNameShown))
		var m msg
		switch sv.LameReason {
		case "refused":
			m = lameRefused
		case "timeout":
			m, retry = lameTimeout, true
		case "not authoritative (AA=0)":
			m = lameNotAuth
		case "servfail":
			m, retry = lameServfail, true
		case "unreachable":
			m, retry = lameUnreachable, true
		case "malformed answer":
			m = lameMalformed
		case "no address":
			m = lameNoAddress
		case dnsclient.LameReservedAddress:
			m = lameReserved
		case dnsclient.LameNoTCP:
			// Reached over UDP: not a server to remove for being
			// unreachable, but one to make answer over TCP.
			m = lameNoTCP
			noTCP = append(noTCP, names[len(names)-1])
		}
		if m == "" {
			parts = append(parts, d.c.f(lameOther, name, Truncate(sv.LameReason, maxDetailShown)))
		} else {
			parts = append(parts, d.c.f(m, name))
		}
	}
	var tcpNote string
	if len(noTCP) > 0 {
		tcpNote = d.c.f(noteLameNoTCP, strings.Join(slices.Compact(noTCP), d.c.f(wordListSep)))
	}
	sev := SeverityWarning
	if len(z.lame) == len(z.view.Servers) {
		sev = SeverityError
	}
	return Finding{
		Code:      CodeDNSLameDelegation,
		Severity:  sev,
		Message:   d.c.f(msgLame, zone, strings.Join(parts, "; ")),
		Fix:       join(d.c.f(lameFix(len(slices.Compact(names))), strings.Join(slices.Compact(names), d.c.f(wordListSep)), zone), tcpNote),
		Retryable: retry && sev == SeverityError,
	}, true
}

// Details of dnsclient.Iterative errors that diagnose tells apart. They are
// documented in Iterative.Lookup; diagnose matches the start of
// Error.Detail because Kind alone (KindLoop, KindMalformed) does not say
// which loop or which malformation it was.
const (
	detailReferralLoop = "referral loop"
	detailTooMany      = "too many queries"
	detailLame         = "lame delegation"
	detailCNAMELoop    = "cname chain loops at "
)

// resolverLame reports a resolver failure that is a lame delegation: the
// zone's servers refer back to themselves, or none answers with authority.
func (d *diagnoser) resolverLame(e *dnsclient.Error, host string) (Finding, bool) {
	detail := stripFollowing(e.Detail)
	f := Finding{Code: CodeDNSLameDelegation, Severity: SeverityError, Fix: d.c.f(fixLameAll, host)}
	switch {
	case glueless(e) != "":
		ns := glueless(e)
		f = Finding{Code: CodeDNSGlueMissing, Severity: SeverityError, Message: d.c.f(msgRecordGlueMissing, host, ns), Fix: d.c.f(fixGlueMissing, ns)}
	case e.Kind == dnsclient.KindLoop && strings.HasPrefix(detail, detailReferralLoop):
		f.Message = d.c.f(msgLameLoop, host, d.server(e.Server))
	case e.Kind == dnsclient.KindMalformed && strings.HasPrefix(detail, detailLame):
		f.Message = d.c.f(msgLameResolver, host, cmp.Or(lameSaid(detail), d.c.f(wordLastAsked, d.server(e.Server))))
	default:
		return Finding{}, false
	}
	return f, true
}

// lameSaid is what each server of a lame delegation said, as the resolver's
// detail lists it ("server: what it did; ..."), or "" when the detail has
// no such list.
func lameSaid(detail string) string {
	_, list, ok := strings.Cut(detail, " answers with authority (")
	if !ok || !strings.HasSuffix(list, ")") {
		return ""
	}
	return Truncate(strings.TrimSuffix(list, ")"), maxDetailShown)
}

// lameFix is the fix of a lame delegation of n servers: "it" or "them".
func lameFix(n int) msg {
	if n > 1 {
		return fixLameMany
	}
	return fixLame
}

// stripFollowing removes the "following cname to X: " prefix Lookup puts
// on errors met along a CNAME chain.
func stripFollowing(detail string) string {
	_, rest := splitFollowing(detail)
	return rest
}

// followedTarget is the last CNAME target an error met along a chain
// names ("following cname to X: ..."), or "".
func followedTarget(detail string) string {
	target, _ := splitFollowing(detail)
	return target
}

// splitFollowing splits the "following cname to X: " prefixes Lookup puts
// on errors met along a CNAME chain from the rest of detail, and returns
// the last X (lowercase, without the final dot), or "" when there is none.
func splitFollowing(detail string) (target, rest string) {
	for strings.HasPrefix(detail, "following cname to ") {
		t, r, ok := strings.Cut(strings.TrimPrefix(detail, "following cname to "), ": ")
		if !ok {
			break
		}
		target, detail = trimDot(strings.ToLower(t)), r
	}
	return target, detail
}

// loopMessage words a KindLoop failure of the TXT lookup of host.
func (d *diagnoser) loopMessage(e *dnsclient.Error, host string) string {
	detail := stripFollowing(e.Detail)
	if ns, zone := nsCycle(detail); ns != "" {
		return d.c.f(msgRecordNSCycle, host, ns, zone, nsZone(ns))
	}
	switch {
	case strings.HasPrefix(detail, detailCNAMELoop):
		at, _, _ := strings.Cut(strings.TrimPrefix(detail, detailCNAMELoop), " ")
		at = Truncate(trimDot(at), maxNameShown)
		return join(d.c.f(msgRecordLoopAt, host, d.c.f(wordAt, at)), d.loopChainNote(detail))
	case strings.HasPrefix(detail, detailCNAMETooLong):
		_, limit := cnameChainDetail(detail)
		return d.c.f(msgRecordCNAMETooLong, host, limit)
	case strings.HasPrefix(detail, detailTooMany):
		return d.c.f(msgRecordTooManyQueries, host, Truncate(detail, maxDetailShown))
	}
	return d.c.f(msgRecordLoop, host)
}

// txtPresent is the informational finding of a pre-flight check without a
// value: the TXT values at host.
func (d *diagnoser) txtPresent(rec *validation.Lookup, host string) Finding {
	rel, _ := d.relativeHost(host)
	f := Finding{Code: CodeDNSTXTPresent, Severity: SeverityInfo, Fix: d.c.f(fixTXTPresent, rel)}
	values := rec.TXTValues()
	server := ""
	if rec.Response != nil {
		server = rec.Response.Server
	}
	if len(values) == 0 {
		f.Message = d.c.f(msgTXTAbsent, host, d.server(server))
		if r := rec.Response; r != nil && len(r.CNAMEs) > 0 {
			// host is a CNAME: no record can go beside it; the TXT
			// record belongs where it leads (black-box run).
			f.Fix = d.c.f(fixTXTPresentCNAME, rel, Truncate(lastCNAME(r), maxNameShown))
		}
		return f
	}
	var shown []string
	for i, v := range values {
		if i == maxTXTListed {
			break
		}
		shown = append(shown, fmt.Sprintf(`"%s"`, Truncate(v, maxTXTShown)))
	}
	list := strings.Join(shown, d.c.f(wordListSep))
	if extra := len(values) - len(shown); extra > 0 {
		list = d.c.f(wordAndMore, list, extra)
	}
	f.Message = d.c.f(msgTXTPresent, host, d.server(server), list)
	return f
}
