package diagnose

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

func TestRemoteQuorum(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		n    int
		want int
	}{
		{"none", 0, 0},
		{"one must corroborate", 1, 1},
		{"two allow one failure", 2, 1},
		{"five allow one failure", 5, 4},
		{"six allow two failures", 6, 4},
		{"nine allow two failures", 9, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := RemoteQuorum(tt.n); got != tt.want {
				t.Errorf("RemoteQuorum(%d) = %d, want %d", tt.n, got, tt.want)
			}
		})
	}
}

func TestQuorumStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		corr, pending       []string
		failed              int
		wantMet, wantImposs bool
	}{
		{name: "open at start", pending: []string{"ARIN", "RIPE", "APNIC"}},
		{name: "4 of 5 in two regions", corr: []string{"ARIN", "RIPE", "RIPE", "APNIC"}, failed: 1, wantMet: true},
		{name: "4 of 5 met before the fifth answers", corr: []string{"ARIN", "RIPE", "RIPE", "APNIC"}, pending: []string{"LACNIC"}, wantMet: true},
		{name: "two failures of 5 is impossible", corr: []string{"ARIN"}, pending: []string{"RIPE", "APNIC"}, failed: 2, wantImposs: true},
		{name: "4 of 5 in one region is not met", corr: []string{"RIPE", "RIPE", "RIPE", "RIPE"}, failed: 1, wantImposs: true},
		{name: "one region so far, a second pending", corr: []string{"RIPE", "RIPE", "RIPE"}, pending: []string{"ARIN"}, failed: 1},
		{name: "single remote must corroborate", corr: []string{"RIPE"}, wantMet: true},
		{name: "single remote failed", failed: 1, wantImposs: true},
		{name: "6 remotes allow two failures", corr: []string{"ARIN", "RIPE", "APNIC", "ARIN"}, failed: 2, wantMet: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			met, imposs := QuorumStatus(tt.corr, tt.pending, tt.failed)
			if met != tt.wantMet || imposs != tt.wantImposs {
				t.Errorf("QuorumStatus = met %v impossible %v, want %v %v", met, imposs, tt.wantMet, tt.wantImposs)
			}
		})
	}
}

// pRemote makes o the observation of remote perspective name in rir.
func pRemote(o validation.Observation, name, rir string) validation.Observation {
	o.Perspective, o.RIR, o.Agent, o.RoundTrip = name, rir, "https://"+name+".agents.example:8443", 20*time.Millisecond
	return o
}

func pUnavailable(name, rir, kind string) validation.Observation {
	return validation.Observation{Perspective: name, RIR: rir, Domain: "a.example.com", Method: validation.MethodDNS,
		Expected: testValue, StartedAt: testNow, Unavailable: kind, UnavailableDetail: "dial tcp 192.0.2.9:8443: connect: connection refused"}
}

func pFile(status int, body string, errKind webfetch.ErrorKind) validation.Observation {
	a := webfetch.Attempt{URL: "http://a.example.com" + validation.FilePath, Address: "192.0.2.10:80", Status: status, Body: []byte(body)}
	if errKind != "" {
		a.Err = &webfetch.Error{Kind: errKind, Address: a.Address}
	}
	return validation.Observation{Perspective: "primary", Domain: "a.example.com", Method: validation.MethodFile,
		Expected: testValue, StartedAt: testNow,
		File: &validation.FileObservation{URL: a.URL, Fetches: []*webfetch.Trace{{URL: a.URL, Host: "a.example.com", Addresses: []string{"192.0.2.10"}, Attempts: []webfetch.Attempt{a}}}}}
}

// atAddress is a file observation whose fetch went to addr instead.
func atAddress(o validation.Observation, addr string) validation.Observation {
	t := *o.File.Fetches[0]
	t.Attempts = slices.Clone(t.Attempts)
	t.Attempts[0].Address = addr
	if t.Attempts[0].Err != nil {
		e := *t.Attempts[0].Err
		e.Address = addr
		t.Attempts[0].Err = &e
	}
	f := *o.File
	f.Fetches = []*webfetch.Trace{&t}
	o.File = &f
	return o
}

func TestDomainPerspectives(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	pass := dnsObs(resp(host, "NOERROR", txt(host, testValue)), nil)
	missing := func() validation.Observation {
		r := resp(host, "NXDOMAIN")
		r.NegativeTTL = 300
		return dnsObs(r, nil)
	}()
	old := dnsObs(resp(host, "NOERROR", txt(host, "old-value")), nil) // TTL 300
	caaNo := pass
	caaNo.CAA = &caa.Result{Identity: "ca.dcv.example", RelevantName: "example.com", Reason: caa.ReasonEmptyIssuer, Tag: "issue",
		Records: []dnsclient.Record{{Name: "example.com.", Type: "CAA", TTL: 300, Data: `0 issue ";"`}}}
	fixUnav := "Nothing needs to change on your side: check again later, or contact the operator if it persists."
	fixCache := "Nothing needs to change if the record is correct: check again after the cached answers expire. Make sure every nameserver of the domain serves the new record."
	eta := testNow.Add(300 * time.Second)

	five := func(fail ...validation.Observation) []validation.Observation {
		obs := []validation.Observation{pass,
			pRemote(pass, "us-1", "ARIN"), pRemote(pass, "eu-1", "RIPE"), pRemote(pass, "ap-1", "APNIC"),
			pRemote(pass, "sa-1", "LACNIC"), pRemote(pass, "af-1", "AFRINIC")}
		for i, f := range fail {
			obs[len(obs)-1-i] = f
		}
		return obs
	}
	// The primary validated the answer; a remote's validation of the
	// same answer failed: its own trust anchor or network (review).
	secure := dnsObs(func() *dnsclient.Response {
		r := resp(host, "NOERROR", txt(host, testValue))
		r.DNSSEC = dnsclient.Secure.String()
		return r
	}(), nil)
	bogus := dnsObs(func() *dnsclient.Response {
		r := resp(host, "NOERROR", txt(host, testValue))
		r.DNSSEC, r.DNSSECReason = dnsclient.Bogus.String(), "DS record at the parent (key tag 63094) matches no DNSKEY in ."
		return r
	}(), nil)
	fiveSecure := func(fail ...validation.Observation) []validation.Observation {
		obs := five(fail...)
		obs[0] = secure
		return obs
	}
	tests := []struct {
		name   string
		obs    []validation.Observation
		status string
		want   []Finding
		eta    *time.Time
	}{
		{name: "all five corroborate", obs: five(), status: StatusApproved},
		{
			name:   "remotes fail DNSSEC where the primary validated: their side, not another value",
			obs:    fiveSecure(pRemote(bogus, "af-1", "AFRINIC"), pRemote(bogus, "sa-1", "LACNIC")),
			status: StatusPending,
			want: []Finding{{Code: CodePerspectiveUnavailable, Severity: SeverityError, Retryable: true, Fix: fixUnav,
				Message: "dcv could not obtain the view of 2 remote perspectives: sa-1 (LACNIC) (its DNSSEC validation failed on the answer that dcv's primary perspective validated: that perspective's own trust anchor, or its network, fails, not your zone; DS record at the parent (key tag 63094) matches no DNSKEY in .); af-1 (AFRINIC) (its DNSSEC validation failed on the answer that dcv's primary perspective validated: that perspective's own trust anchor, or its network, fails, not your zone; DS record at the parent (key tag 63094) matches no DNSKEY in .). This is a problem on the certificate authority's side, not with your domain; without them the quorum of corroborating perspectives is not met."}},
		},
		{
			// Without the primary's validation nothing tells whose the
			// failure is: the remote disagrees, and says what it saw.
			name:   "a remote fails DNSSEC, the primary did not validate",
			obs:    five(pRemote(bogus, "af-1", "AFRINIC"), pRemote(bogus, "sa-1", "LACNIC")),
			status: StatusPending,
			want: []Finding{{Code: CodeRemotePerspectivesDisagree, Severity: SeverityError, Fix: "Make sure the domain answers the same way from every network, then check again.",
				Message: "dcv's primary perspective sees the expected value, but only 3 of 5 remote perspectives corroborate it (4 needed): sa-1 (LACNIC) saw an answer that fails DNSSEC validation (DS record at the parent (key tag 63094) matches no DNSKEY in .); af-1 (AFRINIC) saw an answer that fails DNSSEC validation (DS record at the parent (key tag 63094) matches no DNSKEY in .)."}},
		},
		{
			name:   "4 of 5 corroborate: approved without a finding",
			obs:    five(pRemote(missing, "af-1", "AFRINIC")),
			status: StatusApproved,
		},
		{
			name:   "2 of 5 corroborate: the three that disagree are named, with the cache ETA",
			obs:    five(pRemote(missing, "af-1", "AFRINIC"), pRemote(old, "sa-1", "LACNIC"), pRemote(missing, "ap-1", "APNIC")),
			status: StatusPending,
			want: []Finding{{Code: CodeRemotePerspectivesDisagree, Severity: SeverityError, Retryable: true, ETA: &eta,
				Message: "dcv's primary perspective sees the expected value, but only 2 of 5 remote perspectives corroborate it (4 needed): " +
					"ap-1 (APNIC) saw no record (NXDOMAIN); sa-1 (LACNIC) saw another value, \"old-value\"; af-1 (AFRINIC) saw no record (NXDOMAIN). " +
					"The likely cause is DNS caching: resolvers near those perspectives still hold the previous answer (it expires in at most 5 minutes, at 2025-06-01T18:05:50Z), or one of your nameservers has not been updated yet.",
				Fix: fixCache}},
		},
		{
			name:   "one agent down, quorum holds: a warning for the operator",
			obs:    five(pUnavailable("af-1", "AFRINIC", validation.UnavailableConnect)),
			status: StatusApproved,
			want: []Finding{{Code: CodePerspectiveUnavailable, Severity: SeverityWarning, Retryable: true, Fix: "Nothing needs to change on your side: the domain is validated without them. The certificate authority's operator should bring those perspectives back.",
				Message: "dcv could not obtain the view of 1 remote perspective: af-1 (AFRINIC) (unreachable). This is a problem on the certificate authority's side, not with your domain; the quorum was met without them."}},
		},
		{
			// Had the agent that is down corroborated, the quorum would
			// hold: the CA's outage decides, and the disagreement is a
			// warning (black-box run: it counted against the domain).
			name:   "one agent down and one disagreeing, the quorum within reach: the CA's side blocks",
			obs:    five(pUnavailable("af-1", "AFRINIC", validation.UnavailableTimeout), pRemote(missing, "sa-1", "LACNIC")),
			status: StatusPending,
			want: []Finding{
				{Code: CodePerspectiveUnavailable, Severity: SeverityError, Retryable: true, Fix: fixUnav,
					Message: "dcv could not obtain the view of 1 remote perspective: af-1 (AFRINIC) (no answer within its deadline). This is a problem on the certificate authority's side, not with your domain; without them the quorum of corroborating perspectives is not met. " +
						"Besides, sa-1 (LACNIC) answered otherwise: that alone does not fail the check, but it will if the perspectives that could not answer do not corroborate."},
				{Code: CodeRemotePerspectivesDisagree, Severity: SeverityWarning, Retryable: true, ETA: &eta, Fix: fixCache,
					Message: "dcv's primary perspective sees the expected value, but only 3 of 5 remote perspectives corroborate it (4 needed): sa-1 (LACNIC) saw no record (NXDOMAIN). " +
						"The likely cause is DNS caching: resolvers near those perspectives still hold the previous answer (it expires in at most 5 minutes, at 2025-06-01T18:05:50Z), or one of your nameservers has not been updated yet. " +
						"This does not decide alone: the quorum could still be met once the unavailable remote perspectives answer."},
			},
		},
		{
			// Even had the agent that is down corroborated, too few would:
			// the disagreement decides, and blocks.
			name:   "one agent down and two disagreeing, the quorum out of reach: the disagreement blocks",
			obs:    five(pUnavailable("af-1", "AFRINIC", validation.UnavailableTimeout), pRemote(missing, "sa-1", "LACNIC"), pRemote(missing, "ap-1", "APNIC")),
			status: StatusPending,
			want: []Finding{
				{Code: CodeRemotePerspectivesDisagree, Severity: SeverityError, Retryable: true, ETA: &eta, Fix: fixCache,
					Message: "dcv's primary perspective sees the expected value, but only 2 of 5 remote perspectives corroborate it (4 needed): ap-1 (APNIC) saw no record (NXDOMAIN); sa-1 (LACNIC) saw no record (NXDOMAIN). " +
						"The likely cause is DNS caching: resolvers near those perspectives still hold the previous answer (it expires in at most 5 minutes, at 2025-06-01T18:05:50Z), or one of your nameservers has not been updated yet."},
				{Code: CodePerspectiveUnavailable, Severity: SeverityWarning, Retryable: true, Fix: "Nothing needs to change on your side for them: the certificate authority's operator should bring those perspectives back.",
					Message: "dcv could not obtain the view of 1 remote perspective: af-1 (AFRINIC) (no answer within its deadline). This is a problem on the certificate authority's side, and it does not decide: even had they corroborated, too few remote perspectives would."},
			},
		},
		{
			name:   "fewer remotes configured than required fails closed",
			obs:    []validation.Observation{pass, pRemote(pass, "us-1", "ARIN"), pRemote(pass, "eu-1", "RIPE"), pUnavailable("remote-3", "", validation.UnavailableNotConfigured)},
			status: StatusPending,
			want: []Finding{{Code: CodePerspectiveUnavailable, Severity: SeverityError, Fix: fixUnav,
				Message: "Remote perspectives configured: 2; required: at least 3. Validation fails closed. This is a problem on the certificate authority's side, not with your domain."}},
		},
		{
			// A slot not configured fails every check: the CA's side
			// decides, and a disagreement is a warning (review).
			name:   "a remote not configured and one disagreeing: the CA's side blocks",
			obs:    []validation.Observation{pass, pRemote(pass, "us-1", "ARIN"), pRemote(missing, "eu-1", "RIPE"), pUnavailable("remote-3", "", validation.UnavailableNotConfigured)},
			status: StatusPending,
			want: []Finding{
				{Code: CodePerspectiveUnavailable, Severity: SeverityError, Fix: fixUnav,
					Message: "Remote perspectives configured: 2; required: at least 3. Validation fails closed. This is a problem on the certificate authority's side, not with your domain."},
				{Code: CodeRemotePerspectivesDisagree, Severity: SeverityWarning, Retryable: true, ETA: &eta, Fix: fixCache,
					Message: "dcv's primary perspective sees the expected value, but only 1 of 3 remote perspectives corroborate it (2 needed): eu-1 (RIPE) saw no record (NXDOMAIN). " +
						"The likely cause is DNS caching: resolvers near those perspectives still hold the previous answer (it expires in at most 5 minutes, at 2025-06-01T18:05:50Z), or one of your nameservers has not been updated yet. " +
						"This does not decide alone: the certificate authority has fewer remote perspectives than required, which fails every check until it has them."},
			},
		},
		{
			name:   "all corroborate in one region: operator problem",
			obs:    []validation.Observation{pass, pRemote(pass, "eu-1", "RIPE"), pRemote(pass, "eu-2", "RIPE")},
			status: StatusPending,
			want: []Finding{{Code: CodePerspectiveUnavailable, Severity: SeverityError, Fix: fixUnav,
				Message: "The remote perspectives that corroborate are all in one registry region (RIPE), and at least two regions are required. This is a problem on the certificate authority's side, not with your domain."}},
		},
		{
			name:   "enough corroborate but in one region, the other region disagrees",
			obs:    []validation.Observation{pass, pRemote(pass, "eu-1", "RIPE"), pRemote(pass, "eu-2", "RIPE"), pRemote(missing, "us-1", "ARIN")},
			status: StatusPending,
			want: []Finding{{Code: CodeRemotePerspectivesDisagree, Severity: SeverityError, Retryable: true, ETA: &eta, Fix: fixCache,
				Message: "dcv's primary perspective sees the expected value, but the 2 remote perspectives that corroborate it are all in one registry region (RIPE), and at least two regions are required: us-1 (ARIN) saw no record (NXDOMAIN). " +
					"The likely cause is DNS caching: resolvers near those perspectives still hold the previous answer (it expires in at most 5 minutes, at 2025-06-01T18:05:50Z), or one of your nameservers has not been updated yet."}},
		},
		{
			name:   "CAA must be corroborated too",
			obs:    []validation.Observation{pass, pRemote(caaNo, "eu-1", "RIPE"), pRemote(pass, "us-1", "ARIN"), pRemote(caaNo, "ap-1", "APNIC")},
			status: StatusPending,
			want: []Finding{{Code: CodeRemotePerspectivesDisagree, Severity: SeverityError, Retryable: true, Fix: "Make sure the domain answers the same way from every network, then check again.",
				Message: "dcv's primary perspective sees the expected value, but only 1 of 3 remote perspectives corroborate it (2 needed): eu-1 (RIPE) saw CAA records at example.com that forbid issuance (0 issue \";\"); ap-1 (APNIC) saw CAA records at example.com that forbid issuance (0 issue \";\"). " +
					"Some perspectives see CAA records that do not permit issuance: the CAA records have just changed, or your nameservers answer differently by location."}},
		},
		{
			name: "geo-blocked file: refused and 403 from remotes",
			obs: []validation.Observation{pFile(200, testValue, ""),
				pRemote(pFile(0, "", webfetch.ErrConnectionRefused), "eu-1", "RIPE"),
				pRemote(pFile(403, "Forbidden", ""), "ap-1", "APNIC"),
				pRemote(pFile(200, testValue, ""), "us-1", "ARIN")},
			status: StatusPending,
			want: []Finding{{Code: CodeRemotePerspectivesDisagree, Severity: SeverityError,
				Fix: "Allow requests to /.well-known/pki-validation/ from every country and network (firewall, geo-blocking, CDN and bot-protection rules), then check again.",
				Message: "dcv's primary perspective sees the expected value, but only 1 of 3 remote perspectives corroborate it (2 needed): eu-1 (RIPE) saw connection refused by 192.0.2.10:80; ap-1 (APNIC) saw HTTP 403. " +
					"The likely cause is geo-blocking or a firewall that filters by source address: the web server answers dcv's primary perspective but not those networks."}},
		},
		{
			// From RIPE the name resolves to another server, which answers
			// 404: the address, not a block, is what differs.
			name: "file served from another address in one region",
			obs: []validation.Observation{pFile(200, testValue, ""),
				pRemote(atAddress(pFile(404, "", ""), "198.51.100.7:80"), "eu-1", "RIPE"),
				pRemote(atAddress(pFile(0, "", webfetch.ErrConnectionRefused), "198.51.100.7:80"), "ap-1", "APNIC"),
				pRemote(pFile(200, testValue, ""), "us-1", "ARIN")},
			status: StatusPending,
			want: []Finding{{Code: CodeRemotePerspectivesDisagree, Severity: SeverityError,
				Fix: "Serve the file from every address the name resolves to in every region, or make the name resolve to the same servers everywhere, then check again.",
				Message: "dcv's primary perspective sees the expected value, but only 1 of 3 remote perspectives corroborate it (2 needed): eu-1 (RIPE) saw HTTP 404; ap-1 (APNIC) saw connection refused by 198.51.100.7:80. " +
					"From eu-1 (RIPE) the name resolves to 198.51.100.7, not to 192.0.2.10 as for dcv's primary perspective: another server answers there (GeoDNS, a CDN's regional address, split-horizon DNS). " +
					"From ap-1 (APNIC) the name resolves to 198.51.100.7, not to 192.0.2.10 as for dcv's primary perspective: another server answers there (GeoDNS, a CDN's regional address, split-horizon DNS)."}},
		},
		{
			// An iterative agent answered by a server that is not one of
			// the zone's: another view (split-horizon), not a cache; no
			// ETA, and waiting will not help.
			name: "a remote answered by another nameserver",
			obs: func() []validation.Observation {
				primary := dnsObs(resp(host, "NOERROR", txt(host, testValue)), func(n *validation.DNSObservation) {
					n.Authoritative = &dnsclient.ZoneView{Zone: "example.com.", NS: []string{"ns1.example.com.", "ns2.example.com."},
						Servers: []dnsclient.ServerView{{NS: "ns1.example.com.", Address: testServer}, {NS: "ns2.example.com.", Address: "192.0.2.54:53"}}}
				})
				other := resp(host, "NXDOMAIN")
				other.Server, other.NegativeTTL = "198.51.100.9:53", 300
				return []validation.Observation{primary, pRemote(dnsObs(other, nil), "eu-1", "RIPE"), pRemote(pass, "us-1", "ARIN"), pRemote(dnsObs(other, nil), "ap-1", "APNIC")}
			}(),
			status: StatusPending,
			want: []Finding{{Code: CodeRemotePerspectivesDisagree, Severity: SeverityError,
				Fix: "Publish the record on every nameserver that answers for the name from any network (each view of split-horizon or GeoDNS, every provider), or make the name answered by the same nameservers everywhere, then check again.",
				Message: "dcv's primary perspective sees the expected value, but only 1 of 3 remote perspectives corroborate it (2 needed): eu-1 (RIPE) saw no record (NXDOMAIN); ap-1 (APNIC) saw no record (NXDOMAIN). " +
					"The answer eu-1 (RIPE), ap-1 (APNIC) saw came from 198.51.100.9:53, which is not one of the nameservers of example.com that dcv's primary perspective asked (192.0.2.53:53, 192.0.2.54:53): the name is answered by other servers there (split-horizon DNS, GeoDNS, a different delegation, or an interception), and waiting will not change that."}},
		},
		{
			// An iterative agent answered by the zone's only nameserver,
			// which gave the primary the value when asked directly: not
			// a cache; the server answers by source network, for a few
			// minutes maybe (an anycast server's locations loading the
			// change), for good past them (GeoDNS: see
			// TestGeoNameserverNeedsTheSameServersAnswer).
			name: "a remote answered otherwise by the nameserver that gave the primary the value",
			obs: func() []validation.Observation {
				primary := dnsObs(resp(host, "NOERROR", txt(host, testValue)), func(n *validation.DNSObservation) {
					n.Authoritative = &dnsclient.ZoneView{Zone: "example.com.", NS: []string{"ns1.example.com."},
						Servers: []dnsclient.ServerView{{NS: "ns1.example.com.", Address: testServer, SOASerial: 7, Answer: resp(host, "NOERROR", txt(host, testValue))}}}
				})
				return []validation.Observation{primary, pRemote(pass, "us-1", "ARIN"), pRemote(old, "eu-1", "RIPE")}
			}(),
			status: StatusPending,
			want: []Finding{{Code: CodeRemotePerspectivesDisagree, Severity: SeverityError, Retryable: true, ETA: new(testNow.Add(10 * time.Minute)),
				Fix: "If you changed the record in the last minutes, check again after the time given. If not, publish the record in every view of your nameservers: every location or region of your DNS provider's GeoDNS (or traffic steering) and every view of split-horizon DNS.",
				Message: "dcv's primary perspective sees the expected value, but only 1 of 2 remote perspectives corroborate it (2 needed): eu-1 (RIPE) saw another value, \"old-value\". " +
					"The answer eu-1 (RIPE) saw came straight from 192.0.2.53:53, a nameserver of example.com, not from a cache; the same server gave dcv's primary perspective the expected value: it answers differently by where a query comes from. " +
					"A record just changed may not have reached every location of an anycast nameserver yet (usually minutes); if the answers still differ after " + testNow.Add(10*time.Minute).UTC().Format(time.RFC3339) +
					", the server answers according to the network a query comes from (GeoDNS, split-horizon DNS), and waiting will not change that."}},
		},
		{
			name:   "the primary fails: only its findings, remotes skipped",
			obs:    []validation.Observation{missing, pUnavailable("eu-1", "RIPE", validation.UnavailableSkipped), pUnavailable("us-1", "ARIN", validation.UnavailableSkipped)},
			status: StatusPending,
			want: []Finding{retryF(CodeDNSRecordNotFound, "No TXT record at _dnsauth.a.example.com: 192.0.2.53:53 answered NXDOMAIN.",
				"Add a TXT record with host `_dnsauth.a` and value `"+testValue+"`. If you just added it, your DNS provider may need a few minutes to publish it.")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Domain(tt.obs, testNow)
			if got.Status != tt.status {
				t.Errorf("Status = %q, want %q", got.Status, tt.status)
			}
			checkFindings(t, got.Findings, tt.want)
		})
	}
}

func TestMatrix(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	pass := dnsObs(resp(host, "NOERROR", txt(host, testValue)), nil)
	pass.Duration = 3 * time.Millisecond
	timeout := dnsObs(nil, func(n *validation.DNSObservation) {
		n.Record = validation.Lookup{Name: host + ".", Type: "TXT", Err: &dnsclient.Error{Kind: dnsclient.KindTimeout, Server: "127.0.0.9:53"}}
	})
	rows := Matrix([]validation.Observation{
		pass,
		pRemote(pass, "eu-1", "RIPE"),
		pRemote(timeout, "us-1", "ARIN"),
		pUnavailable("ap-1", "APNIC", validation.UnavailableTLS),
	})
	want := []PerspectiveRow{
		{Perspective: "primary", Via: testServer, Seen: "the expected value", Latency: 3 * time.Millisecond, Verdict: VerdictPass},
		{Perspective: "eu-1", RIR: "RIPE", Agent: "https://eu-1.agents.example:8443", Via: testServer, Seen: "the expected value", Latency: 20 * time.Millisecond, Verdict: VerdictPass},
		{Perspective: "us-1", RIR: "ARIN", Agent: "https://us-1.agents.example:8443", Via: "127.0.0.9:53", Seen: "a DNS timeout", Latency: 20 * time.Millisecond, Verdict: VerdictFail},
		{Perspective: "ap-1", RIR: "APNIC", Seen: "mutual TLS handshake failed", Detail: "dial tcp 192.0.2.9:8443: connect: connection refused", Verdict: VerdictUnavailable},
	}
	if len(rows) != len(want) {
		t.Fatalf("Matrix returned %d rows, want %d", len(rows), len(want))
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d:\n got  %+v\n want %+v", i, rows[i], want[i])
		}
	}
}

// TestMatrixFileVia: a file observation's row names the address that
// served the value, not the first that answered (with other content).
func TestMatrixFileVia(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		obs       validation.Observation
		via, seen string
	}{
		{"the value over https, other content first over http",
			fileObs(hops(httpURL, answer("[2001:db8::10]:80", 200, "old"), answer("192.0.2.10:80", 200, testValue)),
				hops(httpsURL, failed("[2001:db8::10]:443", webfetch.ErrConnectionRefused, "", 0), answer("192.0.2.10:443", 200, testValue))),
			"192.0.2.10:443", "the expected file"},
		{"no address serves it: the first answer",
			fileObs(hops(httpURL, answer("[2001:db8::10]:80", 404, ""), answer("192.0.2.10:80", 404, ""))),
			"[2001:db8::10]:80", "HTTP 404"},
		// The head came, the body trickled (console run: told as "no
		// answer in time").
		{"a slow body",
			fileObs(hops(httpURL, func() webfetch.Attempt {
				a := answer("192.0.2.10:80", 200, "abc")
				a.Err = &webfetch.Error{Kind: webfetch.ErrTimeoutAfterConn, Address: "192.0.2.10:80"}
				return a
			}())),
			"192.0.2.10:80", "HTTP 200, then too slow a body (3 bytes within the deadline)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rows := Matrix([]validation.Observation{tt.obs, tt.obs})
			if r := rows[0]; r.Via != tt.via {
				t.Errorf("primary via %q, want %q", r.Via, tt.via)
			}
			if r := rows[1]; r.Via != tt.via || r.Seen != tt.seen {
				t.Errorf("remote via %q seen %q, want %q %q", r.Via, r.Seen, tt.via, tt.seen)
			}
		})
	}
}

func TestCorroborates(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	pass := dnsObs(resp(host, "NOERROR", txt(host, testValue)), nil)
	tests := []struct {
		name string
		obs  validation.Observation
		want bool
	}{
		{"passes", pass, true},
		{"unavailable", pUnavailable("x", "ARIN", validation.UnavailableConnect), false},
		{"no record", dnsObs(resp(host, "NXDOMAIN"), nil), false},
		{"CAA forbids", func() validation.Observation {
			o := pass
			o.CAA = &caa.Result{Identity: "ca.example", Reason: caa.ReasonNotListed}
			return o
		}(), false},
		{"CAA permits", func() validation.Observation {
			o := pass
			o.CAA = &caa.Result{Identity: "ca.example", Permitted: true}
			return o
		}(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Corroborates(&tt.obs); got != tt.want {
				t.Errorf("Corroborates = %v, want %v", got, tt.want)
			}
		})
	}
	if !strings.Contains(Title(CodeRemotePerspectivesDisagree), "disagree") {
		t.Errorf("Title(%s) = %q", CodeRemotePerspectivesDisagree, Title(CodeRemotePerspectivesDisagree))
	}
}

// TestDisagreeAfterThePredictedExpiry: remote perspectives that still
// disagree after the time a previous check gave for their cached answers
// to expire are not said to hold cached answers again.
func TestDisagreeAfterThePredictedExpiry(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	pass := dnsObs(resp(host, "NOERROR", txt(host, testValue)), nil)
	missing := func() validation.Observation {
		r := resp(host, "NXDOMAIN")
		r.NegativeTTL = 5
		return dnsObs(r, nil)
	}()
	obs := []validation.Observation{pass, pRemote(pass, "us-1", "ARIN"), pRemote(missing, "eu-1", "RIPE"), pRemote(missing, "ap-1", "APNIC")}
	past, future := testNow.Add(-time.Second), testNow.Add(time.Minute)
	tests := []struct {
		name      string
		prev      []Finding
		cacheNote bool // "The likely cause is DNS caching", with an ETA
	}{
		{"no previous check", nil, true},
		{"the predicted expiry is still ahead", []Finding{{Code: CodeRemotePerspectivesDisagree, ETA: &future}}, true},
		{"the predicted expiry has passed", []Finding{{Code: CodeRemotePerspectivesDisagree, ETA: &past}}, false},
		{"a previous finding of another code", []Finding{{Code: CodeDNSRecordNotPropagated, ETA: &past}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Domain(obs, testNow, WithPrevious(tt.prev))
			if len(r.Findings) != 1 || r.Findings[0].Code != CodeRemotePerspectivesDisagree {
				t.Fatalf("findings %s", dump(r.Findings))
			}
			f := r.Findings[0]
			gotCache := strings.Contains(f.Message, "The likely cause is DNS caching") && f.ETA != nil && f.Retryable
			gotExpired := strings.Contains(f.Message, "A previous check expected the answers cached near those perspectives to expire by "+past.UTC().Format(time.RFC3339)) &&
				f.ETA == nil && strings.HasPrefix(f.Fix, "Make sure the domain answers the same way from every network")
			if gotCache != tt.cacheNote || gotExpired == tt.cacheNote {
				t.Errorf("cache note %v, expiry passed note %v; want the cache note %v:\n%s", gotCache, gotExpired, tt.cacheNote, dump(r.Findings))
			}
		})
	}
}

// TestForeignNameserverNeedsTheWholeZone: a remote is said to be answered
// by another nameserver only when the primary's list of the zone's servers
// could hold the one that answered: not when the answer came over a
// family the primary listed no nameserver address of, when a
// nameserver's address is unknown to it, or when the record is a CNAME
// target's whose zone it could not ask.
func TestForeignNameserverNeedsTheWholeZone(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	const foreign = "which is not one of the nameservers"
	pass := dnsObs(resp(host, "NOERROR", txt(host, testValue)), nil)
	zone := func(servers ...dnsclient.ServerView) *dnsclient.ZoneView {
		return &dnsclient.ZoneView{Zone: "example.com.", NS: []string{"ns1.example.com.", "ns2.example.com."}, Servers: servers}
	}
	ns1 := dnsclient.ServerView{NS: "ns1.example.com.", Address: testServer}
	tests := []struct {
		name    string
		primary func(*validation.DNSObservation)
		server  string // the server that answered the remotes
		want    bool
	}{
		{"another IPv4 server", func(n *validation.DNSObservation) { n.Authoritative = zone(ns1) }, "198.51.100.9:53", true},
		{"an IPv6 server, the primary listing IPv4 ones only", func(n *validation.DNSObservation) { n.Authoritative = zone(ns1) }, "[2001:db8::53]:53", false},
		{"a nameserver without an address for the primary", func(n *validation.DNSObservation) {
			n.Authoritative = zone(ns1, dnsclient.ServerView{NS: "ns2.example.com.", Lame: true, LameReason: "no address"})
		}, "198.51.100.9:53", false},
		{"a CNAME target whose zone was not asked", func(n *validation.DNSObservation) {
			n.Authoritative, n.Target = zone(ns1), "x.dns-provider.example."
			n.TargetAuthoritativeErr = &dnsclient.Error{Kind: dnsclient.KindTimeout, Detail: "i/o timeout"}
		}, "198.51.100.9:53", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			other := resp(host, "NXDOMAIN")
			other.Server, other.NegativeTTL = tt.server, 300
			r := Domain([]validation.Observation{dnsObs(resp(host, "NOERROR", txt(host, testValue)), tt.primary),
				pRemote(dnsObs(other, nil), "eu-1", "RIPE"), pRemote(pass, "us-1", "ARIN"), pRemote(dnsObs(other, nil), "ap-1", "APNIC")}, testNow)
			var msg string
			for _, f := range r.Findings {
				if f.Code == CodeRemotePerspectivesDisagree {
					msg = f.Message
				}
			}
			if msg == "" {
				t.Fatalf("no REMOTE_PERSPECTIVES_DISAGREE:\n%s", dump(r.Findings))
			}
			if got := strings.Contains(msg, foreign); got != tt.want {
				t.Errorf("another nameserver named: %v, want %v:\n%s", got, tt.want, msg)
			}
		})
	}
}

// TestGeoNameserverNeedsTheSameServersAnswer: a remote that did not get
// the value is said to be answered otherwise by a GeoDNS server only when
// the server that answered it is one of the zone's and gave the primary,
// which asked it directly, the value; otherwise a cache, or a server that
// lags behind, may explain it, and the caching note (retryable, with an
// ETA) stays.
func TestGeoNameserverNeedsTheSameServersAnswer(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	const geo = "it answers according to the network a query comes from"
	pass := dnsObs(resp(host, "NOERROR", txt(host, testValue)), nil)
	withValue := resp(host, "NOERROR", txt(host, testValue))
	view := func(servers ...dnsclient.ServerView) func(*validation.DNSObservation) {
		return func(n *validation.DNSObservation) {
			n.Authoritative = &dnsclient.ZoneView{Zone: "example.com.", NS: []string{"ns1.example.com.", "ns2.example.com."}, Servers: servers}
		}
	}
	ns1 := dnsclient.ServerView{NS: "ns1.example.com.", Address: testServer, SOASerial: 7, Answer: withValue}
	ns2 := dnsclient.ServerView{NS: "ns2.example.com.", Address: "192.0.2.54:53", SOASerial: 7, Answer: withValue}
	ns2Lame := dnsclient.ServerView{NS: "ns2.example.com.", Address: "192.0.2.54:53", Lame: true, LameReason: "timeout",
		AnswerErr: &dnsclient.Error{Kind: dnsclient.KindTimeout, Detail: "i/o timeout"}}
	tests := []struct {
		name    string
		primary func(*validation.DNSObservation)
		remote  func(*dnsclient.Response) // adjusts the remote's answer (another value, from testServer)
		want    bool
	}{
		{"the server that gave the primary the value", view(ns1, ns2), nil, true},
		{"another server that gave the primary the value", view(ns1, ns2), func(r *dnsclient.Response) { r.Server = "192.0.2.54:53" }, true},
		{"a server the primary could not ask", view(ns1, ns2Lame), func(r *dnsclient.Response) { r.Server = "192.0.2.54:53" }, false},
		{"no authoritative view (forward mode)", nil, nil, false},
		{"an answer from the remote's cache", view(ns1, ns2), func(r *dnsclient.Response) { r.Cached = true }, false},
		{"an answer from a recursive resolver", view(ns1, ns2), func(r *dnsclient.Response) { r.Resolver = true }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			other := resp(host, "NOERROR", txt(host, "old-value"))
			if tt.remote != nil {
				tt.remote(other)
			}
			obs := []validation.Observation{dnsObs(resp(host, "NOERROR", txt(host, testValue)), tt.primary),
				pRemote(pass, "us-1", "ARIN"), pRemote(dnsObs(other, nil), "eu-1", "RIPE")}
			disagreement := func(r Result) *Finding {
				for i := range r.Findings {
					if r.Findings[i].Code == CodeRemotePerspectivesDisagree {
						return &r.Findings[i]
					}
				}
				t.Fatalf("no REMOTE_PERSPECTIVES_DISAGREE:\n%s", dump(r.Findings))
				return nil
			}
			// Seen first: maybe an anycast server's locations still
			// loading the change; retryable, with a time.
			f := disagreement(Domain(obs, testNow))
			gotMaybe := strings.Contains(f.Message, "may not have reached every location of an anycast nameserver") && f.Retryable && f.ETA != nil
			gotCache := strings.Contains(f.Message, "The likely cause is DNS caching") && f.Retryable && f.ETA != nil
			if gotMaybe != tt.want || gotCache == tt.want {
				t.Errorf("first check: anycast-or-GeoDNS note %v, caching note %v; want it %v:\n%s", gotMaybe, gotCache, tt.want, dump([]Finding{*f}))
			}
			// Still there past that time (the check after it): GeoDNS,
			// which waiting will not mend.
			later := f.ETA.Add(time.Minute)
			f = disagreement(Domain(obs, later, WithPrevious([]Finding{*f})))
			gotGeo := strings.Contains(f.Message, geo) && !strings.Contains(f.Message, "anycast") && !f.Retryable && f.ETA == nil && strings.HasPrefix(f.Fix, "Publish the record in every view")
			if tt.want && !gotGeo {
				t.Errorf("past the time given: GeoDNS note %v; want it:\n%s", gotGeo, dump([]Finding{*f}))
			}
		})
	}
}

// TestMatrixUnverified: without a value (a pre-flight check given none),
// a row says what was seen and neither passes nor fails; a remote that was
// not asked has no round trip.
func TestMatrixUnverified(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	noValue := func(o validation.Observation) validation.Observation {
		o.Expected = ""
		return o
	}
	skipped := pUnavailable("eu-1", "RIPE", validation.UnavailableSkipped)
	skipped.RoundTrip = 2 * time.Millisecond
	tests := []struct {
		name          string
		obs           validation.Observation
		seen, verdict string
	}{
		{"dns: the values found", noValue(dnsObs(resp(host, "NOERROR", txt(host, "v1"), txt(host, "v2")), nil)), `TXT "v1", "v2"`, VerdictUnverified},
		{"dns: none", noValue(dnsObs(resp(host, "NXDOMAIN"), nil)), "no record (NXDOMAIN)", VerdictUnverified},
		{"file: served", noValue(fileObs(trace(httpURL, answer("192.0.2.10:80", 200, "some content")))), "HTTP 200, 12 bytes", VerdictUnverified},
		{"file: not found", noValue(fileObs(trace(httpURL, answer("192.0.2.10:80", 404, "")))), "HTTP 404", VerdictUnverified},
		// No answer at all: a failure whatever the value.
		{"file: the name does not exist", noValue(fileObs(&webfetch.Trace{URL: httpURL, Host: "example.com", ResolveError: &webfetch.Error{Kind: webfetch.ErrDNSNXDomain}})), "a name that does not resolve (NXDOMAIN)", VerdictFail},
		{"file: refused", noValue(fileObs(trace(httpURL, failed("192.0.2.10:80", webfetch.ErrConnectionRefused, "", 0)))), "connection refused by 192.0.2.10:80", VerdictFail},
		{"dns: the server refuses", noValue(dnsObs(resp(host, "REFUSED"), nil)), "a failed DNS lookup (REFUSED)", VerdictFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rows := Matrix([]validation.Observation{tt.obs, skipped})
			if r := rows[0]; r.Seen != tt.seen || r.Verdict != tt.verdict {
				t.Errorf("row seen %q verdict %q, want %q %q", r.Seen, r.Verdict, tt.seen, tt.verdict)
			}
			if r := rows[1]; r.Verdict != VerdictSkipped || r.Latency != 0 {
				t.Errorf("skipped remote: verdict %q latency %v, want skipped, 0", r.Verdict, r.Latency)
			}
		})
	}
}

// TestSeenCAAFailure: a perspective whose CAA lookup failed is not said to
// see CAA records that forbid issuance; and with two remotes, both are
// needed (two regions), which the count says.
func TestSeenCAAFailure(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	pass := dnsObs(resp(host, "NOERROR", txt(host, testValue)), nil)
	failed := pass
	failed.CAA = &caa.Result{Identity: "ca.dcv.example", Reason: caa.ReasonLookupFailed, FailedName: "a.example.com.", FailedRcode: "REFUSED"}
	forbids := pass
	forbids.CAA = &caa.Result{Identity: "ca.dcv.example", RelevantName: "example.com", Reason: caa.ReasonEmptyIssuer, Tag: "issue"}
	rows := Matrix([]validation.Observation{pass, pRemote(failed, "eu-1", "RIPE"), pRemote(forbids, "us-1", "ARIN")})
	if rows[1].Seen != "a CAA lookup that failed" || rows[2].Seen != "CAA records that forbid issuance" {
		t.Errorf("seen %q and %q", rows[1].Seen, rows[2].Seen)
	}
	res := Domain([]validation.Observation{pass, pRemote(pass, "eu-1", "RIPE"), pRemote(forbids, "us-1", "ARIN")}, testNow)
	if len(res.Findings) == 0 || !strings.Contains(res.Findings[0].Message, "only 1 of 2 remote perspectives corroborate it (2 needed)") {
		t.Errorf("findings %+v, want the count to need both remotes", res.Findings)
	}
}

// TestMatrixRemoteDNSSEC: a remote whose DNSSEC validation failed where the
// primary's passed is unavailable in the table, as in the findings, not a
// failure of the domain (verification run).
func TestMatrixRemoteDNSSEC(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	secure := dnsObs(resp(host, "NOERROR", txt(host, testValue)), nil)
	secure.DNS.Record.Response.DNSSEC = dnsclient.Secure.String()
	bogus := dnsObs(resp(host, "NOERROR", txt(host, testValue)), nil)
	bogus.DNS.Record.Response.DNSSEC, bogus.DNS.Record.Response.DNSSECReason = dnsclient.Bogus.String(), "DNSKEY set of . matches no anchor"
	rows := Matrix([]validation.Observation{secure, pRemote(bogus, "eu-1", "RIPE")})
	if r := rows[1]; r.Verdict != VerdictUnavailable || r.Seen != "an answer that fails DNSSEC validation (DNSKEY set of . matches no anchor)" {
		t.Errorf("row %+v; want unavailable, naming the DNSSEC failure", r)
	}
}

// TestMatrixCAAOnly: a domain validated before whose CAA alone was checked
// again says so in its row, not that the value was seen (none was looked
// for).
func TestMatrixCAAOnly(t *testing.T) {
	t.Parallel()
	caaOnly := func(permitted bool) validation.Observation {
		return validation.Observation{Perspective: "primary", Domain: "a.example.com", Method: validation.MethodDNS,
			Expected: testValue, CAAOnly: true, CAA: &caa.Result{Domain: "a.example.com", Permitted: permitted}}
	}
	tests := []struct {
		name    string
		obs     validation.Observation
		verdict string
		seen    string
	}{
		{"allowed", caaOnly(true), VerdictPass, "CAA that allows issuance (CAA alone rechecked)"},
		{"forbidden", caaOnly(false), VerdictFail, "CAA records that forbid issuance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Matrix([]validation.Observation{tt.obs})[0]
			if r.Verdict != tt.verdict || r.Seen != tt.seen {
				t.Errorf("row %+v; want %s, seen %q", r, tt.verdict, tt.seen)
			}
		})
	}
}

// TestTLSALPNDisagreementNamesTheAddress: a remote perspective whose
// tls-alpn-01 connection went to another address than the primary's is
// told where its name led, as for http-01 (black-box run: the message
// only said "unreachable").
func TestTLSALPNDisagreementNamesTheAddress(t *testing.T) {
	t.Parallel()
	const domain = "a.example.com"
	obs := func(addr string, ok bool) validation.Observation {
		tl := &validation.TLSALPNObservation{Address: addr + ":443", Protocol: validation.ALPNProtocol, SANs: []string{domain},
			ExtensionFound: true, ExtensionCritical: true, ExpectedValue: "abcd", ExtensionValue: "abcd"}
		if !ok {
			tl = &validation.TLSALPNObservation{Address: addr + ":443", Error: &webfetch.Error{Kind: webfetch.ErrConnectionRefused, Address: addr + ":443"}}
		}
		return validation.Observation{Perspective: "primary", Domain: domain, Method: validation.MethodTLSALPN01, Expected: "tok.thumb", StartedAt: testNow, TLSALPN: tl}
	}
	r := Domain([]validation.Observation{obs("192.0.2.10", true),
		pRemote(obs("192.0.2.10", true), "us-1", "ARIN"), pRemote(obs("198.51.100.7", false), "eu-1", "RIPE"), pRemote(obs("198.51.100.7", false), "ap-1", "APNIC")}, testNow)
	if r.Status == StatusApproved || len(r.Findings) == 0 || r.Findings[0].Code != CodeRemotePerspectivesDisagree {
		t.Fatalf("findings %s; want REMOTE_PERSPECTIVES_DISAGREE", dump(r.Findings))
	}
	if want := "From eu-1 (RIPE) the name resolves to 198.51.100.7, not to 192.0.2.10"; !strings.Contains(r.Findings[0].Message, want) {
		t.Errorf("message %q lacks %q", r.Findings[0].Message, want)
	}
}
