package dnsclient_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
)

// fakeZones is a Querier over signed zones held in memory: each query is
// answered by testenv.SignedAnswer from the zone asked, as its
// authoritative servers would.
type fakeZones struct {
	mu      sync.Mutex
	zones   map[string][]dns.RR
	queries map[uint16]int
}

func (f *fakeZones) QueryZone(_ context.Context, zone, name string, qtype uint16) (*dns.Msg, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries[qtype]++
	rrs, ok := f.zones[strings.ToLower(dns.Fqdn(zone))]
	if !ok {
		return nil, errors.New("no servers for " + zone)
	}
	return testenv.SignedAnswer(zone, rrs, name, qtype), nil
}

func (f *fakeZones) count(qtype uint16) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries[qtype]
}

func mustRRs(t testing.TB, lines ...string) []dns.RR {
	t.Helper()
	var out []dns.RR
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil || rr == nil {
			t.Fatalf("parsing %q: %v", l, err)
		}
		out = append(out, rr)
	}
	return out
}

func zoneBase(zone string) []string {
	return []string{
		zone + " 3600 IN SOA ns1.invalid. hostmaster.invalid. 1 7200 3600 1209600 300",
		zone + " 3600 IN NS ns1.invalid.",
	}
}

// chain configures the test hierarchy . -> test. -> example.test., with
// insecure.test. delegated without DS and example.test. holding the data.
type chain struct {
	root, tld, leaf testenv.SignOptions
	// leafDS, when set, replaces the DS of example.test. in test.
	leafDS func(ds *dns.DS) *dns.DS
	// leafUnsigned serves example.test. unsigned, with no DS in test.
	leafUnsigned bool
}

type world struct {
	q        *fakeZones
	anchors  []dns.RR
	rootKSK  *dns.DNSKEY
	attacker *testenv.ZoneSigner
}

func buildChain(t testing.TB, c chain) *world {
	t.Helper()
	leafRRs := mustRRs(t, append(zoneBase("example.test."),
		`_dnsauth.example.test. 300 IN TXT "token-1"`,
		`www.example.test. 300 IN A 192.0.2.1`,
		`a.b.example.test. 300 IN TXT "deep"`,
		`*.wild.example.test. 300 IN TXT "wild"`,
		// A name under the wildcard's closest encloser, with a wildcard
		// of its own: q.sub.wild.example.test. is answered from it.
		`sub.wild.example.test. 300 IN A 192.0.2.9`,
		`*.sub.wild.example.test. 300 IN TXT "subwild"`,
	)...)
	leafSigner := testenv.NewZoneSigner(t, "example.test.", c.leaf)
	leaf := leafRRs
	if !c.leafUnsigned {
		leaf = leafSigner.Sign(leafRRs)
	}
	tldLines := append(zoneBase("test."),
		`example.test. 3600 IN NS ns1.example.test.`,
		`ns1.example.test. 3600 IN A 192.0.2.53`,
		`insecure.test. 3600 IN NS ns1.insecure.test.`,
		`ns1.insecure.test. 3600 IN A 192.0.2.54`,
		`attacker.test. 3600 IN NS ns1.attacker.test.`,
		`ns1.attacker.test. 3600 IN A 192.0.2.66`,
		`signed.test. 300 IN TXT "in the tld"`,
	)
	tldRRs := mustRRs(t, tldLines...)
	// attacker.test. is a signed zone like any other, whose keys the
	// forgeries below use.
	attacker := testenv.NewZoneSigner(t, "attacker.test.", testenv.SignOptions{})
	tldRRs = append(tldRRs, attacker.DS())
	if !c.leafUnsigned {
		ds := leafSigner.DS()
		if c.leafDS != nil {
			ds = c.leafDS(ds)
		}
		tldRRs = append(tldRRs, ds)
	}
	tldSigner := testenv.NewZoneSigner(t, "test.", c.tld)
	rootSigner := testenv.NewZoneSigner(t, ".", c.root)
	rootRRs := append(mustRRs(t, zoneBase(".")...), mustRRs(t, `test. 3600 IN NS ns1.test.`)...)
	rootRRs = append(rootRRs, tldSigner.DS())
	insecure := mustRRs(t, append(zoneBase("insecure.test."), `_dnsauth.insecure.test. 300 IN TXT "plain"`)...)
	return &world{
		q: &fakeZones{
			queries: map[uint16]int{},
			zones: map[string][]dns.RR{
				".":              rootSigner.Sign(rootRRs),
				"test.":          tldSigner.Sign(tldRRs),
				"example.test.":  leaf,
				"insecure.test.": insecure,
				"attacker.test.": attacker.Sign(mustRRs(t, zoneBase("attacker.test.")...)),
			},
		},
		anchors:  []dns.RR{rootSigner.DS()},
		rootKSK:  rootSigner.KSK,
		attacker: attacker,
	}
}

// forgeDenial turns m into a negative answer of rcode whose authority
// section is ns.
func forgeDenial(m *dns.Msg, rcode int, ns ...dns.RR) {
	m.Answer, m.Ns, m.Rcode = nil, ns, rcode
}

// attackerNSEC is an NSEC that attacker.test. signs in its own zone, with a
// next name in example.test.: valid, but no proof of anything in
// example.test. (RFC 4035 §5.4).
func attackerNSEC(t *testing.T, w *world) []dns.RR {
	nsec := mustRRs(t, `a.attacker.test. 300 IN NSEC zzz.example.test. TXT RRSIG NSEC`)[0]
	return []dns.RR{nsec, w.attacker.SignRRset(nsec)}
}

func newValidator(t testing.TB, anchors []dns.RR) *dnsclient.DNSSECValidator {
	t.Helper()
	v, err := dnsclient.NewDNSSECValidator(dnsclient.DNSSECConfig{Anchors: anchors})
	if err != nil {
		t.Fatalf("NewDNSSECValidator: %v", err)
	}
	return v
}

func TestValidate(t *testing.T) {
	t.Parallel()
	past := time.Now().Add(-60 * 24 * time.Hour)
	nsec3 := testenv.SignOptions{NSEC3: true}
	tests := []struct {
		name  string
		chain chain
		zone  string
		qname string
		qtype uint16
		// mutate changes the answer before validation.
		mutate     func(t *testing.T, w *world, m *dns.Msg)
		wantStatus dnsclient.DNSSECStatus
		// wantReason is the start of the reason ("" for none).
		wantReason string
		// wantWords must appear in the reason.
		wantWords []string
	}{
		{name: "secure TXT", zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure},
		{name: "secure TXT in the TLD", zone: "test.", qname: "signed.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure},
		{name: "secure with NSEC3 zones", chain: chain{tld: nsec3, leaf: nsec3}, zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure},
		{name: "RSASHA256", chain: chain{leaf: testenv.SignOptions{Algorithm: dns.RSASHA256}}, zone: "example.test.", qname: "www.example.test.", qtype: dns.TypeA, wantStatus: dnsclient.Secure},
		{name: "RSASHA512", chain: chain{leaf: testenv.SignOptions{Algorithm: dns.RSASHA512}}, zone: "example.test.", qname: "www.example.test.", qtype: dns.TypeA, wantStatus: dnsclient.Secure},
		{name: "ECDSAP384SHA384", chain: chain{root: testenv.SignOptions{Algorithm: dns.ECDSAP384SHA384}, leaf: testenv.SignOptions{Algorithm: dns.ECDSAP384SHA384}}, zone: "example.test.", qname: "www.example.test.", qtype: dns.TypeA, wantStatus: dnsclient.Secure},
		{name: "ED25519", chain: chain{tld: testenv.SignOptions{Algorithm: dns.ED25519}, leaf: testenv.SignOptions{Algorithm: dns.ED25519}}, zone: "example.test.", qname: "www.example.test.", qtype: dns.TypeA, wantStatus: dnsclient.Secure},
		{name: "NXDOMAIN with NSEC", zone: "example.test.", qname: "nope.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure},
		{name: "NXDOMAIN with NSEC3", chain: chain{leaf: nsec3}, zone: "example.test.", qname: "nope.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure},
		{name: "NXDOMAIN below a name with NSEC3", chain: chain{leaf: nsec3}, zone: "example.test.", qname: "x.y.www.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure},
		{name: "NODATA with NSEC", zone: "example.test.", qname: "www.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure},
		{name: "NODATA with NSEC3", chain: chain{leaf: nsec3}, zone: "example.test.", qname: "www.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure},
		{name: "empty non-terminal with NSEC", zone: "example.test.", qname: "b.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure},
		{name: "empty non-terminal with NSEC3", chain: chain{leaf: nsec3}, zone: "example.test.", qname: "b.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure},
		{name: "wildcard answer with NSEC", zone: "example.test.", qname: "x.wild.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure},
		{name: "wildcard answer with NSEC3", chain: chain{leaf: nsec3}, zone: "example.test.", qname: "x.wild.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure},
		{name: "wildcard answer from a nested wildcard with NSEC", zone: "example.test.", qname: "q.sub.wild.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure},
		{name: "wildcard answer from a nested wildcard with NSEC3", chain: chain{leaf: nsec3}, zone: "example.test.", qname: "q.sub.wild.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure},
		{name: "wildcard answer two labels below its encloser with NSEC", zone: "example.test.", qname: "a.b.wild.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure},
		{name: "wildcard NODATA with NSEC", zone: "example.test.", qname: "x.wild.example.test.", qtype: dns.TypeA, wantStatus: dnsclient.Secure},
		{name: "wildcard NODATA with NSEC3", chain: chain{leaf: nsec3}, zone: "example.test.", qname: "x.wild.example.test.", qtype: dns.TypeA, wantStatus: dnsclient.Secure},
		{name: "DNSKEY anchor", zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			mutate: func(t *testing.T, w *world, m *dns.Msg) { w.anchors = []dns.RR{w.rootKSK} }, wantStatus: dnsclient.Secure},
		{name: "secure referral", zone: "test.", qname: "www.example.test.", qtype: dns.TypeA, wantStatus: dnsclient.Secure},

		{name: "insecure delegation with NSEC", zone: "insecure.test.", qname: "_dnsauth.insecure.test.", qtype: dns.TypeTXT,
			wantStatus: dnsclient.Insecure, wantWords: []string{"insecure.test. is not signed", "no DS record"}},
		{name: "insecure delegation with NSEC3", chain: chain{tld: nsec3}, zone: "insecure.test.", qname: "_dnsauth.insecure.test.", qtype: dns.TypeTXT,
			wantStatus: dnsclient.Insecure, wantWords: []string{"insecure.test. is not signed", "no DS record"}},
		{name: "insecure delegation in an NSEC3 opt-out span", chain: chain{tld: testenv.SignOptions{NSEC3: true, OptOut: true}}, zone: "insecure.test.", qname: "_dnsauth.insecure.test.", qtype: dns.TypeTXT,
			wantStatus: dnsclient.Insecure, wantWords: []string{"opt-out"}},
		{name: "insecure referral", zone: "test.", qname: "www.insecure.test.", qtype: dns.TypeA,
			wantStatus: dnsclient.Insecure, wantWords: []string{"insecure.test. is not signed"}},
		{name: "RSASHA1 is treated as unsigned", chain: chain{leaf: testenv.SignOptions{Algorithm: dns.RSASHA1}}, zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			wantStatus: dnsclient.Insecure, wantWords: []string{"example.test. is treated as unsigned", "algorithm 5"}},
		{name: "RSASHA1-NSEC3-SHA1 is treated as unsigned", chain: chain{leaf: testenv.SignOptions{Algorithm: dns.RSASHA1NSEC3SHA1, NSEC3: true}}, zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			wantStatus: dnsclient.Insecure, wantWords: []string{"algorithm 7"}},

		{name: "expired RRSIG", chain: chain{leaf: testenv.SignOptions{Inception: past.Add(-time.Hour), Expiration: past}}, zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonSignatureExpired, wantWords: []string{past.UTC().Format("2006-01-02"), "example.test."}},
		{name: "RRSIG not yet valid", chain: chain{leaf: testenv.SignOptions{Inception: time.Now().Add(24 * time.Hour), Expiration: time.Now().Add(48 * time.Hour)}}, zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonSignatureNotYet},
		{name: "DS mismatch", chain: chain{leafDS: func(ds *dns.DS) *dns.DS {
			ds.Digest = strings.Repeat("AB", 32)
			return ds
		}}, zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonDSMismatch, wantWords: []string{"(key tag ", "algorithm 13)", "matches no DNSKEY in example.test."}},
		{name: "DS at the parent but the zone is unsigned", chain: chain{leafUnsigned: true}, zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			mutate: func(t *testing.T, w *world, m *dns.Msg) {
				// Put a DS for a key the zone does not publish in test.
				other := testenv.NewZoneSigner(t, "example.test.", testenv.SignOptions{})
				tld := testenv.NewZoneSigner(t, "test.", testenv.SignOptions{})
				var rrs []dns.RR
				for _, rr := range w.q.zones["test."] {
					switch rr.Header().Rrtype {
					case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeDNSKEY:
					default:
						rrs = append(rrs, rr)
					}
				}
				w.q.zones["test."] = tld.Sign(append(rrs, other.DS()))
				root := testenv.NewZoneSigner(t, ".", testenv.SignOptions{})
				w.q.zones["."] = root.Sign(mustRRs(t, append(zoneBase("."), `test. 3600 IN NS ns1.test.`, tld.DS().String())...))
				w.anchors = []dns.RR{root.DS()}
			},
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonNoDNSKEY, wantWords: []string{"no DNSKEY in example.test.: the zone is not signed, but its parent has a DS record for it (key tag "}},
		{name: "missing RRSIG", zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			mutate:     func(t *testing.T, w *world, m *dns.Msg) { m.Answer = m.Answer[:1] },
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonNoRRSIG, wantWords: []string{"_dnsauth.example.test. TXT"}},
		{name: "corrupted signature", chain: chain{leaf: testenv.SignOptions{BreakSignatureOf: "_dnsauth.example.test."}}, zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonBadSignature, wantWords: []string{"example.test. for _dnsauth.example.test. TXT"}},
		{name: "altered data", zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			mutate:     func(t *testing.T, w *world, m *dns.Msg) { m.Answer[0].(*dns.TXT).Txt = []string{"forged"} },
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonBadSignature},
		{name: "DNSKEY set signed by a key not in the DS", zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			chain: chain{leaf: testenv.SignOptions{BreakSignatureOf: "example.test."}},
			// The apex records, DNSKEY included, carry broken signatures.
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonDNSKEYNotSigned, wantWords: []string{"example.test. is not signed by a key matching its DS"}},
		{name: "NXDOMAIN whose NSEC does not cover the name", zone: "example.test.", qname: "aaaa.example.test.", qtype: dns.TypeTXT,
			mutate: func(t *testing.T, w *world, m *dns.Msg) {
				other, _ := w.q.QueryZone(context.Background(), "example.test.", "zzzz.example.test.", dns.TypeTXT)
				m.Ns = other.Ns
			},
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonDenialNotCovering, wantWords: []string{"aaaa.example.test. TXT"}},
		{name: "NXDOMAIN with NSEC3 but no next closer proof", chain: chain{leaf: nsec3}, zone: "example.test.", qname: "nope.example.test.", qtype: dns.TypeTXT,
			mutate: func(t *testing.T, w *world, m *dns.Msg) {
				apex := strings.ToLower(dns.HashName("example.test.", dns.SHA1, 0, "")) + ".example.test."
				var kept []dns.RR
				for _, rr := range m.Ns {
					if rr.Header().Rrtype == dns.TypeSOA || strings.EqualFold(rr.Header().Name, apex) || (rr.Header().Rrtype == dns.TypeRRSIG && rr.(*dns.RRSIG).TypeCovered == dns.TypeSOA) {
						kept = append(kept, rr)
					}
				}
				m.Ns = kept
			},
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonDenialNotCovering, wantWords: []string{"nope.example.test."}},
		{name: "NODATA claimed for a type that exists", zone: "example.test.", qname: "www.example.test.", qtype: dns.TypeA,
			mutate: func(t *testing.T, w *world, m *dns.Msg) {
				nodata, _ := w.q.QueryZone(context.Background(), "example.test.", "www.example.test.", dns.TypeTXT)
				m.Answer, m.Ns = nil, nodata.Ns
			},
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonDenialNotCovering},
		{name: "unsigned NXDOMAIN in a signed zone", zone: "example.test.", qname: "nope.example.test.", qtype: dns.TypeTXT,
			mutate: func(t *testing.T, w *world, m *dns.Msg) {
				m.Ns = m.Ns[:1] // the SOA without its RRSIG nor NSECs
			},
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonNoRRSIG, wantWords: []string{"example.test. SOA"}},

		// Forgeries of an attacker on the path, who holds the keys of a
		// signed zone of its own (security review).
		{name: "NODATA proved by another signed zone's NSEC", zone: "example.test.", qname: "example.test.", qtype: dns.TypeCAA,
			mutate: func(t *testing.T, w *world, m *dns.Msg) {
				// The genuine NODATA, its example.test. NSEC swapped for
				// the attacker's.
				forgeDenial(m, dns.RcodeSuccess, attackerNSEC(t, w)...)
			},
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonDenialNotCovering, wantWords: []string{"example.test. CAA"}},
		{name: "NXDOMAIN proved by another signed zone's NSEC", zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			mutate: func(t *testing.T, w *world, m *dns.Msg) {
				forgeDenial(m, dns.RcodeNameError, attackerNSEC(t, w)...)
			},
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonDenialNotCovering, wantWords: []string{"_dnsauth.example.test. TXT"}},
		{name: "NODATA whose only proof is an unsigned zone's SOA", zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			mutate: func(t *testing.T, w *world, m *dns.Msg) {
				forgeDenial(m, dns.RcodeSuccess, mustRRs(t, zoneBase("insecure.test.")[0])...)
			},
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonDenialNotCovering},
		{name: "NXDOMAIN whose only proof is an unsigned zone's SOA", zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			mutate: func(t *testing.T, w *world, m *dns.Msg) {
				forgeDenial(m, dns.RcodeNameError, mustRRs(t, zoneBase("insecure.test.")[0])...)
			},
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonDenialNotCovering},
		{name: "wildcard answer replayed below a name that exists", zone: "example.test.", qname: "q.sub.wild.example.test.", qtype: dns.TypeTXT,
			mutate: func(t *testing.T, w *world, m *dns.Msg) {
				// *.wild's signed answer under q.sub.wild, with the genuine
				// NSEC that covers q.sub.wild: but sub.wild exists, and
				// *.sub.wild is the wildcard that applies.
				wild, _ := w.q.QueryZone(context.Background(), "example.test.", "other.wild.example.test.", dns.TypeTXT)
				m.Answer = nil
				for _, rr := range wild.Answer {
					rr = dns.Copy(rr)
					rr.Header().Name = "q.sub.wild.example.test."
					m.Answer = append(m.Answer, rr)
				}
				at, _ := w.q.QueryZone(context.Background(), "example.test.", "*.sub.wild.example.test.", dns.TypeA)
				m.Ns = nil
				for _, rr := range at.Ns {
					if strings.EqualFold(rr.Header().Name, "*.sub.wild.example.test.") {
						m.Ns = append(m.Ns, rr)
					}
				}
			},
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonDenialNotCovering, wantWords: []string{"q.sub.wild.example.test.", "wildcard"}},

		{name: "no anchor covers the zone", zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			mutate: func(t *testing.T, w *world, m *dns.Msg) {
				other := testenv.NewZoneSigner(t, "other.", testenv.SignOptions{})
				w.anchors = []dns.RR{other.DS()}
			},
			wantStatus: dnsclient.Indeterminate, wantWords: []string{"no trust anchor covers example.test."}},
		// Under a trust anchor, missing DS or DNSKEY records make the
		// answer bogus (RFC 4033 §5): whoever can drop those queries must
		// not pass off a forged answer as unsigned.
		{name: "servers of a zone unreachable", zone: "example.test.", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			mutate:     func(t *testing.T, w *world, m *dns.Msg) { delete(w.q.zones, "test.") },
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonUnverifiable, wantWords: []string{"could not get the DNSKEY records of test."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := buildChain(t, tc.chain)
			m, err := w.q.QueryZone(context.Background(), tc.zone, tc.qname, tc.qtype)
			if err != nil {
				t.Fatal(err)
			}
			if tc.mutate != nil {
				tc.mutate(t, w, m)
			}
			v := newValidator(t, w.anchors)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			st, reason := v.Validate(ctx, w.q, tc.zone, m)
			if st != tc.wantStatus {
				t.Fatalf("Validate = %v (%q), want %v", st, reason, tc.wantStatus)
			}
			if !strings.HasPrefix(reason, tc.wantReason) {
				t.Errorf("reason %q does not start with %q", reason, tc.wantReason)
			}
			if tc.wantStatus == dnsclient.Secure && reason != "" {
				t.Errorf("secure with reason %q", reason)
			}
			for _, word := range tc.wantWords {
				if !strings.Contains(reason, word) {
					t.Errorf("reason %q lacks %q", reason, word)
				}
			}
		})
	}
}

func TestValidateCachesKeys(t *testing.T) {
	t.Parallel()
	w := buildChain(t, chain{})
	v := newValidator(t, w.anchors)
	ctx := context.Background()
	for i, name := range []string{"_dnsauth.example.test.", "www.example.test.", "nope.example.test."} {
		m, _ := w.q.QueryZone(ctx, "example.test.", name, dns.TypeTXT)
		if st, reason := v.Validate(ctx, w.q, "example.test.", m); st != dnsclient.Secure {
			t.Fatalf("lookup %d: %v %q", i, st, reason)
		}
	}
	if got := w.q.count(dns.TypeDNSKEY); got != 3 {
		t.Errorf("DNSKEY queries = %d, want 3 (one per zone: ., test., example.test.)", got)
	}
	if got := w.q.count(dns.TypeDS); got != 2 {
		t.Errorf("DS queries = %d, want 2 (test., example.test.)", got)
	}
}

func TestValidateHonoursClock(t *testing.T) {
	t.Parallel()
	w := buildChain(t, chain{})
	m, _ := w.q.QueryZone(context.Background(), "example.test.", "_dnsauth.example.test.", dns.TypeTXT)
	later := time.Now().Add(90 * 24 * time.Hour)
	v, err := dnsclient.NewDNSSECValidator(dnsclient.DNSSECConfig{Anchors: w.anchors, Now: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	st, reason := v.Validate(context.Background(), w.q, "example.test.", m)
	if st != dnsclient.Bogus || !strings.HasPrefix(reason, dnsclient.ReasonSignatureExpired) {
		t.Fatalf("Validate 90 days later = %v %q, want bogus, signature expired", st, reason)
	}
}

func TestValidateStopsWithContext(t *testing.T) {
	t.Parallel()
	w := buildChain(t, chain{})
	m, _ := w.q.QueryZone(context.Background(), "example.test.", "_dnsauth.example.test.", dns.TypeTXT)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v := newValidator(t, w.anchors)
	if st, reason := v.Validate(ctx, w.q, "example.test.", m); st != dnsclient.Bogus || !strings.HasPrefix(reason, dnsclient.ReasonUnverifiable) {
		t.Fatalf("Validate with a cancelled context = %v %q, want bogus: unverifiable", st, reason)
	}
}

func TestParseTrustAnchors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr string
	}{
		{name: "DS and DNSKEY with comments", in: `; the root
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D

example. 3600 IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ== ; a key
`, want: 2},
		{name: "other record type", in: ". IN A 192.0.2.1\n", wantErr: "line 1: A record, only DS and DNSKEY"},
		{name: "unparsable line", in: ". IN DS 20326 8 2 E06D44B8\n. IN DS nonsense\n", wantErr: "line 2"},
		{name: "DNSKEY without zone flag", in: "example. IN DNSKEY 0 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n", wantErr: "zone key flag"},
		{name: "empty", in: "; nothing\n\n", wantErr: "no DS or DNSKEY record"},
		{name: "directive", in: "$ORIGIN example.\n", wantErr: "line 1"},
		{name: "too large", in: strings.Repeat(";", 70<<10), wantErr: "more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rrs, err := dnsclient.ParseTrustAnchors(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseTrustAnchors error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rrs) != tc.want {
				t.Fatalf("got %d anchors, want %d", len(rrs), tc.want)
			}
		})
	}
}

func TestRootTrustAnchors(t *testing.T) {
	t.Parallel()
	var tags []uint16
	for _, rr := range dnsclient.RootTrustAnchors() {
		ds, ok := rr.(*dns.DS)
		if !ok || ds.Hdr.Name != "." || ds.Algorithm != dns.RSASHA256 || ds.DigestType != dns.SHA256 {
			t.Fatalf("unexpected root anchor %v", rr)
		}
		tags = append(tags, ds.KeyTag)
	}
	if len(tags) != 2 || tags[0] != 20326 || tags[1] != 38696 {
		t.Fatalf("root anchor key tags = %v, want [20326 38696]", tags)
	}
	if _, err := dnsclient.NewDNSSECValidator(dnsclient.DNSSECConfig{}); err != nil {
		t.Fatalf("NewDNSSECValidator with built-in anchors: %v", err)
	}
}

func TestNewDNSSECValidatorRejectsUnusableAnchors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		anchors []dns.RR
		wantErr string
	}{
		{name: "only SHA-1 algorithm", anchors: mustRRs(t, ". IN DS 19036 5 2 49AAC11D7B6F6446702E54A1607371607A1A41855200FD2CE1CDDE32F24E8FB5"), wantErr: "no trust anchor uses a supported algorithm"},
		{name: "not a DS or DNSKEY", anchors: mustRRs(t, ". IN TXT x"), wantErr: "neither DS nor DNSKEY"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := dnsclient.NewDNSSECValidator(dnsclient.DNSSECConfig{Anchors: tc.anchors})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestDNSSECStatusString(t *testing.T) {
	t.Parallel()
	for st, want := range map[dnsclient.DNSSECStatus]string{
		dnsclient.Indeterminate: "indeterminate", dnsclient.Secure: "secure",
		dnsclient.Insecure: "insecure", dnsclient.Bogus: "bogus",
	} {
		if got := st.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", st, got, want)
		}
	}
}

// A signed zone whose CNAME points into an unsigned child zone served by
// the same servers: the negative answer for the target carries the
// child's unsigned SOA. The target lies in an unsigned zone, so the answer
// is Insecure, not Bogus (review: the forged-denial fix made it Bogus).
func TestValidateCNAMEIntoUnsignedChildOnSameServer(t *testing.T) {
	t.Parallel()
	for _, rcode := range []int{dns.RcodeNameError, dns.RcodeSuccess} {
		tld := testenv.NewZoneSigner(t, "test.", testenv.SignOptions{})
		root := testenv.NewZoneSigner(t, ".", testenv.SignOptions{})
		tldRRs := mustRRs(t, append(zoneBase("test."),
			`child.test. 3600 IN NS ns1.child.test.`,
			`ns1.child.test. 3600 IN A 192.0.2.54`,
			`cn.test. 300 IN CNAME nope.child.test.`,
		)...)
		rootRRs := append(mustRRs(t, zoneBase(".")...), mustRRs(t, `test. 3600 IN NS ns1.test.`)...)
		rootRRs = append(rootRRs, tld.DS())
		child := mustRRs(t, zoneBase("child.test.")...)
		q := &fakeZones{queries: map[uint16]int{}, zones: map[string][]dns.RR{
			".":           root.Sign(rootRRs),
			"test.":       tld.Sign(tldRRs),
			"child.test.": child,
		}}
		cname := mustRRs(t, `cn.test. 300 IN CNAME nope.child.test.`)[0]
		m := new(dns.Msg)
		m.SetQuestion("cn.test.", dns.TypeTXT)
		m.Response, m.Authoritative, m.Rcode = true, true, rcode
		m.Answer = []dns.RR{cname, tld.SignRRset(cname)}
		m.Ns = mustRRs(t, zoneBase("child.test.")[0])
		st, reason := newValidator(t, []dns.RR{root.DS()}).Validate(context.Background(), q, "test.", m)
		if st != dnsclient.Insecure {
			t.Errorf("rcode %s: status %v (%s), want Insecure: the target is in the unsigned child.test.", dns.RcodeToString[rcode], st, reason)
		}
	}
}
