package dnsclient_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
)

// signServed signs the records zone z serves (its unsigned records, with
// the DS records of children in extra replacing any DS at the same owner)
// and serves the result on all of z's servers.
func signServed(t testing.TB, z *testenv.Zone, s *testenv.ZoneSigner, extra ...dns.RR) {
	t.Helper()
	replaced := map[string]bool{}
	for _, rr := range extra {
		replaced[strings.ToLower(rr.Header().Name)] = true
	}
	var rrs []dns.RR
	for _, rr := range z.Servers[0].Records(z.Name) {
		if rr.Header().Rrtype == dns.TypeDS && replaced[strings.ToLower(rr.Header().Name)] {
			continue
		}
		rrs = append(rrs, rr)
	}
	signed := s.Sign(append(rrs, extra...))
	for _, srv := range z.Servers {
		srv.SetRecords(z.Name, signed)
	}
}

// newValidatingResolver returns an Iterative resolver of w with a
// validator trusting anchors.
func newValidatingResolver(t testing.TB, w *testenv.World, anchors []dns.RR) *dnsclient.Iterative {
	t.Helper()
	r, err := dnsclient.NewIterative(dnsclient.IterativeConfig{
		RootHints: w.RootHints,
		Timeout:   2 * time.Second,
		Validator: newValidator(t, anchors),
		// The world's servers are on loopback.
		AllowLoopbackServers: true,
	})
	if err != nil {
		t.Fatalf("NewIterative: %v", err)
	}
	return r
}

func TestValidateOnTheWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		leaf  testenv.SignOptions
		qname string
		qtype uint16
		// leafDS changes the DS of example.test. in test.
		leafDS func(ds *dns.DS) *dns.DS
		// after changes the world once it is signed.
		after      func(t *testing.T, w *testenv.World)
		wantStatus dnsclient.DNSSECStatus
		wantReason string
		wantRcode  string
		// wantAnswer, when set, is the data of the answer's records.
		wantAnswer []string
	}{
		{name: "secure TXT", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure, wantRcode: "NOERROR"},
		{name: "secure NXDOMAIN", qname: "nope.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure, wantRcode: "NXDOMAIN"},
		{name: "secure NODATA", qname: "www.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure, wantRcode: "NOERROR"},
		// The root's denial: the closest encloser is the root, whose
		// wildcard is "*." (verification run: taken for a bogus denial).
		{name: "secure NXDOMAIN under a TLD that does not exist", qname: "gone.nxtld.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure, wantRcode: "NXDOMAIN"},
		{name: "secure CNAME into a TLD that does not exist", qname: "cn.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Secure, wantRcode: "NXDOMAIN"},
		{name: "insecure delegation", qname: "_dnsauth.insecure.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Insecure, wantReason: "insecure.test. is not signed", wantRcode: "NOERROR"},
		{name: "unsupported algorithm", leaf: testenv.SignOptions{Algorithm: dns.RSASHA1}, qname: "_dnsauth.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Insecure, wantReason: "example.test. is treated as unsigned", wantRcode: "NOERROR"},
		{name: "expired RRSIG", leaf: testenv.SignOptions{Inception: time.Now().Add(-40 * 24 * time.Hour), Expiration: time.Now().Add(-10 * 24 * time.Hour)},
			qname: "_dnsauth.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonSignatureExpired, wantRcode: "NOERROR"},
		{name: "DS mismatch", leafDS: func(ds *dns.DS) *dns.DS { ds.Digest = strings.Repeat("CD", 32); return ds },
			qname: "_dnsauth.example.test.", qtype: dns.TypeTXT, wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonDSMismatch, wantRcode: "NOERROR"},
		{name: "missing RRSIG", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			after: func(t *testing.T, w *testenv.World) {
				w.Zone("example.test.").Remove("_dnsauth.example.test.", dns.TypeRRSIG)
			},
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonNoRRSIG, wantRcode: "NOERROR"},
		// A record of another class beside the signed answer: the
		// validator checks IN records only, so it must not be answer data
		// (security review).
		{name: "a record of another class beside a signed answer", qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			after: func(t *testing.T, w *testenv.World) {
				w.Zone("example.test.").Add(`_dnsauth.example.test. 300 CH TXT "forged"`)
			},
			wantStatus: dnsclient.Secure, wantRcode: "NOERROR", wantAnswer: []string{"token-1"}},
		{name: "corrupted signature", leaf: testenv.SignOptions{BreakSignatureOf: "_dnsauth.example.test."}, qname: "_dnsauth.example.test.", qtype: dns.TypeTXT,
			wantStatus: dnsclient.Bogus, wantReason: dnsclient.ReasonBadSignature, wantRcode: "NOERROR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := testenv.NewWorld(t)
			tld := w.AddZone("test.", "", 1)
			leaf := w.AddZone("example.test.", "test.", 1)
			w.AddZone("insecure.test.", "test.", 1).Add(`_dnsauth.insecure.test. 300 IN TXT "plain"`)
			leaf.Add(`_dnsauth.example.test. 300 IN TXT "token-1"`, `www.example.test. 300 IN A 192.0.2.1`, `cn.example.test. 300 IN CNAME gone.nxtld.`)

			leafSigner := testenv.NewZoneSigner(t, "example.test.", tc.leaf)
			signServed(t, leaf, leafSigner)
			ds := leafSigner.DS()
			if tc.leafDS != nil {
				ds = tc.leafDS(ds)
			}
			tldSigner := testenv.NewZoneSigner(t, "test.", testenv.SignOptions{})
			signServed(t, tld, tldSigner, ds)
			rootSigner := testenv.NewZoneSigner(t, ".", testenv.SignOptions{})
			signServed(t, w.RootZone, rootSigner, tldSigner.DS())
			if tc.after != nil {
				tc.after(t, w)
			}

			r := newValidatingResolver(t, w, []dns.RR{rootSigner.DS()})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			resp, err := r.Lookup(ctx, tc.qname, tc.qtype)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if resp.Rcode != tc.wantRcode {
				t.Errorf("rcode %s, want %s", resp.Rcode, tc.wantRcode)
			}
			if resp.DNSSEC != tc.wantStatus.String() {
				t.Fatalf("DNSSEC %q (%q), want %q", resp.DNSSEC, resp.DNSSECReason, tc.wantStatus)
			}
			if !strings.HasPrefix(resp.DNSSECReason, tc.wantReason) {
				t.Errorf("reason %q does not start with %q", resp.DNSSECReason, tc.wantReason)
			}
			if tc.wantAnswer != nil {
				var got []string
				for _, rec := range resp.Answer {
					got = append(got, rec.Data)
				}
				if !slices.Equal(got, tc.wantAnswer) {
					t.Errorf("answer %q, want %q", got, tc.wantAnswer)
				}
			}
		})
	}
}

// TestBogusMendedSeenAtOnce: a zone found bogus on DS or DNSKEY answers
// kept from an earlier lookup is judged again on fresh ones, so that the
// operator's fix (the right DS at the parent, a zone signed anew) is seen
// at the next lookup, not after the kept answers' TTL (black-box run: a
// day for a .com DS).
func TestBogusMendedSeenAtOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		reason string
		// broken and mended sign the world: first broken, then fixed.
		broken, mended func(t *testing.T, w *testenv.World, tld, leaf *testenv.ZoneSigner)
	}{
		{
			name:   "a DS that matches no DNSKEY",
			reason: dnsclient.ReasonDSMismatch,
			broken: func(t *testing.T, w *testenv.World, tld, leaf *testenv.ZoneSigner) {
				ds := leaf.DS()
				ds.Digest = strings.Repeat("CD", 32)
				signServed(t, w.Zone("test."), tld, ds)
			},
			mended: func(t *testing.T, w *testenv.World, tld, leaf *testenv.ZoneSigner) {
				signServed(t, w.Zone("test."), tld, leaf.DS())
			},
		},
		{
			name:   "expired signatures",
			reason: dnsclient.ReasonSignatureExpired,
			broken: func(t *testing.T, w *testenv.World, tld, leaf *testenv.ZoneSigner) {
				old := testenv.NewZoneSigner(t, "example.test.", testenv.SignOptions{Inception: time.Now().Add(-40 * 24 * time.Hour), Expiration: time.Now().Add(-10 * 24 * time.Hour)})
				signServed(t, w.Zone("example.test."), old)
				signServed(t, w.Zone("test."), tld, old.DS())
			},
			mended: func(t *testing.T, w *testenv.World, tld, leaf *testenv.ZoneSigner) {
				signServed(t, w.Zone("example.test."), leaf)
				signServed(t, w.Zone("test."), tld, leaf.DS())
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, tld, leaf, lookup := signedLeaf(t, func(w *testenv.World, tld, leaf *testenv.ZoneSigner) { tc.broken(t, w, tld, leaf) })
			if resp := lookup(); resp.DNSSEC != dnsclient.Bogus.String() || !strings.HasPrefix(resp.DNSSECReason, tc.reason) {
				t.Fatalf("broken: %s (%s), want bogus: %s", resp.DNSSEC, resp.DNSSECReason, tc.reason)
			}
			tc.mended(t, w, tld, leaf)
			if resp := lookup(); resp.DNSSEC != dnsclient.Secure.String() {
				t.Fatalf("mended: %s (%s), want secure at once", resp.DNSSEC, resp.DNSSECReason)
			}
		})
	}
}

// TestEmergencyKeyRollSeenAtOnce: a zone validated before, whose keys
// are replaced at once (new keys, new DS at the parent), is secure at the
// next lookup: the keys kept from before fail, and are fetched anew
// (review: it stayed bogus for the hour they are kept).
func TestEmergencyKeyRollSeenAtOnce(t *testing.T) {
	t.Parallel()
	w, tld, _, lookup := signedLeaf(t, nil)
	if resp := lookup(); resp.DNSSEC != dnsclient.Secure.String() {
		t.Fatalf("before: %s (%s), want secure", resp.DNSSEC, resp.DNSSECReason)
	}
	rolled := testenv.NewZoneSigner(t, "example.test.", testenv.SignOptions{})
	signServed(t, w.Zone("example.test."), rolled)
	signServed(t, w.Zone("test."), tld, rolled.DS())
	if resp := lookup(); resp.DNSSEC != dnsclient.Secure.String() {
		t.Fatalf("after the key roll: %s (%s), want secure at once", resp.DNSSEC, resp.DNSSECReason)
	}
}

// signedLeaf returns a world whose zone example.test. (holding a TXT
// record at _dnsauth) is signed under a signed test. and root, changed by
// change (when not nil) once signed; the signers of test. and of the
// leaf; and a lookup of that TXT record through a resolver validating
// from the root.
func signedLeaf(t *testing.T, change func(w *testenv.World, tld, leaf *testenv.ZoneSigner)) (*testenv.World, *testenv.ZoneSigner, *testenv.ZoneSigner, func() *dnsclient.Response) {
	t.Helper()
	w := testenv.NewWorld(t)
	tldZone := w.AddZone("test.", "", 1)
	leafZone := w.AddZone("example.test.", "test.", 1)
	leafZone.Add(`_dnsauth.example.test. 300 IN TXT "token-1"`)
	leaf := testenv.NewZoneSigner(t, "example.test.", testenv.SignOptions{})
	signServed(t, leafZone, leaf)
	tld := testenv.NewZoneSigner(t, "test.", testenv.SignOptions{})
	signServed(t, tldZone, tld, leaf.DS())
	root := testenv.NewZoneSigner(t, ".", testenv.SignOptions{})
	signServed(t, w.RootZone, root, tld.DS())
	if change != nil {
		change(w, tld, leaf)
	}
	r := newValidatingResolver(t, w, []dns.RR{root.DS()})
	return w, tld, leaf, func() *dnsclient.Response {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := r.Lookup(ctx, "_dnsauth.example.test.", dns.TypeTXT)
		if err != nil {
			t.Fatalf("Lookup: %v", err)
		}
		return resp
	}
}
