package validation_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// Settings of the DNS-hierarchy tests: the resolver under test resolves
// iteratively from the test root on loopback, never from the built-in
// root hints.
const (
	truthQueryTimeout = 300 * time.Millisecond
	truthObserveLimit = 6 * time.Second
	truthValue        = "t8kq2wz5m3rx7vbn4ych6pjd9fsl1gae"
	truthAccount      = "https://ca.dcv-test.net/acct/1"
)

// stepClock is a clock the resolver's cache, the validator and diagnose
// share, so that TTLs and ETAs are exact.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// truthWorld is a DNS hierarchy (root, com., applicant.com. with two
// servers) and a Validator resolving it iteratively.
type truthWorld struct {
	w     *testenv.World
	com   *testenv.Zone
	app   *testenv.Zone
	clock *stepClock
	// anchors, when set before validator(), make it validate DNSSEC.
	anchors []dns.RR
}

func newTruthWorld(t *testing.T) *truthWorld {
	t.Helper()
	w := testenv.NewWorld(t)
	tw := &truthWorld{w: w, clock: &stepClock{now: time.Now()}}
	tw.com = w.AddZone("com.", "", 1)
	tw.app = w.AddZone("applicant.com.", "com.", 2)
	tw.app.Add("applicant.com. 300 IN A 192.0.2.1", "a.applicant.com. 300 IN A 192.0.2.1")
	return tw
}

// leftoverNS2 makes ns2.applicant.com a leftover: com. still delegates to
// it, but the zone on ns1 lists ns1 alone (ns2 keeps its old copy).
// serial1 and serial2 are the zone's SOA serials on ns1 and ns2.
func (tw *truthWorld) leftoverNS2(serial1, serial2 uint32) {
	s0 := tw.app.Server(0)
	s0.Remove("applicant.com.", "applicant.com.", dns.TypeNS)
	s0.Add("applicant.com.", "applicant.com. 3600 IN NS ns1.applicant.com.")
	s0.SetSerial("applicant.com.", serial1)
	tw.app.Server(1).SetSerial("applicant.com.", serial2)
}

func (tw *truthWorld) resolver(t *testing.T) *dnsclient.Iterative {
	t.Helper()
	cfg := dnsclient.IterativeConfig{RootHints: tw.w.RootHints, Timeout: truthQueryTimeout, Now: tw.clock.Now, AllowLoopbackServers: true}
	if tw.anchors != nil {
		v, err := dnsclient.NewDNSSECValidator(dnsclient.DNSSECConfig{Anchors: tw.anchors})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Validator = v
	}
	r, err := dnsclient.NewIterative(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (tw *truthWorld) validator(t *testing.T, r dnsclient.Resolver) *validation.Validator {
	t.Helper()
	v, err := validation.New(validation.Config{Resolver: r, CAAIdentity: wireCAAIdentity, Timeout: truthObserveLimit, Clock: tw.clock})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// signWorld signs root, com. and applicant.com. (leaf with opts, its DS in
// com. changed by ds when not nil) and sets the trust anchor to the root's
// key.
func (tw *truthWorld) signWorld(t *testing.T, opts testenv.SignOptions, ds func(*dns.DS) *dns.DS) {
	t.Helper()
	leaf := testenv.NewZoneSigner(t, "applicant.com.", opts)
	signZoneServed(t, tw.app, leaf)
	d := leaf.DS()
	if ds != nil {
		d = ds(d)
	}
	com := testenv.NewZoneSigner(t, "com.", testenv.SignOptions{})
	signZoneServed(t, tw.com, com, d)
	root := testenv.NewZoneSigner(t, ".", testenv.SignOptions{})
	signZoneServed(t, tw.w.RootZone, root, com.DS())
	tw.anchors = []dns.RR{root.DS()}
}

// sharedSubZone adds sub.applicant.com., signed and served by the servers
// of applicant.com. with the validation record of a.sub.applicant.com, and
// its DS (changed by ds when not nil) to applicant.com.
func sharedSubZone(t *testing.T, tw *truthWorld, ds func(*dns.DS)) {
	t.Helper()
	sub := tw.w.AddSharedZone("sub.applicant.com.", "applicant.com.")
	sub.Add(fmt.Sprintf(`_dnsauth.a.sub.applicant.com. 300 IN TXT "%s"`, truthValue), "a.sub.applicant.com. 300 IN A 192.0.2.1")
	signer := testenv.NewZoneSigner(t, "sub.applicant.com.", testenv.SignOptions{})
	signZoneServed(t, sub, signer)
	d := signer.DS()
	if ds != nil {
		ds(d)
	}
	tw.app.Add(d.String())
}

// signZoneServed signs what z serves, with the children's DS records in
// extra, and serves the result on every server of z.
func signZoneServed(t *testing.T, z *testenv.Zone, s *testenv.ZoneSigner, extra ...dns.RR) {
	t.Helper()
	signed := s.Sign(append(z.Servers[0].Records(z.Name), extra...))
	for _, srv := range z.Servers {
		srv.SetRecords(z.Name, signed)
	}
}

// TestTruthFindingsOnTheWire produces each finding of the DNS truth engine
// with real authoritative servers on loopback and the iterative resolver,
// and checks the worst finding (or the one named) by code and key words.
func TestTruthFindingsOnTheWire(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.applicant.com"
	txt := func(name, v string) string { return fmt.Sprintf(`%s. 300 IN TXT "%s"`, name, v) }
	tests := []struct {
		name    string
		domain  string // if empty, a.applicant.com
		account string
		setup   func(t *testing.T, tw *truthWorld)
		// prime runs before the observation with the same resolver.
		prime  func(t *testing.T, tw *truthWorld, r dnsclient.Resolver)
		status string
		code   diagnose.Code // a finding that must be present
		words  []string      // in its message or fix; "{nsN}" is server N's ip:port
		eta    time.Duration // when set, the finding's ETA is this long after the first observation of the world
		// notRetryable: the finding must not be retryable (waiting mends
		// nothing).
		notRetryable bool
	}{
		{
			name: "lame server beside a good one",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue))
				tw.app.Server(1).SetMode(testenv.AuthRefuse)
			},
			status: diagnose.StatusApproved, code: diagnose.CodeDNSLameDelegation,
			words: []string{"ns2.applicant.com at {ns2}", "refuses to answer for the zone (REFUSED)", "Remove ns2.applicant.com"},
		},
		{
			name: "two servers with different serials, the value on one only",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Server(0).Add("applicant.com.", txt(host, truthValue))
				tw.app.Server(0).SetSerial("applicant.com.", 2024060102)
				tw.app.Server(1).SetSerial("applicant.com.", 2024060101)
			},
			code:  diagnose.CodeDNSRecordNotPropagated,
			words: []string{"on ns1.applicant.com at {ns1} (SOA serial 2024060102)", "not on ns2.applicant.com at {ns2} (SOA serial 2024060101)"},
		},
		{
			// The resolver's cache never answers for the record: a
			// record published after a check that found none is seen at
			// the next check, not after the negative TTL.
			name: "record added after a negative answer",
			prime: func(t *testing.T, tw *truthWorld, r dnsclient.Resolver) {
				if resp, err := r.Lookup(t.Context(), host, dns.TypeTXT); err != nil || resp.Rcode != "NXDOMAIN" {
					t.Fatalf("priming lookup: %v %+v", err, resp)
				}
				tw.app.Add(txt(host, truthValue))
				tw.clock.Advance(100 * time.Second)
			},
			status: diagnose.StatusApproved,
		},
		{
			name: "CNAME loop",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(host+". 300 IN CNAME x.applicant.com.", "x.applicant.com. 300 IN CNAME "+host+".")
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSLookupFailed,
			words: []string{"CNAME chain loops", host},
		},
		{
			// The other server answers CAA with authority: issuance is
			// not blocked, but the failing server is named.
			name: "CAA SERVFAIL on one nameserver of two",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue))
				tw.app.Server(1).SetHook(func(req *dns.Msg) *dns.Msg {
					if req.Question[0].Qtype != dns.TypeCAA {
						return nil
					}
					m := new(dns.Msg)
					return m.SetRcode(req, dns.RcodeServerFailure)
				})
			},
			status: diagnose.StatusApproved, code: diagnose.CodeDNSLameDelegation,
			words: []string{"Not every nameserver answers CAA queries", "ns2.applicant.com at {ns2} answers SERVFAIL to CAA queries at a.applicant.com, applicant.com",
				"Configure ns2.applicant.com to answer CAA queries"},
		},
		{
			name: "CAA timeout on one nameserver of two at the domain",
			setup: func(t *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue))
				tw.app.Server(1).SetHook(func(req *dns.Msg) *dns.Msg {
					if q := req.Question[0]; q.Qtype == dns.TypeCAA && strings.EqualFold(q.Name, "a.applicant.com.") {
						// No answer in time; the hook's reply comes
						// after the resolver gave up.
						select {
						case <-time.After(2 * truthQueryTimeout):
						case <-t.Context().Done():
						}
					}
					return nil
				})
			},
			status: diagnose.StatusApproved, code: diagnose.CodeDNSLameDelegation,
			words: []string{"ns2.applicant.com at {ns2} does not answer CAA queries at a.applicant.com (timeout)"},
		},
		{
			// A CAA record on one server only: the verdict would depend
			// on the server a lookup reaches, so it blocks either way.
			name: "CAA record on one nameserver only",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue))
				tw.app.Server(1).Add("applicant.com.", `a.applicant.com. 300 IN CAA 0 issue "other.ca"`)
			},
			status: diagnose.StatusPending, code: diagnose.CodeCAANameserversDisagree,
			words: []string{"The nameservers of the applicant.com zone serve different CAA records at a.applicant.com",
				"ns1.applicant.com at {ns1} (SOA serial", "serves no CAA record", "ns2.applicant.com at {ns2} (SOA serial", `serves 0 issue "other.ca"`,
				"wait until every nameserver of applicant.com serves the change"},
		},
		{
			// ns2 is still delegated by com. but no longer listed by the
			// zone: no transfer will bring it the record, so no ETA, and
			// the fix is at the registrar (console run: told to wait).
			name: "the record missing on a nameserver the zone no longer lists",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Server(0).Add("applicant.com.", txt(host, truthValue))
				tw.leftoverNS2(2024060102, 2024060101)
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSRecordNotPropagated,
			words: []string{"but not on ns2.applicant.com at {ns2} (SOA serial 2024060101), which the parent zone still lists as a nameserver of applicant.com although the zone itself no longer does (its NS records name ns1.applicant.com)",
				"Remove ns2.applicant.com from the nameservers of applicant.com at your registrar", "Waiting does not help"},
			notRetryable: true,
		},
		{
			// The same leftover with a later serial (another DNS host's
			// numbering): still a leftover, not a zone to re-serial
			// (verification run).
			name: "the record missing on a nameserver the zone no longer lists, with a later serial",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Server(0).Add("applicant.com.", txt(host, truthValue))
				tw.leftoverNS2(5, 2026112701)
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSRecordNotPropagated,
			words:        []string{"which the parent zone still lists as a nameserver of applicant.com although the zone itself no longer does", "Remove ns2.applicant.com"},
			notRetryable: true,
		},
		{
			// A leftover server with an old CAA record: removing it at
			// the registrar is the fix, not waiting (verification run).
			name: "CAA on a nameserver the zone no longer lists",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue))
				tw.app.Server(1).Add("applicant.com.", `a.applicant.com. 300 IN CAA 0 issue "other.ca"`)
				tw.leftoverNS2(2024060101, 2026112701)
			},
			status: diagnose.StatusPending, code: diagnose.CodeCAANameserversDisagree,
			words:        []string{"ns2.applicant.com is no longer among the zone's own NS records (ns1.applicant.com)", "Remove ns2.applicant.com from the nameservers of applicant.com at your registrar"},
			notRetryable: true,
		},
		{
			// The nameservers answer: the CNAMEs loop, and they are what
			// the CAA finding names (console run: "the lookup at ...
			// failed", and a fix blaming the nameservers).
			name: "CAA at a name whose CNAME chain loops",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue), "a.applicant.com. 300 IN CNAME b.applicant.com.", "b.applicant.com. 300 IN CNAME a.applicant.com.")
			},
			status: diagnose.StatusPending, code: diagnose.CodeCAALookupFailed,
			words: []string{"The CAA lookup of a.applicant.com failed: its CNAME chain loops: it comes back to", "Fix the CNAME records starting at a.applicant.com"},
		},
		{
			// The newest version forbids: waiting for the other server
			// would end in that refusal, which is what to fix (console
			// run).
			name: "CAA record forbidding on the newer nameserver only",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue))
				tw.app.Server(1).Add("applicant.com.", `a.applicant.com. 300 IN CAA 0 issue "other.ca"`)
				tw.app.Server(0).SetSerial("applicant.com.", 2024060101)
				tw.app.Server(1).SetSerial("applicant.com.", 2024060102)
			},
			status: diagnose.StatusPending, code: diagnose.CodeCAANameserversDisagree,
			words: []string{"serves no CAA record (with it, " + wireCAAIdentity + " may issue)", `serves 0 issue "other.ca" (with it, ` + wireCAAIdentity + ` may not)`,
				"The newest version (SOA serial 2024060102) forbids issuance: ", "correct it on the primary"},
		},
		{
			// The record that counts is the CNAME target's: its zone's
			// servers are compared too, and one without the value blocks
			// whichever server the lookup reached.
			name: "CNAME into a zone whose servers disagree",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.w.AddZone("net.", "", 1)
				prov := tw.w.AddZone("dnsprov.net.", "net.", 2)
				tw.app.Add(host + ". 300 IN CNAME a.applicant.dnsprov.net.")
				prov.Server(0).Add("dnsprov.net.", txt("a.applicant.dnsprov.net", truthValue))
				prov.Server(0).SetSerial("dnsprov.net.", 2024060102)
				prov.Server(1).SetSerial("dnsprov.net.", 2024060101)
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSRecordNotPropagated,
			words: []string{"at a.applicant.dnsprov.net on ns1.dnsprov.net", "(SOA serial 2024060102)", "not on ns2.dnsprov.net", "(SOA serial 2024060101)",
				"a.applicant.dnsprov.net is where the CNAME at " + host + " leads"},
		},
		{
			name: "CNAME into a zone whose servers serve different serials, the value on both",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.w.AddZone("net.", "", 1)
				prov := tw.w.AddZone("dnsprov.net.", "net.", 2)
				tw.app.Add(host + ". 300 IN CNAME a.applicant.dnsprov.net.")
				prov.Add(txt("a.applicant.dnsprov.net", truthValue))
				prov.Server(0).SetSerial("dnsprov.net.", 2024060102)
				prov.Server(1).SetSerial("dnsprov.net.", 2024060101)
			},
			status: diagnose.StatusApproved, code: diagnose.CodeDNSNameserverInconsistent,
			words: []string{"dnsprov.net"},
		},
		{
			name: "CNAME to the right value elsewhere is delegated validation",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(host+". 300 IN CNAME v.applicant.com.", txt("v.applicant.com", truthValue))
			},
			status: diagnose.StatusApproved,
		},
		{
			name: "CNAME to another value: the fix is at the target",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(host+". 300 IN CNAME v.applicant.com.", txt("v.applicant.com", "old-value"))
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSRecordMismatch,
			words: []string{"is a CNAME to v.applicant.com: these are the records of v.applicant.com", "Set the TXT record at v.applicant.com to exactly", "or replace the CNAME at host `_dnsauth.a`"},
		},
		{
			name:   "A record where TXT is expected",
			setup:  func(_ *testing.T, tw *truthWorld) { tw.app.Add(host + ". 300 IN A 192.0.2.7") },
			status: diagnose.StatusPending, code: diagnose.CodeDNSWrongType,
			words: []string{"has no TXT record but other records: A"},
		},
		{
			// A wildcard A record (web hosting) answers at the record
			// host: no record of another type is there (console run).
			name:   "wildcard A record, no TXT record",
			setup:  func(_ *testing.T, tw *truthWorld) { tw.app.Add("*.a.applicant.com. 300 IN A 192.0.2.7") },
			status: diagnose.StatusPending, code: diagnose.CodeDNSRecordNotFound,
			words: []string{"A wildcard address record answers at _dnsauth.a.applicant.com", "takes precedence over it"},
		},
		{
			// The domain itself has no record: the wildcard answers for
			// it too, and a record under it would end that (RFC 4592).
			name:   "wildcard A record answering for the domain as well",
			domain: "s2.applicant.com",
			setup:  func(_ *testing.T, tw *truthWorld) { tw.app.Add("*.applicant.com. 300 IN A 192.0.2.7") },
			status: diagnose.StatusPending, code: diagnose.CodeDNSRecordNotFound,
			words: []string{"A wildcard address record answers at _dnsauth.s2.applicant.com", "s2.applicant.com seems to get its own address from the same wildcard", "or the site stops resolving"},
		},
		{
			name:   "wildcard CNAME",
			domain: "q.cn.applicant.com",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add("*.cn.applicant.com. 300 IN CNAME www.applicant.com.", "www.applicant.com. 300 IN A 192.0.2.7")
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSWrongType,
			words: []string{"That CNAME is a wildcard's", "Add a TXT record at host `_dnsauth.q.cn`", "q.cn.applicant.com seems to get its own address from the same wildcard"},
		},
		{
			name: "A record where TXT is expected, beside a wildcard A record",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add("*.a.applicant.com. 300 IN A 192.0.2.7", host+". 300 IN A 192.0.2.8")
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSWrongType,
			words: []string{"has no TXT record but other records: A"},
		},
		{
			name: "SERVFAIL for the record",
			setup: func(_ *testing.T, tw *truthWorld) {
				for _, s := range tw.app.Servers {
					s.SetHook(func(req *dns.Msg) *dns.Msg {
						if strings.EqualFold(req.Question[0].Name, host+".") {
							m := new(dns.Msg)
							return m.SetRcode(req, dns.RcodeServerFailure)
						}
						return nil
					})
				}
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSServfail,
			words: []string{"answered SERVFAIL", host},
		},
		{
			name: "the record's servers time out",
			setup: func(_ *testing.T, tw *truthWorld) {
				for _, s := range tw.app.Servers {
					s.SetHook(func(req *dns.Msg) *dns.Msg {
						if strings.HasPrefix(strings.ToLower(req.Question[0].Name), "_dnsauth.a.") {
							time.Sleep(2 * truthQueryTimeout)
						}
						return nil
					})
				}
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSTimeout,
			words: []string{"no answer", host},
		},
		{
			name: "expired RRSIG",
			setup: func(t *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue))
				tw.signWorld(t, testenv.SignOptions{Inception: time.Now().Add(-40 * 24 * time.Hour), Expiration: time.Now().Add(-10 * 24 * time.Hour)}, nil)
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSSECBogus,
			words: []string{"the signatures have expired", "signature expired on", "re-sign"},
		},
		{
			name: "DS mismatch",
			setup: func(t *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue))
				tw.signWorld(t, testenv.SignOptions{}, func(ds *dns.DS) *dns.DS { ds.Digest = strings.Repeat("AB", 32); return ds })
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSSECBogus,
			words: []string{"DS record at the registrar matches none", "At the registrar of applicant.com"},
		},
		{
			// The zone is not signed at all, yet com. holds a DS for it:
			// not a DS that matches none of its keys, since it has none.
			name: "unsigned zone with a DS at the registrar",
			setup: func(t *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue))
				leaf := testenv.NewZoneSigner(t, "applicant.com.", testenv.SignOptions{})
				com := testenv.NewZoneSigner(t, "com.", testenv.SignOptions{})
				signZoneServed(t, tw.com, com, leaf.DS())
				root := testenv.NewZoneSigner(t, ".", testenv.SignOptions{})
				signZoneServed(t, tw.w.RootZone, root, com.DS())
				tw.anchors = []dns.RR{root.DS()}
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSSECBogus,
			words: []string{"the zone is not signed (it publishes no DNSKEY record), but its parent zone has a DS record for it", "At the registrar of applicant.com, remove the DS record", "Or sign the zone"},
		},
		{
			name:   "DS mismatch of a sub-zone on its parent's servers",
			domain: "a.sub.applicant.com",
			setup: func(t *testing.T, tw *truthWorld) {
				sharedSubZone(t, tw, func(ds *dns.DS) { ds.Digest = strings.Repeat("AB", 32) })
				tw.signWorld(t, testenv.SignOptions{}, nil)
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSSECBogus,
			words: []string{"DS record at the registrar matches none", "sub.applicant.com"},
		},
		{
			name: "CNAME to a zone whose signatures expired: its DNS host is named",
			setup: func(t *testing.T, tw *truthWorld) {
				other := tw.w.AddZone("other.com.", "com.", 1)
				other.Add(txt("_dnsauth.other.com", truthValue))
				tw.app.Add(host + ". 300 IN CNAME _dnsauth.other.com.")
				os := testenv.NewZoneSigner(t, "other.com.", testenv.SignOptions{Inception: time.Now().Add(-40 * 24 * time.Hour), Expiration: time.Now().Add(-10 * 24 * time.Hour)})
				signZoneServed(t, other, os)
				com := testenv.NewZoneSigner(t, "com.", testenv.SignOptions{})
				signZoneServed(t, tw.com, com, os.DS()) // applicant.com stays unsigned
				root := testenv.NewZoneSigner(t, ".", testenv.SignOptions{})
				signZoneServed(t, tw.w.RootZone, root, com.DS())
				tw.anchors = []dns.RR{root.DS()}
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSSECBogus,
			words: []string{"through a CNAME to _dnsauth.other.com: the zone that fails is other.com", "Ask the DNS host of other.com to re-sign"},
		},
		{
			name: "DNSKEY queries refused: the answer cannot be checked",
			setup: func(t *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue))
				tw.signWorld(t, testenv.SignOptions{}, nil)
				for _, srv := range tw.app.Servers {
					srv.SetHook(func(req *dns.Msg) *dns.Msg {
						if req.Question[0].Qtype != dns.TypeDNSKEY {
							return nil
						}
						m := new(dns.Msg)
						return m.SetRcode(req, dns.RcodeRefused)
					})
				}
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSSECBogus,
			words: []string{"could not obtain the DS or DNSKEY records", "REFUSED answer to the DNSKEY query", "answers DS and DNSKEY queries"},
		},
		{
			name:   "signed sub-zone on its parent's servers",
			domain: "a.sub.applicant.com",
			setup: func(t *testing.T, tw *truthWorld) {
				sharedSubZone(t, tw, nil)
				tw.signWorld(t, testenv.SignOptions{}, nil)
			},
			status: diagnose.StatusApproved,
		},
		{
			name: "DS mismatch: the CAA lookup's fix is the DNSSEC one",
			setup: func(t *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue))
				tw.signWorld(t, testenv.SignOptions{}, func(ds *dns.DS) *dns.DS { ds.Digest = strings.Repeat("AB", 32); return ds })
			},
			status: diagnose.StatusPending, code: diagnose.CodeCAALookupFailed,
			words: []string{"At the registrar of applicant.com, replace the DS record"},
		},
		{
			name:   "dangling CNAME",
			setup:  func(_ *testing.T, tw *truthWorld) { tw.app.Add(host + ". 300 IN CNAME nothere.applicant.com.") },
			status: diagnose.StatusPending, code: diagnose.CodeDNSWrongType,
			words: []string{"CNAME to nothere.applicant.com", "does not exist (NXDOMAIN): the CNAME points nowhere"},
		},
		{
			// The target's domain itself is not registered: nothing can
			// be published there (console run).
			name:   "CNAME into an unregistered domain",
			setup:  func(_ *testing.T, tw *truthWorld) { tw.app.Add(host + ". 300 IN CNAME gone.nxzone.com.") },
			status: diagnose.StatusPending, code: diagnose.CodeDNSWrongType,
			words: []string{"CNAME to gone.nxzone.com", "Its domain nxzone.com is not registered: the servers of com answered that it does not exist", "nothing can be published there"},
		},
		{
			name: "signed and secure",
			setup: func(t *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue))
				tw.signWorld(t, testenv.SignOptions{}, nil)
			},
			status: diagnose.StatusApproved,
		},
		{
			name:   "CAA issuewild names another CA for a wildcard",
			domain: "*.a.applicant.com",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue), `a.applicant.com. 300 IN CAA 0 issue "`+wireCAAIdentity+`"`, `a.applicant.com. 300 IN CAA 0 issuewild "other-ca.example"`)
			},
			status: diagnose.StatusPending, code: diagnose.CodeCAAForbids,
			words: []string{"CAA records at a.applicant.com allow only other-ca.example", "issuewild", `a.applicant.com. CAA 0 issuewild "` + wireCAAIdentity + `"`},
		},
		{
			name: "CAA critical unknown tag",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue), `applicant.com. 300 IN CAA 128 tbs "x"`, `applicant.com. 300 IN CAA 0 issue "`+wireCAAIdentity+`"`)
			},
			status: diagnose.StatusPending, code: diagnose.CodeCAACriticalUnknown,
			words: []string{"CAA records at applicant.com include the tag tbs marked critical"},
		},
		{
			name:    "CAA accounturi matches",
			account: truthAccount,
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue), `applicant.com. 300 IN CAA 0 issue "`+wireCAAIdentity+`; accounturi=`+truthAccount+`"`)
			},
			status: diagnose.StatusApproved,
		},
		{
			name:    "CAA accounturi mismatch",
			account: "https://ca.dcv-test.net/acct/2",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue), `applicant.com. 300 IN CAA 0 issue "`+wireCAAIdentity+`; accounturi=`+truthAccount+`"`)
			},
			status: diagnose.StatusPending, code: diagnose.CodeCAAForbids,
			words: []string{"lets only the account " + truthAccount, "this request is from https://ca.dcv-test.net/acct/2", "accounturi=https://ca.dcv-test.net/acct/2"},
		},
		{
			name: "wildcard TXT guard: no false near miss",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(`*.a.applicant.com. 300 IN TXT "`+truthValue+`"`, `*.applicant.com. 300 IN TXT "`+truthValue+`"`, txt(host, "old-value"))
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSRecordMismatch,
			words: []string{`"old-value"`},
		},
		{
			name: "the value at the www host, without wildcard, is a near miss",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, "old-value"), txt("_dnsauth.www.a.applicant.com", truthValue))
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSWrongHost,
			words: []string{"_dnsauth.www.a.applicant.com, the record host of www.a.applicant.com"},
		},
		{
			// *.applicant.com stands in only for names that do not
			// exist: a.applicant.com exists, so it does not cover
			// _dnsauth.a.applicant.com, although it answers at the
			// doubled-zone, parent and reversed hosts.
			name: "a wildcard above an existing domain is no wrong host",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(`*.applicant.com. 300 IN TXT "`+truthValue+`"`, "*.applicant.com. 300 IN A 192.0.2.1")
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSRecordNotFound,
			words: []string{"No TXT record at " + host,
				"A wildcard TXT record *.applicant.com holds the value, but a wildcard stands in only for names that do not exist: it does not cover " + host + ", because a.applicant.com exists.",
				"Add a TXT record with host `_dnsauth.a`"},
		},
		{
			name:   "a wildcard covering the record host validates",
			domain: "x.applicant.com",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(`*.applicant.com. 300 IN TXT "`+truthValue+`"`, "*.applicant.com. 300 IN A 192.0.2.1")
			},
			status: diagnose.StatusApproved,
		},
		{
			name:   "a wildcard covering the record host validates a wildcard order",
			domain: "*.x.applicant.com",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(`*.applicant.com. 300 IN TXT "`+truthValue+`"`, "*.applicant.com. 300 IN A 192.0.2.1")
			},
			status: diagnose.StatusApproved,
		},
		{
			name: "a CNAME into a wildcard validates",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(`*.w.applicant.com. 300 IN TXT "`+truthValue+`"`, host+". 300 IN CNAME anything.w.applicant.com.")
			},
			status: diagnose.StatusApproved,
		},
		{
			name: "the zone appended twice, without wildcard, is a wrong host",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host+".applicant.com", truthValue))
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSWrongHost,
			words: []string{"The value was found at " + host + ".applicant.com", "appended the zone name"},
		},
		{
			// The server is reached: RFC 7766 §5 is what it breaks,
			// not its reachability.
			name: "truncated answer over UDP, then the TCP connection closed",
			setup: func(_ *testing.T, tw *truthWorld) {
				for _, s := range tw.app.Servers {
					s.SetTruncateNoTCP(host)
				}
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSLookupFailed,
			words: []string{"The TXT lookup of " + host + " failed: ",
				"answered over UDP with a truncated answer (the TC flag, which asks to ask again over TCP), then closed the TCP connection without answering.",
				"must answer over TCP as well as UDP (RFC 7766)"},
		},
		{
			// The CAA lookup too: its fix is TCP, not DNSSEC or SERVFAIL.
			name: "CAA: truncated answer over UDP, then the TCP connection closed",
			setup: func(_ *testing.T, tw *truthWorld) {
				for _, s := range tw.app.Servers {
					s.SetTruncateNoTCP("a.applicant.com")
				}
			},
			status: diagnose.StatusPending, code: diagnose.CodeCAALookupFailed, notRetryable: true,
			words: []string{"The CAA lookup of a.applicant.com failed: ",
				"then closed the TCP connection without answering.",
				"must answer over TCP as well as UDP (RFC 7766)"},
		},
		{
			name: "one nameserver of two does not answer over TCP",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Server(0).SetTruncateNoTCP(host)
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSLameDelegation,
			words: []string{"ns1.applicant.com at {ns1} sends a truncated answer over UDP, then does not answer over TCP",
				"A nameserver must answer over TCP as well as UDP (RFC 7766): check that the DNS software of ns1.applicant.com accepts TCP queries on port 53"},
		},
		// Bound checks: each ends well within the observation limit.
		{
			name: "zone answering every query with a referral to itself",
			setup: func(_ *testing.T, tw *truthWorld) {
				for _, s := range tw.app.Servers {
					s.SetMode(testenv.AuthSelfReferral)
				}
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSLameDelegation,
			words: []string{"went in circles", "referral to the zone itself"},
		},
		{
			name: "huge TXT set",
			setup: func(_ *testing.T, tw *truthWorld) {
				var rrs []string
				for i := range 300 {
					rrs = append(rrs, txt(host, fmt.Sprintf("filler-%04d", i)))
				}
				tw.app.Add(rrs...)
			},
			status: diagnose.StatusPending, code: diagnose.CodeDNSLookupFailed,
			words: []string{"exceeds dcv's size limits"},
		},
		{
			// DNS validation needs no address for the name: the missing
			// TXT record is what to fix, not the name's existence.
			name:   "a name missing from a working zone",
			domain: "nope.applicant.com",
			setup:  func(_ *testing.T, tw *truthWorld) {},
			status: diagnose.StatusPending, code: diagnose.CodeDNSRecordNotFound,
			words: []string{"No TXT record at _dnsauth.nope.applicant.com", "Add a TXT record"},
		},
		{
			name:   "an unregistered domain",
			domain: "unregistered.com",
			setup:  func(_ *testing.T, tw *truthWorld) {},
			status: diagnose.StatusPending, code: diagnose.CodeDomainUnresolvable,
			words: []string{"unregistered.com does not exist", "that the domain is registered and not expired"},
		},
		{
			name: "slow servers",
			setup: func(_ *testing.T, tw *truthWorld) {
				tw.app.Add(txt(host, truthValue))
				for _, s := range tw.app.Servers {
					s.SetDelay(5 * time.Second)
				}
			},
			status: diagnose.StatusPending, code: diagnose.CodeDomainUnresolvable,
			words: []string{"a.applicant.com could not be resolved", "no answer within the deadline"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tw := newTruthWorld(t)
			if tc.setup != nil {
				tc.setup(t, tw)
			}
			r := tw.resolver(t)
			start := tw.clock.Now()
			if tc.prime != nil {
				tc.prime(t, tw, r)
			}
			v := tw.validator(t, r)
			domain := tc.domain
			if domain == "" {
				domain = "a.applicant.com"
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*truthObserveLimit)
			defer cancel()
			began := time.Now()
			obs, err := v.Observe(ctx, validation.Request{Domain: domain, Method: validation.MethodDNS, Value: truthValue, AccountURI: tc.account})
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			if took := time.Since(began); took > truthObserveLimit+time.Second {
				t.Errorf("observation took %v, over its limit %v", took, truthObserveLimit)
			}
			if obs.DNS.Authoritative == nil && obs.DNS.AuthoritativeErr == nil {
				t.Errorf("iterative mode: no authoritative view and no error")
			}
			res := diagnose.Domain([]validation.Observation{obs}, tw.clock.Now())
			dump := func() string {
				var b strings.Builder
				for _, f := range res.Findings {
					fmt.Fprintf(&b, "\n  %s %s: %s | fix: %s", f.Severity, f.Code, f.Message, f.Fix)
				}
				return b.String()
			}
			if tc.status != "" && res.Status != tc.status {
				t.Errorf("status %s, want %s%s", res.Status, tc.status, dump())
			}
			if tc.code == "" {
				if len(res.Findings) > 0 {
					t.Errorf("findings, want none:%s", dump())
				}
				return
			}
			var f *diagnose.Finding
			for i := range res.Findings {
				if res.Findings[i].Code == tc.code {
					f = &res.Findings[i]
					break
				}
			}
			if f == nil {
				t.Fatalf("no %s finding:%s", tc.code, dump())
			}
			text := f.Message + " | " + f.Fix
			for _, w := range tc.words {
				for i, s := range tw.app.Servers {
					w = strings.ReplaceAll(w, fmt.Sprintf("{ns%d}", i+1), s.AddrPort().String())
				}
				if !strings.Contains(text, w) {
					t.Errorf("%s finding lacks %q:\n  %s", tc.code, w, text)
				}
			}
			if tc.notRetryable && f.Retryable {
				t.Errorf("%s finding is retryable; waiting mends nothing", tc.code)
			}
			if tc.eta != 0 {
				if want := start.Add(tc.eta); f.ETA == nil || !f.ETA.Equal(want) {
					t.Errorf("ETA %v, want %v (the SOA minimum after the negative answer was cached)", f.ETA, want)
				}
			}
		})
	}
}

// TestDNS01WildcardAboveDomain: for dns-01 as for the dns method, a
// wildcard *.applicant.com answers at the hosts probed on a miss
// (_dnsauth.a.applicant.com, _acme-challenge.applicant.com, ...) but not at
// _acme-challenge.a.applicant.com, below the existing a.applicant.com: the
// record is missing, and no host was mistyped.
func TestDNS01WildcardAboveDomain(t *testing.T) {
	t.Parallel()
	tw := newTruthWorld(t)
	tw.app.Add(`*.applicant.com. 300 IN TXT "` + truthValue + `"`)
	v := tw.validator(t, tw.resolver(t))
	obs, err := v.Observe(t.Context(), validation.Request{Domain: "a.applicant.com", Method: validation.MethodDNS01, Value: truthValue})
	if err != nil {
		t.Fatal(err)
	}
	res := diagnose.Domain([]validation.Observation{obs}, tw.clock.Now())
	if len(res.Findings) == 0 || res.Findings[0].Code != diagnose.CodeDNSRecordNotFound {
		t.Fatalf("findings %+v, want DNS_RECORD_NOT_FOUND first", res.Findings)
	}
	// No probe of dns-01 is a name right under applicant.com: the
	// wildcard is shown by a name where it answers.
	const note = "A wildcard TXT record holds the value (_acme-challenge.a.applicant.com.applicant.com and a random name beside it return it), but a wildcard stands in only for names that do not exist: it does not cover _acme-challenge.a.applicant.com, because a.applicant.com exists."
	if !strings.Contains(res.Findings[0].Message, note) {
		t.Errorf("message %q lacks %q", res.Findings[0].Message, note)
	}
}

// TestDNS01LaggingNameserver: a dns-01 record published on one nameserver
// of two (a DNS hook that wrote to one) is diagnosed as the other server
// lagging, with both servers named, whichever server the lookup reached:
// when it reached the one with the record, the record does not pass by
// chance (black-box run: ACME issued then, while the console refused).
func TestDNS01LaggingNameserver(t *testing.T) {
	t.Parallel()
	tw := newTruthWorld(t)
	const host = "_acme-challenge.a.applicant.com"
	tw.app.Server(0).Add("applicant.com.", fmt.Sprintf(`%s. 60 IN TXT "%s"`, host, truthValue))
	tw.app.Server(0).SetSerial("applicant.com.", 2026112702)
	tw.app.Server(1).SetSerial("applicant.com.", 2026112701)
	v := tw.validator(t, tw.resolver(t))
	// The lookup reaches one server at random: observe until it has
	// reached each (the chance that 40 lookups reach only one is 2^-39).
	seen := map[bool]bool{}
	for range 40 {
		obs, err := v.Observe(t.Context(), validation.Request{Domain: "a.applicant.com", Method: validation.MethodDNS01, Value: truthValue})
		if err != nil {
			t.Fatal(err)
		}
		res := diagnose.Domain([]validation.Observation{obs}, tw.clock.Now())
		if res.Status == diagnose.StatusApproved {
			t.Fatalf("approved with the record on one nameserver of two (evidence %+v)", obs)
		}
		if len(res.Findings) == 0 || res.Findings[0].Code != diagnose.CodeDNSRecordNotPropagated {
			t.Fatalf("findings %+v, want DNS_RECORD_NOT_PROPAGATED first", res.Findings)
		}
		for _, w := range []string{"on ns1.applicant.com", "not on ns2.applicant.com"} {
			if !strings.Contains(res.Findings[0].Message, w) {
				t.Errorf("message %q lacks %q", res.Findings[0].Message, w)
			}
		}
		hit := strings.Contains(res.Findings[0].Message, "happened to reach a server with it")
		seen[hit] = true
		if seen[true] && seen[false] {
			return
		}
	}
	t.Fatalf("40 lookups did not reach both servers (reached the one with the record: %v)", seen[true])
}

// TestFileAddressesDisagreeOnTheWire: when the domain's nameservers give
// different addresses for it, a failed file check says which server gives
// which address (and serial), whichever address the fetch reached.
func TestFileAddressesDisagreeOnTheWire(t *testing.T) {
	t.Parallel()
	tw := newTruthWorld(t)
	web := testenv.NewWebServer(t)
	web.SetFile("f.applicant.com", validation.FilePath, http.StatusOK, "not the value")
	dead := testenv.NewLoopbackAddr() // nothing listens: connection refused
	tw.app.Server(0).Add("applicant.com.", "f.applicant.com. 300 IN A "+web.IP.String())
	tw.app.Server(0).SetSerial("applicant.com.", 2024060102)
	tw.app.Server(1).Add("applicant.com.", "f.applicant.com. 300 IN A "+dead.String())
	tw.app.Server(1).SetSerial("applicant.com.", 2024060101)
	r := tw.resolver(t)
	f, err := webfetch.New(webfetch.Config{Resolver: r, HTTPPort: web.HTTPPort, HTTPSPort: web.HTTPSPort, AllowLoopback: true,
		ConnectTimeout: time.Second, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: r, Fetcher: f, CAAIdentity: wireCAAIdentity, Timeout: truthObserveLimit, Clock: tw.clock})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // either address may be reached: both runs must say it
		obs, err := v.Observe(t.Context(), validation.Request{Domain: "f.applicant.com", Method: validation.MethodFile, Value: truthValue})
		if err != nil {
			t.Fatalf("Observe: %v", err)
		}
		res := diagnose.Domain([]validation.Observation{obs}, tw.clock.Now())
		if res.Status != diagnose.StatusPending || len(res.Findings) == 0 {
			t.Fatalf("status %s, findings %+v; want pending", res.Status, res.Findings)
		}
		f := res.Findings[0]
		for _, w := range []string{
			"The nameservers of the applicant.com zone give different A records for f.applicant.com",
			"ns1.applicant.com at " + tw.app.Server(0).AddrPort().String() + " (SOA serial 2024060102) gives " + web.IP.String(),
			"ns2.applicant.com at " + tw.app.Server(1).AddrPort().String() + " (SOA serial 2024060101) gives " + dead.String(),
		} {
			if !strings.Contains(f.Message, w) {
				t.Errorf("first finding %s: %q lacks %q", f.Code, f.Message, w)
			}
		}
		if !f.Retryable {
			t.Errorf("first finding %s is not retryable", f.Code)
		}
	}
}

// TestFileCNAMEIntoBogusZone: a domain whose CNAME leads into a zone whose
// DNSSEC fails (expired signatures) gets an NXDOMAIN that proves nothing:
// the file method's finding is DNSSEC_BOGUS at the target's zone, not
// "the domain does not exist"; and a CNAME to a name that does not exist,
// in a zone that validates, is a dangling CNAME naming the target.
func TestFileCNAMEIntoBogusZone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		expired bool
		code    diagnose.Code
		words   []string
	}{
		{name: "bogus target zone", expired: true, code: diagnose.CodeDNSSECBogus,
			words: []string{"the signatures have expired", "CNAME to nowhere.other.net: the zone that fails is other.net", "Ask the DNS host of other.net to re-sign"}},
		{name: "secure target zone", code: diagnose.CodeDomainUnresolvable,
			words: []string{"nx.applicant.com is a CNAME to nowhere.other.net, and nowhere.other.net does not exist in DNS", "Point the CNAME record of nx.applicant.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tw := newTruthWorld(t)
			net := tw.w.AddZone("net.", "", 1)
			other := tw.w.AddZone("other.net.", "net.", 1)
			other.Add("www.other.net. 300 IN A 192.0.2.9")
			tw.app.Add("nx.applicant.com. 300 IN CNAME nowhere.other.net.")
			opts := testenv.SignOptions{}
			if tc.expired {
				opts = testenv.SignOptions{Inception: time.Now().Add(-40 * 24 * time.Hour), Expiration: time.Now().Add(-10 * 24 * time.Hour)}
			}
			otherSigner := testenv.NewZoneSigner(t, "other.net.", opts)
			signZoneServed(t, other, otherSigner)
			netSigner := testenv.NewZoneSigner(t, "net.", testenv.SignOptions{})
			signZoneServed(t, net, netSigner, otherSigner.DS())
			appSigner := testenv.NewZoneSigner(t, "applicant.com.", testenv.SignOptions{})
			signZoneServed(t, tw.app, appSigner)
			com := testenv.NewZoneSigner(t, "com.", testenv.SignOptions{})
			signZoneServed(t, tw.com, com, appSigner.DS())
			root := testenv.NewZoneSigner(t, ".", testenv.SignOptions{})
			signZoneServed(t, tw.w.RootZone, root, com.DS(), netSigner.DS())
			tw.anchors = []dns.RR{root.DS()}

			r := tw.resolver(t)
			f, err := webfetch.New(webfetch.Config{Resolver: r, AllowLoopback: true, Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			v, err := validation.New(validation.Config{Resolver: r, Fetcher: f, CAAIdentity: wireCAAIdentity, Timeout: truthObserveLimit, Clock: tw.clock})
			if err != nil {
				t.Fatal(err)
			}
			obs, err := v.Observe(t.Context(), validation.Request{Domain: "nx.applicant.com", Method: validation.MethodFile, Value: truthValue})
			if err != nil {
				t.Fatal(err)
			}
			res := diagnose.Domain([]validation.Observation{obs}, tw.clock.Now())
			if len(res.Findings) == 0 || res.Findings[0].Code != tc.code {
				t.Fatalf("findings:\n%+v\nwant %s first", res.Findings, tc.code)
			}
			text := res.Findings[0].Message + " " + res.Findings[0].Fix
			for _, w := range tc.words {
				if !strings.Contains(text, w) {
					t.Errorf("finding %q lacks %q", text, w)
				}
			}
		})
	}
}

// TestFileAddressesThroughCNAMEOnTheWire: a domain that is a CNAME, in its
// zone or into another, whose target's addresses differ between the
// target zone's servers: a failed check names each server's address, and
// a check that passed through the up-to-date server warns that the next
// one may reach the other.
func TestFileAddressesThroughCNAMEOnTheWire(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		target string // the CNAME target of api.applicant.com
		zone   func(tw *truthWorld) *testenv.Zone
	}{
		{"target in the same zone", "www.applicant.com", func(tw *truthWorld) *testenv.Zone { return tw.app }},
		{"target in another zone", "www.dnsprov.net", func(tw *truthWorld) *testenv.Zone {
			tw.w.AddZone("net.", "", 1)
			return tw.w.AddZone("dnsprov.net.", "net.", 2)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tw := newTruthWorld(t)
			web := testenv.NewWebServer(t)
			web.SetFile("api.applicant.com", validation.FilePath, http.StatusOK, truthValue)
			dead := testenv.NewLoopbackAddr()
			z := tc.zone(tw)
			zname := strings.TrimPrefix(tc.target, "www.") + "."
			tw.app.Add("api.applicant.com. 300 IN CNAME " + tc.target + ".")
			z.Server(0).Add(zname, tc.target+". 300 IN A "+web.IP.String())
			z.Server(0).SetSerial(zname, 2024060102)
			z.Server(1).Add(zname, tc.target+". 300 IN A "+dead.String())
			z.Server(1).SetSerial(zname, 2024060101)
			r := tw.resolver(t)
			f, err := webfetch.New(webfetch.Config{Resolver: r, HTTPPort: web.HTTPPort, HTTPSPort: web.HTTPSPort, AllowLoopback: true,
				ConnectTimeout: time.Second, Timeout: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			v, err := validation.New(validation.Config{Resolver: r, Fetcher: f, CAAIdentity: wireCAAIdentity, Timeout: truthObserveLimit, Clock: tw.clock})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"give different A records for " + tc.target,
				"(SOA serial 2024060102) gives " + web.IP.String(), "(SOA serial 2024060101) gives " + dead.String()}
			seen := map[string]bool{}
			for range 12 {
				obs, err := v.Observe(t.Context(), validation.Request{Domain: "api.applicant.com", Method: validation.MethodFile, Value: truthValue})
				if err != nil {
					t.Fatalf("Observe: %v", err)
				}
				res := diagnose.Domain([]validation.Observation{obs}, tw.clock.Now())
				seen[res.Status] = true
				var f diagnose.Finding
				switch res.Status {
				case diagnose.StatusPending:
					f = res.Findings[0]
				case diagnose.StatusApproved:
					i := slices.IndexFunc(res.Findings, func(f diagnose.Finding) bool { return f.Code == diagnose.CodeDNSNameserverInconsistent })
					if i < 0 {
						t.Fatalf("approved through the up-to-date server without a warning: %+v", res.Findings)
					}
					f = res.Findings[i]
				}
				for _, w := range want {
					if !strings.Contains(f.Message, w) {
						t.Errorf("%s %s: %q lacks %q", res.Status, f.Code, f.Message, w)
					}
				}
				if seen[diagnose.StatusPending] && seen[diagnose.StatusApproved] {
					return
				}
			}
			t.Logf("outcomes seen: %v", seen)
		})
	}
}

// TestFileAddressTCPFallback: the web site's address lookup of a file
// validation, at a nameserver that sends a truncated answer over UDP and
// then closes the TCP connection, says so, with the TCP fix: not merely
// that the lookup failed.
func TestFileAddressTCPFallback(t *testing.T) {
	t.Parallel()
	tw := newTruthWorld(t)
	for _, s := range tw.app.Servers {
		s.SetTruncateNoTCP("f.applicant.com")
	}
	r := tw.resolver(t)
	f, err := webfetch.New(webfetch.Config{Resolver: r, AllowLoopback: true, ConnectTimeout: time.Second, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: r, Fetcher: f, CAAIdentity: wireCAAIdentity, Timeout: truthObserveLimit, Clock: tw.clock})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := v.Observe(t.Context(), validation.Request{Domain: "f.applicant.com", Method: validation.MethodFile, Value: truthValue})
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	res := diagnose.Domain([]validation.Observation{obs}, tw.clock.Now())
	for _, f := range res.Findings {
		if f.Code != diagnose.CodeDomainUnresolvable {
			continue
		}
		for _, w := range []string{"The address (A/AAAA) lookup of f.applicant.com failed: ", "then closed the TCP connection without answering.", "must answer over TCP as well as UDP (RFC 7766)"} {
			if !strings.Contains(f.Message+" "+f.Fix, w) {
				t.Errorf("%s: %q / %q lacks %q", f.Code, f.Message, f.Fix, w)
			}
		}
		return
	}
	t.Fatalf("no DOMAIN_UNRESOLVABLE among %+v", res.Findings)
}

// TestAuthoritativeServfail: the zone's own nameservers answering SERVFAIL
// (a zone not loaded, or expired on a secondary) are told apart from a
// resolver's SERVFAIL: the findings name the zone the server fails to
// serve, and say nothing of DNSSEC, which authoritative servers do not
// validate (black-box run: the fix asked to check a DS record that did not
// exist).
func TestAuthoritativeServfail(t *testing.T) {
	t.Parallel()
	tw := newTruthWorld(t)
	tw.app.Server(0).SetMode(testenv.AuthServfail)
	tw.app.Server(1).SetMode(testenv.AuthServfail)
	v := tw.validator(t, tw.resolver(t))
	for _, m := range []validation.Method{validation.MethodDNS, validation.MethodDNS01} {
		obs, err := v.Observe(t.Context(), validation.Request{Domain: "a.applicant.com", Method: m, Value: truthValue})
		if err != nil {
			t.Fatal(err)
		}
		res := diagnose.Domain([]validation.Observation{obs}, tw.clock.Now())
		servfails := 0
		for _, f := range res.Findings {
			if f.Code != diagnose.CodeDomainUnresolvable && f.Code != diagnose.CodeCAALookupFailed {
				continue
			}
			servfails++
			if f.Code == diagnose.CodeDomainUnresolvable && !strings.Contains(f.Message, "a nameserver of applicant.com, answered SERVFAIL: that server fails to serve the zone (not loaded, or expired) or fails on this query") {
				t.Errorf("%s: %s: message %q does not say which zone the server fails to serve", m, f.Code, f.Message)
			}
			if !strings.Contains(f.Fix, "make it serve the zone applicant.com (loaded and current") {
				t.Errorf("%s: %s: fix %q", m, f.Code, f.Fix)
			}
			for _, w := range []string{"DNSSEC", "DS record"} {
				if strings.Contains(f.Message+f.Fix, w) {
					t.Errorf("%s: %s speaks of %s: %s | %s", m, f.Code, w, f.Message, f.Fix)
				}
			}
		}
		if servfails < 2 {
			t.Errorf("%s: want a DOMAIN_UNRESOLVABLE and a CAA_LOOKUP_FAILED finding in %+v", m, res.Findings)
		}
	}
}
