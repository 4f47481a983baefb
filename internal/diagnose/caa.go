package diagnose

import (
	"cmp"
	"strconv"
	"strings"

	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
)

// caaFlagCritical is the Issuer Critical flag bit of a CAA record's flags
// byte (RFC 8659 §4.1: bit 0, the most significant, value 128).
const caaFlagCritical = 128

// caa diagnoses a CAA evaluation that does not permit issuance. It never
// returns a non-blocking finding: CAA fails closed.
func (d *diagnoser) caa(r *caa.Result) Finding {
	f := d.caaFinding(r)
	// The relevant records reached through a CNAME are the target's: a
	// CNAME cannot hold CAA records beside it, so the fix is at the
	// target, whose zone may be another party's.
	if target := caaCNAMETarget(r); target != "" && f.Code != CodeCAALookupFailed && f.Code != CodeCAANameserversDisagree {
		name := Truncate(trimDot(r.RelevantName), maxNameShown)
		at := *r
		at.RelevantName = target
		f.Message = join(f.Message, d.c.f(noteCAACNAME, name, Truncate(target, maxNameShown)))
		f.Fix = join(d.c.f(fixCAACNAMEWhere, Truncate(target, maxNameShown), name), d.caaFinding(&at).Fix)
	}
	return f
}

// caaCNAMETarget returns the last CNAME target followed by the lookup of
// the relevant name, or "" when it had none.
func caaCNAMETarget(r *caa.Result) string {
	for _, s := range r.Trace {
		if s.Name == r.RelevantName && s.Response != nil && len(s.Response.CNAMEs) > 0 {
			return lastCNAME(s.Response)
		}
	}
	return ""
}

func (d *diagnoser) caaFinding(r *caa.Result) Finding {
	name := Truncate(trimDot(r.RelevantName), maxNameShown)
	identity := Truncate(r.Identity, maxNameShown)
	tag := "issue"
	if r.Wildcard && hasTag(r.Records, "issuewild") {
		// RFC 8659 §4.3: "If at least one issuewild Property is specified
		// in the Relevant RRset for a Wildcard Domain Name, all issue
		// Properties MUST be ignored when processing a request for that
		// Wildcard Domain Name."
		tag = "issuewild"
	}
	record := d.c.f(wordCAARecord, name, tag, identity)
	f := Finding{Code: CodeCAAForbids, Severity: SeverityError}
	switch r.Reason {
	case caa.ReasonNotListed:
		governing := r.Tag
		if governing == "" {
			governing = tag
		}
		allowed := make([]string, len(r.Allowed))
		for i, a := range r.Allowed {
			allowed[i] = Truncate(a, maxNameShown)
		}
		f.Message = d.c.f(msgCAANotListed, name, strings.Join(allowed, d.c.f(wordListSep)), Truncate(governing, maxDetailShown), identity)
		f.Fix = d.c.f(fixCAANotListed, name, record)
	case caa.ReasonEmptyIssuer:
		governing := r.Tag
		if governing == "" {
			governing = tag
		}
		published := Truncate(strconv.Quote(emptyIssuerValue(r.Records, governing)), maxDetailShown)
		f.Message = d.c.f(msgCAAEmptyIssuer, name, Truncate(governing, maxDetailShown), published)
		f.Fix = d.c.f(fixCAAEmptyIssuer, name, Truncate(governing, maxDetailShown), record, published)
		switch {
		case governing == "issuewild":
			// RFC 8659 §4.3: issuewild governs wildcard names only; an
			// empty one forbids wildcard certificates, not the others.
			wild := r.Domain
			if !strings.HasPrefix(wild, "*.") {
				wild = "*." + wild
			}
			f.Message = d.c.f(msgCAAEmptyIssuerWild, name, Truncate(wild, maxNameShown), published)
			f.Fix = d.c.f(fixCAAEmptyIssuerWild, name, record, published)
		case governing == "issue" && !r.Wildcard && hasTag(r.Records, "issuewild"):
			// The issuewild records beside it govern wildcard names:
			// issue ";" forbids only the others.
			f.Message = d.c.f(msgCAAEmptyIssuerNonWild, name, published)
		}
	case caa.ReasonCriticalUnknown:
		// RFC 8659 §4.1: "A CA MUST NOT issue certificates for any FQDN if
		// the Relevant RRset for that FQDN contains a CAA critical Property
		// for an unknown or unsupported Property Tag."
		f.Code = CodeCAACriticalUnknown
		t := r.CriticalTag
		if t == "" {
			t = criticalUnknownTag(r.Records)
		}
		if t == "" {
			f.Message = d.c.f(msgCAACriticalNoTag, name)
			f.Fix = d.c.f(fixCAACriticalNoTag, name)
		} else {
			t = Truncate(t, maxDetailShown)
			f.Message = d.c.f(msgCAACritical, name, t)
			f.Fix = d.c.f(fixCAACritical, name, t)
		}
	case caa.ReasonAccountMismatch, caa.ReasonMethodMismatch, caa.ReasonMalformed:
		return d.caaProperty(r, name, tag, identity)
	case caa.ReasonServersDisagree:
		if r.Disagreement != nil {
			return d.caaDisagree(r)
		}
		f.Message = d.c.f(msgCAAOther, name, Truncate(r.Reason, maxDetailShown), identity)
		f.Fix = d.c.f(fixCAANotListed, name, record)
	case caa.ReasonLookupFailed:
		// dcv fails closed on a failed CAA lookup; it does not use the
		// exception CA/B Forum BR 3.2.2.8 allows for failures outside the
		// CA's infrastructure.
		f.Code = CodeCAALookupFailed
		failed := Truncate(trimDot(r.FailedName), maxNameShown)
		if failed == "" {
			failed = name
		}
		for _, s := range r.Trace {
			if s.Name == r.FailedName && s.Response != nil && strings.HasPrefix(s.Response.DNSSECReason, dnsclient.ReasonAnchorMismatch) {
				// dcv's own trust anchor fails, for every name: the CA's
				// side, as for the TXT record (dnssecBogus).
				af, _ := d.dnssecBogus(&validation.Lookup{Name: s.Name, Response: s.Response}, failed)
				return af
			}
		}
		f.Message = join(d.c.f(msgCAALookupFailed, failed, d.caaFailure(r)), d.resolverTimeout(r.Failure))
		f.Fix = d.c.f(fixCAALookupFailed, failed)
		if ns := glueless(r.Failure); ns != "" {
			// A delegation without glue: the registrar's to mend.
			f.Fix = d.c.f(fixGlueMissing, ns)
			f.Retryable = false
			return f
		}
		if r.Failure != nil && r.Failure.Kind == dnsclient.KindLoop {
			if ns, zone := nsCycle(r.Failure.Detail); ns != "" {
				f.Fix = d.c.f(fixNSCycle, ns, zone)
				f.Retryable = false
				return f
			}
		}
		if r.Failure != nil && r.Failure.Kind == dnsclient.KindLoop {
			if at, limit := cnameChainDetail(stripFollowing(r.Failure.Detail)); at != "" || limit != "" {
				// The nameservers answered: the CNAMEs are what to fix.
				f.Fix = d.c.f(fixCAACNAMEChain, failed)
				f.Retryable = false
				return f
			}
		}
		for _, s := range r.Trace {
			if s.Name != r.FailedName || s.Response == nil || s.Response.Rcode != rcodeServfail {
				continue
			}
			if zone, ok := authoritativeServfail(s.Response); ok {
				// The zone's own server fails, on the zone or on CAA
				// queries: nothing of DNSSEC, which it does not
				// validate.
				f.Fix = d.c.f(fixServfailAuth, d.server(s.Response.Server), zone, failed, "CAA")
			}
		}
		if fix, zone, ok := d.caaBogusFix(r); ok {
			// A DNSSEC failure: its own fix, at the zone that fails.
			f.Fix = d.c.f(fix, zone)
		}
		f.Retryable = true
		if upstream(r.Failure) {
			if r.Failure.TCPFallback != "" && r.Failure.Resolver {
				return d.upstreamErrFinding(msgUpstreamCAA, "the CAA records of "+failed, r.Failure)
			}
			return d.upstreamFinding(msgUpstreamCAA, failed, r.Failure.Server, r.Failure.Resolver)
		}
		if rf, ok := d.reservedErr(r.Failure, failed, lookupCAA); ok {
			rf.Code = CodeCAALookupFailed
			return rf
		}
		if zone, reg, ok := zoneAbove(r.Failure, failed); ok {
			return d.aboveDomainFinding(CodeCAALookupFailed, msgCAAAboveDomain, r.Failure.Kind.String(), failed, zone, reg)
		}
		if tf, ok := d.tcpFallback(r.Failure, failed, lookupCAA); ok {
			// Reached, then silent over TCP: the fix is TCP, not DNSSEC.
			// As retryable as the TXT lookup's: only a TCP timeout may
			// pass on its own.
			tf.Code = CodeCAALookupFailed
			return tf
		}
		if r.FailedRcode == rcodeRefused && len(r.Trace) > 0 {
			// Refused by dcv's own resolver (forward mode): its policy
			// towards dcv, the CA's side, not the domain's.
			if last := r.Trace[len(r.Trace)-1].Response; last != nil && last.Resolver {
				return d.upstreamFinding(msgUpstreamRefused, "the CAA records of "+failed, last.Server, true)
			}
		}
	default:
		f.Message = d.c.f(msgCAAOther, name, Truncate(r.Reason, maxDetailShown), identity)
		f.Fix = d.c.f(fixCAANotListed, name, record)
	}
	return f
}

// caaFailure says why the CAA lookup at r.FailedName failed.
func (d *diagnoser) caaFailure(r *caa.Result) string {
	server := ""
	if r.Failure != nil {
		server = r.Failure.Server
	}
	for _, s := range r.Trace {
		if s.Name == r.FailedName && s.Response != nil && server == "" {
			server = s.Response.Server
		}
	}
	srv := d.server(server)
	for _, s := range r.Trace {
		if s.Name == r.FailedName && s.Response != nil && s.Response.DNSSEC == dnsclient.Bogus.String() {
			words, _ := d.bogusWords(s.Response.DNSSECReason, s.Response.EDE)
			return d.c.f(wordCAABogus, srv, words)
		}
	}
	if ns := glueless(r.Failure); ns != "" {
		return d.c.f(wordCAAGlueMissing, ns)
	}
	if r.Failure != nil && r.Failure.Kind == dnsclient.KindLoop {
		if ns, zone := nsCycle(r.Failure.Detail); ns != "" {
			return d.c.f(wordCAANSCycle, ns, zone, nsZone(ns))
		}
	}
	if r.Failure != nil && r.Failure.Kind == dnsclient.KindLoop {
		switch at, limit := cnameChainDetail(stripFollowing(r.Failure.Detail)); {
		case at != "":
			if c := loopChain(r.Failure.Detail); c != "" {
				return d.c.f(wordCAACNAMELoopAt, at) + " (" + c + ")"
			}
			return d.c.f(wordCAACNAMELoopAt, at)
		case limit != "":
			return d.c.f(wordCAACNAMETooLong, limit)
		}
	}
	switch {
	case r.FailedRcode != "":
		return d.c.f(wordAnsweredRcode, srv, Truncate(r.FailedRcode, maxDetailShown))
	case r.Failure != nil && r.Failure.Kind == dnsclient.KindTimeout:
		return d.c.f(wordNoAnswerInTime, srv)
	case r.Failure != nil && r.Failure.Kind == dnsclient.KindNetwork:
		return d.c.f(wordUnreachable, srv)
	case r.Failure != nil && r.Failure.Kind == dnsclient.KindMalformed:
		return d.c.f(wordMalformed, srv)
	}
	return d.c.f(wordLookupFailed, srv)
}

// caaBogusFix returns the fix of a CAA lookup that failed DNSSEC
// validation, and the zone it applies to.
func (d *diagnoser) caaBogusFix(r *caa.Result) (msg, string, bool) {
	for _, s := range r.Trace {
		if s.Name == r.FailedName && s.Response != nil && s.Response.DNSSEC == dnsclient.Bogus.String() {
			_, fix := d.bogusWords(s.Response.DNSSECReason, s.Response.EDE)
			zone := trimDot(s.Response.DNSSECZone)
			if zone == "" {
				_, zone = relativeHost(trimDot(s.Name))
			}
			if zone == "" {
				zone = trimDot(s.Name)
			}
			return fix, Truncate(zone, maxNameShown), true
		}
	}
	return "", "", false
}

// emptyIssuerValue returns, as published, the first value of a tag
// property in rs that names no issuer (";", "; params", or nothing at all),
// or ";" when there is none (evidence without the records).
func emptyIssuerValue(rs []dnsclient.Record, tag string) string {
	for _, r := range rs {
		if r.Type != "CAA" || !strings.EqualFold(r.Tag, tag) {
			continue
		}
		if v := strings.TrimLeft(r.Value, " \t"); v == "" || v[0] == ';' {
			return r.Value
		}
	}
	return ";"
}

func hasTag(rs []dnsclient.Record, tag string) bool {
	for _, r := range rs {
		if r.Type == "CAA" && strings.EqualFold(r.Tag, tag) {
			return true
		}
	}
	return false
}

// knownCAATags are the property tags dcv's CAA evaluation understands
// (RFC 8659 §4.2-4.4).
var knownCAATags = map[string]bool{"issue": true, "issuewild": true, "iodef": true}

// criticalUnknownTag returns the first tag of rs that carries the critical
// flag and is not understood, or "". It is the fallback for evidence stored
// before caa.Result named the tag (CriticalTag).
func criticalUnknownTag(rs []dnsclient.Record) string {
	for _, r := range rs {
		if r.Flag&caaFlagCritical != 0 && !knownCAATags[strings.ToLower(r.Tag)] {
			return r.Tag
		}
	}
	return ""
}

// Message ids of the RFC 8657 refusals.
const (
	msgCAAAccount           msg = "msgCAAAccount"
	wordCAANoAccount        msg = "wordCAANoAccount"
	fixCAAAccount           msg = "fixCAAAccount"
	msgCAAMethod            msg = "msgCAAMethod"
	fixCAAMethod            msg = "fixCAAMethod"
	msgCAAMalformed         msg = "msgCAAMalformed"
	fixCAAMalformed         msg = "fixCAAMalformed"
	wordCAARecordParams     msg = "wordCAARecordParams"
	fixCAAAccountNone       msg = "fixCAAAccountNone"
	fixCAAAccountMethod     msg = "fixCAAAccountMethod"
	fixCAAAccountNoneMethod msg = "fixCAAAccountNoneMethod"
	wordCAAForRecord        msg = "wordCAAForRecord"
	noteCAAOneRecordEnough  msg = "noteCAAOneRecordEnough"
	noteCAACNAME            msg = "noteCAACNAME"
	fixCAACNAMEWhere        msg = "fixCAACNAMEWhere"

	msgCAAEmptyIssuerWild    msg = "msgCAAEmptyIssuerWild"
	fixCAAEmptyIssuerWild    msg = "fixCAAEmptyIssuerWild"
	msgCAAEmptyIssuerNonWild msg = "msgCAAEmptyIssuerNonWild"
)

func init() {
	extend("", nil, map[msg]string{
		msgCAAAccount:           "The CAA record at %[1]s that names %[2]s (%[3]s \"%[4]s\") lets only the account %[5]s issue (accounturi, RFC 8657 §3); this request is from %[6]s.",
		wordCAANoAccount:        "no ACME account (the dns and file methods are not tied to one)",
		fixCAAAccount:           "Add this CAA record at %[1]s: `%[2]s` (keep the other records if they should stay), or change the accounturi of the existing one.",
		fixCAAAccountNone:       "Add this CAA record at %[1]s: `%[2]s` (keep the other records if they should stay), or remove the accounturi parameter of the existing one: no account URI can match a dns or file validation.",
		fixCAAAccountMethod:     "Add this CAA record at %[1]s: `%[2]s` (keep the other records if they should stay), or change the accounturi of the existing one and add %[3]s to its validationmethods.",
		fixCAAAccountNoneMethod: "Add this CAA record at %[1]s: `%[2]s` (keep the other records if they should stay), or remove the accounturi parameter of the existing one and add %[3]s to its validationmethods: no account URI can match a dns or file validation.",
		wordCAAForRecord:        "For the record %[1]s \"%[2]s\":",
		noteCAAOneRecordEnough:  "Changing one of these records is enough: one that allows the request permits issuance.",
		noteCAACNAME:            "%[1]s is a CNAME to %[2]s: these CAA records are those of %[2]s.",
		fixCAACNAMEWhere:        "The records to change are at %[1]s, the CNAME's target (in its zone, at the DNS host that serves it); or give %[2]s CAA records of its own by replacing the CNAME.",
		msgCAAMethod:            "The CAA record at %[1]s that names %[2]s (%[3]s \"%[4]s\") allows only the validation methods %[5]s (validationmethods, RFC 8657 §4); this request uses %[6]s.",
		fixCAAMethod:            "Add %[3]s to the validationmethods of that record: `%[2]s`, or validate %[1]s with one of the methods it lists.",
		msgCAAMalformed:         "The CAA record at %[1]s (%[2]s \"%[3]s\") does not follow the syntax of RFC 8659 §4.2, so it authorises no one.",
		fixCAAMalformed:         "Replace it with `%[1]s`.",
		wordCAARecordParams:     "%[1]s. CAA 0 %[2]s \"%[3]s; %[4]s\"",

		msgCAAEmptyIssuerWild:    "CAA records at %[1]s forbid wildcard certificates (issuewild %[3]s), and %[2]s is a wildcard name. That record does not forbid certificates for names without a wildcard (RFC 8659 §4.3).",
		fixCAAEmptyIssuerWild:    "Replace the `issuewild %[3]s` record at %[1]s with `%[2]s`, or order the names you need without the wildcard.",
		msgCAAEmptyIssuerNonWild: "CAA records at %[1]s forbid certificates for names without a wildcard (issue %[2]s); their issuewild records govern wildcard names only (RFC 8659 §4.3).",
	})
}

// caaProperty diagnoses a refusal decided by properties: ones that name us
// but bind the issuance to another account or other methods (RFC 8657),
// or one that cannot be parsed. Every property of the governing tag that
// names us and refuses is explained, with the record that would allow the
// request: the same record with only the refusing parameters changed, so
// that a fix never drops a restriction the applicant chose.
func (d *diagnoser) caaProperty(r *caa.Result, name, tag, identity string) Finding {
	f := Finding{Code: CodeCAAForbids, Severity: SeverityError}
	governing := Truncate(cmp.Or(r.Tag, tag), maxDetailShown)
	if r.Reason == caa.ReasonMalformed {
		f.Message = d.c.f(msgCAAMalformed, name, governing, Truncate(r.Property, maxDetailShown))
		f.Fix = d.c.f(fixCAAMalformed, d.c.f(wordCAARecord, name, governing, identity))
		return f
	}
	method := Truncate(cmp.Or(r.Method, "?"), maxDetailShown)
	// The name validated, not the relevant name (a parent, or a CNAME's
	// target) whose records refuse.
	validated := Truncate(r.Domain, maxNameShown)
	if r.Wildcard && !strings.HasPrefix(validated, "*.") {
		validated = "*." + validated
	}
	refusals := caaRefusals(r, cmp.Or(r.Tag, tag))
	var msgs, fixes []string
	for _, rf := range refusals {
		prop := Truncate(rf.value, maxDetailShown)
		if rf.account {
			who := d.c.f(wordCAANoAccount)
			if r.AccountURI != "" {
				who = Truncate(r.AccountURI, maxURLShown)
			}
			msgs = append(msgs, d.c.f(msgCAAAccount, name, identity, governing, prop,
				Truncate(cmp.Or(caaParam(rf.value, "accounturi"), "?"), maxURLShown), who))
		}
		if rf.method {
			listed := caaParam(rf.value, "validationmethods")
			msgs = append(msgs, d.c.f(msgCAAMethod, name, identity, governing, prop, Truncate(cmp.Or(listed, "(none)"), maxDetailShown), method))
		}
		record := d.c.f(wordCAARecord, name, governing, identity)
		if params := caaSuggestParams(rf, r.AccountURI, r.Method); params != "" {
			record = d.c.f(wordCAARecordParams, name, governing, identity, params)
		}
		var fix string
		switch {
		case rf.account && rf.method && r.AccountURI == "":
			fix = d.c.f(fixCAAAccountNoneMethod, name, record, method)
		case rf.account && rf.method:
			fix = d.c.f(fixCAAAccountMethod, name, record, method)
		case rf.account && r.AccountURI == "":
			fix = d.c.f(fixCAAAccountNone, name, record)
		case rf.account:
			fix = d.c.f(fixCAAAccount, name, record)
		default:
			fix = d.c.f(fixCAAMethod, validated, record, method)
		}
		if len(refusals) > 1 {
			fix = join(d.c.f(wordCAAForRecord, governing, prop), fix)
		}
		fixes = append(fixes, fix)
	}
	if len(refusals) > 1 {
		fixes = append(fixes, d.c.f(noteCAAOneRecordEnough))
	}
	f.Message = join("", msgs...)
	f.Fix = join("", fixes...)
	return f
}

// caaRefusal is a CAA property that names the identity but refuses the
// request, with the RFC 8657 parameters that refuse it.
type caaRefusal struct {
	value   string // the property value, as published
	account bool   // its accounturi is not the request's account
	method  bool   // its validationmethods do not list the request's method
}

// caaRefusals returns the properties of tag in r's relevant set that name
// r.Identity and refuse the request by their accounturi or
// validationmethods parameters, in the order published. Without records
// (evidence that holds only the deciding property), it returns r.Property,
// refusing for r.Reason.
func caaRefusals(r *caa.Result, tag string) []caaRefusal {
	var out []caaRefusal
	for _, rec := range r.Records {
		if (rec.Type != "" && rec.Type != "CAA") || !strings.EqualFold(rec.Tag, tag) {
			continue
		}
		issuer, _, _ := strings.Cut(rec.Value, ";")
		if !strings.EqualFold(strings.TrimSpace(issuer), r.Identity) {
			continue
		}
		if rf := caaRefusalOf(rec.Value, r.AccountURI, r.Method); rf.account || rf.method {
			out = append(out, rf)
		}
	}
	if len(out) == 0 {
		rf := caaRefusalOf(r.Property, r.AccountURI, r.Method)
		if !rf.account && !rf.method {
			rf.account, rf.method = r.Reason == caa.ReasonAccountMismatch, r.Reason == caa.ReasonMethodMismatch
		}
		out = append(out, rf)
	}
	return out
}

// caaRefusalOf says which RFC 8657 parameters of the property value refuse
// a request from account (empty: none) by method, as package caa decides.
func caaRefusalOf(value, account, method string) caaRefusal {
	rf := caaRefusal{value: value}
	if uri, ok := caaParamOK(value, "accounturi"); ok && (account == "" || uri != account) {
		rf.account = true
	}
	if list, ok := caaParamOK(value, "validationmethods"); ok {
		rf.method = true
		for m := range strings.SplitSeq(list, ",") {
			if method != "" && strings.TrimSpace(m) == method {
				rf.method = false
			}
		}
	}
	return rf
}

// caaSuggestParams returns the parameters of rf's property rewritten to
// allow a request from account by method, in the order published: the
// refusing accounturi names account (or goes, without an account), the
// refusing validationmethods gains method, and every other parameter stays
// as it is.
func caaSuggestParams(rf caaRefusal, account, method string) string {
	_, params, ok := strings.Cut(rf.value, ";")
	if !ok {
		return ""
	}
	var out []string
	for p := range strings.SplitSeq(params, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case strings.EqualFold(k, "accounturi") && rf.account:
			if account == "" {
				continue
			}
			v = account
		case strings.EqualFold(k, "validationmethods") && rf.method && method != "":
			v = strings.TrimSuffix(v, ",")
			if v != "" {
				v += ","
			}
			v += method
		}
		if strings.EqualFold(k, "accounturi") {
			v = Truncate(v, maxURLShown)
		} else {
			v = Truncate(v, maxDetailShown)
		}
		out = append(out, k+"="+v)
	}
	return strings.Join(out, "; ")
}

// caaParam returns the value of parameter key in a CAA issue value
// ("ca.example; accounturi=https://..."), or "". The value was parsed
// strictly by package caa; this only finds the parameter to quote it.
func caaParam(value, key string) string {
	v, _ := caaParamOK(value, key)
	return v
}

// caaParamOK is caaParam, also reporting whether the parameter is present.
func caaParamOK(value, key string) (string, bool) {
	_, params, ok := strings.Cut(value, ";")
	if !ok {
		return "", false
	}
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(p, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), key) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}
