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
}
