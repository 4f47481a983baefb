package diagnose

import (
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
)

// TestTCPFallback: a nameserver that answered over UDP with a truncated
// answer and then failed the TCP retry was reached; the finding says what
// it did and that it must answer over TCP, never that it could not be
// reached or may be retired. A failure of dcv's own resolver stays the
// certificate authority's problem.
func TestTCPFallback(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	const sent = "The TXT lookup of " + host + " failed: 192.0.2.53:53 answered over UDP with a truncated answer (the TC flag, which asks to ask again over TCP), then "
	const fix = "The nameserver 192.0.2.53:53 must answer over TCP as well as UDP (RFC 7766): resolvers ask again over TCP whenever an answer comes truncated. Check that its DNS software accepts TCP queries on port 53 and that no firewall or load balancer in front of it blocks or cuts TCP connections to port 53; then check again."
	obs := func(k dnsclient.Kind, how string, resolver bool) validation.Observation {
		return dnsObs(nil, func(n *validation.DNSObservation) {
			n.Record.Err = &dnsclient.Error{Kind: k, Name: host + ".", Type: "TXT", Server: testServer, Detail: "tcp: EOF", TCPFallback: how, Resolver: resolver, Upstream: resolver && k == dnsclient.KindNetwork}
		})
	}
	tests := []struct {
		name string
		obs  validation.Observation
		want []Finding
	}{
		{
			name: "connection closed without an answer",
			obs:  obs(dnsclient.KindNetwork, dnsclient.TCPFallbackClosed, false),
			want: []Finding{errF(CodeDNSLookupFailed, sent+"closed the TCP connection without answering.", fix)},
		},
		{
			name: "connection refused",
			obs:  obs(dnsclient.KindNetwork, dnsclient.TCPFallbackRefused, false),
			want: []Finding{errF(CodeDNSLookupFailed, sent+"refused the TCP connection.", fix)},
		},
		{
			name: "no answer over TCP in time",
			obs:  obs(dnsclient.KindTimeout, dnsclient.TCPFallbackTimeout, false),
			want: []Finding{retryF(CodeDNSTimeout, sent+"gave no answer over TCP within the deadline.", fix)},
		},
		{
			name: "another failure over TCP",
			obs:  obs(dnsclient.KindNetwork, dnsclient.TCPFallbackFailed, false),
			want: []Finding{errF(CodeDNSLookupFailed, sent+"failed to answer over TCP.", fix)},
		},
		{
			name: "dcv's own resolver: the CA's problem",
			obs:  obs(dnsclient.KindNetwork, dnsclient.TCPFallbackClosed, true),
			want: []Finding{retryF(CodeResolverUnavailable,
				"dcv could not look up "+host+": 192.0.2.53:53, dcv's own recursive resolver, answered over UDP with a truncated answer, then did not answer over TCP. This is a problem on the certificate authority's side (its resolver's TCP service, or a firewall before it), not with your domain.",
				"Nothing to change on your side: check again later. If it persists, tell the certificate authority's operator that its resolver does not answer DNS over TCP (RFC 7766).")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkFindings(t, Domain([]validation.Observation{tc.obs}, testNow).Findings, tc.want)
		})
	}
}

// TestUpstreamNamesWhichServer: a lookup that failed at a server of dcv's
// own names it for what it is: its recursive resolver (forward mode), or,
// resolving iteratively, a root server (no resolver is involved).
func TestUpstreamNamesWhichServer(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	tests := []struct {
		name     string
		resolver bool
		want     string
	}{
		{"forward mode", true, "dcv could not look up " + host + ": 192.0.2.53:53, dcv's own recursive resolver, could not be reached."},
		{"iterative", false, "dcv could not look up " + host + ": 192.0.2.53:53, a DNS server dcv itself depends on (a root server), could not be reached."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := dnsObs(nil, func(n *validation.DNSObservation) {
				n.Record = validation.Lookup{Name: host + ".", Type: "TXT", Err: &dnsclient.Error{Kind: dnsclient.KindNetwork, Server: testServer, Upstream: true, Resolver: tt.resolver}}
			})
			fs := Domain([]validation.Observation{o}, testNow).Findings
			if len(fs) == 0 || fs[0].Code != CodeResolverUnavailable || !strings.HasPrefix(fs[0].Message, tt.want) {
				t.Errorf("findings %s; want RESOLVER_UNAVAILABLE starting %q", dump(fs), tt.want)
			}
		})
	}
}
