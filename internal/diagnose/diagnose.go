package diagnose

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
)

// Verdicts of Result.Status.
const (
	// StatusApproved: domain control is proven and nothing forbids issuance.
	StatusApproved = "approved"
	// StatusPending: at least one blocking finding; the domain is not
	// approved yet.
	StatusPending = "pending"
)

// Result is the diagnosis of one domain and the verdict derived from it.
type Result struct {
	// Status is StatusApproved if and only if Findings holds no blocking
	// (SeverityError) finding.
	Status string `json:"status"`
	// Findings are sorted worst first (see Sort). An approved domain usually
	// has none.
	Findings []Finding `json:"findings"`
}

// Domain diagnoses one domain from the observations of all perspectives
// (obs[0] is the primary) and returns the findings and the verdict. It is
// the only place where dcv decides whether validation passed: the same call
// yields the sentences the applicant reads and the status that triggers
// issuance.
//
// The primary must pass. With remote perspectives (obs[1:]), the quorum of
// CA/B Forum BR 3.2.2.9 applies on top (see RemoteQuorum and
// perspectives): too few corroborating remotes yield
// REMOTE_PERSPECTIVES_DISAGREE, remotes that could not be asked
// PERSPECTIVE_UNAVAILABLE. Domain fails closed: no observation, an empty
// expected value or missing method evidence yield OBSERVATION_INVALID, and
// a remote slot that is not configured PERSPECTIVE_UNAVAILABLE. now is used
// only for ETAs (a server's Retry-After, a cached DNS answer's expiry).
//
// Domain does no I/O and is safe for concurrent use.
func Domain(obs []validation.Observation, now time.Time, opts ...Option) Result {
	d := diagnoser{c: &catalogEN, now: now}
	for _, o := range opts {
		o(&d)
	}
	if len(obs) > 1 {
		return d.perspectives(obs)
	}
	return d.domain(obs)
}

// Option adjusts a diagnosis with what is known besides the observations.
type Option func(*diagnoser)

// WithPrevious gives the findings of the domain's previous check, so that
// a cause it predicted to pass by a time that has gone by is not predicted
// again: remote perspectives that still disagree after the cached answers
// they were said to hold have expired do not hold a cached answer, and
// nameservers still lagging after their SOA refresh are not merely
// waiting for it. An ETA still to come is kept rather than pushed back:
// the lag was there at the previous check already.
func WithPrevious(fs []Finding) Option {
	return func(d *diagnoser) {
		for _, f := range fs {
			if f.Code == CodeRemotePerspectivesDisagree && f.ETA != nil {
				if strings.Contains(f.Message, geoMaybeMark) {
					// Its ETA is the time the anycast grace ends.
					d.prevGeoETA = *f.ETA
				} else {
					d.prevCacheETA = *f.ETA
				}
			}
			if f.Code == CodeDNSRecordNotPropagated && f.ETA != nil {
				d.prevNotPropagated = append(d.prevNotPropagated, f)
			}
		}
	}
}

// diagnoser carries the language and the injected time through one call.
type diagnoser struct {
	c   *catalog
	now time.Time
	// prevCacheETA is when a previous check said the remote perspectives'
	// cached answers would expire (see WithPrevious); zero when none did.
	prevCacheETA time.Time
	// prevGeoETA is when a previous check said a nameserver answering the
	// remote perspectives otherwise would be taken for GeoDNS if it still
	// did (the end of the anycast grace, see geoSettle); zero when none.
	prevGeoETA time.Time
	// prevNotPropagated are the previous check's DNS_RECORD_NOT_PROPAGATED
	// findings with an ETA: when it expected lagging nameservers to have
	// loaded the zone's new version (their SOA refresh after that check),
	// or a resolver's cached answer to expire (see prevRefreshETA).
	prevNotPropagated []Finding
	// zone is the DNS zone of the validation host when the evidence names
	// it (the authoritative view, or the SOA of a negative answer); empty
	// otherwise, and then the registered domain stands for it.
	zone string
}

func (d *diagnoser) domain(obs []validation.Observation) Result {
	all := []Finding{} // never nil: it renders as [] in JSON
	if len(obs) == 0 {
		all = append(all, d.invalid("", msgInvalidNoObservation))
	}
	type key struct {
		code Code
		msg  string
	}
	seen := map[key]bool{}
	for i := range obs {
		for _, f := range d.observation(&obs[i]) {
			k := key{f.Code, f.Message}
			if seen[k] {
				continue
			}
			seen[k] = true
			if i > 0 {
				name := obs[i].Perspective
				if name == "" {
					name = d.c.f(wordPerspectiveN, i)
				}
				f.Message = d.c.f(msgFromPerspective, name, f.Message)
			}
			all = append(all, f)
		}
	}
	Sort(all)
	status := StatusApproved
	for _, f := range all {
		if f.Blocking() {
			status = StatusPending
			break
		}
	}
	return Result{Status: status, Findings: all}
}

// observation diagnoses what one perspective saw.
func (d *diagnoser) observation(o *validation.Observation) []Finding {
	var out []Finding
	if o.CAAOnly {
		// A recheck of CAA at issuance: the method was observed before.
		return append(out, d.caaFindings(o.CAA)...)
	}
	switch {
	case o.Expected == "":
		// An empty value would match an empty TXT record or file.
		out = append(out, d.invalid(o.Domain, msgInvalidNoValue))
	case o.Method == validation.MethodDNS && o.DNS != nil:
		out = append(out, d.dns(o)...)
	case o.Method == validation.MethodFile && o.File != nil:
		out = append(out, d.withAddressDisagreement(o, d.file(o))...)
	case o.Method == validation.MethodDNS || o.Method == validation.MethodFile:
		out = append(out, d.invalid(o.Domain, msgInvalidNoEvidence))
	case validation.IsACME(o.Method):
		out = append(out, d.acme(o)...)
	default:
		out = append(out, d.invalid(o.Domain, msgInvalidMethod))
	}
	return append(out, d.caaFindings(o.CAA, recordZones(o)...)...)
}

// recordZones are the authoritative views of the record's zones a DNS
// observation holds (the host's, and its CNAME target's), whose lame
// servers the DNS findings name; none for another method.
func recordZones(o *validation.Observation) []*dnsclient.ZoneView {
	if o.DNS == nil {
		return nil
	}
	return []*dnsclient.ZoneView{o.DNS.Authoritative, o.DNS.TargetAuthoritative}
}

func (d *diagnoser) invalid(domain string, why msg) Finding {
	name := Truncate(domain, maxNameShown)
	if name == "" {
		name = d.c.f(wordThisDomain)
	}
	return Finding{
		Code:      CodeObservationInvalid,
		Severity:  SeverityError,
		Message:   d.c.f(msgInvalid, name, d.c.f(why)),
		Fix:       d.c.f(fixInvalid),
		Retryable: true,
	}
}

// Sort orders findings worst first: by severity, then by code from the most
// fundamental to the least (a domain that does not resolve before the
// record missing under it; see Codes), keeping the given order otherwise.
// Unknown codes come after known ones, in alphabetical order.
func Sort(f []Finding) {
	slices.SortStableFunc(f, func(a, b Finding) int {
		if c := cmp.Compare(a.Severity.rank(), b.Severity.rank()); c != 0 {
			return c
		}
		ra, oka := codeRank[a.Code]
		rb, okb := codeRank[b.Code]
		switch {
		case oka && okb:
			return cmp.Compare(ra, rb)
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(string(a.Code), string(b.Code))
	})
}

// Limits on how much of an observed value a message quotes. Observed values
// are untrusted and may be long; a message must stay readable.
const (
	maxNameShown    = 255 // a DNS name is at most 253 characters
	maxTXTShown     = 80  // per TXT value listed in DNS_RECORD_MISMATCH
	maxTXTListed    = 5   // TXT values listed before "and N more"
	maxSnippetShown = 100 // of a file's content
	maxURLShown     = 200 // of a URL or Location header
	maxDetailShown  = 120 // of a technical detail (TLS error, rcode, reason)
	maxSerialShown  = 64  // of a certificate serial
	maxHeaderShown  = 60  // of a header value named as evidence
	ellipsis        = "…"
)

// Truncate makes an observed value safe to quote in a message: control
// characters, Unicode format characters (bidi overrides, zero-width spaces,
// byte order marks), line separators and invalid UTF-8 are escaped Go-style
// (\n, \x00, \u200b); when the escaped text is longer than n runes it is cut,
// never inside an escape, and ends with "…" (the result is then at most n
// runes long). n below 1 counts as 1.
func Truncate(s string, n int) string {
	n = max(n, 1)
	var b strings.Builder
	runes := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		piece := escapeRune(r, size, s[i])
		pl := utf8.RuneCountInString(piece)
		if runes+pl > n || (runes+pl == n && i+size < len(s)) {
			// Either this piece does not fit, or it fills the budget while
			// more follows: cut before it. runes < n here, so the ellipsis
			// fits.
			b.WriteString(ellipsis)
			return b.String()
		}
		b.WriteString(piece)
		runes += pl
		i += size
	}
	return b.String()
}

// escapeRune renders one decoded rune for Truncate. first is the input byte
// at the rune's start, used for invalid UTF-8.
func escapeRune(r rune, size int, first byte) string {
	switch {
	case r == utf8.RuneError && size == 1:
		return fmt.Sprintf(`\x%02x`, first)
	case r == '\n':
		return `\n`
	case r == '\r':
		return `\r`
	case r == '\t':
		return `\t`
	case !unicode.IsControl(r) && !unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
		return string(r)
	case r < 0x80:
		return fmt.Sprintf(`\x%02x`, r)
	case r <= 0xffff:
		return fmt.Sprintf(`\u%04x`, r)
	default:
		return fmt.Sprintf(`\U%08x`, r)
	}
}

// trimDot removes one trailing dot of a fully qualified name.
func trimDot(name string) string { return strings.TrimSuffix(name, ".") }
