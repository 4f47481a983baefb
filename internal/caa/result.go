package caa

import "github.com/dcvhq/dcv/internal/dnsclient"

// Result is the outcome of a CAA evaluation for one domain, with the trace
// of every name looked at. It is evidence; diagnose turns it into findings.
type Result struct {
	// Domain is the domain evaluated (without a "*." prefix).
	Domain string `json:"domain"`
	// Wildcard is true when the certificate name is "*.<Domain>".
	Wildcard bool `json:"wildcard,omitempty"`
	// Identity is the issuer domain name the evaluation was for.
	Identity string `json:"identity"`
	// Permitted is true when issuance by Identity is allowed.
	Permitted bool `json:"permitted"`
	// RelevantName is the name whose CAA set decided; empty when no name
	// up the tree has CAA records (then issuance is permitted).
	RelevantName string `json:"relevant_name,omitempty"`
	// Records is the relevant CAA set.
	Records []dnsclient.Record `json:"records,omitempty"`
	// Reason is a machine-readable reason when not permitted:
	// "not_listed" (issue/issuewild tags name other issuers only),
	// "empty_issuer" (";" forbids all issuance),
	// "critical_unknown" (an unknown tag with the critical flag),
	// "lookup_failed" (a lookup failed, or its answer failed DNSSEC
	// validation; fail closed),
	// "account_mismatch" (a property names Identity but its accounturi is
	// not AccountURI),
	// "method_mismatch" (a property names Identity but its
	// validationmethods do not list Method),
	// "malformed" (no property authorises Identity and one that may have
	// been meant to cannot be parsed: see Property),
	// "servers_disagree" (the zone's servers serve different records, and
	// the verdict depends on which one a lookup reaches: see
	// Disagreement).
	Reason string `json:"reason,omitempty"`
	// AccountURI and Method are the RFC 8657 values the evaluation matched
	// against accounturi and validationmethods parameters.
	AccountURI string `json:"account_uri,omitempty"`
	Method     string `json:"method,omitempty"`
	// Property is the value of the governing property that decided a
	// refusal of Reason "account_mismatch", "method_mismatch" or
	// "malformed", as published.
	Property string `json:"property,omitempty"`
	// Tag is "issue" or "issuewild": the tag that governed the decision.
	Tag string `json:"tag,omitempty"`
	// Allowed lists the issuer domain names the relevant set allows (for
	// the governing tag).
	Allowed []string `json:"allowed,omitempty"`
	// CriticalTag is the tag of the property with the critical flag that
	// the evaluation did not understand, when Reason is "critical_unknown".
	CriticalTag string `json:"critical_tag,omitempty"`
	// FailedName and Failure describe the lookup that failed when Reason is
	// "lookup_failed".
	FailedName  string           `json:"failed_name,omitempty"`
	Failure     *dnsclient.Error `json:"failure,omitempty"`
	FailedRcode string           `json:"failed_rcode,omitempty"`
	// Trace holds one step per name looked at, in order.
	Trace []Step `json:"trace"`
	// Disagreement is set when the authoritative servers of a zone on
	// the climb do not all serve the CAA records the resolver answered
	// with (iterative mode only); when Disagreement.Blocking, Reason is
	// ReasonServersDisagree.
	Disagreement *Disagreement `json:"disagreement,omitempty"`
	// FailingServers are the authoritative servers of the applicant's
	// zones on the climb that gave no usable CAA answer (SERVFAIL,
	// REFUSED, a timeout, ...) at a name whose lookup got one elsewhere
	// (iterative mode only; not when the climb failed). They do not
	// change the verdict.
	FailingServers []FailingServer `json:"failing_servers,omitempty"`
}

// Step is one CAA lookup of the tree climb.
type Step struct {
	Name     string              `json:"name"`
	Response *dnsclient.Response `json:"response,omitempty"`
	Err      *dnsclient.Error    `json:"error,omitempty"`
	// Note says how an unusual answer was taken (NoteRefusedSuffix).
	Note string `json:"note,omitempty"`
}

// Reasons a Result is not permitted.
const (
	ReasonNotListed       = "not_listed"
	ReasonEmptyIssuer     = "empty_issuer"
	ReasonCriticalUnknown = "critical_unknown"
	ReasonLookupFailed    = "lookup_failed"
	ReasonAccountMismatch = "account_mismatch"
	ReasonMethodMismatch  = "method_mismatch"
	ReasonMalformed       = "malformed"
)

// NoteRefusedSuffix marks a public suffix whose CAA lookup was refused and
// taken as an empty set: an authoritative-only server used as dcv's
// resolver refuses names outside its zones.
const NoteRefusedSuffix = "refused at a public suffix: taken as no CAA records"
