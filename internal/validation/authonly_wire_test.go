package validation_test

import (
	"context"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
)

// TestAuthoritativeOnlyResolver: --resolver pointed straight at the
// domain's authoritative server (which refuses every other zone, the TLD
// included) still validates: the TLD's refused CAA lookup is taken as no
// CAA set, and noted in the evidence.
func TestAuthoritativeOnlyResolver(t *testing.T) {
	t.Parallel()
	d := testenv.NewDNSServer(t)
	d.AddZone("applicant.com.")
	d.Add(`_dnsauth.a.applicant.com. 300 IN TXT "the-value"`)
	res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{d.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: res, CAAIdentity: "ca.dcv.test"})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := v.Observe(context.Background(), validation.Request{Domain: "a.applicant.com", Method: validation.MethodDNS, Value: "the-value"})
	if err != nil {
		t.Fatal(err)
	}
	if r := diagnose.Domain([]validation.Observation{obs}, time.Now()); r.Status != diagnose.StatusApproved {
		t.Fatalf("status %s, findings %+v", r.Status, r.Findings)
	}
	last := obs.CAA.Trace[len(obs.CAA.Trace)-1]
	if last.Name != "com" || last.Note != caa.NoteRefusedSuffix {
		t.Fatalf("last CAA step %+v, want com noted as refused", last)
	}
}
