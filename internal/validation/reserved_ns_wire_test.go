package validation_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
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

// TestTrustAnchorMismatchIsTheCAs: a trust anchor that matches none of the
// root's keys (the operator's --trust-anchor, or a root key change the CA
// did not follow), or a trust anchor for a root that is not signed at all (a
// private root, black-box run), fails every name: every blocking finding is
// the CA's side (RESOLVER_UNAVAILABLE), none blames the applicant's DNSSEC
// or asks for a DS record at their registrar (verification run).
func TestTrustAnchorMismatchIsTheCAs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		signed bool
	}{
		{"another root key", true},
		{"unsigned root", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tw := newTruthWorld(t)
			tw.app.Add(fmt.Sprintf(`_dnsauth.a.applicant.com. 300 IN TXT "%s"`, truthValue))
			if tt.signed {
				tw.signWorld(t, testenv.SignOptions{}, nil)
			}
			// Another root key than the one that signs the root, if any.
			tw.anchors = []dns.RR{testenv.NewZoneSigner(t, ".", testenv.SignOptions{}).DS()}
			v := tw.validator(t, tw.resolver(t))
			obs, err := v.Observe(t.Context(), validation.Request{Domain: "a.applicant.com", Method: validation.MethodDNS, Value: truthValue})
			if err != nil {
				t.Fatal(err)
			}
			r := diagnose.Domain([]validation.Observation{obs}, tw.clock.Now())
			if r.Status == diagnose.StatusApproved {
				t.Fatal("approved")
			}
			found := false
			for _, f := range r.Findings {
				if f.Blocking() && !diagnose.CASide(f.Code) {
					t.Errorf("%s blocks, blaming the domain: %s | %s", f.Code, f.Message, f.Fix)
				}
				if f.Code == diagnose.CodeResolverUnavailable && strings.Contains(f.Message, "its own trust anchor does not match the keys of the zone it anchors (trust anchor mismatch at .:") {
					found = true
				}
				if strings.Contains(f.Fix, "registrar") {
					t.Errorf("%s asks for a change at the registrar: %s", f.Code, f.Fix)
				}
			}
			if !found {
				t.Errorf("no RESOLVER_UNAVAILABLE naming the trust anchor in %+v", r.Findings)
			}
		})
	}
}
