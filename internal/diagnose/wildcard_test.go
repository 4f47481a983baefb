package diagnose

import (
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
)

// TestWildcardProbeHits: a value found at a probed host is no wrong host
// when a random name beside that host returns the same values (a wildcard
// answered there); the finding about the record host says a wildcard
// holds the value and why it does not answer at the host. A probe whose
// neighbour has no such values is still a wrong host.
func TestWildcardProbeHits(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	lookup := func(name, rcode string, values ...string) *validation.Lookup {
		var rrs []dnsclient.Record
		for _, v := range values {
			rrs = append(rrs, txt(name+".", v))
		}
		return &validation.Lookup{Name: name, Type: "TXT", Response: resp(name, rcode, rrs...)}
	}
	// probe is a probe at name holding the value, with the lookup of a
	// random name beside it (nil: none made).
	probe := func(kind, name string, beside *validation.Lookup) validation.Probe {
		return validation.Probe{Kind: kind, Lookup: *lookup(name, "NOERROR", testValue), Wildcard: beside}
	}
	wildDoubled := probe(validation.ProbeDoubledZone, host+".example.com", lookup("_dnsauth-0123456789abcdef.a.example.com.example.com", "NOERROR", testValue))
	wildParent := probe(validation.ProbeParent, "_dnsauth.example.com", lookup("_dnsauth-0123456789abcdef.example.com", "NOERROR", testValue))
	notFoundNX := "No TXT record at " + host + ": 192.0.2.53:53 answered NXDOMAIN."
	fixNF := "Add a TXT record with host `_dnsauth.a` and value `" + testValue + "`. If you just added it, your DNS provider may need a few minutes to publish it."
	tests := []struct {
		name   string
		record *dnsclient.Response
		probes []validation.Probe
		want   []Finding
	}{
		{
			name:   "the wildcard above the existing domain is named",
			record: resp(host, "NXDOMAIN"),
			probes: []validation.Probe{wildDoubled, wildParent},
			want: []Finding{retryF(CodeDNSRecordNotFound, notFoundNX+
				" A wildcard TXT record *.example.com holds the value, but a wildcard stands in only for names that do not exist: it does not cover "+host+", because a.example.com exists.", fixNF)},
		},
		{
			name:   "a wildcard whose owner is not known",
			record: resp(host, "NXDOMAIN"),
			probes: []validation.Probe{wildDoubled},
			want: []Finding{retryF(CodeDNSRecordNotFound, notFoundNX+
				" A wildcard TXT record holds the value ("+host+".example.com and a random name beside it return it), but a wildcard stands in only for names that do not exist: it does not cover "+host+", because a.example.com exists.", fixNF)},
		},
		{
			name:   "the record host exists with other records",
			record: resp(host, "NOERROR", txt(host+".", "old-value")),
			probes: []validation.Probe{wildParent},
			want: []Finding{errF(CodeDNSRecordMismatch,
				`No TXT record at `+host+` holds the expected value; 192.0.2.53:53 answered: "old-value".`+
					" A wildcard TXT record *.example.com holds the value, but a wildcard stands in only for names that do not exist: it does not cover "+host+", because "+host+" exists.",
				"Set the TXT record at host `_dnsauth.a` to exactly `"+testValue+"`. Several TXT records at that host are fine: the others are ignored.")},
		},
		{
			name:   "a record at the doubled name, nothing beside it",
			record: resp(host, "NXDOMAIN"),
			probes: []validation.Probe{probe(validation.ProbeDoubledZone, host+".example.com", lookup("_dnsauth-0123456789abcdef.a.example.com.example.com", "NXDOMAIN")), wildParent},
			want: []Finding{errF(CodeDNSWrongHost,
				"The value was found at "+host+".example.com: your DNS provider appended the zone name to the full host you typed.",
				"In the host field type `_dnsauth.a` (the provider adds `.example.com` itself), or the full name with a trailing dot `_dnsauth.a.example.com.`.")},
		},
		{
			name:   "other values beside the probed name: a record of its own",
			record: resp(host, "NXDOMAIN"),
			probes: []validation.Probe{probe(validation.ProbeParent, "_dnsauth.example.com", lookup("_dnsauth-0123456789abcdef.example.com", "NOERROR", "something-else"))},
			want: []Finding{errF(CodeDNSWrongHost,
				"The value was found at _dnsauth.example.com, the record host of example.com, not at "+host+": each name has its own record host.",
				"Add a TXT record with host `_dnsauth.a` (full name `"+host+"`) and value `"+testValue+"`.")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := dnsObs(tc.record, func(n *validation.DNSObservation) {
				n.Probes = tc.probes
				n.Wildcard = lookup("_dnsauth-fedcba9876543210.a.example.com", "NXDOMAIN")
			})
			r := Domain([]validation.Observation{o}, testNow)
			checkFindings(t, r.Findings, tc.want)
			if r.Status != StatusPending {
				t.Errorf("status %s, want pending: the value is not at the record host", r.Status)
			}
		})
	}
}

// TestWildcardTXTAtHostWarnsOfTheDomain: other values at the record host
// that a wildcard gives (a random name beside it gets them too), for a
// domain that resolves: the fix warns that a record at the host stops the
// wildcard answering for the domain, whose address it most likely gives
// (black-box run: followed literally, the site stopped resolving). A
// domain without address gets no such warning.
func TestWildcardTXTAtHostWarnsOfTheDomain(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	const other = "google-site-verification=abc123"
	warning := "Mind that a.example.com seems to get its own address from the same wildcard"
	addr := resp("a.example.com", "NOERROR", dnsclient.Record{Name: "a.example.com.", Type: "A", TTL: 300, Data: "192.0.2.10"})
	tests := []struct {
		name   string
		method validation.Method
		domain *dnsclient.Response
		warned bool
	}{
		{"the domain resolves", validation.MethodDNS, addr, true},
		{"the domain has no address", validation.MethodDNS, resp("a.example.com", "NOERROR"), false},
		// Verification run: dns-01 got neither note.
		{"ACME dns-01, the domain resolves", validation.MethodDNS01, addr, true},
		// Review: an apex always exists, and no wildcard answers for it.
		{"the registered domain itself", validation.MethodDNS, addr, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, domain := host, "a.example.com"
			if tc.method == validation.MethodDNS01 {
				h = "_acme-challenge.a.example.com"
			}
			if tc.name == "the registered domain itself" {
				h, domain = "_dnsauth.example.com", "example.com"
			}
			o := dnsObs(resp(h, "NOERROR", txt(h+".", other)), func(n *validation.DNSObservation) {
				n.Host, n.Record.Name = h, h+"."
				w := "_dnsauth-fedcba9876543210.a.example.com"
				n.Wildcard = &validation.Lookup{Name: w, Type: "TXT", Response: resp(w, "NOERROR", txt(w+".", other))}
				n.Domain = &validation.Lookup{Name: "a.example.com", Type: "A", Response: tc.domain}
			})
			o.Method, o.Domain = tc.method, domain
			r := Domain([]validation.Observation{o}, testNow)
			if len(r.Findings) != 1 || r.Findings[0].Code != CodeDNSRecordMismatch {
				t.Fatalf("findings %+v, want one DNS_RECORD_MISMATCH", r.Findings)
			}
			if got := strings.Contains(r.Findings[0].Fix, warning); got != tc.warned {
				t.Errorf("fix %q: warned %v, want %v", r.Findings[0].Fix, got, tc.warned)
			}
		})
	}
}
