package testenv_test

import (
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/testenv"
)

func TestSignZone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts testenv.SignOptions
		// wantChain is the type of the denial records.
		wantChain uint16
		// wantBroken is the owner whose signatures must fail.
		wantBroken string
	}{
		{name: "NSEC, ECDSA", wantChain: dns.TypeNSEC},
		{name: "NSEC3, ED25519", opts: testenv.SignOptions{NSEC3: true, Algorithm: dns.ED25519}, wantChain: dns.TypeNSEC3},
		{name: "NSEC3 opt-out, RSASHA256", opts: testenv.SignOptions{NSEC3: true, OptOut: true, Algorithm: dns.RSASHA256}, wantChain: dns.TypeNSEC3},
		{name: "broken signature", opts: testenv.SignOptions{BreakSignatureOf: "www.example."}, wantChain: dns.TypeNSEC, wantBroken: "www.example."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var rrs []dns.RR
			for _, l := range []string{
				"example. 3600 IN SOA ns1.example. hostmaster.example. 1 7200 3600 1209600 300",
				"example. 3600 IN NS ns1.example.",
				"ns1.example. 3600 IN A 192.0.2.53",
				"www.example. 300 IN A 192.0.2.1",
				"child.example. 3600 IN NS ns.child.example.",
				"ns.child.example. 3600 IN A 192.0.2.54",
			} {
				rr, err := dns.NewRR(l)
				if err != nil {
					t.Fatal(err)
				}
				rrs = append(rrs, rr)
			}
			signed, ksk, ds := testenv.SignZone(t, "example.", rrs, tc.opts)
			if ksk.Flags != 257 || ds.KeyTag != ksk.KeyTag() || ds.DigestType != dns.SHA256 {
				t.Fatalf("KSK flags %d, DS %v", ksk.Flags, ds)
			}
			var keys []*dns.DNSKEY
			sets := map[string][]dns.RR{}
			chain := 0
			for _, rr := range signed {
				h := rr.Header()
				switch x := rr.(type) {
				case *dns.DNSKEY:
					keys = append(keys, x)
				case *dns.RRSIG:
					continue
				}
				if h.Rrtype == tc.wantChain {
					chain++
				}
				key := strings.ToLower(h.Name) + "/" + dns.TypeToString[h.Rrtype]
				sets[key] = append(sets[key], rr)
			}
			if chain == 0 {
				t.Fatalf("no %s records", dns.TypeToString[tc.wantChain])
			}
			signedSets := map[string]bool{}
			for _, rr := range signed {
				sig, ok := rr.(*dns.RRSIG)
				if !ok {
					continue
				}
				key := strings.ToLower(sig.Hdr.Name) + "/" + dns.TypeToString[sig.TypeCovered]
				signedSets[key] = true
				var err error = dns.ErrKey
				for _, k := range keys {
					if k.KeyTag() == sig.KeyTag {
						err = sig.Verify(k, sets[key])
					}
				}
				broken := strings.EqualFold(sig.Hdr.Name, tc.wantBroken)
				if (err != nil) != broken {
					t.Errorf("RRSIG of %s: verify error %v, broken %v", key, err, broken)
				}
			}
			for key := range sets {
				glueOrCut := strings.HasPrefix(key, "ns.child.example./") || key == "child.example./NS"
				if signedSets[key] == glueOrCut {
					t.Errorf("%s signed %v; delegation NS and glue must not be, the rest must", key, signedSets[key])
				}
			}
		})
	}
}

func TestSignedAnswer(t *testing.T) {
	t.Parallel()
	var rrs []dns.RR
	for _, l := range []string{
		"example. 3600 IN SOA ns1.example. hostmaster.example. 1 7200 3600 1209600 300",
		"example. 3600 IN NS ns1.example.",
		"www.example. 300 IN A 192.0.2.1",
	} {
		rr, _ := dns.NewRR(l)
		rrs = append(rrs, rr)
	}
	signed, _, _ := testenv.SignZone(t, "example.", rrs, testenv.SignOptions{})
	tests := []struct {
		name      string
		qname     string
		qtype     uint16
		wantRcode int
		wantTypes []uint16 // of the answer and authority sections, in order
	}{
		{name: "positive", qname: "www.example.", qtype: dns.TypeA, wantRcode: dns.RcodeSuccess, wantTypes: []uint16{dns.TypeA, dns.TypeRRSIG}},
		{name: "nodata", qname: "www.example.", qtype: dns.TypeTXT, wantRcode: dns.RcodeSuccess, wantTypes: []uint16{dns.TypeSOA, dns.TypeRRSIG, dns.TypeNSEC, dns.TypeRRSIG}},
		{name: "nxdomain", qname: "zzz.example.", qtype: dns.TypeA, wantRcode: dns.RcodeNameError, wantTypes: []uint16{dns.TypeSOA, dns.TypeRRSIG, dns.TypeNSEC, dns.TypeRRSIG, dns.TypeNSEC, dns.TypeRRSIG}},
		{name: "outside", qname: "other.", qtype: dns.TypeA, wantRcode: dns.RcodeRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := testenv.SignedAnswer("example.", signed, tc.qname, tc.qtype)
			if m.Rcode != tc.wantRcode {
				t.Fatalf("rcode %s, want %s", dns.RcodeToString[m.Rcode], dns.RcodeToString[tc.wantRcode])
			}
			var got []uint16
			for _, rr := range append(m.Answer, m.Ns...) {
				got = append(got, rr.Header().Rrtype)
			}
			if len(got) != len(tc.wantTypes) {
				t.Fatalf("types %v, want %v\n%v", got, tc.wantTypes, m)
			}
			for i := range got {
				if got[i] != tc.wantTypes[i] {
					t.Fatalf("types %v, want %v\n%v", got, tc.wantTypes, m)
				}
			}
		})
	}
}
