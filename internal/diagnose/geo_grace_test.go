package diagnose

import (
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
)

// reviewGeoSetup is a primary that got the value from ns1 and ns2, a
// remote that passes, and an answer of another value straight from ns1.
func reviewGeoSetup() (primary, pass validation.Observation, geoAns *dnsclient.Response) {
	const host = "_dnsauth.a.example.com"
	withValue := resp(host, "NOERROR", txt(host, testValue))
	ns1 := dnsclient.ServerView{NS: "ns1.example.com.", Address: testServer, SOASerial: 7, Answer: withValue}
	ns2 := dnsclient.ServerView{NS: "ns2.example.com.", Address: "192.0.2.54:53", SOASerial: 7, Answer: withValue}
	view := func(n *validation.DNSObservation) {
		n.Authoritative = &dnsclient.ZoneView{Zone: "example.com.", NS: []string{"ns1.example.com.", "ns2.example.com."}, Servers: []dnsclient.ServerView{ns1, ns2}}
	}
	primary = dnsObs(resp(host, "NOERROR", txt(host, testValue)), view)
	pass = dnsObs(resp(host, "NOERROR", txt(host, testValue)), nil)
	geoAns = resp(host, "NOERROR", txt(host, "old-value")) // straight from ns1 (testServer), not cached
	return
}

// reviewDisagreement returns r's REMOTE_PERSPECTIVES_DISAGREE finding.
func reviewDisagreement(t *testing.T, r Result) *Finding {
	t.Helper()
	for i := range r.Findings {
		if r.Findings[i].Code == CodeRemotePerspectivesDisagree {
			return &r.Findings[i]
		}
	}
	t.Fatalf("no REMOTE_PERSPECTIVES_DISAGREE:\n%s", dump(r.Findings))
	return nil
}

// TestGeoGraceIsItsOwn: the anycast grace promised at the first sight of
// a nameserver answering a remote otherwise ends when it says, not when a
// cached answer seen beside it expires; and a previous check's cache ETA
// gone by does not make a first sight final (review).
func TestGeoGraceIsItsOwn(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	primary, pass, geoAns := reviewGeoSetup()
	cached := resp(host, "NOERROR", dnsclient.Record{Name: host, Type: "TXT", TTL: 60, Data: "old-value", Strings: []string{"old-value"}})
	cached.Cached, cached.Resolver = true, true

	first := reviewDisagreement(t, Domain([]validation.Observation{primary,
		pRemote(pass, "us-1", "ARIN"), pRemote(dnsObs(geoAns, nil), "eu-1", "RIPE"), pRemote(dnsObs(cached, nil), "ap-1", "APNIC")}, testNow))
	promised := testNow.Add(10 * time.Minute)
	t.Logf("first check: ETA %v\n%s", first.ETA, first.Message)
	if !strings.Contains(first.Message, promised.UTC().Format(time.RFC3339)) {
		t.Fatalf("first check does not promise the settle time")
	}
	// 2 minutes later: the cached remote caught up, the nameserver still
	// answers eu-1 otherwise. The applicant was told to wait until promised.
	second := reviewDisagreement(t, Domain([]validation.Observation{primary,
		pRemote(pass, "us-1", "ARIN"), pRemote(dnsObs(geoAns, nil), "eu-1", "RIPE")}, testNow.Add(2*time.Minute), WithPrevious([]Finding{*first})))
	if !second.Retryable {
		t.Errorf("2 minutes after the first sighting (settle time promised: %s) the verdict is already final GeoDNS (retryable=%v, ETA %v):\n%s",
			promised.Format(time.RFC3339), second.Retryable, second.ETA, second.Message)
	}
}

// TestGeoFirstSightAfterOldCacheETA: see TestGeoGraceIsItsOwn.
func TestGeoFirstSightAfterOldCacheETA(t *testing.T) {
	t.Parallel()
	primary, pass, geoAns := reviewGeoSetup()
	oldETA := testNow.Add(-55 * time.Minute) // the previous check (an hour ago) saw a cached answer only
	prev := []Finding{{Code: CodeRemotePerspectivesDisagree, Severity: SeverityError, Retryable: true, ETA: &oldETA}}
	f := reviewDisagreement(t, Domain([]validation.Observation{primary, pRemote(pass, "us-1", "ARIN"), pRemote(dnsObs(geoAns, nil), "eu-1", "RIPE")}, testNow, WithPrevious(prev)))
	if !f.Retryable {
		t.Errorf("the nameserver answered otherwise for the first time, yet the verdict is final GeoDNS: retryable=%v ETA=%v\n%s", f.Retryable, f.ETA, f.Message)
	}
}
