package diagnose

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
)

// view builds a ZoneView of example.com whose servers answer as given:
// "v" has the value, "-" lacks it, anything else is a lame reason.
func view(serials []uint32, states ...string) *dnsclient.ZoneView {
	v := &dnsclient.ZoneView{Zone: "example.com."}
	for i, st := range states {
		ns := "ns" + string(rune('1'+i)) + ".example.com."
		addr := "192.0.2." + string(rune('1'+i)) + ":53"
		v.NS = append(v.NS, ns)
		sv := dnsclient.ServerView{NS: ns, Address: addr, SOASerial: serials[i]}
		switch st {
		case "v":
			sv.Answer = resp("_dnsauth.a.example.com", "NOERROR", txt("_dnsauth.a.example.com.", testValue))
		case "-":
			sv.Answer = resp("_dnsauth.a.example.com", "NXDOMAIN")
		default:
			sv.Lame, sv.LameReason, sv.SOASerial = true, st, 0
		}
		v.Servers = append(v.Servers, sv)
	}
	return v
}

func TestDomainDNSAuthority(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	hasValue := resp(host, "NOERROR", txt(host, testValue))
	withView := func(r *dnsclient.Response, v *dnsclient.ZoneView) validation.Observation {
		return dnsObs(r, func(n *validation.DNSObservation) { n.Authoritative = v })
	}
	cachedNX := resp(host, "NXDOMAIN")
	cachedNX.Cached, cachedNX.TTL, cachedNX.NegativeTTL = true, 200, 300
	freshOld := resp(host, "NOERROR", txt(host, "old-value"))
	freshOld.TTL = 3600
	// fromCache is an answer dcv's forward cache kept until until.
	fromCache := func(r *dnsclient.Response, until time.Time) *dnsclient.Response {
		r.Cached, r.CacheUntil = true, until
		return r
	}
	etaCache := testNow.Add(45 * time.Second)
	etaTTL := testNow.Add(300 * time.Second)
	withTTL := func(r *dnsclient.Response, ttl uint32) *dnsclient.Response {
		for i := range r.Answer {
			r.Answer[i].TTL = ttl
		}
		return r
	}
	negTTL := func(r *dnsclient.Response, ttl uint32) *dnsclient.Response {
		r.NegativeTTL = ttl
		return r
	}
	bogus := func(reason string, ede ...dnsclient.EDE) *dnsclient.Response {
		r := resp(host, "NOERROR", txt(host, testValue))
		r.DNSSEC, r.DNSSECReason, r.EDE = "bogus", reason, ede
		return r
	}
	servfailEDE := resp(host, "SERVFAIL")
	servfailEDE.DNSSEC, servfailEDE.DNSSECReason = "bogus", "Signature Expired: expired"
	servfailEDE.EDE = []dnsclient.EDE{{Code: dnsclient.EDESignatureExpired, Text: "expired"}}
	loopErr := func(detail string) validation.Observation {
		return dnsObs(nil, func(n *validation.DNSObservation) {
			n.Record.Err = &dnsclient.Error{Kind: dnsclient.KindLoop, Name: host + ".", Type: "TXT", Server: testServer, Detail: detail}
		})
	}
	lameErr := func(detail string) validation.Observation {
		return dnsObs(nil, func(n *validation.DNSObservation) {
			n.Record.Err = &dnsclient.Error{Kind: dnsclient.KindMalformed, Name: host + ".", Type: "TXT", Server: testServer, Detail: detail}
		})
	}
	probeHit := func(kind, name string, wildcard bool) validation.Observation {
		return dnsObs(resp(host, "NOERROR", txt(host, "old")), func(n *validation.DNSObservation) {
			n.Probes = []validation.Probe{{Kind: kind, Lookup: validation.Lookup{Name: name + ".", Type: "TXT", Response: resp(name, "NOERROR", txt(name, testValue))}}}
			if wildcard {
				w := "_dnsauth-0011223344556677.a.example.com"
				n.Wildcard = &validation.Lookup{Name: w, Type: "TXT", Response: resp(w, "NOERROR", txt(w, testValue))}
			}
		})
	}
	// refreshing is view with every server's SOA refresh set to r seconds.
	refreshing := func(v *dnsclient.ZoneView, r uint32) *dnsclient.ZoneView {
		for i := range v.Servers {
			v.Servers[i].SOARefresh = r
		}
		return v
	}
	etaRefresh := testNow.Add(30 * time.Minute)
	etaPrev, etaPassed := testNow.Add(10*time.Minute), testNow.Add(-time.Minute)
	lagMsg := "The expected value is at _dnsauth.a.example.com on ns1.example.com at 192.0.2.1:53 (SOA serial 8), but not on ns2.example.com at 192.0.2.2:53 (SOA serial 7): the zone's nameservers are not in sync yet."
	eta := testNow.Add(200 * time.Second)
	etaFresh := testNow.Add(time.Hour)
	tests := []struct {
		name   string
		obs    validation.Observation
		status string
		codes  []Code
		words  []string // in the first finding's message or fix
		eta    *time.Time
		prev   []Finding // the previous check's findings (WithPrevious)
	}{
		{name: "seen everywhere passes", obs: withView(hasValue, view([]uint32{7, 7}, "v", "v")), status: StatusApproved},
		// Which server a lookup reaches is chance: the verdict must not
		// depend on it, so seen or not, a server without the value blocks.
		{name: "seen, one server lacks it: blocking all the same", obs: withView(hasValue, view([]uint32{8, 7}, "v", "-")), status: StatusPending,
			codes: []Code{CodeDNSRecordNotPropagated},
			words: []string{"ns1.example.com at 192.0.2.1:53 (SOA serial 8)", "not on ns2.example.com at 192.0.2.2:53 (SOA serial 7)", "happened to reach a server with it", "not validated until every nameserver serves it"}},
		{name: "not seen, servers disagree: blocking, naming both with serials", obs: withView(resp(host, "NXDOMAIN"), view([]uint32{8, 7}, "v", "-")), status: StatusPending,
			codes: []Code{CodeDNSRecordNotPropagated},
			words: []string{"on ns1.example.com at 192.0.2.1:53 (SOA serial 8)", "not on ns2.example.com at 192.0.2.2:53 (SOA serial 7)", "zone transfers"}},
		{name: "the lagging server refreshes every 30 minutes: ETA", obs: withView(resp(host, "NXDOMAIN"), refreshing(view([]uint32{8, 7}, "v", "-"), 1800)), status: StatusPending,
			codes: []Code{CodeDNSRecordNotPropagated}, words: []string{"zone transfers", "SOA refresh interval is 30 minutes"}, eta: &etaRefresh},
		// The lag was there at the previous check: its ETA stands, not
		// pushed back by each check.
		{name: "a previous check's ETA still to come is kept", obs: withView(resp(host, "NXDOMAIN"), refreshing(view([]uint32{8, 7}, "v", "-"), 1800)), status: StatusPending,
			codes: []Code{CodeDNSRecordNotPropagated}, words: []string{"SOA refresh interval is 30 minutes"}, eta: &etaPrev,
			prev: []Finding{{Code: CodeDNSRecordNotPropagated, Severity: SeverityError, ETA: &etaPrev, Message: lagMsg}}},
		// The lagging server loaded another version since (serial 7 to
		// 8), still without the record: another lag, with its own
		// refresh (console run).
		{name: "a lagging server that moved to another serial gets a new ETA", obs: withView(resp(host, "NXDOMAIN"), refreshing(view([]uint32{9, 8}, "v", "-"), 1800)), status: StatusPending,
			codes: []Code{CodeDNSRecordNotPropagated}, words: []string{"SOA refresh interval is 30 minutes"}, eta: &etaRefresh,
			prev: []Finding{{Code: CodeDNSRecordNotPropagated, Severity: SeverityError, ETA: &etaPrev, Message: lagMsg}}},
		{name: "a previous check's ETA has passed: no ETA, the transfers are suspect", obs: withView(resp(host, "NXDOMAIN"), refreshing(view([]uint32{8, 7}, "v", "-"), 1800)), status: StatusPending,
			codes: []Code{CodeDNSRecordNotPropagated}, words: []string{"A previous check expected them to load it by 2025-06-01T17:59:50Z", "that time has passed", "zone transfers (AXFR/IXFR)"},
			prev: []Finding{{Code: CodeDNSRecordNotPropagated, Severity: SeverityError, ETA: &etaPassed, Message: lagMsg}}},
		// The previous finding was of another lag (a resolver's cached
		// answer, naming no server): its ETA says nothing of this one.
		{name: "a previous ETA of a resolver's cache is not this lag's", obs: withView(resp(host, "NXDOMAIN"), refreshing(view([]uint32{8, 7}, "v", "-"), 1800)), status: StatusPending,
			codes: []Code{CodeDNSRecordNotPropagated}, words: []string{"SOA refresh interval is 30 minutes"}, eta: &etaRefresh,
			prev: []Finding{{Code: CodeDNSRecordNotPropagated, Severity: SeverityError, ETA: &etaPassed,
				Message: "Every authoritative nameserver of example.com has the expected value at _dnsauth.a.example.com, but the resolver still returns an older answer (NXDOMAIN), cached for 1 minute more."}}},
		{name: "a refresh over a day is not believed", obs: withView(resp(host, "NXDOMAIN"), refreshing(view([]uint32{8, 7}, "v", "-"), 2*86400)), status: StatusPending,
			codes: []Code{CodeDNSRecordNotPropagated}, words: []string{"zone transfers"}},
		{name: "the server without it serves a later zone: not a delay", obs: withView(resp(host, "NXDOMAIN"), view([]uint32{2, 3}, "v", "-")), status: StatusPending,
			codes: []Code{CodeDNSRecordNotPropagated},
			words: []string{"not on ns2.example.com at 192.0.2.2:53 (SOA serial 3), which serve the same SOA serial or a later one", "waiting will not bring", "Correct the zone on the nameservers without the record (ns2.example.com at 192.0.2.2:53)"}},
		// A secondary loads a new version only when the serial grows: one
		// serving the same serial without the record holds another zone,
		// unless its DNS host never changes the serial and is still
		// copying the change: both are said.
		{name: "same serial, different content: still copying, or the zones differ", obs: withView(resp(host, "NXDOMAIN"), view([]uint32{1, 1}, "v", "-")), status: StatusPending,
			codes: []Code{CodeDNSRecordNotPropagated}, words: []string{"which serve the same SOA serial:", "still copying the change", "increase the zone's SOA serial"}},
		// ... and is promised no refresh ETA.
		{name: "same serial, refresh interval known: no ETA", obs: withView(resp(host, "NXDOMAIN"), refreshing(view([]uint32{7, 7}, "v", "-"), 1800)), status: StatusPending,
			codes: []Code{CodeDNSRecordNotPropagated}, words: []string{"waiting will not bring"}},
		{name: "serials 2^31 apart are in no order: not a divergence", obs: withView(resp(host, "NXDOMAIN"), view([]uint32{1, 1 + 1<<31}, "v", "-")), status: StatusPending,
			codes: []Code{CodeDNSRecordNotPropagated}, words: []string{"not in sync yet"}},
		{name: "serial arithmetic wraps: the server without it is behind", obs: withView(resp(host, "NXDOMAIN"), view([]uint32{1, 4294967295}, "v", "-")), status: StatusPending,
			codes: []Code{CodeDNSRecordNotPropagated}, words: []string{"zone transfers"}},
		{name: "cached negative answer: ETA from what is left of it", obs: withView(cachedNX, view([]uint32{7, 7}, "v", "v")), status: StatusPending,
			codes: []Code{CodeDNSRecordNotPropagated},
			words: []string{"Every authoritative nameserver of example.com", "the name does not exist", "cached for 3 minutes 20 seconds more", "negative TTL"}, eta: &eta},
		{name: "fresh older values: ETA from the TTL", obs: withView(freshOld, view([]uint32{7, 7}, "v", "v")), status: StatusPending,
			codes: []Code{CodeDNSRecordNotPropagated}, words: []string{`TXT "old-value"`, "up to 1 hour"}, eta: &etaFresh},
		{name: "forward cache holds an older answer: ETA when it goes", obs: dnsObs(fromCache(withTTL(resp(host, "NOERROR", txt(host, "old")), 10), etaCache), nil), status: StatusPending,
			codes: []Code{CodeDNSRecordMismatch}, words: []string{"dcv's own cache", "45 seconds more"}, eta: &etaCache},
		// The resolver dcv forwards to keeps the answer for its TTL, after
		// dcv's own cache lets it go.
		{name: "forward cache, the record's TTL runs longer: ETA at its end", obs: dnsObs(fromCache(withTTL(resp(host, "NOERROR", txt(host, "old")), 300), etaCache), nil), status: StatusPending,
			codes: []Code{CodeDNSRecordMismatch}, words: []string{"45 seconds more", "may keep it for its TTL", testNow.Add(300 * time.Second).UTC().Format(time.RFC3339)}, eta: &etaTTL},
		{name: "forward cache holds a negative answer: ETA at its negative TTL", obs: dnsObs(fromCache(negTTL(resp(host, "NXDOMAIN"), 300), etaCache), nil), status: StatusPending,
			codes: []Code{CodeDNSRecordNotFound}, words: []string{"dcv's own cache"}, eta: &etaTTL},
		{name: "forward cache entry already gone: no note", obs: dnsObs(fromCache(resp(host, "NXDOMAIN"), testNow.Add(-time.Second)), nil), status: StatusPending,
			codes: []Code{CodeDNSRecordNotFound}},
		{name: "serials differ, value missing everywhere", obs: withView(resp(host, "NXDOMAIN"), view([]uint32{8, 7}, "-", "-")), status: StatusPending,
			codes: []Code{CodeDNSRecordNotFound, CodeDNSNameserverInconsistent}},
		{name: "lame server beside a good one: warning", obs: withView(hasValue, view([]uint32{7, 7}, "v", "refused")), status: StatusApproved,
			codes: []Code{CodeDNSLameDelegation}, words: []string{"Lame delegation of example.com", "ns2.example.com at 192.0.2.2:53 refuses to answer for the zone (REFUSED)", "Remove ns2.example.com", "or configure it to answer"}},
		{name: "every server lame: blocking", obs: withView(resp(host, "REFUSED"), view([]uint32{7, 7}, "timeout", "not authoritative (AA=0)")), status: StatusPending,
			codes: []Code{CodeDNSLameDelegation, CodeDNSLookupFailed}, words: []string{"does not answer (timeout)", "answers without authority (AA=0)", "or configure them to answer"}},
		{name: "bogus: expired signatures", obs: dnsObs(bogus(dnsclient.ReasonSignatureExpired+"2025-01-01T00:00:00Z for _dnsauth.a.example.com. TXT"), nil), status: StatusPending,
			codes: []Code{CodeDNSSECBogus}, words: []string{"DNSSEC validation of _dnsauth.a.example.com failed: the signatures have expired", "re-sign", "example.com"}},
		{name: "bogus: DS mismatch", obs: dnsObs(bogus(dnsclient.ReasonDSMismatch+"(key tag 1, algorithm 13) matches no DNSKEY in example.com."), nil), status: StatusPending,
			codes: []Code{CodeDNSSECBogus}, words: []string{"the DS record at the registrar matches none of the zone's DNSKEY keys", "At the registrar of example.com"}},
		{name: "bogus: DS for a zone without DNSKEY", obs: dnsObs(bogus(dnsclient.ReasonNoDNSKEY+"example.com.: the zone is not signed, but its parent has a DS record for it (key tag 1, algorithm 13)"), nil), status: StatusPending,
			codes: []Code{CodeDNSSECBogus}, words: []string{"the zone is not signed (it publishes no DNSKEY record), but its parent zone has a DS record for it, which says that it is",
				"At the registrar of example.com, remove the DS record: the zone is not signed. Or sign the zone at its DNS host"}},
		{name: "bogus: forward-mode EDE", obs: dnsObs(servfailEDE, nil), status: StatusPending,
			codes: []Code{CodeDNSSECBogus}, words: []string{"the signatures have expired", "Signature Expired: expired"}},
		{name: "referral loop is a lame delegation", obs: loopErr("referral loop: the servers of a.example.com. refer back to a.example.com. or above"), status: StatusPending,
			codes: []Code{CodeDNSLameDelegation}, words: []string{"went in circles", testServer}},
		{name: "lame delegation names what each server said", obs: lameErr("lame delegation: no server of example.com. answers with authority (192.0.2.54:53: no answer (timeout); 192.0.2.55:53: not authoritative (AA=0))"), status: StatusPending,
			codes: []Code{CodeDNSLameDelegation}, words: []string{"(lame delegation): 192.0.2.54:53: no answer (timeout); 192.0.2.55:53: not authoritative (AA=0)."}},
		{name: "lame delegation without the list names the last server", obs: lameErr("lame delegation: no server of example.com. answers with authority"), status: StatusPending,
			codes: []Code{CodeDNSLameDelegation}, words: []string{"(lame delegation): the last one asked was " + testServer}},
		{name: "cname loop names where", obs: loopErr("cname chain loops at x.example.com."), status: StatusPending,
			codes: []Code{CodeDNSLookupFailed}, words: []string{"CNAME chain loops (at x.example.com)"}},
		// Black-box run: the point alone did not say which link to change.
		{name: "cname loop names the chain", obs: loopErr("cname chain loops at x.example.net. (_dnsauth.a.example.com -> x.example.net -> y.example.org -> x.example.net)"), status: StatusPending,
			codes: []Code{CodeDNSLookupFailed}, words: []string{"CNAME chain loops (at x.example.net). The chain: _dnsauth.a.example.com → x.example.net → y.example.org → x.example.net."}},
		{name: "www host instead of the apex", obs: probeHit(validation.ProbeWWW, "_dnsauth.www.a.example.com", false), status: StatusPending,
			codes: []Code{CodeDNSWrongHost}, words: []string{"_dnsauth.www.a.example.com, the record host of www.a.example.com", "`_dnsauth.a`"}},
		{name: "wildcard explains the probe: no wrong host", obs: probeHit(validation.ProbeDoubledZone, "_dnsauth.a.example.com.example.com", true), status: StatusPending,
			codes: []Code{CodeDNSRecordMismatch}},
		{name: "value of another domain of the order", obs: dnsObs(resp(host, "NOERROR", txt(host, "www-value")), func(n *validation.DNSObservation) {
			n.OrderValues = []validation.DomainValue{{Domain: "b.example.com", Value: "b-value"}, {Domain: "www.a.example.com", Value: "www-value"}}
		}), status: StatusPending, codes: []Code{CodeDNSRecordMismatch},
			words: []string{"One value is the one for www.a.example.com, another domain of this order: it belongs at _dnsauth.www.a.example.com, and this host needs its own value."}},
		{name: "value of the wildcard of the same host", obs: dnsObs(resp(host, "NOERROR", txt(host, "wild-value")), func(n *validation.DNSObservation) {
			n.OrderValues = []validation.DomainValue{{Domain: "*.a.example.com", Value: "wild-value"}}
		}), status: StatusPending, codes: []Code{CodeDNSRecordMismatch},
			words: []string{"One value is the one for *.a.example.com, another domain of this order that validates at this same host: keep both records"}},
		{name: "value of another order", obs: dnsObs(resp(host, "NOERROR", txt(host, "other-order-value")), func(n *validation.DNSObservation) { n.OtherValues = []string{"other-order-value"} }),
			status: StatusPending, codes: []Code{CodeDNSRecordMismatch}, words: []string{"another of your orders"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Domain([]validation.Observation{tt.obs}, testNow, WithPrevious(tt.prev))
			if r.Status != tt.status {
				t.Errorf("status %s, want %s:\n%s", r.Status, tt.status, dump(r.Findings))
			}
			var codes []Code
			for _, f := range r.Findings {
				codes = append(codes, f.Code)
			}
			if strings.Join(strs(codes), ",") != strings.Join(strs(tt.codes), ",") {
				t.Fatalf("codes %v, want %v:\n%s", codes, tt.codes, dump(r.Findings))
			}
			if len(r.Findings) == 0 {
				return
			}
			f := r.Findings[0]
			for _, w := range tt.words {
				if !strings.Contains(f.Message+" | "+f.Fix, w) {
					t.Errorf("finding lacks %q:\n%s", w, dump(r.Findings[:1]))
				}
			}
			switch {
			case tt.eta == nil && f.ETA != nil:
				t.Errorf("ETA %v, want none", f.ETA)
			case tt.eta != nil && (f.ETA == nil || !f.ETA.Equal(*tt.eta)):
				t.Errorf("ETA %v, want %v", f.ETA, tt.eta)
			}
		})
	}
}

// TestNotPropagatedSerials: servers without the value that serve the SOA
// serial of those with it, or a later one, hold another zone (no transfer
// will bring the record: not retryable, the zone is to correct); servers
// strictly behind are waited for, with the refresh interval as the ETA.
func TestNotPropagatedSerials(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	// stale makes server i answer the TXT value "stale" instead.
	stale := func(v *dnsclient.ZoneView, i int) *dnsclient.ZoneView {
		v.Servers[i].Answer = resp(host, "NOERROR", txt(host+".", "stale"))
		return v
	}
	refreshing := func(v *dnsclient.ZoneView, r uint32) *dnsclient.ZoneView {
		for i := range v.Servers {
			v.Servers[i].SOARefresh = r
		}
		return v
	}
	withView := func(r *dnsclient.Response, v *dnsclient.ZoneView) validation.Observation {
		return dnsObs(r, func(n *validation.DNSObservation) { n.Authoritative = v })
	}
	const (
		ns1 = "ns1.example.com at 192.0.2.1:53"
		ns2 = "ns2.example.com at 192.0.2.2:53"
		ns3 = "ns3.example.com at 192.0.2.3:53"
	)
	diverged := func(have, lack string) string {
		return "The expected value is at " + host + " on " + have + ", but not on " + lack + ", which serve the same SOA serial or a later one: " +
			"the zone differs between its nameservers, and waiting will not bring the record (a secondary loads a new version of the zone only when its serial grows)."
	}
	divergedFix := func(servers string) string {
		return "Correct the zone on the nameservers without the record (" + servers + "), or on the primary they transfer it from: publish the record there " +
			"(with several primaries that do not transfer the zone to each other, add it on each) and increase the zone's SOA serial, so that every secondary loads the new version. " +
			"Also check that a later change did not remove the record."
	}
	sameSerial := func(have, lack string) string {
		return "The expected value is at " + host + " on " + have + ", but not on " + lack + ", which serve the same SOA serial: " +
			"either the DNS host changes records without changing the serial and is still copying the change to them (then the record appears within minutes), " +
			"or the zone differs between its nameservers (then waiting will not bring it)."
	}
	sameSerialFix := func(servers string) string {
		return "Check again in a few minutes. If the record is still missing on " + servers + ", correct the zone there, or on the primary they transfer it from, " +
			"and increase the zone's SOA serial so that every secondary loads the new version."
	}
	lagging := "The expected value is at " + host + " on " + ns1 + " (SOA serial 22), but not on " + ns2 + " (SOA serial 21): the zone's nameservers are not in sync yet."
	laggingFix := "Wait for the lagging nameservers to load the new version of the zone (secondaries refresh at the SOA refresh interval or on NOTIFY); " +
		"if it persists, check the zone transfers from the primary to " + ns2 + ", or publish the record on every nameserver of the zone."
	etaRefresh := testNow.Add(30 * time.Minute)
	tests := []struct {
		name string
		obs  validation.Observation
		want []Finding
	}{
		{
			name: "same serial, no record on the other: still copying, or the zones differ",
			obs:  withView(resp(host, "NXDOMAIN"), view([]uint32{22, 22}, "v", "-")),
			want: []Finding{retryF(CodeDNSRecordNotPropagated, sameSerial(ns1+" (SOA serial 22)", ns2+" (SOA serial 22)"), sameSerialFix(ns2))},
		},
		{
			name: "same serial, a stale value on the other: still copying, or the zones differ",
			obs:  withView(resp(host, "NOERROR", txt(host+".", "stale")), stale(view([]uint32{22, 22}, "v", "-"), 1)),
			want: []Finding{retryF(CodeDNSRecordNotPropagated, sameSerial(ns1+" (SOA serial 22)", ns2+" (SOA serial 22)"), sameSerialFix(ns2))},
		},
		{
			name: "same serial, refresh interval known: no ETA",
			obs:  withView(resp(host, "NXDOMAIN"), refreshing(view([]uint32{22, 22}, "v", "-"), 1800)),
			want: []Finding{retryF(CodeDNSRecordNotPropagated, sameSerial(ns1+" (SOA serial 22)", ns2+" (SOA serial 22)"), sameSerialFix(ns2))},
		},
		{
			name: "same serial, the resolver reached the server with it: blocks all the same",
			obs:  withView(resp(host, "NOERROR", txt(host+".", testValue)), view([]uint32{22, 22}, "v", "-")),
			want: []Finding{retryF(CodeDNSRecordNotPropagated, sameSerial(ns1+" (SOA serial 22)", ns2+" (SOA serial 22)"), sameSerialFix(ns2))},
		},
		{
			name: "later serial: the zones differ",
			obs:  withView(resp(host, "NXDOMAIN"), view([]uint32{22, 23}, "v", "-")),
			want: []Finding{errF(CodeDNSRecordNotPropagated, diverged(ns1+" (SOA serial 22)", ns2+" (SOA serial 23)"), divergedFix(ns2))},
		},
		{
			name: "older serial: not propagated yet, ETA from the refresh interval",
			obs:  withView(resp(host, "NXDOMAIN"), refreshing(view([]uint32{22, 21}, "v", "-"), 1800)),
			want: []Finding{{Code: CodeDNSRecordNotPropagated, Severity: SeverityError, Retryable: true, ETA: &etaRefresh, Message: lagging,
				Fix: laggingFix + " Their zone's SOA refresh interval is 30 minutes: a secondary without NOTIFY loads the new version within that time."}},
		},
		{
			name: "one server at the same serial, another behind: both named",
			obs:  withView(resp(host, "NXDOMAIN"), view([]uint32{22, 22, 21}, "v", "-", "-")),
			want: []Finding{retryF(CodeDNSRecordNotPropagated,
				sameSerial(ns1+" (SOA serial 22)", ns2+" (SOA serial 22)")+" "+ns3+" (SOA serial 21) lack it too, with an older or unknown serial: they may still load it from the primary.",
				sameSerialFix(ns2))},
		},
		{
			name: "one server diverged, another behind: the zone is to correct, the other named",
			obs:  withView(resp(host, "NXDOMAIN"), view([]uint32{22, 23, 21}, "v", "-", "-")),
			want: []Finding{errF(CodeDNSRecordNotPropagated,
				diverged(ns1+" (SOA serial 22)", ns2+" (SOA serial 23)")+" "+ns3+" (SOA serial 21) lack it too, with an older or unknown serial: they may still load it from the primary.",
				divergedFix(ns2))},
		},
		{
			name: "a server with the value serves a later serial: the one without may still load it",
			obs:  withView(resp(host, "NXDOMAIN"), view([]uint32{22, 23, 22}, "v", "v", "-")),
			want: []Finding{retryF(CodeDNSRecordNotPropagated,
				"The expected value is at "+host+" on "+ns1+" (SOA serial 22), "+ns2+" (SOA serial 23), but not on "+ns3+" (SOA serial 22): the zone's nameservers are not in sync yet.",
				"Wait for the lagging nameservers to load the new version of the zone (secondaries refresh at the SOA refresh interval or on NOTIFY); "+
					"if it persists, check the zone transfers from the primary to "+ns3+", or publish the record on every nameserver of the zone.")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Domain([]validation.Observation{tt.obs}, testNow)
			if got.Status != StatusPending {
				t.Errorf("status %s, want pending", got.Status)
			}
			checkFindings(t, got.Findings, tt.want)
		})
	}
}

func strs(cs []Code) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func TestPreflightWithoutValue(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	obs := dnsObs(resp(host, "NOERROR", txt(host, "one"), txt(host, "two")), func(n *validation.DNSObservation) {
		n.Authoritative = view([]uint32{2, 1}, "v", "-")
	})
	obs.Expected = ""
	r := Preflight([]validation.Observation{obs}, testNow)
	if r.Status != StatusApproved {
		t.Errorf("status %s, want approved (no blocking finding):\n%s", r.Status, dump(r.Findings))
	}
	want := []Finding{
		{Code: CodeDNSNameserverInconsistent, Severity: SeverityWarning, Retryable: true,
			Message: "The nameservers of example.com serve different versions of the zone: ns1.example.com at 192.0.2.1:53 (SOA serial 2), ns2.example.com at 192.0.2.2:53 (SOA serial 1).",
			Fix:     "Make sure every nameserver of example.com receives the zone's updates from the primary (zone transfers, NOTIFY), or remove the stale ones from the NS records at the registrar."},
		{Code: CodeDNSTXTPresent, Severity: SeverityInfo,
			Message: `TXT records at _dnsauth.a.example.com (answer from 192.0.2.53:53): "one", "two".`,
			Fix:     "To validate, publish a TXT record at host `_dnsauth.a` with the value of your order."},
	}
	checkFindings(t, r.Findings, want)

	// With a value it is Domain.
	obs.Expected = testValue
	if got := Preflight([]validation.Observation{obs}, testNow); got.Status != StatusPending || got.Findings[0].Code != CodeDNSRecordNotPropagated {
		t.Errorf("with a value: %s\n%s", got.Status, dump(got.Findings))
	}
}

// TestPreflightWithoutValueFailedLookup: without a value, a TXT lookup
// answered REFUSED is a failed lookup, not "no TXT record yet".
func TestPreflightWithoutValueFailedLookup(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	obs := dnsObs(resp(host, "REFUSED"), nil)
	obs.Expected = ""
	r := Preflight([]validation.Observation{obs}, testNow)
	if r.Status != StatusPending || len(r.Findings) == 0 || r.Findings[0].Code != CodeDNSLookupFailed || !strings.Contains(r.Findings[0].Message, "REFUSED") {
		t.Fatalf("status %s, want pending with DNS_LOOKUP_FAILED naming REFUSED:\n%s", r.Status, dump(r.Findings))
	}
	if slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Code == CodeDNSTXTPresent }) {
		t.Errorf("a failed lookup also said there is no record yet:\n%s", dump(r.Findings))
	}
}

func TestDomainCAAParameters(t *testing.T) {
	t.Parallel()
	base := func(reason, property string) *caa.Result {
		return &caa.Result{Domain: "a.example.com", Identity: "dcv.example", RelevantName: "example.com", Tag: "issue",
			Reason: reason, Property: property, Method: "ca-dnsauth", AccountURI: "",
			Records: []dnsclient.Record{{Name: "example.com.", Type: "CAA", Tag: "issue", Value: property}}}
	}
	withAccount := func(r *caa.Result, account string) *caa.Result { r.AccountURI = account; return r }
	withMethod := func(r *caa.Result, method string) *caa.Result { r.Method = method; return r }
	withRecord := func(r *caa.Result, value string) *caa.Result {
		r.Records = append(r.Records, dnsclient.Record{Name: "example.com.", Type: "CAA", Tag: "issue", Value: value})
		return r
	}
	throughCNAME := func(r *caa.Result, target string) *caa.Result {
		r.Allowed = []string{"other.example"}
		r.Trace = []caa.Step{{Name: "a.example.com", Response: &dnsclient.Response{Rcode: "NXDOMAIN"}},
			{Name: "example.com", Response: &dnsclient.Response{Rcode: "NOERROR", CNAMEs: []string{target + "."}}}}
		return r
	}
	bogusTrace := &caa.Result{Domain: "a.example.com", Identity: "dcv.example", Reason: caa.ReasonLookupFailed, FailedName: "a.example.com",
		Trace: []caa.Step{{Name: "a.example.com", Response: &dnsclient.Response{Server: testServer, Rcode: "NOERROR", DNSSEC: "bogus",
			DNSSECReason: dnsclient.ReasonNoRRSIG + "a.example.com. CAA"}}}}
	tests := []struct {
		name string
		res  *caa.Result
		code Code
		msg  string
		fix  string
	}{
		{name: "accounturi mismatch", res: base(caa.ReasonAccountMismatch, "dcv.example; accounturi=https://dcv.example/acct/9"), code: CodeCAAForbids,
			msg: `The CAA record at example.com that names dcv.example (issue "dcv.example; accounturi=https://dcv.example/acct/9") lets only the account https://dcv.example/acct/9 issue (accounturi, RFC 8657 §3); this request is from no ACME account (the dns and file methods are not tied to one).`,
			fix: "Add this CAA record at example.com: `example.com. CAA 0 issue \"dcv.example\"` (keep the other records if they should stay), or remove the accounturi parameter of the existing one: no account URI can match a dns or file validation."},
		{name: "accounturi of another ACME account", res: withAccount(base(caa.ReasonAccountMismatch, "dcv.example; accounturi=https://dcv.example/acct/9"), "https://dcv.example/acct/7"), code: CodeCAAForbids,
			msg: `The CAA record at example.com that names dcv.example (issue "dcv.example; accounturi=https://dcv.example/acct/9") lets only the account https://dcv.example/acct/9 issue (accounturi, RFC 8657 §3); this request is from https://dcv.example/acct/7.`,
			fix: "Add this CAA record at example.com: `example.com. CAA 0 issue \"dcv.example; accounturi=https://dcv.example/acct/7\"` (keep the other records if they should stay), or change the accounturi of the existing one."},
		{name: "records reached through a CNAME are the target's", res: throughCNAME(base(caa.ReasonNotListed, "other.example"), "ca.hosting.example"), code: CodeCAAForbids,
			msg: "CAA records at example.com allow only other.example to issue (issue); dcv.example is not among them. example.com is a CNAME to ca.hosting.example: these CAA records are those of ca.hosting.example.",
			fix: "The records to change are at ca.hosting.example, the CNAME's target (in its zone, at the DNS host that serves it); or give example.com CAA records of its own by replacing the CNAME. Add this CAA record at ca.hosting.example: `ca.hosting.example. CAA 0 issue \"dcv.example\"` (keep the others if those CAs should stay allowed)."},
		{name: "validationmethods mismatch", res: base(caa.ReasonMethodMismatch, "dcv.example; validationmethods=http-01"), code: CodeCAAForbids,
			msg: `The CAA record at example.com that names dcv.example (issue "dcv.example; validationmethods=http-01") allows only the validation methods http-01 (validationmethods, RFC 8657 §4); this request uses ca-dnsauth.`,
			fix: "Add ca-dnsauth to the validationmethods of that record: `example.com. CAA 0 issue \"dcv.example; validationmethods=http-01,ca-dnsauth\"`, or validate a.example.com with one of the methods it lists."},
		{name: "validationmethods mismatch through a CNAME names the validated name", res: throughCNAME(base(caa.ReasonMethodMismatch, "dcv.example; validationmethods=dns-01"), "caa2.example"), code: CodeCAAForbids,
			msg: `The CAA record at example.com that names dcv.example (issue "dcv.example; validationmethods=dns-01") allows only the validation methods dns-01 (validationmethods, RFC 8657 §4); this request uses ca-dnsauth. example.com is a CNAME to caa2.example: these CAA records are those of caa2.example.`,
			fix: "The records to change are at caa2.example, the CNAME's target (in its zone, at the DNS host that serves it); or give example.com CAA records of its own by replacing the CNAME. Add ca-dnsauth to the validationmethods of that record: `caa2.example. CAA 0 issue \"dcv.example; validationmethods=dns-01,ca-dnsauth\"`, or validate a.example.com with one of the methods it lists."},
		{name: "validationmethods mismatch keeps the accounturi", res: withMethod(withAccount(base(caa.ReasonMethodMismatch, "dcv.example; accounturi=https://dcv.example/acct/7; validationmethods=dns-01"), "https://dcv.example/acct/7"), "http-01"), code: CodeCAAForbids,
			msg: `The CAA record at example.com that names dcv.example (issue "dcv.example; accounturi=https://dcv.example/acct/7; validationmethods=dns-01") allows only the validation methods dns-01 (validationmethods, RFC 8657 §4); this request uses http-01.`,
			fix: "Add http-01 to the validationmethods of that record: `example.com. CAA 0 issue \"dcv.example; accounturi=https://dcv.example/acct/7; validationmethods=dns-01,http-01\"`, or validate a.example.com with one of the methods it lists."},
		{name: "accounturi mismatch keeps the validationmethods", res: withMethod(withAccount(base(caa.ReasonAccountMismatch, "dcv.example; accounturi=https://dcv.example/acct/9; validationmethods=dns-01"), "https://dcv.example/acct/7"), "dns-01"), code: CodeCAAForbids,
			msg: `The CAA record at example.com that names dcv.example (issue "dcv.example; accounturi=https://dcv.example/acct/9; validationmethods=dns-01") lets only the account https://dcv.example/acct/9 issue (accounturi, RFC 8657 §3); this request is from https://dcv.example/acct/7.`,
			fix: "Add this CAA record at example.com: `example.com. CAA 0 issue \"dcv.example; accounturi=https://dcv.example/acct/7; validationmethods=dns-01\"` (keep the other records if they should stay), or change the accounturi of the existing one."},
		{name: "accounturi mismatch without an account keeps the validationmethods", res: base(caa.ReasonAccountMismatch, "dcv.example; accounturi=https://dcv.example/acct/9; validationmethods=ca-dnsauth"), code: CodeCAAForbids,
			msg: `The CAA record at example.com that names dcv.example (issue "dcv.example; accounturi=https://dcv.example/acct/9; validationmethods=ca-dnsauth") lets only the account https://dcv.example/acct/9 issue (accounturi, RFC 8657 §3); this request is from no ACME account (the dns and file methods are not tied to one).`,
			fix: "Add this CAA record at example.com: `example.com. CAA 0 issue \"dcv.example; validationmethods=ca-dnsauth\"` (keep the other records if they should stay), or remove the accounturi parameter of the existing one: no account URI can match a dns or file validation."},
		{name: "accounturi and validationmethods both refuse", res: withMethod(withAccount(base(caa.ReasonAccountMismatch, "dcv.example; accounturi=https://dcv.example/acct/9; validationmethods=dns-01; policy=x"), "https://dcv.example/acct/7"), "http-01"), code: CodeCAAForbids,
			msg: `The CAA record at example.com that names dcv.example (issue "dcv.example; accounturi=https://dcv.example/acct/9; validationmethods=dns-01; policy=x") lets only the account https://dcv.example/acct/9 issue (accounturi, RFC 8657 §3); this request is from https://dcv.example/acct/7. ` +
				`The CAA record at example.com that names dcv.example (issue "dcv.example; accounturi=https://dcv.example/acct/9; validationmethods=dns-01; policy=x") allows only the validation methods dns-01 (validationmethods, RFC 8657 §4); this request uses http-01.`,
			fix: "Add this CAA record at example.com: `example.com. CAA 0 issue \"dcv.example; accounturi=https://dcv.example/acct/7; validationmethods=dns-01,http-01; policy=x\"` (keep the other records if they should stay), or change the accounturi of the existing one and add http-01 to its validationmethods."},
		{name: "two records refuse, each explained", res: withRecord(withMethod(withAccount(base(caa.ReasonAccountMismatch, "dcv.example; accounturi=https://dcv.example/acct/9"), "https://dcv.example/acct/7"), "http-01"), "dcv.example; validationmethods=dns-01"), code: CodeCAAForbids,
			msg: `The CAA record at example.com that names dcv.example (issue "dcv.example; accounturi=https://dcv.example/acct/9") lets only the account https://dcv.example/acct/9 issue (accounturi, RFC 8657 §3); this request is from https://dcv.example/acct/7. ` +
				`The CAA record at example.com that names dcv.example (issue "dcv.example; validationmethods=dns-01") allows only the validation methods dns-01 (validationmethods, RFC 8657 §4); this request uses http-01.`,
			fix: "For the record issue \"dcv.example; accounturi=https://dcv.example/acct/9\": Add this CAA record at example.com: `example.com. CAA 0 issue \"dcv.example; accounturi=https://dcv.example/acct/7\"` (keep the other records if they should stay), or change the accounturi of the existing one. " +
				"For the record issue \"dcv.example; validationmethods=dns-01\": Add http-01 to the validationmethods of that record: `example.com. CAA 0 issue \"dcv.example; validationmethods=dns-01,http-01\"`, or validate a.example.com with one of the methods it lists. " +
				"Changing one of these records is enough: one that allows the request permits issuance."},
		{name: "a record naming another issuer is not explained", res: withRecord(withMethod(base(caa.ReasonMethodMismatch, "dcv.example; validationmethods=dns-01"), "http-01"), "other.example; validationmethods=dns-01"), code: CodeCAAForbids,
			msg: `The CAA record at example.com that names dcv.example (issue "dcv.example; validationmethods=dns-01") allows only the validation methods dns-01 (validationmethods, RFC 8657 §4); this request uses http-01.`},
		{name: "malformed", res: base(caa.ReasonMalformed, "dcv.example; accounturi"), code: CodeCAAForbids,
			msg: `The CAA record at example.com (issue "dcv.example; accounturi") does not follow the syntax of RFC 8659 §4.2, so it authorises no one.`,
			fix: "Replace it with `example.com. CAA 0 issue \"dcv.example\"`."},
		{name: "bogus CAA answer fails closed", res: bogusTrace, code: CodeCAALookupFailed,
			msg: "The CAA lookup of a.example.com failed: the answer from 192.0.2.53:53 failed DNSSEC validation: the answer is not signed (RRSIG records are missing). dcv does not issue without a CAA answer."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := diagnoser{c: &catalogEN, now: testNow}
			f := d.caa(tt.res)
			if f.Code != tt.code || f.Message != tt.msg || (tt.fix != "" && f.Fix != tt.fix) {
				t.Errorf("got %s\n msg %q\n fix %q\nwant %s\n msg %q\n fix %q", f.Code, f.Message, f.Fix, tt.code, tt.msg, tt.fix)
			}
		})
	}
}
