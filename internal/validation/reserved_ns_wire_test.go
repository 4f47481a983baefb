package validation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// TestReservedNameserversDiagnosed: a zone whose nameservers are all at
// special-purpose addresses is not queried (the resolver's policy: here
// loopback is not permitted, so the servers of com, on loopback, are
// refused), and every lookup that needed them says so, with the fix at
// the addresses, in the findings of DNS and file validation alike.
func TestReservedNameserversDiagnosed(t *testing.T) {
	t.Parallel()
	tw := newTruthWorld(t)
	r, err := dnsclient.NewIterative(dnsclient.IterativeConfig{RootHints: tw.w.RootHints, Timeout: truthQueryTimeout, Now: tw.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	fetcher, err := webfetch.New(webfetch.Config{Resolver: r, AllowLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: r, Fetcher: fetcher, CAAIdentity: wireCAAIdentity, Timeout: truthObserveLimit, Clock: tw.clock})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method validation.Method
		codes  []diagnose.Code
	}{
		{validation.MethodDNS, []diagnose.Code{diagnose.CodeDomainUnresolvable, diagnose.CodeCAALookupFailed}},
		{validation.MethodFile, []diagnose.Code{diagnose.CodeDomainUnresolvable, diagnose.CodeCAALookupFailed}},
	}
	for _, tt := range tests {
		t.Run(string(tt.method), func(t *testing.T) {
			t.Parallel()
			obs, err := v.Observe(t.Context(), validation.Request{Domain: "a.applicant.com", Method: tt.method, Value: "value-1"})
			if err != nil {
				t.Fatal(err)
			}
			res := diagnose.Domain([]validation.Observation{obs}, time.Now())
			if res.Status == diagnose.StatusApproved {
				t.Fatal("approved")
			}
			for _, code := range tt.codes {
				f, ok := findingOf(res.Findings, code)
				if !ok {
					t.Errorf("no %s in %+v", code, res.Findings)
					continue
				}
				if !strings.Contains(f.Message, "the nameservers of com are at special-purpose addresses (ns1.com 127.") || !strings.Contains(f.Fix, "Give the nameservers of com public IP addresses") || f.Retryable {
					t.Errorf("%s: %q, fix %q, retryable %t; want the special-purpose addresses named, their fix, not retryable", code, f.Message, f.Fix, f.Retryable)
				}
			}
			if n := tw.com.QueryCount(); n != 0 {
				t.Errorf("the servers of com got %d queries, want none", n)
			}
		})
	}
}

func findingOf(fs []diagnose.Finding, code diagnose.Code) (diagnose.Finding, bool) {
	for _, f := range fs {
		if f.Code == code {
			return f, true
		}
	}
	return diagnose.Finding{}, false
}
