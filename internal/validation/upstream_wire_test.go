package validation_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
)

// TestUpstreamResolverDown: when dcv's own forward resolver cannot be
// reached, the findings blame the CA, not the applicant's domain.
func TestUpstreamResolverDown(t *testing.T) {
	t.Parallel()
	// A fresh loopback address with nothing listening: connections are refused.
	dead := net.JoinHostPort(testenv.NewLoopbackAddr().String(), "53")
	res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{dead}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: res, CAAIdentity: "ca.dcv.test", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := v.Observe(context.Background(), validation.Request{Domain: "a.applicant.com", Method: validation.MethodDNS, Value: "v"})
	if err != nil {
		t.Fatal(err)
	}
	r := diagnose.Domain([]validation.Observation{obs}, time.Now())
	want := map[diagnose.Code]bool{diagnose.CodeDNSLookupFailed: false, diagnose.CodeCAALookupFailed: false}
	for _, f := range r.Findings {
		if _, ok := want[f.Code]; !ok {
			continue
		}
		want[f.Code] = true
		if !strings.Contains(f.Message, "its own DNS resolver "+dead) || !strings.Contains(f.Message, "not with your domain") || !f.Retryable {
			t.Errorf("%s: %q (retryable %v) does not blame dcv's resolver", f.Code, f.Message, f.Retryable)
		}
	}
	for c, seen := range want {
		if !seen {
			t.Errorf("no %s among %+v", c, r.Findings)
		}
	}
	if r.Status != diagnose.StatusPending {
		t.Errorf("status %s, want pending", r.Status)
	}
}
