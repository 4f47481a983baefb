// Package caa decides whether DNS Certification Authority Authorization
// records (RFC 8659), with the account and method binding parameters of
// RFC 8657, allow dcv to issue for a name, and keeps a trace of every name
// looked at as evidence. It judges nothing else: diagnose turns a Result into
// sentences.
package caa

import (
	"cmp"
	"context"
	"errors"
	"golang.org/x/net/publicsuffix"
	"strings"
	"time"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/urlnorm"
)

// Params says who wants to issue and how.
type Params struct {
	// Identity is our issuer domain name, e.g. "dcv.example"; required. It
	// is compared case-insensitively; an empty Identity matches no issue
	// property.
	Identity string
	// AccountURI is the RFC 8657 accounturi to match; empty means the
	// applicant has no account URI, so no property carrying an accounturi
	// parameter authorises the issuance.
	AccountURI string
	// Method is the RFC 8657 validation method name, e.g. "ca-dnsauth",
	// "ca-fileauth", "dns-01", "http-01", "tls-alpn-01". Empty matches no
	// property carrying a validationmethods parameter.
	Method string
}

// Property tags (RFC 8659 §4.1: tags are matched case-insensitively).
const (
	TagIssue     = "issue"
	TagIssueWild = "issuewild"
	tagIodef     = "iodef"
	tagIssueMail = "issuemail" // RFC 9495
	tagIssueVMC  = "issuevmc"  // CA/B Forum Mark Certificate requirements
)

// understoodTags are the tags whose critical flag does not stop issuance.
var understoodTags = map[string]bool{
	TagIssue: true, TagIssueWild: true, tagIodef: true, tagIssueMail: true, tagIssueVMC: true,
}

// RFC 8657 parameters.
const (
	paramAccountURI        = "accounturi"
	paramValidationMethods = "validationmethods"
)

// Flag bits. RFC 8659 §4.1 defines one flag, the Issuer Critical Flag: bit
// 0, the most significant, value 128. Some issuers of records set the least significant bit (value 1)
// instead, reading the bit numbering the other way; like deployed CAs, dcv
// treats it as critical too, so that such a record fails closed.
const (
	flagCritical       uint8 = 128
	flagCriticalMisset uint8 = 1
)

// typeCAA is the CAA RR type (RFC 8659 §7.1).
const typeCAA uint16 = 257

// lookupTimeout bounds one CAA lookup when ctx allows longer: a resolver
// that already retries across servers has had its chance by then, and the
// climb must not hold a validation for minutes.
const lookupTimeout = 15 * time.Second

// Evaluate looks up the relevant CAA RRset for name (a DNS name in ident's
// normal form, possibly with a leading "*.") through r, and decides whether
// p.Identity may issue for it. It never returns nil and never fails open: a
// lookup that fails makes the Result not permitted with Reason
// "lookup_failed". r is asked for type CAA at fully qualified names
// (with the trailing dot).
//
// RFC 8659 §3 (in paraphrase): the relevant RRset is the first non-empty CAA
// RRset met when climbing the DNS tree label by label from the FQDN (for a
// wildcard, from the domain below "*."), stopping before the root. Evaluate
// queries each name in turn, the top-level domain included; a NOERROR or
// NXDOMAIN answer without CAA records is an empty RRset and the climb goes
// on. CNAMEs are followed by the resolver; the chain is kept in each Step's
// Response.
//
// When r can ask authoritative servers directly (AuthoritativeViewer, the
// iterative resolver), Evaluate also compares what every server of the
// applicant's zones serves at the names looked at (see compareServers): a
// verdict that depends on which server a lookup reached is no verdict.
//
// Evaluate is safe for concurrent use if r is.
func Evaluate(ctx context.Context, r dnsclient.Resolver, name string, p Params) *Result {
	res := evaluate(ctx, r, name, p)
	if av, ok := r.(AuthoritativeViewer); ok {
		compareServers(ctx, r, av, res, p)
	}
	return res
}

// evaluate is Evaluate through r alone.
func evaluate(ctx context.Context, r dnsclient.Resolver, name string, p Params) *Result {
	domain := strings.TrimSuffix(strings.ToLower(name), ".")
	wildcard := strings.HasPrefix(domain, "*.")
	domain = strings.TrimPrefix(domain, "*.")
	identity := strings.TrimSuffix(strings.ToLower(p.Identity), ".")
	res := &Result{Domain: domain, Wildcard: wildcard, Identity: identity, AccountURI: p.AccountURI, Method: p.Method, Trace: []Step{}}

	for n := domain; n != ""; n = parent(n) {
		resp, lerr := lookup(ctx, r, n)
		step := Step{Name: n, Response: resp, Err: lerr}
		res.Trace = append(res.Trace, step)
		if lerr != nil {
			res.Reason = ReasonLookupFailed
			res.FailedName = n
			res.Failure = lerr
			return res
		}
		if resp.DNSSEC == dnsclient.Bogus.String() {
			// An answer that fails DNSSEC validation is no answer: CA/B
			// Forum BR 3.2.2.8 counts a DNSSEC validation failure as a
			// lookup failure, and dcv fails closed on it.
			res.Reason = ReasonLookupFailed
			res.FailedName = n
			res.Failure = &dnsclient.Error{Kind: dnsclient.KindUnknown, Name: n + ".", Type: "CAA", Server: resp.Server,
				Detail: "dnssec validation failed: " + resp.DNSSECReason}
			return res
		}
		switch {
		case resp.Rcode == "NOERROR":
		case resp.Rcode == "NXDOMAIN":
			continue
		case resp.Rcode == "REFUSED" && resp.Resolver && isPublicSuffix(n):
			// A resolver that refuses a public suffix (a TLD, co.uk) is an
			// authoritative-only server configured as dcv's resolver, not a
			// failure of the domain's DNS: no recursive resolver refuses
			// "com". The domain's own zone was answered; treat the suffix's
			// set as empty and say so in the trace (CA/B Forum BR 3.2.2.8
			// lets a CA treat lookup failures outside its zone of control
			// as permission; dcv takes only this narrow case). Only the
			// REFUSED of dcv's own resolver (forward mode) counts: in
			// iterative mode it would be the suffix's authoritative server
			// speaking, or anyone on the path forging it, which DNSSEC
			// does not cover, and a suffix may publish CAA (github.io).
			res.Trace[len(res.Trace)-1].Note = NoteRefusedSuffix
			continue
		default:
			// Any rcode but NOERROR and NXDOMAIN is a failed lookup. dcv
			// fails closed on it, and takes none of the exceptions that
			// CA/B Forum BR 3.2.2.8 would allow.
			res.Reason = ReasonLookupFailed
			res.FailedName = n
			res.FailedRcode = cmp.Or(resp.Rcode, "(empty)")
			return res
		}
		set := caaRecords(resp.Answer)
		if len(set) == 0 {
			continue
		}
		res.RelevantName = n
		res.Records = set
		decide(res, set, p)
		return res
	}
	// No CAA anywhere up the tree: RFC 8659 §3, any CA may issue.
	res.Permitted = true
	return res
}

// lookup queries CAA at name with a bounded deadline and turns every
// failure into a *dnsclient.Error.
func lookup(ctx context.Context, r dnsclient.Resolver, name string) (*dnsclient.Response, *dnsclient.Error) {
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	resp, err := r.Lookup(lctx, name+".", typeCAA)
	if err != nil {
		var de *dnsclient.Error
		if errors.As(err, &de) {
			return resp, de
		}
		kind := dnsclient.KindUnknown
		if errors.Is(err, context.DeadlineExceeded) {
			kind = dnsclient.KindTimeout
		}
		return resp, &dnsclient.Error{Kind: kind, Name: name + ".", Type: "CAA", Detail: err.Error()}
	}
	if resp == nil {
		return nil, &dnsclient.Error{Kind: dnsclient.KindUnknown, Name: name + ".", Type: "CAA", Detail: "resolver returned no response and no error"}
	}
	return resp, nil
}

// parent returns name without its left-most label, or "" for a top-level
// domain (the climb stops before the root).
func parent(name string) string {
	if i := strings.IndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return ""
}

// caaRecords returns the CAA records of an answer.
func caaRecords(answer []dnsclient.Record) []dnsclient.Record {
	var out []dnsclient.Record
	for _, rec := range answer {
		if strings.EqualFold(rec.Type, "CAA") {
			out = append(out, rec)
		}
	}
	return out
}

// decide applies the relevant RRset set to res.
func decide(res *Result, set []dnsclient.Record, p Params) {
	// RFC 8659 §4.1: a CA must not issue when the relevant RRset holds a
	// property with the critical flag whose tag the CA does not support.
	for _, rec := range set {
		critical := rec.Flag&(flagCritical|flagCriticalMisset) != 0
		if critical && !understoodTags[strings.ToLower(rec.Tag)] {
			res.Reason = ReasonCriticalUnknown
			res.CriticalTag = rec.Tag
			return
		}
	}

	// RFC 8659 §4.3: issuewild is ignored for a name that is not a
	// wildcard; for a wildcard, when the relevant RRset has at least one
	// issuewild property, the issue properties are ignored.
	tag := TagIssue
	if res.Wildcard && hasTag(set, TagIssueWild) {
		tag = TagIssueWild
	}
	if !hasTag(set, tag) {
		// RFC 8659 §4.2: an RRset without issue (or issuewild) properties
		// does not restrict issuance; iodef alone, for example.
		res.Permitted = true
		return
	}
	res.Tag = tag

	allEmpty := true
	var (
		excluded, excludedBy string // a property naming us that excludes this request
		malformed            string // a malformed value that may be meant for us
		anyValid             bool
	)
	for _, rec := range set {
		if !strings.EqualFold(rec.Tag, tag) {
			continue
		}
		v, err := parseIssueValue(rec.Value)
		if err != nil {
			// A malformed value authorises nobody, and is not an empty
			// issuer either: it says something we cannot read.
			allEmpty = false
			if malformed == "" || (res.Identity != "" && strings.Contains(strings.ToLower(rec.Value), res.Identity)) {
				malformed = rec.Value
			}
			continue
		}
		anyValid = true
		res.Allowed = append(res.Allowed, v.Issuer)
		if v.Issuer != "" {
			allEmpty = false
		}
		if v.Issuer == "" || v.Issuer != res.Identity {
			continue
		}
		if why := paramsExclude(v, p); why != "" {
			if excluded == "" {
				excluded, excludedBy = rec.Value, why
			}
			continue
		}
		res.Permitted = true
	}
	switch {
	case res.Permitted:
	case excluded != "":
		// RFC 8657 §3, §4: the property names us, but binds the issuance to
		// another account or other methods.
		res.Reason, res.Property = excludedBy, excluded
	case malformed != "" && (!anyValid || strings.Contains(strings.ToLower(malformed), res.Identity)):
		res.Reason, res.Property = ReasonMalformed, malformed
	case allEmpty:
		// RFC 8659 §4.2: a value without an issuer-domain-name (";")
		// authorises no one.
		res.Reason = ReasonEmptyIssuer
	default:
		res.Reason = ReasonNotListed
	}
}

func hasTag(set []dnsclient.Record, tag string) bool {
	for _, rec := range set {
		if strings.EqualFold(rec.Tag, tag) {
			return true
		}
	}
	return false
}

// paramsAllow applies the RFC 8657 parameters of a property naming us.
// Unknown parameters are ignored (RFC 8659 §4.2).
func paramsAllow(v issueValue, p Params) bool { return paramsExclude(v, p) == "" }

// paramsExclude returns why the RFC 8657 parameters of a property naming us
// exclude p (ReasonAccountMismatch or ReasonMethodMismatch), or "".
func paramsExclude(v issueValue, p Params) string {
	// RFC 8657 §3: with an accounturi parameter, the property authorises
	// only the account whose URI is equal to it.
	// A default port written or left out is the same URI (RFC 3986
	// §6.2.3): dcv's account URIs leave it out, older ones had it.
	if uri, ok := v.get(paramAccountURI); ok && (p.AccountURI == "" || urlnorm.Canonical(uri) != urlnorm.Canonical(p.AccountURI)) {
		return ReasonAccountMismatch
	}
	// RFC 8657 §4: with a validationmethods parameter, the property
	// authorises only the methods it lists.
	if list, ok := v.get(paramValidationMethods); ok {
		methods, err := parseMethodList(list)
		if err != nil || p.Method == "" {
			return ReasonMethodMismatch
		}
		found := false
		for _, m := range methods {
			if m == p.Method {
				found = true
				break
			}
		}
		if !found {
			return ReasonMethodMismatch
		}
	}
	return ""
}

// isPublicSuffix reports whether name is a public suffix (ICANN or
// private section), such as "com" or "co.uk".
func isPublicSuffix(name string) bool {
	ps, _ := publicsuffix.PublicSuffix(name)
	return ps == name
}
