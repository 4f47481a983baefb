package diagnose

import (
	"testing"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
)

// TestSubzoneNote: a record host in a zone delegated below the registered
// domain gets a fix naming that zone (and its nameservers, when the
// authoritative view has them), since the same host typed in the
// registered domain's zone creates a record the delegation hides.
func TestSubzoneNote(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.www.sub.example.com"
	obs := func(zone string, auth *dnsclient.ZoneView) validation.Observation {
		r := resp(host, "NXDOMAIN")
		r.Zone = zone
		return validation.Observation{
			Domain: "www.sub.example.com", Method: validation.MethodDNS, Expected: testValue, StartedAt: testNow,
			DNS: &validation.DNSObservation{
				Host:          host,
				Record:        validation.Lookup{Name: host + ".", Type: "TXT", Response: r},
				Domain:        &validation.Lookup{Name: "www.sub.example.com.", Type: "A", Response: resp("www.sub.example.com", "NOERROR")},
				Authoritative: auth,
			},
		}
	}
	msg := "No TXT record at " + host + ": 192.0.2.53:53 answered NXDOMAIN."
	add := "Add a TXT record with host `_dnsauth.www` and value `" + testValue + "`. If you just added it, your DNS provider may need a few minutes to publish it."
	subView := &dnsclient.ZoneView{Zone: "sub.example.com.", Servers: []dnsclient.ServerView{
		{NS: "ns1.dns-host.net.", Address: "192.0.2.1:53", Answer: resp(host, "NXDOMAIN")},
		{NS: "ns2.dns-host.net.", Address: "192.0.2.2:53", Answer: resp(host, "NXDOMAIN")},
	}}
	tests := []struct {
		name string
		obs  validation.Observation
		want []Finding
	}{
		{
			name: "forward mode: the zone from the negative answer",
			obs:  obs("sub.example.com.", nil),
			want: []Finding{retryF(CodeDNSRecordNotFound, msg, add+
				" The host is relative to the zone sub.example.com, delegated from example.com: add the record in the zone sub.example.com, at the DNS host that serves it. A record at host `_dnsauth.www.sub` in the zone example.com is hidden by the delegation and never seen.")},
		},
		{
			name: "iterative mode: the zone's nameservers named",
			obs:  obs("sub.example.com.", subView),
			want: []Finding{retryF(CodeDNSRecordNotFound, msg, add+
				" The host is relative to the zone sub.example.com, delegated from example.com to the nameservers ns1.dns-host.net, ns2.dns-host.net: add the record in the zone sub.example.com, at the DNS host that serves it. A record at host `_dnsauth.www.sub` in the zone example.com is hidden by the delegation and never seen.")},
		},
		{
			name: "the registered domain's own zone: no note",
			obs:  obs("example.com.", nil),
			want: []Finding{retryF(CodeDNSRecordNotFound, msg,
				"Add a TXT record with host `_dnsauth.www.sub` and value `"+testValue+"`. If you just added it, your DNS provider may need a few minutes to publish it.")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := Domain([]validation.Observation{tc.obs}, testNow)
			if r.Status != StatusPending {
				t.Errorf("status %s, want pending: the record is missing", r.Status)
			}
			checkFindings(t, r.Findings, tc.want)
		})
	}
}

// TestSubzonePreflight: without a value, the host to publish at is named
// relative to the subzone too, with the same note.
func TestSubzonePreflight(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.www.sub.example.com"
	r := resp(host, "NXDOMAIN")
	r.Zone = "sub.example.com."
	o := validation.Observation{
		Domain: "www.sub.example.com", Method: validation.MethodDNS, StartedAt: testNow,
		DNS: &validation.DNSObservation{
			Host:   host,
			Record: validation.Lookup{Name: host + ".", Type: "TXT", Response: r},
			Domain: &validation.Lookup{Name: "www.sub.example.com.", Type: "A", Response: resp("www.sub.example.com", "NOERROR")},
		},
	}
	checkFindings(t, Preflight([]validation.Observation{o}, testNow).Findings, []Finding{{
		Code: CodeDNSTXTPresent, Severity: SeverityInfo,
		Message: "No TXT record at " + host + " yet (answer from 192.0.2.53:53).",
		Fix: "To validate, publish a TXT record at host `_dnsauth.www` with the value of your order." +
			" The host is relative to the zone sub.example.com, delegated from example.com: add the record in the zone sub.example.com, at the DNS host that serves it. A record at host `_dnsauth.www.sub` in the zone example.com is hidden by the delegation and never seen.",
	}})
}

// TestSubzoneApexNote: when the record host is itself the apex of a zone
// delegated below the registered domain, the record goes at that apex
// (`@`), and the note says that the same host typed in the registered
// domain's zone is hidden by the delegation.
func TestSubzoneApexNote(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.d7.example.com"
	obs := func(auth *dnsclient.ZoneView) validation.Observation {
		r := resp(host, "NOERROR")
		r.Zone = host + "."
		return validation.Observation{
			Domain: "d7.example.com", Method: validation.MethodDNS, Expected: testValue, StartedAt: testNow,
			DNS: &validation.DNSObservation{
				Host:          host,
				Record:        validation.Lookup{Name: host + ".", Type: "TXT", Response: r},
				Domain:        &validation.Lookup{Name: "d7.example.com.", Type: "A", Response: resp("d7.example.com", "NOERROR")},
				Authoritative: auth,
			},
		}
	}
	msg := "No TXT record at " + host + ": 192.0.2.53:53 answered with no TXT record."
	add := "Add a TXT record with host `@` and value `" + testValue + "`. If you just added it, your DNS provider may need a few minutes to publish it."
	tests := []struct {
		name string
		obs  validation.Observation
		want []Finding
	}{
		{
			name: "forward mode: the zone from the negative answer",
			obs:  obs(nil),
			want: []Finding{retryF(CodeDNSRecordNotFound, msg, add+
				" The host "+host+" is a zone of its own, delegated from example.com: add the record at the apex of the zone "+host+" (host `@`), at the DNS host that serves it. A record at host `_dnsauth.d7` in the zone example.com is hidden by the delegation and never seen.")},
		},
		{
			name: "iterative mode: the zone's nameservers named",
			obs: obs(&dnsclient.ZoneView{Zone: host + ".", Servers: []dnsclient.ServerView{
				{NS: "ns.child.example.com.", Address: "192.0.2.13:53", Answer: resp(host, "NOERROR")},
			}}),
			want: []Finding{retryF(CodeDNSRecordNotFound, msg, add+
				" The host "+host+" is a zone of its own, delegated from example.com to the nameservers ns.child.example.com: add the record at the apex of the zone "+host+" (host `@`), at the DNS host that serves it. A record at host `_dnsauth.d7` in the zone example.com is hidden by the delegation and never seen.")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkFindings(t, Domain([]validation.Observation{tc.obs}, testNow).Findings, tc.want)
		})
	}
}

// TestPreflightHostIsCNAME: without a value, a record host that is a CNAME
// gets the fix to publish where the CNAME leads, not at the host, which
// can hold no other record (black-box run).
func TestPreflightHostIsCNAME(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.www.example.com"
	r := resp(host, "NOERROR")
	r.CNAMEs = []string{"www.example.com.validation.example.net."}
	o := validation.Observation{
		Domain: "www.example.com", Method: validation.MethodDNS, StartedAt: testNow,
		DNS: &validation.DNSObservation{
			Host:   host,
			Record: validation.Lookup{Name: host + ".", Type: "TXT", Response: r},
			Domain: &validation.Lookup{Name: "www.example.com.", Type: "A", Response: resp("www.example.com", "NOERROR")},
		},
	}
	checkFindings(t, Preflight([]validation.Observation{o}, testNow).Findings, []Finding{{
		Code: CodeDNSTXTPresent, Severity: SeverityInfo,
		Message: "No TXT record at " + host + " yet (answer from 192.0.2.53:53).",
		Fix:     "To validate, publish a TXT record with the value of your order at www.example.com.validation.example.net, where the CNAME at host `_dnsauth.www` leads (a name with a CNAME record can hold no other record).",
	}})
}
