package testenv

import (
	"crypto"
	"encoding/base64"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Values of the DNSSEC material a ZoneSigner makes.
const (
	// signKeyTTL is the TTL of the DNSKEY and NSEC3PARAM records.
	signKeyTTL = 3600
	// signRSABits is the size of RSA test keys: small, so keys generate in
	// milliseconds; tests do not need strength.
	signRSABits = 1024
)

// SignOptions configures a ZoneSigner. The zero value signs with
// ECDSAP256SHA256, an NSEC chain, and signatures valid from an hour ago for
// 30 days.
type SignOptions struct {
	// Algorithm is the DNSSEC algorithm of both keys. If zero,
	// dns.ECDSAP256SHA256. RSASHA1, RSASHA1NSEC3SHA1, RSASHA256,
	// RSASHA512, ECDSAP256SHA256, ECDSAP384SHA384 and ED25519 work.
	Algorithm uint8
	// NSEC3 makes an NSEC3 chain (SHA-1, iterations 0, no salt, RFC 9276)
	// instead of NSEC.
	NSEC3 bool
	// OptOut sets the NSEC3 Opt-Out flag and leaves unsigned delegations
	// out of the chain (RFC 5155 §6). Only with NSEC3.
	OptOut bool
	// Inception and Expiration bound every signature. If zero, one hour
	// before now and 30 days after now.
	Inception, Expiration time.Time
	// BreakSignatureOf names an owner whose RRSIGs are corrupted (one bit
	// of each signature flipped). For NSEC3 records, give the hashed owner.
	BreakSignatureOf string
}

// ZoneSigner holds the keys of one test zone and signs its records.
type ZoneSigner struct {
	// Zone is the zone's canonical name.
	Zone string
	// KSK signs the DNSKEY RRset (flags 257); ZSK signs the rest (256).
	KSK, ZSK *dns.DNSKEY

	t          testing.TB
	opts       SignOptions
	kskPriv    crypto.Signer
	zskPriv    crypto.Signer
	inception  uint32
	expiration uint32
}

// NewZoneSigner generates a KSK and a ZSK for zone. It calls t.Fatal when
// key generation fails.
func NewZoneSigner(t testing.TB, zone string, opts SignOptions) *ZoneSigner {
	t.Helper()
	if opts.Algorithm == 0 {
		opts.Algorithm = dns.ECDSAP256SHA256
	}
	now := time.Now()
	if opts.Inception.IsZero() {
		opts.Inception = now.Add(-time.Hour)
	}
	if opts.Expiration.IsZero() {
		opts.Expiration = now.Add(30 * 24 * time.Hour)
	}
	zone = dnsCanonical(zone)
	s := &ZoneSigner{Zone: zone, t: t, opts: opts,
		inception: uint32(opts.Inception.Unix()), expiration: uint32(opts.Expiration.Unix())}
	s.KSK, s.kskPriv = genKey(t, zone, 257, opts.Algorithm)
	s.ZSK, s.zskPriv = genKey(t, zone, 256, opts.Algorithm)
	return s
}

func genKey(t testing.TB, zone string, flags uint16, alg uint8) (*dns.DNSKEY, crypto.Signer) {
	t.Helper()
	k := &dns.DNSKEY{
		Hdr:       dns.RR_Header{Name: zone, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: signKeyTTL},
		Flags:     flags,
		Protocol:  3,
		Algorithm: alg,
	}
	bits := signRSABits
	switch alg {
	case dns.ECDSAP256SHA256, dns.ED25519:
		bits = 256
	case dns.ECDSAP384SHA384:
		bits = 384
	}
	// miekg/dns refuses to sign with a key whose tag is 0 (about one
	// random key in 65536), so such a key is drawn again.
	var priv crypto.PrivateKey
	for {
		var err error
		priv, err = k.Generate(bits)
		if err != nil {
			t.Fatalf("testenv: generating %s key for %s: %v", dns.AlgorithmToString[alg], zone, err)
		}
		if k.KeyTag() != 0 {
			break
		}
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		t.Fatalf("testenv: %T is not a crypto.Signer", priv)
	}
	return k, signer
}

// DS returns the SHA-256 DS record of the KSK, for the parent zone.
func (s *ZoneSigner) DS() *dns.DS {
	ds := s.KSK.ToDS(dns.SHA256)
	ds.Hdr.Ttl = signKeyTTL
	return ds
}

// SignZone signs a zone's records with fresh keys; see ZoneSigner.Sign.
func SignZone(t testing.TB, zone string, rrs []dns.RR, opts SignOptions) (signed []dns.RR, ksk *dns.DNSKEY, ds *dns.DS) {
	t.Helper()
	s := NewZoneSigner(t, zone, opts)
	return s.Sign(rrs), s.KSK, s.DS()
}

// Sign returns rrs (the zone's records: SOA, NS, data, delegations with
// their DS and glue) with the DNSKEY RRset, the NSEC or NSEC3 chain (with
// NSEC3PARAM) and an RRSIG for every authoritative RRset added: the DNSKEY
// RRset is signed by the KSK, every other RRset by the ZSK. NS RRsets at
// delegation points and glue are not signed (RFC 4035 §2.2). Records in rrs
// outside the zone make Sign call t.Fatal.
func (s *ZoneSigner) Sign(rrs []dns.RR) []dns.RR {
	s.t.Helper()
	z := s.Zone
	out := []dns.RR{dns.Copy(s.KSK), dns.Copy(s.ZSK)}
	for _, rr := range rrs {
		h := rr.Header()
		if !dns.IsSubDomain(z, dnsCanonical(h.Name)) {
			s.t.Fatalf("testenv: sign %s: %s is outside the zone", z, rr)
		}
		switch h.Rrtype {
		case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3, dns.TypeNSEC3PARAM, dns.TypeDNSKEY:
			continue // made here
		}
		out = append(out, dns.Copy(rr))
	}
	minTTL := uint32(zoneSOAMinimum)
	for _, rr := range out {
		if soa, ok := rr.(*dns.SOA); ok {
			minTTL = min(soa.Minttl, soa.Hdr.Ttl)
		}
	}
	if s.opts.NSEC3 {
		out = append(out, &dns.NSEC3PARAM{
			Hdr:  dns.RR_Header{Name: z, Rrtype: dns.TypeNSEC3PARAM, Class: dns.ClassINET, Ttl: 0},
			Hash: dns.SHA1, Flags: 0, Iterations: 0, SaltLength: 0, Salt: "",
		})
	}
	zi := indexZone(z, out)
	if s.opts.NSEC3 {
		out = append(out, s.nsec3Chain(zi, minTTL)...)
	} else {
		out = append(out, nsecChain(zi, minTTL)...)
	}
	zi = indexZone(z, out)
	var sigs []dns.RR
	for _, name := range zi.names {
		if zi.glue(name) {
			continue
		}
		for _, t := range zi.types(name) {
			if zi.isCut(name) && t != dns.TypeDS && t != dns.TypeNSEC {
				continue
			}
			sigs = append(sigs, s.sign(zi.rrset(name, t)))
		}
	}
	for _, n := range zi.nsec3 {
		sigs = append(sigs, s.sign([]dns.RR{n}))
	}
	return append(out, sigs...)
}

// SignRRset returns the RRSIG of set, one RRset as given, by the zone's
// keys as Sign would make it: for tests of forgeries, where whoever runs a
// signed zone signs any record of it, a crafted NSEC included.
func (s *ZoneSigner) SignRRset(set ...dns.RR) dns.RR {
	s.t.Helper()
	return s.sign(set)
}

// sign returns the RRSIG of set: by the KSK for DNSKEY, else by the ZSK.
func (s *ZoneSigner) sign(set []dns.RR) dns.RR {
	s.t.Helper()
	h := set[0].Header()
	key, priv := s.ZSK, s.zskPriv
	if h.Rrtype == dns.TypeDNSKEY {
		key, priv = s.KSK, s.kskPriv
	}
	sig := &dns.RRSIG{
		Hdr:        dns.RR_Header{Ttl: h.Ttl},
		Algorithm:  key.Algorithm,
		Expiration: s.expiration,
		Inception:  s.inception,
		KeyTag:     key.KeyTag(),
		SignerName: s.Zone,
	}
	if err := sig.Sign(priv, set); err != nil {
		s.t.Fatalf("testenv: signing %s %s: %v", h.Name, dns.TypeToString[h.Rrtype], err)
	}
	if s.opts.BreakSignatureOf != "" && dnsCanonical(s.opts.BreakSignatureOf) == dnsCanonical(h.Name) {
		raw, err := base64.StdEncoding.DecodeString(sig.Signature)
		if err != nil {
			s.t.Fatalf("testenv: decoding signature: %v", err)
		}
		raw[len(raw)/2] ^= 0x01
		sig.Signature = base64.StdEncoding.EncodeToString(raw)
	}
	return sig
}

// nsecChain links every authoritative name (delegation points included) in
// canonical order (RFC 4034 §4, §6.1).
func nsecChain(zi *zoneIndex, ttl uint32) []dns.RR {
	var names []string
	for _, n := range zi.names {
		if !zi.glue(n) {
			names = append(names, n)
		}
	}
	var out []dns.RR
	for i, n := range names {
		types := []uint16{dns.TypeNSEC, dns.TypeRRSIG}
		for _, t := range zi.types(n) {
			if zi.isCut(n) && t != dns.TypeNS && t != dns.TypeDS {
				continue
			}
			types = append(types, t)
		}
		out = append(out, &dns.NSEC{
			Hdr:        dns.RR_Header{Name: n, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: ttl},
			NextDomain: names[(i+1)%len(names)],
			TypeBitMap: sortedTypes(types),
		})
	}
	return out
}

// nsec3Chain hashes every authoritative name and empty non-terminal (RFC
// 5155 §7.1), leaving insecure delegations out under opt-out.
func (s *ZoneSigner) nsec3Chain(zi *zoneIndex, ttl uint32) []dns.RR {
	z := zi.zone
	include := map[string][]uint16{}
	for _, n := range zi.names {
		if zi.glue(n) {
			continue
		}
		cut := zi.isCut(n)
		if cut && s.opts.OptOut && zi.rrset(n, dns.TypeDS) == nil {
			continue
		}
		var types []uint16
		signed := false
		for _, t := range zi.types(n) {
			if cut && t != dns.TypeNS && t != dns.TypeDS {
				continue
			}
			types = append(types, t)
			if !cut || t == dns.TypeDS {
				signed = true
			}
		}
		if signed {
			types = append(types, dns.TypeRRSIG)
		}
		include[n] = types
		for a := n; a != z; {
			a = parentOf(a)
			if _, ok := include[a]; !ok {
				include[a] = nil // empty non-terminal unless seen later
			}
		}
	}
	type entry struct {
		hash  string
		types []uint16
	}
	var entries []entry
	for n, types := range include {
		entries = append(entries, entry{hash: dns.HashName(n, dns.SHA1, 0, ""), types: types})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].hash < entries[j].hash })
	flags := uint8(0)
	if s.opts.OptOut {
		flags = 1
	}
	var out []dns.RR
	for i, e := range entries {
		out = append(out, &dns.NSEC3{
			Hdr:        dns.RR_Header{Name: strings.ToLower(e.hash) + "." + z, Rrtype: dns.TypeNSEC3, Class: dns.ClassINET, Ttl: ttl},
			Hash:       dns.SHA1,
			Flags:      flags,
			Iterations: 0,
			SaltLength: 0,
			Salt:       "",
			HashLength: 20,
			NextDomain: entries[(i+1)%len(entries)].hash,
			TypeBitMap: sortedTypes(e.types),
		})
	}
	return out
}

func sortedTypes(types []uint16) []uint16 {
	types = slices.Clone(types)
	slices.Sort(types)
	return slices.Compact(types)
}

func parentOf(name string) string {
	i, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[i:]
}

// zoneIndex is a zone's records by owner and type.
type zoneIndex struct {
	zone string
	// names are the owners, in canonical order, NSEC3 owners excluded.
	names  []string
	byName map[string][]dns.RR
	sigs   map[string][]dns.RR // by owner, RRSIGs
	nsec3  []*dns.NSEC3
	cuts   map[string]bool
}

func indexZone(zone string, rrs []dns.RR) *zoneIndex {
	zi := &zoneIndex{zone: zone, byName: map[string][]dns.RR{}, sigs: map[string][]dns.RR{}, cuts: map[string]bool{}}
	for _, rr := range rrs {
		h := rr.Header()
		name := dnsCanonical(h.Name)
		switch x := rr.(type) {
		case *dns.NSEC3:
			zi.nsec3 = append(zi.nsec3, x)
			continue
		case *dns.RRSIG:
			zi.sigs[name] = append(zi.sigs[name], rr)
			continue
		}
		if h.Rrtype == dns.TypeNS && name != zone {
			zi.cuts[name] = true
		}
		zi.byName[name] = append(zi.byName[name], rr)
	}
	for n := range zi.byName {
		zi.names = append(zi.names, n)
	}
	sort.Slice(zi.names, func(i, j int) bool { return canonicalLess(zi.names[i], zi.names[j]) })
	return zi
}

// canonicalLess orders names as RFC 4034 §6.1 does, for the plain
// (unescaped) names of test zones.
func canonicalLess(a, b string) bool {
	la, lb := dns.SplitDomainName(a), dns.SplitDomainName(b)
	for i, j := len(la)-1, len(lb)-1; i >= 0 && j >= 0; i, j = i-1, j-1 {
		if la[i] != lb[j] {
			return la[i] < lb[j]
		}
	}
	return len(la) < len(lb)
}

// isCut reports whether name is a delegation point.
func (zi *zoneIndex) isCut(name string) bool { return zi.cuts[name] }

// glue reports whether name lies below a delegation point (not
// authoritative).
func (zi *zoneIndex) glue(name string) bool {
	for a := name; a != zi.zone && a != "."; {
		a = parentOf(a)
		if zi.cuts[a] {
			return true
		}
	}
	return false
}

// cutAbove returns the delegation point at or above name, or "".
func (zi *zoneIndex) cutAbove(name string) string {
	found := ""
	for a := name; a != zi.zone && a != "."; a = parentOf(a) {
		if zi.cuts[a] {
			found = a
		}
	}
	return found
}

func (zi *zoneIndex) types(name string) []uint16 {
	var types []uint16
	for _, rr := range zi.byName[name] {
		types = append(types, rr.Header().Rrtype)
	}
	return sortedTypes(types)
}

func (zi *zoneIndex) rrset(name string, t uint16) []dns.RR {
	var set []dns.RR
	for _, rr := range zi.byName[name] {
		if rr.Header().Rrtype == t {
			set = append(set, rr)
		}
	}
	return set
}

// signatures returns the RRSIGs at owner covering t.
func (zi *zoneIndex) signatures(owner string, t uint16) []dns.RR {
	var out []dns.RR
	for _, rr := range zi.sigs[owner] {
		if rr.(*dns.RRSIG).TypeCovered == t {
			out = append(out, rr)
		}
	}
	return out
}

// withSigs returns the RRset of name and type with its signatures, copied.
func (zi *zoneIndex) withSigs(name string, t uint16) []dns.RR {
	var out []dns.RR
	for _, rr := range zi.rrset(name, t) {
		out = append(out, dns.Copy(rr))
	}
	for _, rr := range zi.signatures(name, t) {
		out = append(out, dns.Copy(rr))
	}
	return out
}

// exists reports whether name owns records or is an empty non-terminal.
func (zi *zoneIndex) exists(name string) bool {
	if len(zi.byName[name]) > 0 {
		return true
	}
	for n := range zi.byName {
		if n != name && dns.IsSubDomain(name, n) {
			return true
		}
	}
	return false
}

func (zi *zoneIndex) soa() []dns.RR { return zi.withSigs(zi.zone, dns.TypeSOA) }

// nsecCovering returns, with its signatures, the NSEC whose owner is name
// or whose span covers name.
func (zi *zoneIndex) nsecFor(name string) []dns.RR {
	var best *dns.NSEC
	for _, n := range zi.names {
		for _, rr := range zi.rrset(n, dns.TypeNSEC) {
			x := rr.(*dns.NSEC)
			if n == name {
				return zi.withSigs(n, dns.TypeNSEC)
			}
			next := dnsCanonical(x.NextDomain)
			if canonicalLess(n, name) && (canonicalLess(name, next) || next == zi.zone) {
				best = x
			}
		}
	}
	if best == nil {
		return nil
	}
	return zi.withSigs(dnsCanonical(best.Hdr.Name), dns.TypeNSEC)
}

// nsec3For returns, with its signatures, the NSEC3 that matches or covers
// name.
func (zi *zoneIndex) nsec3For(name string) []dns.RR {
	if len(zi.nsec3) == 0 {
		return nil
	}
	h := dns.HashName(name, dns.SHA1, 0, "")
	hashes := make([]*dns.NSEC3, len(zi.nsec3))
	copy(hashes, zi.nsec3)
	sort.Slice(hashes, func(i, j int) bool { return hashes[i].Hdr.Name < hashes[j].Hdr.Name })
	pick := hashes[len(hashes)-1] // covers hashes before the first
	for _, x := range hashes {
		owner := strings.ToUpper(strings.SplitN(x.Hdr.Name, ".", 2)[0])
		if owner <= h {
			pick = x
		}
	}
	owner := dnsCanonical(pick.Hdr.Name)
	out := []dns.RR{dns.Copy(pick)}
	for _, rr := range zi.signatures(owner, dns.TypeNSEC3) {
		out = append(out, dns.Copy(rr))
	}
	return out
}

// denial returns the NSEC or NSEC3 records for name.
func (zi *zoneIndex) denial(name string) []dns.RR {
	if len(zi.nsec3) > 0 {
		return zi.nsec3For(name)
	}
	return zi.nsecFor(name)
}

// closestEncloser returns the longest existing ancestor of name.
func (zi *zoneIndex) closestEncloser(name string) string {
	for a := name; ; a = parentOf(a) {
		if a == zi.zone || zi.exists(a) {
			return a
		}
	}
}

// SignedAnswer answers a query for qname and qtype from a signed zone's
// records (as Sign returns them) the way an authoritative server does for a
// query with DO=1 (RFC 4035 §3.1): RRSIGs with every authoritative RRset,
// DS from the parent side of a delegation, referrals with the DS or its
// denial, NSEC or NSEC3 proofs for NXDOMAIN, NODATA, empty non-terminals
// and wildcard answers. CNAMEs are not followed. A qname outside the zone
// gets REFUSED.
func SignedAnswer(zone string, rrs []dns.RR, qname string, qtype uint16) *dns.Msg {
	zone, qname = dnsCanonical(zone), dnsCanonical(qname)
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	m.Response = true
	m.SetEdns0(1232, true)
	if !dns.IsSubDomain(zone, qname) {
		m.Rcode = dns.RcodeRefused
		return m
	}
	zi := indexZone(zone, rrs)
	m.Authoritative = true
	if cut := zi.cutAbove(qname); cut != "" && !(cut == qname && qtype == dns.TypeDS) {
		// A referral (RFC 4035 §3.1.4): NS, then DS or proof of none.
		m.Authoritative = false
		m.Ns = append(m.Ns, zi.withSigs(cut, dns.TypeNS)...)
		if ds := zi.withSigs(cut, dns.TypeDS); len(ds) > 0 {
			m.Ns = append(m.Ns, ds...)
		} else if zi.isCut(cut) && len(zi.nsec3) > 0 && len(zi.nsec3Match(cut)) == 0 {
			m.Ns = append(m.Ns, zi.optOutProof(cut)...)
		} else {
			m.Ns = append(m.Ns, zi.denial(cut)...)
		}
		for _, ns := range zi.rrset(cut, dns.TypeNS) {
			m.Extra = append(m.Extra, zi.withSigs(dnsCanonical(ns.(*dns.NS).Ns), dns.TypeA)...)
		}
		return m
	}
	if zi.exists(qname) {
		if set := zi.withSigs(qname, qtype); len(set) > 0 {
			m.Answer = set
			return m
		}
		if qtype != dns.TypeCNAME {
			if set := zi.withSigs(qname, dns.TypeCNAME); len(set) > 0 {
				m.Answer = set
				return m
			}
		}
		// NODATA (RFC 4035 §3.1.3.1), or an empty non-terminal.
		m.Ns = append(m.Ns, zi.soa()...)
		if len(zi.nsec3) > 0 && len(zi.nsec3Match(qname)) == 0 {
			m.Ns = append(m.Ns, zi.optOutProof(qname)...)
		} else {
			m.Ns = append(m.Ns, zi.denial(qname)...)
		}
		return m
	}
	ce := zi.closestEncloser(qname)
	wild := "*." + ce
	if zi.exists(wild) {
		// Wildcard expansion (RFC 4035 §3.1.3.3): the answer plus the proof
		// that qname itself does not exist.
		set := zi.withSigs(wild, qtype)
		if len(set) == 0 && qtype != dns.TypeCNAME {
			set = zi.withSigs(wild, dns.TypeCNAME)
		}
		if len(set) > 0 {
			for _, rr := range set {
				rr.Header().Name = qname
			}
			m.Answer = set
			m.Ns = append(m.Ns, zi.denial(nextCloser(qname, ce))...)
			return m
		}
		m.Ns = append(m.Ns, zi.soa()...)
		m.Ns = appendNew(m.Ns, zi.denial(nextCloser(qname, ce)))
		if len(zi.nsec3) > 0 {
			m.Ns = appendNew(m.Ns, zi.nsec3Match(ce))
		}
		m.Ns = appendNew(m.Ns, zi.denial(wild))
		return m
	}
	// NXDOMAIN (RFC 4035 §3.1.3.2, RFC 5155 §7.2.2).
	m.Rcode = dns.RcodeNameError
	m.Ns = append(m.Ns, zi.soa()...)
	if len(zi.nsec3) > 0 {
		m.Ns = appendNew(m.Ns, zi.nsec3Match(ce))
		m.Ns = appendNew(m.Ns, zi.nsec3For(nextCloser(qname, ce)))
		m.Ns = appendNew(m.Ns, zi.nsec3For(wild))
	} else {
		m.Ns = appendNew(m.Ns, zi.nsecFor(qname))
		m.Ns = appendNew(m.Ns, zi.nsecFor(wild))
	}
	return m
}

// nsec3Match returns the NSEC3 whose hash is name's, with signatures, or nil.
func (zi *zoneIndex) nsec3Match(name string) []dns.RR {
	h := strings.ToLower(dns.HashName(name, dns.SHA1, 0, "")) + "." + zi.zone
	for _, x := range zi.nsec3 {
		if dnsCanonical(x.Hdr.Name) == h {
			return zi.nsec3For(name)
		}
	}
	return nil
}

// optOutProof is the closest provable encloser proof of RFC 5155 §7.2.3
// for a name without an NSEC3 of its own.
func (zi *zoneIndex) optOutProof(name string) []dns.RR {
	var out []dns.RR
	nc := name
	for a := parentOf(name); ; a = parentOf(a) {
		if m := zi.nsec3Match(a); m != nil {
			out = appendNew(out, m)
			break
		}
		if a == zi.zone || a == "." {
			break
		}
		nc = a
	}
	return appendNew(out, zi.nsec3For(nc))
}

// nextCloser returns the ancestor of name one label longer than ce.
func nextCloser(name, ce string) string {
	labels := dns.SplitDomainName(name)
	n := dns.CountLabel(ce) + 1
	return dns.Fqdn(strings.Join(labels[len(labels)-n:], "."))
}

// appendNew appends the records of add not already in out.
func appendNew(out, add []dns.RR) []dns.RR {
	for _, rr := range add {
		if !slices.ContainsFunc(out, func(o dns.RR) bool { return o.String() == rr.String() }) {
			out = append(out, rr)
		}
	}
	return out
}
