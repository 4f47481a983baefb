package diagnose

import (
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// CodeResolverUnavailable: a lookup failed at dcv's own recursive resolver
// (forward mode: it could not be reached), not at the domain's servers. It
// is the certificate authority's problem, never the applicant's: the
// finding blocks, is retryable, and an ACME challenge failing on it is
// serverInternal. It is API, like the other codes.
const CodeResolverUnavailable Code = "RESOLVER_UNAVAILABLE"

// Sentences for lookups that failed at dcv's own recursive resolver (forward
// mode): the CA's problem, never the applicant's.
const (
	msgUpstreamRecord  msg = "msgUpstreamRecord"
	noteResolverSlow   msg = "noteResolverSlow"
	msgUpstreamCAA     msg = "msgUpstreamCAA"
	fixUpstream        msg = "fixUpstream"
	msgUpstreamRefused msg = "msgUpstreamRefused"
	msgUpstreamTCP     msg = "msgUpstreamTCP"
	fixUpstreamTCP     msg = "fixUpstreamTCP"
	wordOwnResolver    msg = "wordOwnResolver"
	wordOwnRoot        msg = "wordOwnRoot"
)

func init() {
	extend(CodeIssuanceFailed, map[Code]string{CodeResolverUnavailable: "dcv's DNS resolver unavailable (operator problem)"}, nil, CodeResolverUnavailable)
	extend("", nil, map[msg]string{
		msgUpstreamRecord:  "dcv could not look up %[1]s: %[2]s, %[3]s, could not be reached. This is a problem on the certificate authority's side, not with your domain.",
		msgUpstreamCAA:     "dcv could not look up the CAA records of %[1]s: %[2]s, %[3]s, could not be reached. This is a problem on the certificate authority's side, not with your domain; dcv does not issue without a CAA answer.",
		msgUpstreamTCP:     "dcv could not look up %[1]s: %[2]s, dcv's own recursive resolver, answered over UDP with a truncated answer, then did not answer over TCP. This is a problem on the certificate authority's side (its resolver's TCP service, or a firewall before it), not with your domain.",
		fixUpstreamTCP:     "Nothing to change on your side: check again later. If it persists, tell the certificate authority's operator that its resolver does not answer DNS over TCP (RFC 7766).",
		wordOwnResolver:    "dcv's own recursive resolver",
		wordOwnRoot:        "a DNS server dcv itself depends on (a root server)",
		noteResolverSlow:   "%[1]s is dcv's own recursive resolver: either the domain's nameservers did not answer it in time, or the resolver itself is down or overloaded (the certificate authority's side); if the nameservers answer quickly, nothing needs to change on your side.",
		msgUpstreamRefused: "dcv could not look up %[1]s: %[2]s, dcv's own recursive resolver, refused the query (REFUSED: it does not resolve for dcv, or it is not a recursive resolver). This is a problem on the certificate authority's side, not with your domain.",
		fixUpstream:        "Nothing to change on your side: check again later. If it persists, tell the certificate authority's operator that its DNS resolution is down (its resolver or its network).",
	})
}

// upstream reports whether e is a failure of dcv's own resolver.
func upstream(e *dnsclient.Error) bool { return e != nil && e.Upstream }

// upstreamFinding is the finding of a lookup of name that failed at a
// server of dcv's own (resolver: its recursive resolver, forward mode;
// else a root server): m is msgUpstreamRecord, msgUpstreamCAA or
// msgUpstreamRefused.
func (d *diagnoser) upstreamFinding(m msg, name, server string, resolver bool) Finding {
	which := d.c.f(wordOwnRoot)
	if resolver {
		which = d.c.f(wordOwnResolver)
	}
	return Finding{
		Code:      CodeResolverUnavailable,
		Severity:  SeverityError,
		Message:   d.c.f(m, name, d.server(server), which),
		Fix:       d.c.f(fixUpstream),
		Retryable: true,
	}
}

// upstreamErrFinding is upstreamFinding for lookup error e of name: a
// failed TCP retry at dcv's own resolver says so (the resolver answered
// over UDP), any other failure as m says.
func (d *diagnoser) upstreamErrFinding(m msg, name string, e *dnsclient.Error) Finding {
	if e.TCPFallback != "" && e.Resolver {
		return Finding{
			Code:      CodeResolverUnavailable,
			Severity:  SeverityError,
			Message:   d.c.f(msgUpstreamTCP, name, d.server(e.Server)),
			Fix:       d.c.f(fixUpstreamTCP),
			Retryable: true,
		}
	}
	return d.upstreamFinding(m, name, e.Server, e.Resolver)
}

// resolverTimeout is the note added to a timeout at dcv's own resolver
// (forward mode), whose cause cannot be told from here; "" otherwise.
func (d *diagnoser) resolverTimeout(e *dnsclient.Error) string {
	if e == nil || !e.Resolver || e.Kind != dnsclient.KindTimeout {
		return ""
	}
	return d.c.f(noteResolverSlow, d.server(e.Server))
}

// fetchResolverTimeout is resolverTimeout for the address lookup of a
// file or http-01 fetch.
func (d *diagnoser) fetchResolverTimeout(e *webfetch.Error) string {
	if e == nil || !e.Resolver || e.Kind != webfetch.ErrDNSTimeout {
		return ""
	}
	return d.c.f(noteResolverSlow, d.server(e.Address))
}

// CASide reports whether code is a failure on the certificate authority's
// side (its resolver, its perspectives, an observation it could not make),
// never the applicant's: such a finding is retried, answered as
// serverInternal in ACME, and counts against no applicant.
func CASide(code Code) bool {
	switch code {
	case CodeResolverUnavailable, CodePerspectiveUnavailable, CodeObservationInvalid:
		return true
	}
	return false
}

// BlockingSides reports whether fs hold a blocking finding on the
// certificate authority's side (ca, by CASide) and one on the applicant's
// (applicant).
func BlockingSides(fs []Finding) (ca, applicant bool) {
	for _, f := range fs {
		if !f.Blocking() {
			continue
		}
		if CASide(f.Code) {
			ca = true
		} else {
			applicant = true
		}
	}
	return ca, applicant
}
