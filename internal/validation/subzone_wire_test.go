package validation_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
)

// TestFixNamesHostRelativeToTheZone: in a delegated subzone
// (shop.dcv-lab.net), the record to add is named relative to that zone —
// what its DNS provider's host field takes — not to the registered domain.
func TestFixNamesHostRelativeToTheZone(t *testing.T) {
	t.Parallel()
	d := testenv.NewDNSServer(t)
	for _, z := range []string{"net.", "dcv-lab.net.", "shop.dcv-lab.net."} {
		d.AddZone(z)
	}
	d.Add("www.shop.dcv-lab.net. 300 IN A 192.0.2.7")
	res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{d.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := v.Observe(context.Background(), validation.Request{Domain: "www.shop.dcv-lab.net", Method: validation.MethodDNS, Value: "the-value"})
	if err != nil {
		t.Fatal(err)
	}
	r := diagnose.Domain([]validation.Observation{obs}, time.Now())
	if len(r.Findings) == 0 || r.Findings[0].Code != diagnose.CodeDNSRecordNotFound {
		t.Fatalf("findings %+v, want DNS_RECORD_NOT_FOUND first", r.Findings)
	}
	if fix := r.Findings[0].Fix; !strings.Contains(fix, "host `_dnsauth.www` ") {
		t.Fatalf("fix %q does not name the host relative to shop.dcv-lab.net", fix)
	}
	// Someone editing dcv-lab.net would type that host there: the fix
	// names the zone the record goes in.
	if fix := r.Findings[0].Fix; !strings.Contains(fix, "add the record in the zone shop.dcv-lab.net") || !strings.Contains(fix, "host `_dnsauth.www.shop` in the zone dcv-lab.net is hidden") {
		t.Fatalf("fix %q does not name the zone shop.dcv-lab.net", fix)
	}
}

// TestFixNamesSubzoneServers: the record published in the parent zone
// (applicant.com) of a subzone delegated to servers of its own is hidden
// by the delegation; the fix names the subzone and its nameservers, as
// the iterative resolver finds them.
func TestFixNamesSubzoneServers(t *testing.T) {
	t.Parallel()
	tw := newTruthWorld(t)
	sub := tw.w.AddZone("sub.applicant.com.", "applicant.com.", 2)
	sub.Add("www.sub.applicant.com. 300 IN A 192.0.2.1")
	tw.app.Add(`_dnsauth.www.sub.applicant.com. 300 IN TXT "` + truthValue + `"`)
	v := tw.validator(t, tw.resolver(t))
	obs, err := v.Observe(t.Context(), validation.Request{Domain: "www.sub.applicant.com", Method: validation.MethodDNS, Value: truthValue})
	if err != nil {
		t.Fatal(err)
	}
	r := diagnose.Domain([]validation.Observation{obs}, tw.clock.Now())
	if len(r.Findings) == 0 || r.Findings[0].Code != diagnose.CodeDNSRecordNotFound {
		t.Fatalf("findings %+v, want DNS_RECORD_NOT_FOUND first", r.Findings)
	}
	fix := r.Findings[0].Fix
	for _, w := range []string{"host `_dnsauth.www` ", "the zone sub.applicant.com, delegated from applicant.com to the nameservers ns1.sub.applicant.com, ns2.sub.applicant.com", "host `_dnsauth.www.sub` in the zone applicant.com is hidden by the delegation"} {
		if !strings.Contains(fix, w) {
			t.Errorf("fix %q lacks %q", fix, w)
		}
	}
}

// TestFixNamesDelegatedRecordHost: when the record host itself
// (_dnsauth.a.applicant.com) is a zone delegated from applicant.com, the
// record goes at that zone's apex, on its nameservers; the same record in
// applicant.com is hidden by the delegation, and the fix says so rather
// than asking for that record again.
func TestFixNamesDelegatedRecordHost(t *testing.T) {
	t.Parallel()
	tw := newTruthWorld(t)
	tw.w.AddZone("_dnsauth.a.applicant.com.", "applicant.com.", 1)
	tw.app.Add(`_dnsauth.a.applicant.com. 300 IN TXT "` + truthValue + `"`)
	v := tw.validator(t, tw.resolver(t))
	obs, err := v.Observe(t.Context(), validation.Request{Domain: "a.applicant.com", Method: validation.MethodDNS, Value: truthValue})
	if err != nil {
		t.Fatal(err)
	}
	r := diagnose.Domain([]validation.Observation{obs}, tw.clock.Now())
	if len(r.Findings) == 0 || r.Findings[0].Code != diagnose.CodeDNSRecordNotFound {
		t.Fatalf("findings %+v, want DNS_RECORD_NOT_FOUND first", r.Findings)
	}
	const want = "Add a TXT record with host `@` and value `" + truthValue + "`. If you just added it, your DNS provider may need a few minutes to publish it." +
		" The host _dnsauth.a.applicant.com is a zone of its own, delegated from applicant.com to the nameservers ns1._dnsauth.a.applicant.com: add the record at the apex of the zone _dnsauth.a.applicant.com (host `@`), at the DNS host that serves it." +
		" A record at host `_dnsauth.a` in the zone applicant.com is hidden by the delegation and never seen."
	if fix := r.Findings[0].Fix; fix != want {
		t.Errorf("fix\n got  %q\n want %q", fix, want)
	}
}
