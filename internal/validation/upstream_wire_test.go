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
	"github.com/dcvhq/dcv/internal/webfetch"
)

// TestUpstreamResolverDown: when dcv's own forward resolver cannot be
// reached, the findings blame the CA, not the applicant's domain: the
// lookups of the record, of the domain's addresses (http-01) and of CAA are
// RESOLVER_UNAVAILABLE, retryable.
func TestUpstreamResolverDown(t *testing.T) {
	t.Parallel()
	// A fresh loopback address with nothing listening: connections are refused.
	dead := net.JoinHostPort(testenv.NewLoopbackAddr().String(), "53")
	res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{dead}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f, err := webfetch.New(webfetch.Config{Resolver: res, AllowLoopback: true, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: res, Fetcher: f, CAAIdentity: "ca.dcv.test", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []validation.Method{validation.MethodDNS, validation.MethodDNS01, validation.MethodHTTP01, validation.MethodFile} {
		t.Run(string(m), func(t *testing.T) {
			t.Parallel()
			obs, err := v.Observe(context.Background(), validation.Request{Domain: "a.applicant.com", Method: m, Value: "v", Token: "tok"})
			if err != nil {
				t.Fatal(err)
			}
			r := diagnose.Domain([]validation.Observation{obs}, time.Now())
			if r.Status != diagnose.StatusPending || len(r.Findings) == 0 {
				t.Fatalf("status %s, findings %+v; want pending", r.Status, r.Findings)
			}
			caa := false
			for _, f := range r.Findings {
				if f.Code != diagnose.CodeResolverUnavailable {
					t.Errorf("finding %s: %q; every lookup failed at dcv's resolver", f.Code, f.Message)
					continue
				}
				caa = caa || strings.Contains(f.Message, "CAA records")
				if !strings.Contains(f.Message, dead+", dcv's own recursive resolver, could not be reached") || !strings.Contains(f.Message, "not with your domain") || !f.Retryable {
					t.Errorf("%q (retryable %v) does not blame dcv's resolver", f.Message, f.Retryable)
				}
			}
			if !caa {
				t.Errorf("no finding for the CAA lookup among %+v", r.Findings)
			}
		})
	}
}

// TestResolverTimeout: a question that times out at dcv's forward resolver
// is the CA's side when the resolver does not answer at all (it does not
// answer the root's NS set either): RESOLVER_UNAVAILABLE, retryable, not
// the domain's. When the resolver answers that, the domain's nameservers
// may be failing it: the timeout findings then say both, naming dcv's own
// resolver, instead of blaming the domain alone. Whether the record or the
// web site's address was being looked up.
func TestResolverTimeout(t *testing.T) {
	t.Parallel()
	worlds := []struct {
		name   string
		server func(t *testing.T) string
		want   func(t *testing.T, f diagnose.Finding, server string)
	}{
		{
			name: "silent resolver",
			server: func(t *testing.T) string {
				pc, err := net.ListenPacket("udp", net.JoinHostPort(testenv.NewLoopbackAddr().String(), "0"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { pc.Close() }) // reads nothing, answers nothing
				return pc.LocalAddr().String()
			},
			want: func(t *testing.T, f diagnose.Finding, server string) {
				if f.Code != diagnose.CodeResolverUnavailable || !strings.Contains(f.Message, server+", dcv's own recursive resolver, could not be reached") || !strings.Contains(f.Message, "not with your domain") || !f.Retryable {
					t.Errorf("%s: %q (retryable %v); want RESOLVER_UNAVAILABLE naming %s", f.Code, f.Message, f.Retryable, server)
				}
			},
		},
		{
			name: "live resolver, silent domain",
			server: func(t *testing.T) string {
				s := testenv.NewDNSServer(t)
				// Answers the root's NS set (REFUSED: any answer is a live
				// resolver's), never the names validation asks.
				for _, n := range []string{"_dnsauth.a.applicant.com", "a.applicant.com", "applicant.com", "com"} {
					s.SetDelay(n, -1)
				}
				return s.Addr
			},
			want: func(t *testing.T, f diagnose.Finding, server string) {
				if f.Code == diagnose.CodeResolverUnavailable || !strings.Contains(f.Message, server+" is dcv's own recursive resolver") {
					t.Errorf("%s: %q does not name dcv's resolver as a possible cause", f.Code, f.Message)
				}
			},
		},
	}
	for _, w := range worlds {
		for _, m := range []validation.Method{validation.MethodDNS, validation.MethodFile, validation.MethodHTTP01} {
			t.Run(w.name+"/"+string(m), func(t *testing.T) {
				t.Parallel()
				server := w.server(t)
				res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{server}, Timeout: 300 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				f, err := webfetch.New(webfetch.Config{Resolver: res})
				if err != nil {
					t.Fatal(err)
				}
				v, err := validation.New(validation.Config{Resolver: res, Fetcher: f, CAAIdentity: "ca.dcv.test", Timeout: 5 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				obs, err := v.Observe(context.Background(), validation.Request{Domain: "a.applicant.com", Method: m, Value: "v", Token: "tok"})
				if err != nil {
					t.Fatal(err)
				}
				r := diagnose.Domain([]validation.Observation{obs}, time.Now())
				if r.Status != diagnose.StatusPending || len(r.Findings) == 0 {
					t.Fatalf("status %s, findings %+v", r.Status, r.Findings)
				}
				for _, f := range r.Findings {
					w.want(t, f, server)
				}
			})
		}
	}
}
