package diagnose

import (
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
)

func TestDomainDNS(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	other := txt(host, "google-site-verification=abc")
	fixNF := "Add a TXT record with host `_dnsauth.a` and value `" + testValue + "`. If you just added it, your DNS provider may need a few minutes to publish it."
	fixMM := "Set the TXT record at host `_dnsauth.a` to exactly `" + testValue + "`. Several TXT records at that host are fine: the others are ignored."
	fixLF := "Check that the nameservers serving _dnsauth.a.example.com answer TXT queries for it (REFUSED usually means a nameserver is not configured for the zone)."
	mmPrefix := "No TXT record at _dnsauth.a.example.com holds the expected value; 192.0.2.53:53 answered: "
	withErr := func(k dnsclient.Kind) validation.Observation {
		return dnsObs(nil, func(n *validation.DNSObservation) {
			n.Record.Err = &dnsclient.Error{Kind: k, Name: host + ".", Type: "TXT", Server: testServer}
		})
	}
	probe := func(kind, name string, r ...dnsclient.Record) func(*validation.DNSObservation) {
		return func(n *validation.DNSObservation) {
			n.Probes = append(n.Probes, validation.Probe{Kind: kind, Lookup: validation.Lookup{Name: name + ".", Type: "TXT", Response: resp(name, "NOERROR", r...)}})
		}
	}
	tests := []struct {
		name string
		obs  validation.Observation
		want []Finding
	}{
		{
			name: "value among several TXT records passes",
			obs:  dnsObs(resp(host, "NOERROR", other, txt(host, testValue)), nil),
		},
		{
			name: "value split across strings of one record passes",
			obs:  dnsObs(resp(host, "NOERROR", txt(host, testValue[:7], testValue[7:])), nil),
		},
		{
			name: "domain NXDOMAIN",
			obs: dnsObs(resp(host, "NXDOMAIN"), func(n *validation.DNSObservation) {
				n.Domain.Response = resp("a.example.com", "NXDOMAIN")
			}),
			want: []Finding{errF(CodeDomainUnresolvable,
				"a.example.com does not exist in DNS: 192.0.2.53:53 answered NXDOMAIN.",
				"Check the spelling of a.example.com, that the domain is registered and not expired, and that its delegation (the NS records at the registry) points to working nameservers.")},
		},
		{
			name: "domain CNAME to a name that does not exist",
			obs: dnsObs(resp(host, "NXDOMAIN"), func(n *validation.DNSObservation) {
				n.Domain.Response = resp("a.example.com", "NXDOMAIN")
				n.Domain.Response.CNAMEs = []string{"nowhere.example.net."}
			}),
			want: []Finding{errF(CodeDomainUnresolvable,
				"a.example.com is a CNAME to nowhere.example.net, and nowhere.example.net does not exist in DNS (192.0.2.53:53 answered NXDOMAIN): the CNAME points nowhere, so a.example.com has no address.",
				"Point the CNAME record of a.example.com at a name that exists (check the spelling of nowhere.example.net, and that the service it names is still set up for your domain), or replace the CNAME with A or AAAA records pointing at the public address of the web server of a.example.com.")},
		},
		{
			// Verification run: a DNAME was told as a CNAME to change.
			name: "domain below a DNAME to a name that does not exist",
			obs: dnsObs(resp(host, "NXDOMAIN"), func(n *validation.DNSObservation) {
				n.Domain.Response = resp("a.example.com", "NXDOMAIN")
				n.Domain.Response.CNAMEs = []string{"a.legacy.example.net."}
				n.Domain.Response.DNAMEs = []dnsclient.DNAME{{Owner: "example.com.", Target: "legacy.example.net."}}
			}),
			want: []Finding{errF(CodeDomainUnresolvable,
				"a.example.com lies below a DNAME record at example.com, which redirects every name below it to the same name below legacy.example.net: to a.legacy.example.net, which does not exist in DNS (192.0.2.53:53 answered NXDOMAIN), so a.example.com has no address. No CNAME record is there to change (RFC 6672).",
				"Add the address (A or AAAA) records at a.legacy.example.net, where the DNAME leads. Or remove the DNAME at example.com and give a.example.com its own address records; every other name below example.com then needs its own records too, or it stops resolving.")},
		},
		{
			name: "domain SERVFAIL",
			obs: dnsObs(resp(host, "SERVFAIL"), func(n *validation.DNSObservation) {
				n.Domain.Response = resp("a.example.com", "SERVFAIL")
			}),
			want: []Finding{retryF(CodeDomainUnresolvable,
				"a.example.com could not be resolved: 192.0.2.53:53 answered SERVFAIL: the domain's nameservers are failing or DNSSEC is broken.",
				"Check that every nameserver of a.example.com answers for the domain and, if DNSSEC is enabled, that the DS record at the registrar matches the zone's DNSKEY and that the signatures are current.")},
		},
		{
			name: "domain timeout without server",
			obs: dnsObs(nil, func(n *validation.DNSObservation) {
				n.Domain = &validation.Lookup{Name: "a.example.com.", Type: "SOA", Err: &dnsclient.Error{Kind: dnsclient.KindTimeout}}
				n.Record.Err = &dnsclient.Error{Kind: dnsclient.KindTimeout}
			}),
			want: []Finding{retryF(CodeDomainUnresolvable,
				"a.example.com could not be resolved: the DNS server gave no answer within the deadline.",
				"Check that the nameservers of a.example.com are reachable on UDP and TCP port 53 and answer for the domain; then check again.")},
		},
		{
			name: "record timeout",
			obs:  withErr(dnsclient.KindTimeout),
			want: []Finding{retryF(CodeDNSTimeout,
				"The TXT lookup of _dnsauth.a.example.com got no answer from 192.0.2.53:53 within the deadline.",
				"This is often temporary; check again in a few minutes. If it persists, check that the nameservers serving _dnsauth.a.example.com are reachable on UDP and TCP port 53.")},
		},
		{
			name: "record SERVFAIL",
			obs:  dnsObs(resp(host, "SERVFAIL"), nil),
			want: []Finding{retryF(CodeDNSServfail,
				"The TXT lookup of _dnsauth.a.example.com failed: 192.0.2.53:53 answered SERVFAIL (the nameservers are failing or DNSSEC is broken).",
				"This is often temporary; check again in a few minutes. If it persists, check the nameservers serving _dnsauth.a.example.com and, if DNSSEC is enabled, the zone's signatures.")},
		},
		{
			// acme-dns style: the host is a CNAME into another zone,
			// whose servers fail; they are the ones named and to fix.
			name: "record CNAME into a zone that refuses",
			obs: dnsObs(func() *dnsclient.Response {
				r := resp(host, "REFUSED")
				r.CNAMEs = []string{"x.refused.net."}
				return r
			}(), nil),
			want: []Finding{errF(CodeDNSLookupFailed, "The TXT lookup of x.refused.net failed: 192.0.2.53:53 answered REFUSED. x.refused.net is where the CNAME at _dnsauth.a.example.com leads: its record is the one that counts.",
				"Check that the nameservers serving x.refused.net answer TXT queries for it (REFUSED usually means a nameserver is not configured for the zone).")},
		},
		{
			name: "record CNAME into a zone that cannot be reached",
			obs: dnsObs(nil, func(n *validation.DNSObservation) {
				n.Record.Err = &dnsclient.Error{Kind: dnsclient.KindNetwork, Name: "x.lame.net.", Type: "TXT", Server: "192.0.2.13:53", Detail: "following cname to x.lame.net.: connection refused"}
			}),
			want: []Finding{retryF(CodeDNSLookupFailed, "The TXT lookup of x.lame.net failed: 192.0.2.13:53 could not be reached. x.lame.net is where the CNAME at _dnsauth.a.example.com leads: its record is the one that counts.",
				"Check that the nameserver 192.0.2.13:53 is running and answers on port 53 (UDP and TCP) from the internet; if it is retired, remove it from the NS records that delegate the zone of x.lame.net, at the zone and at its parent.")},
		},
		{
			name: "record REFUSED",
			obs:  dnsObs(resp(host, "REFUSED"), nil),
			want: []Finding{errF(CodeDNSLookupFailed, "The TXT lookup of _dnsauth.a.example.com failed: 192.0.2.53:53 answered REFUSED.", fixLF)},
		},
		{
			// The REFUSED of dcv's own resolver (forward mode) is its
			// policy towards dcv: the CA's side.
			name: "record REFUSED by dcv's resolver",
			obs: dnsObs(resp(host, "REFUSED"), func(n *validation.DNSObservation) {
				n.Record.Response.Resolver = true
			}),
			want: []Finding{retryF(CodeResolverUnavailable,
				"dcv could not look up _dnsauth.a.example.com: 192.0.2.53:53, dcv's own recursive resolver, refused the query (REFUSED: it does not resolve for dcv, or it is not a recursive resolver). This is a problem on the certificate authority's side, not with your domain.",
				"Nothing to change on your side: check again later. If it persists, tell the certificate authority's operator that its DNS resolution is down (its resolver or its network).")},
		},
		{
			name: "record network error",
			obs:  withErr(dnsclient.KindNetwork),
			want: []Finding{retryF(CodeDNSLookupFailed, "The TXT lookup of _dnsauth.a.example.com failed: 192.0.2.53:53 could not be reached.",
				"Check that the nameserver 192.0.2.53:53 is running and answers on port 53 (UDP and TCP) from the internet; if it is retired, remove it from the NS records that delegate the zone of _dnsauth.a.example.com, at the zone and at its parent.")},
		},
		{
			name: "tld servers silent",
			obs: dnsObs(nil, func(n *validation.DNSObservation) {
				n.Record.Err = &dnsclient.Error{Kind: dnsclient.KindTimeout, Server: "192.0.2.1:53", Zone: "com."}
			}),
			want: []Finding{retryF(CodeDNSTimeout,
				"The TXT lookup of _dnsauth.a.example.com failed before it reached the domain's nameservers: no server of the com zone, above example.com, answered dcv (timeout). That is the registry's side, or the network between it and dcv, not the domain's own nameservers.",
				"Nothing needs to change at example.com: check again in a few minutes. If it lasts for hours, ask your registrar whether example.com is still delegated in the com zone.")},
		},
		{
			name: "tld servers silent, domain unresolvable",
			obs: dnsObs(nil, func(n *validation.DNSObservation) {
				n.Domain = &validation.Lookup{Name: "a.example.com.", Type: "SOA", Err: &dnsclient.Error{Kind: dnsclient.KindNetwork, Zone: "com."}}
				n.Record.Err = &dnsclient.Error{Kind: dnsclient.KindNetwork, Zone: "com."}
			}),
			want: []Finding{retryF(CodeDomainUnresolvable,
				"a.example.com could not be resolved: no server of the com zone, above example.com, answered dcv (network). That is the registry's side, or the network between it and dcv, not the domain's own nameservers.",
				"Nothing needs to change at example.com: check again in a few minutes. If it lasts for hours, ask your registrar whether example.com is still delegated in the com zone.")},
		},
		{
			name: "the domain's own zone silent",
			obs: dnsObs(nil, func(n *validation.DNSObservation) {
				n.Record.Err = &dnsclient.Error{Kind: dnsclient.KindTimeout, Server: "192.0.2.53:53", Zone: "example.com."}
			}),
			want: []Finding{retryF(CodeDNSTimeout,
				"The TXT lookup of _dnsauth.a.example.com got no answer from 192.0.2.53:53 within the deadline.",
				"This is often temporary; check again in a few minutes. If it persists, check that the nameservers serving _dnsauth.a.example.com are reachable on UDP and TCP port 53.")},
		},
		{
			name: "record malformed",
			obs:  withErr(dnsclient.KindMalformed),
			want: []Finding{errF(CodeDNSLookupFailed, "The TXT lookup of _dnsauth.a.example.com failed: 192.0.2.53:53 sent a malformed answer.", fixLF)},
		},
		{
			name: "record too large",
			obs:  withErr(dnsclient.KindTooLarge),
			want: []Finding{errF(CodeDNSLookupFailed,
				"The TXT lookup of _dnsauth.a.example.com failed: the answer from 192.0.2.53:53 exceeds dcv's size limits.",
				"Remove unneeded records at _dnsauth.a.example.com so that the answer is smaller.")},
		},
		{
			name: "record CNAME loop",
			obs:  withErr(dnsclient.KindLoop),
			want: []Finding{errF(CodeDNSLookupFailed,
				"The TXT lookup of _dnsauth.a.example.com failed: its CNAME chain loops or is too long.",
				"Fix the CNAME records starting at _dnsauth.a.example.com so that the chain ends, in a few steps, at a name that holds the TXT record.")},
		},
		{
			name: "record CNAME chain too long",
			obs: dnsObs(nil, func(n *validation.DNSObservation) {
				n.Record.Err = &dnsclient.Error{Kind: dnsclient.KindLoop, Server: testServer, Detail: "following cname to x.example.com.: cname chain longer than 8"}
			}),
			want: []Finding{errF(CodeDNSLookupFailed,
				"The TXT lookup of _dnsauth.a.example.com failed: its CNAME chain is longer than the 8 links dcv follows.",
				"Shorten the CNAME chain starting at _dnsauth.a.example.com: point its CNAME closer to the name that holds the TXT record, so that it is reached in at most 8 steps.")},
		},
		{
			// A delegation without glue (black-box run: said to be a
			// CNAME loop).
			name: "record behind a nameserver without glue",
			obs: dnsObs(nil, func(n *validation.DNSObservation) {
				n.Record.Err = &dnsclient.Error{Kind: dnsclient.KindLoop, Name: "ns1.a.example.com.", Detail: "name server ns1.a.example.com. needs itself to be resolved (glueless loop)"}
			}),
			want: []Finding{errF(CodeDNSGlueMissing,
				"The TXT lookup of _dnsauth.a.example.com failed: the nameserver ns1.a.example.com lies inside the zone it serves, and the delegation to that zone gives no address (glue) for it, so it can only be found by asking itself.",
				"At the registrar of the zone that ns1.a.example.com serves, add a glue record: the IPv4 (and IPv6) address of ns1.a.example.com, as the zone itself publishes it. Or delegate the zone to nameservers outside it.")},
		},
		{
			// Review: two zones whose nameservers are named in each
			// other are no missing glue.
			name: "record behind two zones that depend on each other",
			obs: dnsObs(nil, func(n *validation.DNSObservation) {
				n.Record.Err = &dnsclient.Error{Kind: dnsclient.KindLoop, Server: testServer, Detail: "no server of a.example.com. answered: name server ns1.other.net. needs itself to be resolved (glueless loop)"}
			}),
			want: []Finding{errF(CodeDNSLookupFailed,
				"The TXT lookup of _dnsauth.a.example.com failed: the nameserver ns1.other.net of a.example.com lies in other.net, whose own nameservers can only be found through a.example.com (a circular delegation), so none is reached.",
				"Give a.example.com at least one nameserver whose address can be found without it: one inside a.example.com with a glue record at its registrar, or one in a zone that does not depend on a.example.com; or give the zone of ns1.other.net nameservers that do not depend on a.example.com.")},
		},
		{
			name: "record unknown error",
			obs:  withErr(dnsclient.KindUnknown),
			want: []Finding{errF(CodeDNSLookupFailed, "The TXT lookup of _dnsauth.a.example.com at 192.0.2.53:53 failed.", fixLF)},
		},
		{
			name: "zone appended twice",
			obs:  dnsObs(resp(host, "NXDOMAIN"), probe(validation.ProbeDoubledZone, "_dnsauth.a.example.com.example.com", txt("x", testValue))),
			want: []Finding{errF(CodeDNSWrongHost,
				"The value was found at _dnsauth.a.example.com.example.com: your DNS provider appended the zone name to the full host you typed.",
				"In the host field type `_dnsauth.a` (the provider adds `.example.com` itself), or the full name with a trailing dot `_dnsauth.a.example.com.`.")},
		},
		{
			name: "domain appended twice",
			obs: dnsObs(resp(host, "NXDOMAIN"), func(n *validation.DNSObservation) {
				probe(validation.ProbeDoubledZone, "_dnsauth.a.example.com.example.com")(n) // without the value
				probe(validation.ProbeDoubledDomain, "_dnsauth.a.example.com.a.example.com", txt("x", testValue))(n)
			}),
			want: []Finding{errF(CodeDNSWrongHost,
				"The value was found at _dnsauth.a.example.com.a.example.com: your DNS provider appended the domain name to the full host you typed.",
				"In the host field type `_dnsauth` (the provider adds `.a.example.com` itself), or the full name with a trailing dot `_dnsauth.a.example.com.`.")},
		},
		{
			name: "value at the bare domain",
			obs:  dnsObs(resp(host, "NOERROR"), probe(validation.ProbeBareDomain, "a.example.com", txt("a.example.com", "v=spf1 -all"), txt("a.example.com", testValue))),
			want: []Finding{errF(CodeDNSWrongHost,
				"The value was found in a TXT record at a.example.com itself, not at _dnsauth.a.example.com.",
				"Add a TXT record with host `_dnsauth.a` (full name `_dnsauth.a.example.com`) and value `"+testValue+"`; the TXT record at a.example.com is not used for validation and can be removed.")},
		},
		{
			// The ACME dns-01 host: the most common near miss.
			name: "value at the ACME challenge host",
			obs:  dnsObs(resp(host, "NXDOMAIN"), probe(validation.ProbeOtherPrefix, "_acme-challenge.a.example.com", txt("_acme-challenge.a.example.com", testValue))),
			want: []Finding{errF(CodeDNSWrongHost,
				"The value was found at _acme-challenge.a.example.com, the host of ACME's dns-01 challenge (prefix _acme-challenge), not at _dnsauth.a.example.com, where this validation looks (prefix _dnsauth).",
				"Add a TXT record with host `_dnsauth.a` (full name `_dnsauth.a.example.com`) and value `"+testValue+"`; the TXT record at _acme-challenge.a.example.com is not used for this validation and can be removed.")},
		},
		{
			name: "value at the host with its labels reversed",
			obs:  dnsObs(resp(host, "NXDOMAIN"), probe(validation.ProbeReversed, "a._dnsauth.example.com", txt("a._dnsauth.example.com", testValue))),
			want: []Finding{errF(CodeDNSWrongHost,
				"The value was found at a._dnsauth.example.com: the labels of the host are in the wrong order, and validation looks at _dnsauth.a.example.com, with the prefix _dnsauth first.",
				"Add a TXT record with host `_dnsauth.a` (full name `_dnsauth.a.example.com`) and value `"+testValue+"`.")},
		},
		{
			// Black-box run: validation delegated by CNAME, the record
			// published with the prefix at the delegated end.
			name: "value at the prefixed target of the host's CNAME",
			obs: dnsObs(func() *dnsclient.Response {
				r := resp(host, "NOERROR")
				r.CNAMEs = []string{"a.validation.example.net."}
				return r
			}(), probe(validation.ProbeCNAMEPrefixed, "_dnsauth.a.validation.example.net", txt("_dnsauth.a.validation.example.net", testValue))),
			want: []Finding{errF(CodeDNSWrongHost,
				"The value was found at _dnsauth.a.validation.example.net, but _dnsauth.a.example.com is a CNAME to a.validation.example.net: the record belongs at a.validation.example.net itself, where the CNAME leads, without another _dnsauth in front.",
				"Add the TXT record with value `"+testValue+"` at a.validation.example.net (the name the CNAME points to); the record at _dnsauth.a.validation.example.net can go.")},
		},
		{
			name: "value at the parent's host",
			obs:  dnsObs(resp(host, "NXDOMAIN"), probe(validation.ProbeParent, "_dnsauth.example.com", txt("_dnsauth.example.com", testValue))),
			want: []Finding{errF(CodeDNSWrongHost,
				"The value was found at _dnsauth.example.com, the record host of example.com, not at _dnsauth.a.example.com: each name has its own record host.",
				"Add a TXT record with host `_dnsauth.a` (full name `_dnsauth.a.example.com`) and value `"+testValue+"`.")},
		},
		{
			name: "probe without the value is ignored",
			obs:  dnsObs(resp(host, "NXDOMAIN"), probe(validation.ProbeBareDomain, "a.example.com", txt("a.example.com", "v=spf1 -all"))),
			want: []Finding{retryF(CodeDNSRecordNotFound, "No TXT record at _dnsauth.a.example.com: 192.0.2.53:53 answered NXDOMAIN.", fixNF)},
		},
		{
			name: "mismatch, value in quotes",
			obs:  dnsObs(resp(host, "NOERROR", other, txt(host, `"`+testValue+`"`)), nil),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`"google-site-verification=abc", ""`+testValue+`"". One value is the expected value wrapped in quotation marks: enter the value without quotes (some DNS providers add their own).`,
				fixMM)},
		},
		{
			// As the wire gives it: a quotation mark inside a TXT string is
			// escaped (dnsclient keeps RFC 1035 §5.1's \").
			name: "mismatch, value in escaped quotes",
			obs:  dnsObs(resp(host, "NOERROR", txt(host, `\"`+testValue+`\"`)), nil),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`"\"`+testValue+`\"". One value is the expected value wrapped in quotation marks: enter the value without quotes (some DNS providers add their own).`,
				fixMM)},
		},
		{
			// Typographic quotation marks come escaped as UTF-8 bytes
			// (RFC 1035 §5.1): they are recognised all the same.
			name: "mismatch, value in typographic quotes",
			obs:  dnsObs(resp(host, "NOERROR", txt(host, `\226\128\156`+testValue+`\226\128\157`)), nil),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`"\226\128\156`+testValue+`\226\128\157". One value is the expected value wrapped in quotation marks: enter the value without quotes (some DNS providers add their own).`,
				fixMM)},
		},
		{
			name: "mismatch, zero-width space before the value",
			obs:  dnsObs(resp(host, "NOERROR", txt(host, `\226\128\139`+testValue)), nil),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`"\226\128\139`+testValue+`". One value is the expected value with a zero-width space (U+200B) before it: an invisible character, usually copied along from a web page, an e-mail or a document. Delete it: type the value again, or paste it as plain text.`,
				fixMM)},
		},
		{
			name: "mismatch, byte order mark before and non-breaking space after the value",
			obs:  dnsObs(resp(host, "NOERROR", txt(host, `\239\187\191`+testValue+`\194\160`)), nil),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`"\239\187\191`+testValue+`\194\160". One value is the expected value with a byte order mark (U+FEFF) and a non-breaking space (U+00A0) before and after it: invisible characters, usually copied along from a web page, an e-mail or a document. Delete them: type the value again, or paste it as plain text.`,
				fixMM)},
		},
		{
			name: "mismatch, zero-width space inside the value",
			obs:  dnsObs(resp(host, "NOERROR", txt(host, testValue[:5]+`\226\128\139`+testValue[5:])), nil),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`"`+testValue[:5]+`\226\128\139`+testValue[5:]+`". One value is the expected value with a zero-width space (U+200B) inside it: an invisible character, usually copied along from a web page, an e-mail or a document. Delete it: type the value again, or paste it as plain text.`,
				fixMM)},
		},
		{
			name: "mismatch, white space and case",
			obs:  dnsObs(resp(host, "NOERROR", txt(host, " "+testValue+"\n"), txt(host, strings.ToUpper(testValue))), nil),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`" `+testValue+`\n", "`+strings.ToUpper(testValue)+`". One value is the expected value with spaces or line breaks around it. One value differs from the expected value only in letter case; the value is case-sensitive.`,
				fixMM)},
		},
		{
			name: "mismatch, value is one string of a record",
			obs:  dnsObs(resp(host, "NOERROR", txt(host, testValue, "extra")), nil),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`"`+testValue+`extra". One record is made of 2 strings, which are joined into one value without spaces: the expected value is one of them, but the record must hold it alone.`,
				fixMM)},
		},
		{
			name: "mismatch, value split with padding",
			obs:  dnsObs(resp(host, "NOERROR", txt(host, testValue[:10]+" ", " "+testValue[10:])), nil),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`"`+testValue[:10]+"  "+testValue[10:]+`". One record splits the value into 2 strings with spaces or quotation marks around the parts; the strings are joined without any separator, so the parts must add up to the value exactly.`,
				fixMM)},
		},
		{
			name: "mismatch, value cut into two records",
			obs:  dnsObs(resp(host, "NOERROR", txt(host, testValue[10:]), txt(host, testValue[:10])), nil),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`"`+testValue[10:]+`", "`+testValue[:10]+`". Two of these records, joined, make the expected value: the value was cut into two TXT records, but each record is a value of its own (only the strings of one record are joined).`,
				fixMM)},
		},
		{
			name: "mismatch, value inside a longer string",
			obs:  dnsObs(resp(host, "NOERROR", txt(host, "dcv="+testValue)), nil),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`"dcv=`+testValue+`". One value contains the expected value with other text around it; the record must hold the value alone.`,
				fixMM)},
		},
		{
			name: "mismatch, many long values are cut",
			obs: dnsObs(resp(host, "NOERROR",
				txt(host, strings.Repeat("x", 100)), txt(host, "b"), txt(host, "c"), txt(host, "d"), txt(host, "e\x00"), txt(host, "f"), txt(host, "g")), nil),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`"`+strings.Repeat("x", 79)+`…", "b", "c", "d", "e\x00" and 2 more.`,
				fixMM)},
		},
		{
			// A name and its wildcard validate at one host: the record
			// of the other stays, this value goes beside it.
			name: "mismatch, the value of the wildcard of the same host: add a second record",
			obs: dnsObs(resp(host, "NOERROR", txt(host, "wild-value")), func(n *validation.DNSObservation) {
				n.OrderValues = []validation.DomainValue{{Domain: "*.a.example.com", Value: "wild-value"}}
			}),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`"wild-value". One value is the one for *.a.example.com, another domain of this order that validates at this same host: keep both records, one per value.`,
				"Add a second TXT record at host `_dnsauth.a` with the value `"+testValue+"`, and keep the one holding the value for *.a.example.com: both names validate at this host, each with its own record.")},
		},
		{
			name: "mismatch, the wildcard's check finds the apex value: add a second record",
			obs: func() validation.Observation {
				o := dnsObs(resp(host, "NOERROR", txt(host, "apex-value")), func(n *validation.DNSObservation) {
					n.OrderValues = []validation.DomainValue{{Domain: "b.example.com", Value: "b-value"}, {Domain: "a.example.com", Value: "apex-value"}}
				})
				o.Domain = "*.a.example.com"
				return o
			}(),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`"apex-value". One value is the one for a.example.com, another domain of this order that validates at this same host: keep both records, one per value.`,
				"Add a second TXT record at host `_dnsauth.a` with the value `"+testValue+"`, and keep the one holding the value for a.example.com: both names validate at this host, each with its own record.")},
		},
		{
			name: "mismatch through a CNAME, the value of the wildcard: add a second record at the target",
			obs: dnsObs(func() *dnsclient.Response {
				r := resp(host, "NOERROR", txt("dcv.provider.example.net.", "wild-value"))
				r.CNAMEs = []string{"dcv.provider.example.net."}
				return r
			}(), func(n *validation.DNSObservation) {
				n.OrderValues = []validation.DomainValue{{Domain: "*.a.example.com", Value: "wild-value"}}
			}),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`"wild-value". One value is the one for *.a.example.com, another domain of this order that validates at this same host: keep both records, one per value. `+
					"_dnsauth.a.example.com is a CNAME to dcv.provider.example.net: these are the records of dcv.provider.example.net, where validation is delegated.",
				"Add a second TXT record at dcv.provider.example.net with the value `"+testValue+"` (in the zone of dcv.provider.example.net, at the DNS host that serves it), "+
					"and keep the one holding the value for *.a.example.com: both names validate at this host, each with its own record. Or replace the CNAME at host `_dnsauth.a` with two TXT records, one per value.")},
		},
		{
			name: "mismatch, the value of another domain's host: set this one",
			obs: dnsObs(resp(host, "NOERROR", txt(host, "www-value")), func(n *validation.DNSObservation) {
				n.OrderValues = []validation.DomainValue{{Domain: "www.a.example.com", Value: "www-value"}}
			}),
			want: []Finding{errF(CodeDNSRecordMismatch,
				mmPrefix+`"www-value". One value is the one for www.a.example.com, another domain of this order: it belongs at _dnsauth.www.a.example.com, and this host needs its own value.`,
				fixMM)},
		},
		{
			name: "CNAME without TXT",
			obs: dnsObs(func() *dnsclient.Response {
				r := resp(host, "NOERROR")
				r.CNAMEs = []string{"dcv.provider.example.net."}
				return r
			}(), nil),
			want: []Finding{errF(CodeDNSWrongType,
				"_dnsauth.a.example.com has no TXT record but other records: CNAME to dcv.provider.example.net (answer from 192.0.2.53:53).",
				"Add a TXT record with value `"+testValue+"` at dcv.provider.example.net, where the CNAME record at host `_dnsauth.a` leads (as a delegation of validation to another zone wants); or remove that CNAME record and add the TXT record at host `_dnsauth.a` itself (a name with a CNAME record can hold no other record).")},
		},
		{
			// Black-box run: "remove the CNAME record" that a DNAME
			// synthesized, and a TXT record the zone cannot hold.
			name: "CNAME synthesized from a DNAME, without TXT",
			obs: dnsObs(func() *dnsclient.Response {
				r := resp(host, "NOERROR")
				r.CNAMEs = []string{"_dnsauth.a.legacy.example.net."}
				r.DNAMEs = []dnsclient.DNAME{{Owner: "a.example.com.", Target: "a.legacy.example.net."}}
				return r
			}(), nil),
			want: []Finding{errF(CodeDNSWrongType,
				"_dnsauth.a.example.com has no TXT record but other records: CNAME to _dnsauth.a.legacy.example.net (answer from 192.0.2.53:53). No CNAME record is there: a DNAME record at a.example.com redirects every name below it to the same name below a.legacy.example.net, and the resolver synthesized that CNAME from it (RFC 6672).",
				"No record can be added below a.example.com while its DNAME is there: add the TXT record with value `"+testValue+"` at _dnsauth.a.legacy.example.net, where the DNAME leads. Or remove the DNAME and add the TXT record at host `_dnsauth.a`; every name below a.example.com then needs records of its own, or it stops resolving.")},
		},
		{
			// Review: a DNAME further down the chain leaves the host's
			// own CNAME a record to change.
			name: "CNAME record, then a DNAME further down the chain",
			obs: dnsObs(func() *dnsclient.Response {
				r := resp(host, "NOERROR")
				r.CNAMEs = []string{"x.legacy.example.org.", "x.elsewhere.example.net."}
				r.DNAMEs = []dnsclient.DNAME{{Owner: "legacy.example.org.", Target: "elsewhere.example.net."}}
				return r
			}(), nil),
			want: []Finding{errF(CodeDNSWrongType,
				"_dnsauth.a.example.com has no TXT record but other records: CNAME to x.legacy.example.org → x.elsewhere.example.net (answer from 192.0.2.53:53).",
				"Add a TXT record with value `"+testValue+"` at x.elsewhere.example.net, where the CNAME record at host `_dnsauth.a` leads (as a delegation of validation to another zone wants); or remove that CNAME record and add the TXT record at host `_dnsauth.a` itself (a name with a CNAME record can hold no other record).")},
		},
		{
			// A recursive resolver's NXDOMAIN through the CNAME carries
			// the SOA of the target's parent (com): the host's zone is not
			// that (verification run: "host `_dnsauth.a.example`").
			name: "CNAME into a domain that is not registered, through a resolver",
			obs: dnsObs(func() *dnsclient.Response {
				r := resp(host, "NXDOMAIN")
				r.CNAMEs = []string{"gone.nxzone.com."}
				r.Zone, r.Resolver = "com.", true
				return r
			}(), nil),
			want: []Finding{errF(CodeDNSWrongType,
				"_dnsauth.a.example.com has no TXT record but other records: CNAME to gone.nxzone.com (answer from 192.0.2.53:53). The CNAME's target gone.nxzone.com does not exist (NXDOMAIN): the CNAME points nowhere. Its domain nxzone.com is not registered: the servers of com answered that it does not exist.",
				"Remove the CNAME record at host `_dnsauth.a` and add a TXT record there with value `"+testValue+"`; or, if the CNAME hands validation to your DNS provider, ask it for the right target (nxzone.com does not exist, so nothing can be published there).")},
		},
		{
			name: "CNAME into a top-level domain that does not exist",
			obs: dnsObs(func() *dnsclient.Response {
				r := resp(host, "NXDOMAIN")
				r.CNAMEs = []string{"gone.nxtld."}
				r.Zone = "."
				return r
			}(), nil),
			want: []Finding{errF(CodeDNSWrongType,
				"_dnsauth.a.example.com has no TXT record but other records: CNAME to gone.nxtld (answer from 192.0.2.53:53). The CNAME's target gone.nxtld does not exist (NXDOMAIN): the CNAME points nowhere. Its top-level domain .nxtld does not exist: the root servers answered so (a typo in the target?).",
				"Remove the CNAME record at host `_dnsauth.a` and add a TXT record there with value `"+testValue+"`; or, if the CNAME hands validation to your DNS provider, ask it for the right target (gone.nxtld does not exist, so nothing can be published there).")},
		},
		{
			name: "A and AAAA records instead of TXT",
			obs: dnsObs(func() *dnsclient.Response {
				r := resp(host, "NOERROR")
				r.Other = []dnsclient.Record{{Type: "A", Data: "192.0.2.1"}, {Type: "A", Data: "192.0.2.2"}, {Type: "AAAA", Data: "2001:db8::1"}}
				return r
			}(), nil),
			want: []Finding{errF(CodeDNSWrongType,
				"_dnsauth.a.example.com has no TXT record but other records: A, AAAA (answer from 192.0.2.53:53).",
				"Add a record of type TXT (not A, AAAA) with host `_dnsauth.a` and value `"+testValue+"`.")},
		},
		{
			name: "no record, NXDOMAIN",
			obs:  dnsObs(resp(host, "NXDOMAIN"), nil),
			want: []Finding{retryF(CodeDNSRecordNotFound, "No TXT record at _dnsauth.a.example.com: 192.0.2.53:53 answered NXDOMAIN.", fixNF)},
		},
		{
			name: "no record, NODATA",
			obs:  dnsObs(resp(host, "NOERROR"), nil),
			want: []Finding{retryF(CodeDNSRecordNotFound, "No TXT record at _dnsauth.a.example.com: 192.0.2.53:53 answered with no TXT record.", fixNF)},
		},
		{
			name: "host missing from evidence is derived from the domain",
			obs:  dnsObs(resp(host, "NOERROR"), func(n *validation.DNSObservation) { n.Host = "" }),
			want: []Finding{retryF(CodeDNSRecordNotFound, "No TXT record at _dnsauth.a.example.com: 192.0.2.53:53 answered with no TXT record.", fixNF)},
		},
		{
			name: "value found by a probe of a new kind",
			obs:  dnsObs(resp(host, "NXDOMAIN"), probe("future_kind", "_dnsauth-a.example.com", txt("x", testValue))),
			want: []Finding{errF(CodeDNSWrongHost, "The value was found at _dnsauth-a.example.com instead of _dnsauth.a.example.com.", fixNF)},
		},
		{
			name: "record lookup missing",
			obs:  dnsObs(nil, nil),
			want: []Finding{retryF(CodeObservationInvalid,
				"dcv has no usable evidence for a.example.com: the evidence of the validation method is missing.",
				"This is a problem on the certificate authority's side, not with your domain: check again later, or contact the operator if it persists.")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Domain([]validation.Observation{tt.obs}, testNow)
			checkFindings(t, got.Findings, tt.want)
			wantStatus := StatusApproved
			if len(tt.want) > 0 {
				wantStatus = StatusPending
			}
			if got.Status != wantStatus {
				t.Errorf("Status = %q, want %q", got.Status, wantStatus)
			}
		})
	}
}

func TestRelativeHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, host, rel, zone string
	}{
		{"subdomain", "_dnsauth.a.example.com", "_dnsauth.a", "example.com"},
		{"apex", "_dnsauth.example.com", "_dnsauth", "example.com"},
		{"multi-label suffix", "_dnsauth.shop.example.co.uk", "_dnsauth.shop", "example.co.uk"},
		{"private suffix", "_dnsauth.me.github.io", "_dnsauth", "me.github.io"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rel, zone := relativeHost(tt.host)
			if rel != tt.rel || zone != tt.zone {
				t.Errorf("relativeHost(%q) = %q, %q; want %q, %q", tt.host, rel, zone, tt.rel, tt.zone)
			}
		})
	}
}
