package diagnose

import (
	"testing"

	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
)

func caaRec(flag uint8, tag, value string) dnsclient.Record {
	return dnsclient.Record{Name: "example.com.", Type: "CAA", Flag: flag, Tag: tag, Value: value}
}

func TestDomainCAA(t *testing.T) {
	t.Parallel()
	const id = "ca.dcv.example"
	passing := func(r *caa.Result) validation.Observation {
		o := dnsObs(resp("_dnsauth.a.example.com", "NOERROR", txt("_dnsauth.a.example.com", testValue)), nil)
		o.CAA = r
		return o
	}
	tests := []struct {
		name string
		res  *caa.Result
		want []Finding
	}{
		{
			name: "permitted",
			res:  &caa.Result{Domain: "a.example.com", Identity: id, Permitted: true, RelevantName: "example.com", Records: []dnsclient.Record{caaRec(0, "issue", id)}},
		},
		{
			name: "other issuers listed",
			res: &caa.Result{Domain: "a.example.com", Identity: id, RelevantName: "example.com.", Reason: caa.ReasonNotListed, Tag: "issue",
				Allowed: []string{"letsencrypt.org", "pki.goog"}, Records: []dnsclient.Record{caaRec(0, "issue", "letsencrypt.org"), caaRec(0, "issue", "pki.goog")}},
			want: []Finding{errF(CodeCAAForbids,
				"CAA records at example.com allow only letsencrypt.org, pki.goog to issue (issue); ca.dcv.example is not among them.",
				"Add this CAA record at example.com: `example.com. CAA 0 issue \"ca.dcv.example\"` (keep the others if those CAs should stay allowed).")},
		},
		{
			name: "wildcard governed by issuewild",
			res: &caa.Result{Domain: "example.com", Wildcard: true, Identity: id, RelevantName: "example.com", Reason: caa.ReasonNotListed, Tag: "issuewild",
				Allowed: []string{"letsencrypt.org"}, Records: []dnsclient.Record{caaRec(0, "issue", id), caaRec(0, "issuewild", "letsencrypt.org")}},
			want: []Finding{errF(CodeCAAForbids,
				"CAA records at example.com allow only letsencrypt.org to issue (issuewild); ca.dcv.example is not among them.",
				"Add this CAA record at example.com: `example.com. CAA 0 issuewild \"ca.dcv.example\"` (keep the others if those CAs should stay allowed).")},
		},
		{
			name: "wildcard without issuewild uses issue",
			res: &caa.Result{Domain: "example.com", Wildcard: true, Identity: id, RelevantName: "example.com", Reason: caa.ReasonNotListed, Tag: "issue",
				Allowed: []string{"letsencrypt.org"}, Records: []dnsclient.Record{caaRec(0, "issue", "letsencrypt.org")}},
			want: []Finding{errF(CodeCAAForbids,
				"CAA records at example.com allow only letsencrypt.org to issue (issue); ca.dcv.example is not among them.",
				"Add this CAA record at example.com: `example.com. CAA 0 issue \"ca.dcv.example\"` (keep the others if those CAs should stay allowed).")},
		},
		{
			name: "all issuance forbidden",
			res: &caa.Result{Domain: "a.example.com", Identity: id, RelevantName: "example.com", Reason: caa.ReasonEmptyIssuer, Tag: "issue",
				Records: []dnsclient.Record{caaRec(0, "issue", ";")}},
			want: []Finding{errF(CodeCAAForbids,
				`CAA records at example.com forbid all issuance (issue ";").`,
				"Replace the `issue \";\"` record at example.com with `example.com. CAA 0 issue \"ca.dcv.example\"`.")},
		},
		{
			name: "non-wildcard issuance forbidden by an empty value beside an issuewild",
			res: &caa.Result{Domain: "a.example.com", Identity: id, RelevantName: "example.com", Reason: caa.ReasonEmptyIssuer, Tag: "issue",
				Records: []dnsclient.Record{caaRec(0, "issue", ""), caaRec(0, "issuewild", id)}},
			want: []Finding{errF(CodeCAAForbids,
				`CAA records at example.com forbid certificates for names without a wildcard (issue ""); their issuewild records govern wildcard names only (RFC 8659 §4.3).`,
				"Replace the `issue \"\"` record at example.com with `example.com. CAA 0 issue \"ca.dcv.example\"`.")},
		},
		{
			// RFC 8659 §4.2: an empty value names no issuer either; it is
			// quoted as published, so that the applicant finds the record.
			name: "all issuance forbidden by an empty value",
			res: &caa.Result{Domain: "a.example.com", Identity: id, RelevantName: "example.com", Reason: caa.ReasonEmptyIssuer, Tag: "issue",
				Records: []dnsclient.Record{caaRec(0, "issue", ""), caaRec(0, "issue", "; policy=x")}},
			want: []Finding{errF(CodeCAAForbids,
				`CAA records at example.com forbid all issuance (issue "").`,
				"Replace the `issue \"\"` record at example.com with `example.com. CAA 0 issue \"ca.dcv.example\"`.")},
		},
		{
			name: "wildcard issuance forbidden by issuewild with parameters",
			res: &caa.Result{Domain: "example.com", Wildcard: true, Identity: id, RelevantName: "example.com", Reason: caa.ReasonEmptyIssuer, Tag: "issuewild",
				Records: []dnsclient.Record{caaRec(0, "issue", id), caaRec(0, "issuewild", " ; policy=x")}},
			want: []Finding{errF(CodeCAAForbids,
				`CAA records at example.com forbid wildcard certificates (issuewild " ; policy=x"), and *.example.com is a wildcard name. That record does not forbid certificates for names without a wildcard (RFC 8659 §4.3).`,
				"Replace the `issuewild \" ; policy=x\"` record at example.com with `example.com. CAA 0 issuewild \"ca.dcv.example\"`, or order the names you need without the wildcard.")},
		},
		{
			// RFC 8659 §4.3: issuewild ";" forbids wildcard certificates
			// only.
			name: "wildcard issuance forbidden by issuewild",
			res: &caa.Result{Domain: "example.com", Wildcard: true, Identity: id, RelevantName: "example.com", Reason: caa.ReasonEmptyIssuer, Tag: "issuewild",
				Records: []dnsclient.Record{caaRec(0, "issue", id), caaRec(0, "issuewild", ";")}},
			want: []Finding{errF(CodeCAAForbids,
				`CAA records at example.com forbid wildcard certificates (issuewild ";"), and *.example.com is a wildcard name. That record does not forbid certificates for names without a wildcard (RFC 8659 §4.3).`,
				"Replace the `issuewild \";\"` record at example.com with `example.com. CAA 0 issuewild \"ca.dcv.example\"`, or order the names you need without the wildcard.")},
		},
		{
			name: "non-wildcard issuance forbidden beside an issuewild",
			res: &caa.Result{Domain: "a.example.com", Identity: id, RelevantName: "example.com", Reason: caa.ReasonEmptyIssuer, Tag: "issue",
				Records: []dnsclient.Record{caaRec(0, "issue", ";"), caaRec(0, "issuewild", id)}},
			want: []Finding{errF(CodeCAAForbids,
				`CAA records at example.com forbid certificates for names without a wildcard (issue ";"); their issuewild records govern wildcard names only (RFC 8659 §4.3).`,
				"Replace the `issue \";\"` record at example.com with `example.com. CAA 0 issue \"ca.dcv.example\"`.")},
		},
		{
			name: "critical unknown tag named by the evaluation",
			res: &caa.Result{Domain: "a.example.com", Identity: id, RelevantName: "example.com", Reason: caa.ReasonCriticalUnknown, CriticalTag: "tbs",
				Records: []dnsclient.Record{caaRec(0, "issue", id), caaRec(128, "tbs", "x")}},
			want: []Finding{errF(CodeCAACriticalUnknown,
				"CAA records at example.com include the tag tbs marked critical, which dcv does not understand; a CA must not issue then (RFC 8659 §4.1).",
				"Clear the critical flag of the tbs CAA record at example.com (flags 0 instead of 128), or remove that record.")},
		},
		{
			name: "critical unknown tag found in the records",
			res: &caa.Result{Domain: "a.example.com", Identity: id, RelevantName: "example.com", Reason: caa.ReasonCriticalUnknown,
				Records: []dnsclient.Record{caaRec(128, "issue", id), caaRec(128, "future", "x")}},
			want: []Finding{errF(CodeCAACriticalUnknown,
				"CAA records at example.com include the tag future marked critical, which dcv does not understand; a CA must not issue then (RFC 8659 §4.1).",
				"Clear the critical flag of the future CAA record at example.com (flags 0 instead of 128), or remove that record.")},
		},
		{
			name: "critical unknown tag not identifiable",
			res:  &caa.Result{Domain: "a.example.com", Identity: id, RelevantName: "example.com", Reason: caa.ReasonCriticalUnknown},
			want: []Finding{errF(CodeCAACriticalUnknown,
				"CAA records at example.com include a tag marked critical that dcv does not understand; a CA must not issue then (RFC 8659 §4.1).",
				"Clear the critical flag (flags 0 instead of 128) of the CAA records at example.com whose tag is not issue, issuewild or iodef, or remove them.")},
		},
		{
			name: "lookup SERVFAIL",
			res: &caa.Result{Domain: "a.example.com", Identity: id, Reason: caa.ReasonLookupFailed, FailedName: "a.example.com.", FailedRcode: "SERVFAIL",
				Trace: []caa.Step{{Name: "a.example.com.", Response: &dnsclient.Response{Server: testServer, Rcode: "SERVFAIL"}}}},
			want: []Finding{retryF(CodeCAALookupFailed,
				"The CAA lookup of a.example.com failed: 192.0.2.53:53 answered SERVFAIL. dcv does not issue without a CAA answer.",
				"Make sure the nameservers of a.example.com answer CAA queries (an empty answer is fine; SERVFAIL, REFUSED or silence is not) and, if DNSSEC is enabled, that the signatures are valid.")},
		},
		{
			name: "lookup REFUSED by the domain's server",
			res: &caa.Result{Domain: "a.example.com", Identity: id, Reason: caa.ReasonLookupFailed, FailedName: "a.example.com.", FailedRcode: "REFUSED",
				Trace: []caa.Step{{Name: "a.example.com.", Response: &dnsclient.Response{Server: testServer, Rcode: "REFUSED"}}}},
			want: []Finding{retryF(CodeCAALookupFailed,
				"The CAA lookup of a.example.com failed: 192.0.2.53:53 answered REFUSED. dcv does not issue without a CAA answer.",
				"Make sure the nameservers of a.example.com answer CAA queries (an empty answer is fine; SERVFAIL, REFUSED or silence is not) and, if DNSSEC is enabled, that the signatures are valid.")},
		},
		{
			name: "lookup REFUSED by dcv's resolver",
			res: &caa.Result{Domain: "a.example.com", Identity: id, Reason: caa.ReasonLookupFailed, FailedName: "a.example.com.", FailedRcode: "REFUSED",
				Trace: []caa.Step{{Name: "a.example.com.", Response: &dnsclient.Response{Server: testServer, Rcode: "REFUSED", Resolver: true}}}},
			want: []Finding{retryF(CodeResolverUnavailable,
				"dcv could not look up the CAA records of a.example.com: 192.0.2.53:53, dcv's own recursive resolver, refused the query (REFUSED: it does not resolve for dcv, or it is not a recursive resolver). This is a problem on the certificate authority's side, not with your domain.",
				"Nothing to change on your side: check again later. If it persists, tell the certificate authority's operator that its DNS resolution is down (its resolver or its network).")},
		},
		{
			name: "lookup timeout",
			res: &caa.Result{Domain: "a.example.com", Identity: id, Reason: caa.ReasonLookupFailed, FailedName: "example.com.",
				Failure: &dnsclient.Error{Kind: dnsclient.KindTimeout, Server: "198.51.100.53:53"}},
			want: []Finding{retryF(CodeCAALookupFailed,
				"The CAA lookup of example.com failed: 198.51.100.53:53 gave no answer within the deadline. dcv does not issue without a CAA answer.",
				"Make sure the nameservers of example.com answer CAA queries (an empty answer is fine; SERVFAIL, REFUSED or silence is not) and, if DNSSEC is enabled, that the signatures are valid.")},
		},
		{
			name: "lookup timeout at the TLD",
			res: &caa.Result{Domain: "a.example.com", Identity: id, Reason: caa.ReasonLookupFailed, FailedName: "a.example.com.",
				Failure: &dnsclient.Error{Kind: dnsclient.KindTimeout, Server: "192.0.2.1:53", Zone: "com."}},
			want: []Finding{retryF(CodeCAALookupFailed,
				"The CAA lookup of a.example.com failed before it reached the domain's nameservers: no server of the com zone, above example.com, answered dcv (timeout). That is the registry's side, or the network between it and dcv, not the domain's own nameservers; dcv issues only after a CAA lookup that succeeds.",
				"Nothing needs to change at example.com: check again in a few minutes. If it lasts for hours, ask your registrar whether example.com is still delegated in the com zone.")},
		},
		{
			name: "lookup timeout at the domain's own zone",
			res: &caa.Result{Domain: "a.example.com", Identity: id, Reason: caa.ReasonLookupFailed, FailedName: "example.com.",
				Failure: &dnsclient.Error{Kind: dnsclient.KindTimeout, Server: "198.51.100.53:53", Zone: "example.com."}},
			want: []Finding{retryF(CodeCAALookupFailed,
				"The CAA lookup of example.com failed: 198.51.100.53:53 gave no answer within the deadline. dcv does not issue without a CAA answer.",
				"Make sure the nameservers of example.com answer CAA queries (an empty answer is fine; SERVFAIL, REFUSED or silence is not) and, if DNSSEC is enabled, that the signatures are valid.")},
		},
		{
			// Black-box run: generic before.
			name: "lookup behind a nameserver without glue",
			res: &caa.Result{Domain: "a.example.com", Identity: id, Reason: caa.ReasonLookupFailed, FailedName: "a.example.com.",
				Failure: &dnsclient.Error{Kind: dnsclient.KindLoop, Name: "ns1.example.com.", Detail: "name server ns1.example.com. needs itself to be resolved (glueless loop)"}},
			want: []Finding{errF(CodeCAALookupFailed,
				"The CAA lookup of a.example.com failed: the nameserver ns1.example.com lies inside the zone it serves, and the delegation gives no address (glue) for it. dcv does not issue without a CAA answer.",
				"At the registrar of the zone that ns1.example.com serves, add a glue record: the IPv4 (and IPv6) address of ns1.example.com, as the zone itself publishes it. Or delegate the zone to nameservers outside it.")},
		},
		{
			name: "lookup failed, unknown cause",
			res:  &caa.Result{Domain: "a.example.com", Identity: id, Reason: caa.ReasonLookupFailed, FailedName: "example.com."},
			want: []Finding{retryF(CodeCAALookupFailed,
				"The CAA lookup of example.com failed: the lookup at the DNS server failed. dcv does not issue without a CAA answer.",
				"Make sure the nameservers of example.com answer CAA queries (an empty answer is fine; SERVFAIL, REFUSED or silence is not) and, if DNSSEC is enabled, that the signatures are valid.")},
		},
		{
			name: "not permitted for an unknown reason fails closed",
			res:  &caa.Result{Domain: "a.example.com", Identity: id, RelevantName: "example.com", Reason: "new_reason"},
			want: []Finding{errF(CodeCAAForbids,
				"CAA records at example.com do not permit ca.dcv.example to issue (new_reason).",
				"Add this CAA record at example.com: `example.com. CAA 0 issue \"ca.dcv.example\"` (keep the others if those CAs should stay allowed).")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Domain([]validation.Observation{passing(tt.res)}, testNow)
			checkFindings(t, got.Findings, tt.want)
			if want := len(tt.want) == 0; (got.Status == StatusApproved) != want {
				t.Errorf("Status = %q with %d findings", got.Status, len(got.Findings))
			}
		})
	}
}

// TestCAAFailingServers: a nameserver that fails CAA queries (SERVFAIL, a
// timeout) while another answers does not block issuance, but is named
// in a DNS_LAME_DELEGATION warning, with what it did and where; one the
// TXT lookup's findings name already as lame is not named twice.
func TestCAAFailingServers(t *testing.T) {
	t.Parallel()
	const (
		id   = "ca.dcv.example"
		host = "_dnsauth.a.example.com"
		ns2  = "192.0.2.54:53"
	)
	failing := func(name, reason string) caa.FailingServer {
		return caa.FailingServer{Name: name, Zone: "example.com", NS: "ns2.example.com", Address: ns2, Reason: reason}
	}
	fixOne := "Configure ns2.example.com to answer CAA queries for every name of example.com with authority (an empty answer is fine; SERVFAIL, REFUSED or silence is not), or remove it from the NS records of example.com (at the registrar and in the zone)."
	tests := []struct {
		name    string
		failing []caa.FailingServer
		txtLame bool // the TXT lookup's view has ns2 lame (timeout)
		want    []Finding
	}{
		{name: "every server answers"},
		{
			name:    "SERVFAIL on one server",
			failing: []caa.FailingServer{failing("example.com", "servfail")},
			want: []Finding{warnF(CodeDNSLameDelegation,
				"Not every nameserver answers CAA queries: ns2.example.com at 192.0.2.54:53 answers SERVFAIL to CAA queries at example.com. dcv got its CAA answer from another nameserver, so this does not block issuance, but a CAA lookup that reaches only a failing server fails, and certificate authorities (dcv included) do not issue when a CAA lookup fails.",
				fixOne)},
		},
		{
			name:    "a timeout at two names of the climb",
			failing: []caa.FailingServer{failing("a.example.com", "timeout"), failing("example.com", "timeout")},
			want: []Finding{warnF(CodeDNSLameDelegation,
				"Not every nameserver answers CAA queries: ns2.example.com at 192.0.2.54:53 does not answer CAA queries at a.example.com, example.com (timeout). dcv got its CAA answer from another nameserver, so this does not block issuance, but a CAA lookup that reaches only a failing server fails, and certificate authorities (dcv included) do not issue when a CAA lookup fails.",
				fixOne)},
		},
		{
			name:    "a server the TXT findings name as lame already",
			failing: []caa.FailingServer{failing("example.com", "timeout")},
			txtLame: true,
			want: []Finding{warnF(CodeDNSLameDelegation, "Lame delegation of example.com: ns2.example.com at 192.0.2.54:53 does not answer (timeout).",
				"Remove ns2.example.com from the NS records of example.com (at the registrar and in the zone), or configure it to answer for the zone with authority.")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := dnsObs(resp(host, "NOERROR", txt(host, testValue)), func(n *validation.DNSObservation) {
				ns2View := dnsclient.ServerView{NS: "ns2.example.com.", Address: ns2, SOASerial: 7, Answer: resp(host, "NOERROR", txt(host, testValue))}
				if tt.txtLame {
					ns2View = dnsclient.ServerView{NS: "ns2.example.com.", Address: ns2, Lame: true, LameReason: "timeout",
						AnswerErr: &dnsclient.Error{Kind: dnsclient.KindTimeout, Detail: "i/o timeout"}}
				}
				n.Authoritative = &dnsclient.ZoneView{Zone: "example.com.", NS: []string{"ns1.example.com.", "ns2.example.com."}, Servers: []dnsclient.ServerView{
					{NS: "ns1.example.com.", Address: testServer, SOASerial: 7, Answer: resp(host, "NOERROR", txt(host, testValue))}, ns2View}}
			})
			o.CAA = &caa.Result{Domain: "a.example.com", Identity: id, Permitted: true, FailingServers: tt.failing}
			got := Domain([]validation.Observation{o}, testNow)
			if got.Status != StatusApproved {
				t.Errorf("Status = %q, want approved", got.Status)
			}
			checkFindings(t, got.Findings, tt.want)
		})
	}
}
