package dnsclient

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Bounds of DNSSEC validation. Each one caps the work an answer or a chain
// of zones can make a validator do.
const (
	// maxZoneCuts bounds the zone cuts (DS/DNSKEY pairs) followed from the
	// trust anchor down to a zone. Real names have two to five.
	maxZoneCuts = 16

	// maxChainLabels bounds the names between the trust anchor and a zone
	// that are probed for a zone cut (one DS query each).
	maxChainLabels = 40

	// maxKeysPerSignature bounds the DNSKEYs tried against one RRSIG: only
	// keys whose tag and algorithm match are tried, and key tags rarely
	// collide, so more is an attempt to burn CPU (CVE-2023-50387, KeyTrap).
	maxKeysPerSignature = 8

	// maxSignaturesPerRRset bounds the RRSIGs tried for one RRset, for the
	// same reason.
	maxSignaturesPerRRset = 8

	// maxDNSKEYs bounds a zone's DNSKEY set; a zone in a key rollover has
	// four or five keys.
	maxDNSKEYs = 32

	// maxNSEC3Iterations is the largest NSEC3 iteration count validated.
	// RFC 9276 §3.2: "Validating resolvers MAY return an insecure response
	// to their clients when processing NSEC3 records with iterations larger
	// than 0"; 150 is what BIND and Unbound accept today.
	maxNSEC3Iterations = 150

	// maxTrustCacheTTL caps how long a validated DNSKEY set (or a proven
	// unsigned delegation) is reused, whatever its TTL says, so that a fixed
	// DS or a key rollover is seen within the hour.
	maxTrustCacheTTL = time.Hour

	// maxTrustCacheZones bounds the zones whose trust is cached; the cache
	// is emptied when full.
	maxTrustCacheZones = 4096

	// maxDenialRecords bounds the NSEC and NSEC3 records of one response
	// that are verified and used: a denial needs at most three NSEC3 or two
	// NSEC records, and each NSEC3 costs hashing for every label of the
	// name (CVE-2023-50868).
	maxDenialRecords = 16

	// maxTrustAnchorFileSize bounds a --trust-anchor file; the IANA root
	// anchors take 200 bytes as DS records and 1 KiB as DNSKEYs.
	maxTrustAnchorFileSize = 64 << 10
)

// Bogus reasons. Each starts a sentence that Validate completes with the
// names involved; diagnose matches these starts.
const (
	ReasonSignatureExpired  = "signature expired on "
	ReasonSignatureNotYet   = "signature not yet valid"
	ReasonDSMismatch        = "DS record at the parent "
	ReasonNoRRSIG           = "no RRSIG covering "
	ReasonBadSignature      = "no valid signature by a key of "
	ReasonDenialNotCovering = "NSEC/NSEC3 proof of non-existence does not cover "
	ReasonDNSKEYNotSigned   = "DNSKEY set of "
	ReasonParentDenies      = "the parent zone proves that there is no zone "
	// ReasonAnchorMismatch: the DNSKEY set of a zone with a trust anchor
	// (the root) matches no anchor: the validator's configuration fails,
	// whatever the name looked up.
	ReasonAnchorMismatch = "trust anchor mismatch at "
	// ReasonNoDNSKEY: the parent has a DS record for the zone, which
	// publishes no DNSKEY at all: an unsigned zone whose DS was left (or
	// put) at the registrar.
	ReasonNoDNSKEY = "no DNSKEY in "
	// ReasonUnverifiable: a trust anchor covers the zone, but the DS or
	// DNSKEY records that would prove or disprove the answer could not be
	// obtained (servers that refuse or time out on them, a zone cut that
	// cannot be followed, the deadline). RFC 4033 §5 counts an answer whose
	// chain of trust is missing data as bogus: otherwise whoever can drop
	// those queries could pass off a forged answer as unsigned.
	ReasonUnverifiable = "unverifiable: "
)

// reasonNoAnchor starts the reason of the one Indeterminate status that
// stands: no trust anchor covers the zone.
const reasonNoAnchor = "no trust anchor covers "

// rootAnchors are the IANA root zone trust anchors as DS records
// (https://data.iana.org/root-anchors/): KSK-2017 and KSK-2024.
const rootAnchors = `
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
`

// RootTrustAnchors returns the built-in IANA root trust anchors (KSK-2017,
// key tag 20326, and KSK-2024, key tag 38696) as DS records.
func RootTrustAnchors() []dns.RR {
	rrs, err := ParseTrustAnchors(strings.NewReader(rootAnchors))
	if err != nil {
		panic("dnsclient: built-in root anchors: " + err.Error())
	}
	return rrs
}

// ParseTrustAnchors reads trust anchors for --trust-anchor: DS or DNSKEY
// records in RFC 1035 presentation format with absolute owner names, one per
// line; comments (;) and blank lines are allowed. It returns an error for any
// other record type, a DNSKEY without the Zone Key flag, an unparsable line,
// an empty file, or more than 64 KiB of input.
func ParseTrustAnchors(r io.Reader) ([]dns.RR, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxTrustAnchorFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading trust anchors: %w", err)
	}
	if len(data) > maxTrustAnchorFileSize {
		return nil, fmt.Errorf("reading trust anchors: more than %d bytes", maxTrustAnchorFileSize)
	}
	var out []dns.RR
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 0, 4096), maxTrustAnchorFileSize)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, ";") {
			continue
		}
		rr, err := dns.NewRR(text)
		if err != nil {
			return nil, fmt.Errorf("trust anchors line %d: %w", line, err)
		}
		if rr == nil {
			return nil, fmt.Errorf("trust anchors line %d: not a DS or DNSKEY record", line)
		}
		switch a := rr.(type) {
		case *dns.DS:
		case *dns.DNSKEY:
			if a.Flags&dns.ZONE == 0 {
				return nil, fmt.Errorf("trust anchors line %d: DNSKEY without the zone key flag", line)
			}
		default:
			return nil, fmt.Errorf("trust anchors line %d: %s record, only DS and DNSKEY are trust anchors", line, dns.TypeToString[rr.Header().Rrtype])
		}
		rr.Header().Name = canonicalName(rr.Header().Name)
		out = append(out, rr)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading trust anchors: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("trust anchors: no DS or DNSKEY record found")
	}
	return out, nil
}

// DNSSECConfig configures a DNSSECValidator. The zero value validates from
// the built-in IANA root anchors with the wall clock.
type DNSSECConfig struct {
	// Anchors are DS or DNSKEY records of the root or of any zone. A zone
	// is validated from the deepest anchor above it (or at it); a zone no
	// anchor covers is Indeterminate. If nil, RootTrustAnchors().
	Anchors []dns.RR
	// Now is the clock signature validity periods are checked against. If
	// nil, time.Now.
	Now func() time.Time
}

// DNSSECValidator validates DNS answers from a trust anchor (RFC 4033,
// RFC 4034, RFC 4035, RFC 5155). It fetches DNSKEY and DS records through the
// Querier given to Validate and caches validated DNSKEY sets per zone until
// their TTL or signature expiry (at most an hour). It is safe for concurrent
// use.
//
// Algorithms (RFC 8624 "MUST validate", less SHA-1): RSASHA256 (8),
// RSASHA512 (10), ECDSAP256SHA256 (13), ECDSAP384SHA384 (14) and ED25519
// (15). A zone whose DS records name only other algorithms, RSASHA1 (5) and
// RSASHA1-NSEC3-SHA1 (7) included since SHA-1 signatures can be forged, is
// treated as unsigned (Insecure), as RFC 4035 §5.2 prescribes for
// unsupported algorithms. DS digests SHA-256 (2) and SHA-384 (4) are used;
// SHA-1 (1) only when a zone has no other (RFC 4509 §3).
type DNSSECValidator struct {
	anchors map[string][]dns.RR // by canonical owner
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]*zoneTrust
}

var _ Validating = (*DNSSECValidator)(nil)

// zoneTrust is the validated state of one point of the chain of trust.
type zoneTrust struct {
	// zone is the zone's canonical name.
	zone string
	// keys are the zone's validated DNSKEYs (zone keys of supported
	// algorithms); nil when insecure.
	keys []*dns.DNSKEY
	// insecure is the reason the zone is unsigned, or "".
	insecure string
	expires  time.Time
}

// NewDNSSECValidator returns a validator for cfg. It returns an error when an
// anchor is neither DS nor DNSKEY, or no anchor uses a supported algorithm
// and digest (such anchors would silently turn validation off).
func NewDNSSECValidator(cfg DNSSECConfig) (*DNSSECValidator, error) {
	anchors := cfg.Anchors
	if anchors == nil {
		anchors = RootTrustAnchors()
	}
	v := &DNSSECValidator{
		anchors: map[string][]dns.RR{},
		now:     cfg.Now,
		cache:   map[string]*zoneTrust{},
	}
	if v.now == nil {
		v.now = time.Now
	}
	usable := 0
	for _, rr := range anchors {
		switch a := rr.(type) {
		case *dns.DS:
			if supportedAlgorithm(a.Algorithm) && supportedDigest(a.DigestType) {
				usable++
			}
		case *dns.DNSKEY:
			if supportedAlgorithm(a.Algorithm) && a.Flags&dns.ZONE != 0 {
				usable++
			}
		default:
			return nil, fmt.Errorf("dnsclient: trust anchor %q is neither DS nor DNSKEY", rr.String())
		}
		name := canonicalName(rr.Header().Name)
		v.anchors[name] = append(v.anchors[name], rr)
	}
	if usable == 0 {
		return nil, errors.New("dnsclient: no trust anchor uses a supported algorithm and digest")
	}
	return v, nil
}

// Validate validates msg, an answer given by the authoritative servers of
// zone, and returns its status with a reason in plain words:
//
//   - Secure: every RRset of the answer section is signed by a key of its
//     zone, reached from a trust anchor through signed DS and DNSKEY sets;
//     for NXDOMAIN and NODATA, the NSEC (RFC 4035 §5.4) or NSEC3 (RFC 5155
//     §8) records prove the absence; for a wildcard answer, they prove that
//     the name itself does not exist.
//   - Insecure: a signed proof shows the zone is not signed (no DS at a
//     parent, only unsupported algorithms, an NSEC3 opt-out span, or NSEC3
//     iterations above 150). The reason says where the chain ends.
//   - Bogus: a chain of trust exists but the answer fails it; the reason
//     starts with one of the Reason constants.
//   - Indeterminate: no anchor covers zone. Callers MUST NOT treat it as
//     Insecure. When an anchor covers zone but the DS or DNSKEY records
//     could not be obtained (or ctx ended), the status is Bogus with
//     ReasonUnverifiable: a chain of trust missing data is no chain.
//
// DNSKEY and DS records are fetched with q; each zone cut is found by asking
// the parent's servers for a DS record at each name between the anchor and
// zone.
func (v *DNSSECValidator) Validate(ctx context.Context, q Querier, zone string, msg *dns.Msg) (DNSSECStatus, string) {
	st, reason := v.validate(ctx, q, zone, msg)
	if st == Indeterminate && !strings.HasPrefix(reason, reasonNoAnchor) {
		return Bogus, ReasonUnverifiable + reason
	}
	return st, reason
}

func (v *DNSSECValidator) validate(ctx context.Context, q Querier, zone string, msg *dns.Msg) (DNSSECStatus, string) {
	if msg == nil {
		return Indeterminate, "no answer to validate"
	}
	zone = canonicalName(zone)
	tr, st, reason := v.trustFor(ctx, q, zone)
	if st != Secure {
		return st, reason
	}
	if len(msg.Question) != 1 {
		return Indeterminate, "the answer has no question"
	}
	if msg.Rcode != dns.RcodeSuccess && msg.Rcode != dns.RcodeNameError {
		return Indeterminate, "a " + rcodeString(msg.Rcode) + " answer carries nothing to validate"
	}
	c := &msgCheck{v: v, ctx: ctx, q: q, zone: tr.zone, msg: msg}
	return c.run()
}

// trustFor returns the trust state of the zone that contains zone's apex:
// the validated keys of zone itself, or of its closest enclosing zone when
// zone is not a zone cut, or the reason it is insecure.
func (v *DNSSECValidator) trustFor(ctx context.Context, q Querier, zone string) (*zoneTrust, DNSSECStatus, string) {
	anchorZone := ""
	for name := range v.anchors {
		if dns.IsSubDomain(name, zone) && len(name) > len(anchorZone) {
			anchorZone = name
		}
	}
	if anchorZone == "" {
		return nil, Indeterminate, reasonNoAnchor + zone
	}
	// The path from zone up to the anchor's zone, zone first.
	var path []string
	for name := zone; ; name = parentName(name) {
		path = append(path, name)
		if name == anchorZone {
			break
		}
		if len(path) > maxChainLabels {
			return nil, Indeterminate, fmt.Sprintf("%s lies more than %d labels below its trust anchor", zone, maxChainLabels)
		}
	}
	now := v.now()
	var cur *zoneTrust
	start := len(path) - 1
	for i, name := range path {
		if tr := v.cached(name, now); tr != nil {
			cur, start = tr, i
			break
		}
	}
	if cur == nil {
		var st DNSSECStatus
		var reason string
		cur, st, reason = v.anchorTrust(ctx, q, anchorZone)
		if st != Secure && st != Insecure {
			return nil, st, reason
		}
		v.store(cur)
	}
	cuts := 0
	for i := start - 1; i >= 0 && cur.insecure == ""; i-- {
		if err := ctx.Err(); err != nil {
			return nil, Indeterminate, "validation stopped: " + err.Error()
		}
		child := path[i]
		next, st, reason := v.childTrust(ctx, q, cur, child)
		switch st {
		case Secure, Insecure:
		default:
			return nil, st, reason
		}
		if next == nil {
			continue // not a zone cut: child lies in cur's zone
		}
		if cuts++; cuts > maxZoneCuts {
			return nil, Indeterminate, fmt.Sprintf("more than %d zone cuts between the trust anchor and %s", maxZoneCuts, zone)
		}
		v.store(next)
		cur = next
	}
	if cur.insecure != "" {
		return cur, Insecure, cur.insecure
	}
	return cur, Secure, ""
}

func (v *DNSSECValidator) cached(zone string, now time.Time) *zoneTrust {
	v.mu.Lock()
	defer v.mu.Unlock()
	tr := v.cache[zone]
	if tr == nil || !now.Before(tr.expires) {
		return nil
	}
	return tr
}

// Forget drops the validated trust of zone and of the zones above it but
// the anchor's, and reports whether there was any: keys that failed may
// have been replaced since (an emergency key roll with a new DS), and are
// fetched and checked anew at the next validation.
func (v *DNSSECValidator) Forget(zone string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	dropped := false
	for name := strings.ToLower(dns.Fqdn(zone)); ; name = parentName(name) {
		if _, anchor := v.anchors[name]; anchor {
			break
		}
		if _, ok := v.cache[name]; ok {
			delete(v.cache, name)
			dropped = true
		}
		if name == "." {
			break
		}
	}
	return dropped
}

func (v *DNSSECValidator) store(tr *zoneTrust) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.cache) >= maxTrustCacheZones {
		clear(v.cache)
	}
	v.cache[tr.zone] = tr
}

// anchorTrust validates the DNSKEY set of the anchor's zone with the anchor.
func (v *DNSSECValidator) anchorTrust(ctx context.Context, q Querier, zone string) (*zoneTrust, DNSSECStatus, string) {
	var ds []*dns.DS
	var keys []*dns.DNSKEY
	for _, rr := range v.anchors[zone] {
		switch a := rr.(type) {
		case *dns.DS:
			ds = append(ds, a)
		case *dns.DNSKEY:
			if supportedAlgorithm(a.Algorithm) {
				keys = append(keys, a)
			}
		}
	}
	ds = usableDS(ds)
	if len(ds) == 0 && len(keys) == 0 {
		tr := &zoneTrust{zone: zone, insecure: "the trust anchor of " + zone + " uses only algorithms this validator does not support", expires: v.now().Add(maxTrustCacheTTL)}
		return tr, Insecure, tr.insecure
	}
	return v.fetchKeys(ctx, q, zone, ds, keys, true, v.now().Add(maxTrustCacheTTL))
}

// childTrust asks the servers of parent.zone for the DS RRset of child
// (RFC 4035 §5.2). It returns (nil, Secure) when child is not a zone cut,
// the child's trust when it is one (Insecure when a signed proof shows no
// DS), or a Bogus or Indeterminate status.
func (v *DNSSECValidator) childTrust(ctx context.Context, q Querier, parent *zoneTrust, child string) (*zoneTrust, DNSSECStatus, string) {
	msg, err := q.QueryZone(ctx, parent.zone, child, dns.TypeDS)
	if err != nil {
		return nil, Indeterminate, fmt.Sprintf("could not get the DS record of %s from the servers of %s: %v", child, parent.zone, err)
	}
	if msg == nil || (msg.Rcode != dns.RcodeSuccess && msg.Rcode != dns.RcodeNameError) {
		rc := "no"
		if msg != nil {
			rc = "a " + rcodeString(msg.Rcode)
		}
		return nil, Indeterminate, fmt.Sprintf("the servers of %s gave %s answer to the DS query for %s", parent.zone, rc, child)
	}
	c := &msgCheck{v: v, ctx: ctx, q: q, zone: parent.zone, msg: msg, onlySigner: parent}
	sets := groupRRsets(msg.Answer)
	dsSet := sets.find(child, dns.TypeDS)
	if dsSet == nil {
		// A server that does not answer DS at the parent side may send
		// a referral with the DS RRset in the authority section.
		dsSet = groupRRsets(msg.Ns).find(child, dns.TypeDS)
	}
	now := v.now()
	if dsSet != nil {
		st, reason, _ := c.verify(dsSet)
		if st != Secure {
			return nil, st, reason
		}
		var ds []*dns.DS
		for _, rr := range dsSet.rrs {
			ds = append(ds, rr.(*dns.DS))
		}
		expires := earliest(parent.expires, now.Add(ttlOf(dsSet)), sigExpiry(dsSet.sigs, now))
		usable := usableDS(ds)
		if len(usable) == 0 {
			tr := &zoneTrust{zone: child, expires: expires, insecure: fmt.Sprintf(
				"%s is treated as unsigned: its DS records use only algorithms or digests this validator does not support (%s; RFC 4035 §5.2)", child, dsAlgorithms(ds))}
			return tr, Insecure, tr.insecure
		}
		return v.fetchKeys(ctx, q, child, usable, nil, false, expires)
	}
	// No DS: a signed denial must show either that child is not a zone cut
	// or that it is an unsigned delegation.
	st, reason := c.verifyAuthority(child)
	if st != Secure {
		return nil, st, reason
	}
	expires := earliest(parent.expires, now.Add(c.denialTTL()))
	if msg.Rcode == dns.RcodeNameError {
		return nil, Bogus, fmt.Sprintf("%s%s according to the servers of %s, yet its servers answered for it", ReasonParentDenies, child, parent.zone)
	}
	switch d := c.denyDS(child); d {
	case denyNotCut:
		return nil, Secure, ""
	case denyUnsigned, denyOptOut:
		how := "its parent " + parent.zone + " proves that it has no DS record"
		if d == denyOptOut {
			how = "it lies in an NSEC3 opt-out span of its parent " + parent.zone + ", which has no DS record for it"
		}
		tr := &zoneTrust{zone: child, expires: expires, insecure: child + " is not signed: " + how}
		return tr, Insecure, tr.insecure
	case denyTooCostly:
		tr := &zoneTrust{zone: child, expires: expires, insecure: c.insecureReason}
		return tr, Insecure, tr.insecure
	default:
		return nil, Bogus, ReasonDenialNotCovering + child + " DS"
	}
}

// fetchKeys fetches zone's DNSKEY set and validates it with the DS records
// of its parent (or DS anchors) and DNSKEY anchors (RFC 4035 §5.2).
// anchored is set when ds and anchorKeys are the validator's trust
// anchors for zone, not records of its parent.
func (v *DNSSECValidator) fetchKeys(ctx context.Context, q Querier, zone string, ds []*dns.DS, anchorKeys []*dns.DNSKEY, anchored bool, expires time.Time) (*zoneTrust, DNSSECStatus, string) {
	msg, err := q.QueryZone(ctx, zone, zone, dns.TypeDNSKEY)
	if err != nil {
		return nil, Indeterminate, fmt.Sprintf("could not get the DNSKEY records of %s: %v", zone, err)
	}
	if msg == nil || msg.Rcode != dns.RcodeSuccess {
		rc := "no"
		if msg != nil {
			rc = "a " + rcodeString(msg.Rcode)
		}
		return nil, Indeterminate, fmt.Sprintf("the servers of %s gave %s answer to the DNSKEY query", zone, rc)
	}
	set := groupRRsets(msg.Answer).find(zone, dns.TypeDNSKEY)
	var keys []*dns.DNSKEY
	if set != nil {
		if len(set.rrs) > maxDNSKEYs {
			return nil, Bogus, fmt.Sprintf("%s%s has %d keys, more than the %d a validator accepts", ReasonDNSKEYNotSigned, zone, len(set.rrs), maxDNSKEYs)
		}
		for _, rr := range set.rrs {
			keys = append(keys, rr.(*dns.DNSKEY))
		}
	}
	// The keys the parent vouches for.
	var trusted []*dns.DNSKEY
	for _, k := range keys {
		if k.Flags&dns.ZONE == 0 || k.Protocol != 3 || k.Flags&dns.REVOKE != 0 {
			continue
		}
		for _, d := range ds {
			if dsMatches(d, k) {
				trusted = append(trusted, k)
				break
			}
		}
		for _, a := range anchorKeys {
			if a.Algorithm == k.Algorithm && a.Protocol == k.Protocol && a.PublicKey == k.PublicKey {
				trusted = append(trusted, k)
				break
			}
		}
	}
	if len(trusted) == 0 && anchored {
		// None of the zone's keys is the validator's own anchor, or the
		// zone has none (a private root that is not signed, given a
		// trust anchor): dcv's configuration (its --trust-anchor, or the
		// built-in IANA one after a root key rollover) fails, not the
		// zone, whatever the name looked up.
		if len(keys) == 0 {
			return nil, Bogus, fmt.Sprintf("%s%s: the zone publishes no DNSKEY record (it is not signed), so no trust anchor for it can match", ReasonAnchorMismatch, zone)
		}
		return nil, Bogus, fmt.Sprintf("%s%s: the trust anchor matches none of its DNSKEY records", ReasonAnchorMismatch, zone)
	}
	if len(trusted) == 0 {
		if len(ds) > 0 && len(keys) == 0 {
			return nil, Bogus, fmt.Sprintf("%s%s: the zone is not signed, but its parent has a DS record for it (key tag %d, algorithm %d)", ReasonNoDNSKEY, zone, ds[0].KeyTag, ds[0].Algorithm)
		}
		if len(ds) > 0 {
			return nil, Bogus, fmt.Sprintf("%s(key tag %d, algorithm %d) matches no DNSKEY in %s", ReasonDSMismatch, ds[0].KeyTag, ds[0].Algorithm, zone)
		}
		return nil, Bogus, fmt.Sprintf("%s%s is not signed by a key matching its DS: the trust anchor matches none of its keys", ReasonDNSKEYNotSigned, zone)
	}
	if set == nil || len(set.sigs) == 0 {
		return nil, Bogus, fmt.Sprintf("%s%s is not signed by a key matching its DS: no RRSIG covers %s DNSKEY", ReasonDNSKEYNotSigned, zone, zone)
	}
	now := v.now()
	var timeReason string
	for i, sig := range set.sigs {
		if i >= maxSignaturesPerRRset {
			break
		}
		if canonicalName(sig.SignerName) != zone || !supportedAlgorithm(sig.Algorithm) {
			continue
		}
		tried := 0
		for _, k := range trusted {
			if k.KeyTag() != sig.KeyTag || k.Algorithm != sig.Algorithm {
				continue
			}
			if tried++; tried > maxKeysPerSignature {
				break
			}
			if r := timeCheck(sig, now, zone+" DNSKEY"); r != "" {
				timeReason = r
				continue
			}
			if sig.Verify(k, set.rrs) != nil {
				continue
			}
			tr := &zoneTrust{zone: zone, expires: earliest(expires, now.Add(ttlOf(set)), sigExpiry([]*dns.RRSIG{sig}, now))}
			for _, key := range keys {
				if key.Flags&dns.ZONE != 0 && key.Flags&dns.REVOKE == 0 && key.Protocol == 3 && supportedAlgorithm(key.Algorithm) {
					tr.keys = append(tr.keys, key)
				}
			}
			return tr, Secure, ""
		}
	}
	if timeReason != "" {
		return nil, Bogus, timeReason
	}
	return nil, Bogus, fmt.Sprintf("%s%s is not signed by a key matching its DS", ReasonDNSKEYNotSigned, zone)
}

// msgCheck validates one response of one zone.
type msgCheck struct {
	v    *DNSSECValidator
	ctx  context.Context
	q    Querier
	zone string
	msg  *dns.Msg
	// onlySigner, when set, is the only zone whose signatures count (DS
	// answers must come from the parent).
	onlySigner *zoneTrust

	// Denial records that verified, by kind.
	nsecs  []*dns.NSEC
	nsec3s []*dns.NSEC3
	// minTTL is the smallest TTL of the verified authority RRsets.
	minTTL uint32
	// insecureReason is set when the zone's own NSEC3 records use too
	// many iterations to be checked.
	insecureReason string
	// hashes memoizes NSEC3 hashes by name and parameters.
	hashes map[string]string
}

func (c *msgCheck) run() (DNSSECStatus, string) {
	q := c.msg.Question[0]
	qname := canonicalName(q.Name)
	answer := groupRRsets(c.msg.Answer)
	status, insecure := Secure, ""
	type wildcardUse struct{ owner, closest string }
	var wildcards []wildcardUse

	// DNAME first: a CNAME synthesized from a verified DNAME needs no
	// signature of its own (RFC 6672 §5.3.1).
	dnames := map[string]*dns.DNAME{}
	for _, set := range answer.sets {
		if set.rrtype != dns.TypeDNAME {
			continue
		}
		st, reason, _ := c.verify(set)
		if st == Bogus || st == Indeterminate {
			return st, reason
		}
		if st == Insecure {
			status, insecure = Insecure, reason
		}
		dnames[set.name] = set.rrs[0].(*dns.DNAME)
	}
	for _, set := range answer.sets {
		if set.rrtype == dns.TypeDNAME || (set.rrtype == dns.TypeCNAME && len(set.sigs) == 0 && synthesized(set, dnames)) {
			continue
		}
		st, reason, sig := c.verify(set)
		if st == Bogus || st == Indeterminate {
			return st, reason
		}
		if st == Insecure {
			status, insecure = Insecure, reason
			continue
		}
		if sig != nil && int(sig.Labels) < dns.CountLabel(set.name) {
			wildcards = append(wildcards, wildcardUse{owner: set.name, closest: lastLabels(set.name, int(sig.Labels))})
		}
	}

	// The end of the CNAME chain is what the rest of the answer is about.
	sname := qname
	for range maxCNAMEChain {
		if q.Qtype == dns.TypeCNAME {
			break
		}
		set := answer.find(sname, dns.TypeCNAME)
		if set == nil {
			break
		}
		sname = canonicalName(set.rrs[0].(*dns.CNAME).Target)
	}
	final := answer.find(sname, q.Qtype) != nil
	referral := !final && c.msg.Rcode == dns.RcodeSuccess && len(c.msg.Answer) == 0 && c.isReferral()

	// A chain that leaves the zone ends here; its target is another
	// lookup, validated on its own.
	leaves := sname != qname && !dns.IsSubDomain(c.zone, sname)
	if (final || leaves) && len(wildcards) == 0 {
		if status == Insecure {
			return Insecure, insecure
		}
		return Secure, ""
	}
	if st, reason := c.verifyAuthority(sname); st != Secure {
		return st, reason
	}
	for _, w := range wildcards {
		// RFC 4035 §5.3.4 and RFC 5155 §8.8: a wildcard answer needs the
		// proof that the name itself does not exist.
		if !c.proveWildcardAnswer(w.owner, w.closest) {
			return Bogus, ReasonDenialNotCovering + w.owner + " (the answer was expanded from a wildcard without proof that the name does not exist)"
		}
	}
	if c.insecureReason != "" {
		return Insecure, c.insecureReason
	}
	if final || leaves {
		if status == Insecure {
			return Insecure, insecure
		}
		return Secure, ""
	}
	var d denial
	switch {
	case referral:
		child := c.referralName()
		if set := groupRRsets(c.msg.Ns).find(child, dns.TypeDS); set != nil {
			return Secure, "" // verified with the authority section
		}
		d = c.denyDS(child)
		if d == denyUnsigned {
			return Insecure, child + " is not signed: its parent " + c.zone + " proves that it has no DS record"
		}
		sname = child
	case c.msg.Rcode == dns.RcodeNameError:
		d = c.denyName(sname)
	default:
		d = c.denyType(sname, q.Qtype)
	}
	switch d {
	case denyProven:
		if status == Insecure {
			return Insecure, insecure
		}
		return Secure, ""
	case denyOptOut:
		return Insecure, sname + " lies in an NSEC3 opt-out span of " + c.zone + ", so its absence is not signed"
	case denyTooCostly:
		return Insecure, c.insecureReason
	}
	return Bogus, ReasonDenialNotCovering + sname + " " + typeString(q.Qtype)
}

// verify checks set's signatures: Secure with the signature that verified,
// Insecure when the signer's zone is unsigned, Bogus with the reason.
func (c *msgCheck) verify(set *rrset) (DNSSECStatus, string, *dns.RRSIG) {
	what := set.name + " " + typeString(set.rrtype)
	if len(set.sigs) == 0 {
		// Unsigned data is fine where the chain of trust proves the
		// name's zone unsigned (a server answering for a parent and an
		// unsigned child, for one).
		if c.onlySigner == nil {
			if _, st, reason := c.v.trustFor(c.ctx, c.q, set.name); st == Insecure {
				return Insecure, reason, nil
			}
		}
		return Bogus, ReasonNoRRSIG + what, nil
	}
	now := c.v.now()
	var timeReason string
	keyZone := c.zone
	for i, sig := range set.sigs {
		if i >= maxSignaturesPerRRset {
			break
		}
		signer := canonicalName(sig.SignerName)
		// RFC 4035 §5.3.1: "The RRSIG RR's Signer's Name field MUST be the
		// name of the zone that contains the RRset."
		if !dns.IsSubDomain(signer, set.name) || !supportedAlgorithm(sig.Algorithm) {
			continue
		}
		var tr *zoneTrust
		if c.onlySigner != nil {
			tr = c.onlySigner
		} else {
			var st DNSSECStatus
			var reason string
			tr, st, reason = c.v.trustFor(c.ctx, c.q, signer)
			if st != Secure {
				return st, reason, nil
			}
		}
		if tr.zone != signer {
			continue
		}
		keyZone = signer
		if r := timeCheck(sig, now, what); r != "" {
			timeReason = r
			continue
		}
		tried := 0
		for _, k := range tr.keys {
			if k.KeyTag() != sig.KeyTag || k.Algorithm != sig.Algorithm {
				continue
			}
			if tried++; tried > maxKeysPerSignature {
				break
			}
			if sig.Verify(k, set.rrs) == nil {
				return Secure, "", sig
			}
		}
	}
	if timeReason != "" {
		return Bogus, timeReason, nil
	}
	return Bogus, ReasonBadSignature + keyZone + " for " + what, nil
}

// verifyAuthority verifies the NSEC, NSEC3 and SOA RRsets of the authority
// section of an answer about sname and keeps the denial records.
//
// Only records of the zone being answered, signed by that zone, prove
// anything (RFC 4035 §5.4). A set owned outside it, or signed by another
// zone, is ignored: another signed zone's NSEC (anyone can sign their own)
// would otherwise deny names of this one, and an unsigned set of some
// unsigned zone would turn a forged denial from this signed zone into an
// insecure answer, which callers take like any unsigned one. An unsigned
// set of a zone proven unsigned that holds sname itself (a CNAME into an
// unsigned child the same servers serve, whose SOA comes with the denial)
// makes the answer insecure: sname lies where nothing is signed.
func (c *msgCheck) verifyAuthority(sname string) (DNSSECStatus, string) {
	auth := groupRRsets(c.msg.Ns)
	denials := 0
	for _, set := range auth.sets {
		switch set.rrtype {
		case dns.TypeNSEC, dns.TypeNSEC3, dns.TypeSOA, dns.TypeDS:
		default:
			continue
		}
		if !dns.IsSubDomain(c.zone, set.name) {
			continue
		}
		if set.rrtype == dns.TypeNSEC || set.rrtype == dns.TypeNSEC3 {
			if denials++; denials > maxDenialRecords {
				continue
			}
		}
		st, reason, sig := c.verify(set)
		switch st {
		case Secure:
			if canonicalName(sig.SignerName) != c.zone {
				continue // a signed zone below this one: not its proof
			}
		case Insecure:
			if dns.IsSubDomain(set.name, sname) {
				c.insecureReason = reason // sname's own unsigned zone
			}
			continue // below an unsigned delegation: not this zone's proof
		default:
			return st, reason
		}
		if c.minTTL == 0 || set.rrs[0].Header().Ttl < c.minTTL {
			c.minTTL = set.rrs[0].Header().Ttl
		}
		for _, rr := range set.rrs {
			if len(c.nsecs)+len(c.nsec3s) >= maxDenialRecords {
				break
			}
			switch x := rr.(type) {
			case *dns.NSEC:
				c.nsecs = append(c.nsecs, x)
			case *dns.NSEC3:
				// RFC 5155 §8.2: ignore unknown hash algorithms and flags.
				if x.Hash != dns.SHA1 || x.Flags&^1 != 0 {
					continue
				}
				if x.Iterations > maxNSEC3Iterations {
					c.insecureReason = fmt.Sprintf("%s uses %d NSEC3 iterations, more than %d, so its denials are treated as unsigned (RFC 9276 §3.2)", c.zone, x.Iterations, maxNSEC3Iterations)
					continue
				}
				c.nsec3s = append(c.nsec3s, x)
			}
		}
	}
	return Secure, ""
}

func (c *msgCheck) denialTTL() time.Duration {
	return time.Duration(c.minTTL) * time.Second
}

func (c *msgCheck) isReferral() bool {
	return c.referralName() != ""
}

// referralName returns the owner of the NS RRset of a referral's authority
// section, a name below the zone, or "".
func (c *msgCheck) referralName() string {
	hasSOA := false
	name := ""
	for _, rr := range c.msg.Ns {
		h := rr.Header()
		switch h.Rrtype {
		case dns.TypeSOA:
			hasSOA = true
		case dns.TypeNS:
			n := canonicalName(h.Name)
			if n != c.zone && dns.IsSubDomain(c.zone, n) {
				name = n
			}
		}
	}
	if hasSOA {
		return ""
	}
	return name
}

// denial is the outcome of a proof of non-existence.
type denial int

const (
	denyFailed denial = iota
	// denyProven: the name or type does not exist.
	denyProven
	// denyNotCut: DS absent at a name that is not a delegation.
	denyNotCut
	// denyUnsigned: DS absent at a delegation.
	denyUnsigned
	// denyOptOut: the name is covered by an NSEC3 opt-out span.
	denyOptOut
	// denyTooCostly: NSEC3 iterations above the limit, insecure.
	denyTooCostly
)

// denyDS proves that child has no DS RRset and tells whether child is an
// unsigned delegation or no zone cut at all.
func (c *msgCheck) denyDS(child string) denial {
	if m := c.nsecMatch(child); m != nil {
		return dsBitmap(m.TypeBitMap, child == c.zone)
	}
	if len(c.nsecs) > 0 && c.nsecEmptyNonTerminal(child) {
		return denyNotCut
	}
	if m := c.nsec3Match(child); m != nil {
		return dsBitmap(m.TypeBitMap, child == c.zone)
	}
	// RFC 5155 §8.6: "If there is no such NSEC3 RR, then the validator MUST
	// verify that a closest provable encloser proof for QNAME is present in
	// the response, and that the NSEC3 RR that covers the "next closer" name
	// has the Opt-Out bit set."
	if _, cover := c.closestEncloser(child); cover != nil && cover.Flags&1 == 1 {
		return denyOptOut
	}
	if c.insecureReason != "" && len(c.nsecs) == 0 && len(c.nsec3s) == 0 {
		return denyTooCostly
	}
	return denyFailed
}

func dsBitmap(types []uint16, apex bool) denial {
	switch {
	case hasType(types, dns.TypeDS):
		return denyFailed
	case hasType(types, dns.TypeSOA) && !apex:
		// The child's apex record cannot deny a DS owned by the parent.
		return denyFailed
	case hasType(types, dns.TypeNS):
		return denyUnsigned
	default:
		return denyNotCut
	}
}

// denyType proves that sname has no RRset of qtype (NODATA), for NSEC
// (RFC 4035 §5.4, RFC 4592 §5.3) and NSEC3 (RFC 5155 §8.5–§8.7).
func (c *msgCheck) denyType(sname string, qtype uint16) denial {
	usable := func(types []uint16) bool {
		if hasType(types, qtype) || hasType(types, dns.TypeCNAME) {
			return false
		}
		// An NSEC(3) at a delegation point comes from the parent side and
		// denies nothing but DS there (RFC 6840 §4.1).
		if qtype != dns.TypeDS && hasType(types, dns.TypeNS) && !hasType(types, dns.TypeSOA) {
			return false
		}
		return true
	}
	if m := c.nsecMatch(sname); m != nil {
		if usable(m.TypeBitMap) {
			return denyProven
		}
		return denyFailed
	}
	if len(c.nsecs) > 0 {
		if c.nsecEmptyNonTerminal(sname) {
			return denyProven
		}
		// Wildcard NODATA: sname does not exist and the wildcard at its
		// closest encloser lacks the type.
		if cover := c.nsecCover(sname); cover != nil {
			ce := nsecClosestEncloser(sname, cover)
			if w := c.nsecMatch(wildcardAt(ce)); w != nil && usable(w.TypeBitMap) {
				return denyProven
			}
		}
	}
	if m := c.nsec3Match(sname); m != nil {
		if usable(m.TypeBitMap) {
			return denyProven
		}
		return denyFailed
	}
	if ce, cover := c.closestEncloser(sname); cover != nil {
		if w := c.nsec3Match(wildcardAt(ce)); w != nil && usable(w.TypeBitMap) {
			return denyProven
		}
		if qtype == dns.TypeDS && cover.Flags&1 == 1 {
			return denyOptOut
		}
	}
	if c.insecureReason != "" {
		return denyTooCostly
	}
	return denyFailed
}

// wildcardAt is the wildcard name whose closest encloser is ce, fully
// qualified: "*.example.com." for "example.com.", "*." for the root (not
// "*..", which no NSEC covers: a name under a TLD that does not exist
// was taken for a bogus denial).
func wildcardAt(ce string) string {
	if ce == "." {
		return "*."
	}
	return "*." + ce
}

// denyName proves that sname does not exist (NXDOMAIN): RFC 4035 §5.4 for
// NSEC, RFC 5155 §8.4 for NSEC3.
func (c *msgCheck) denyName(sname string) denial {
	if cover := c.nsecCover(sname); cover != nil && !c.nsecEmptyNonTerminal(sname) {
		ce := nsecClosestEncloser(sname, cover)
		// "an NSEC RR proving that there is no wildcard RRset that
		// could have been used to generate a positive response"
		if c.nsecCover(wildcardAt(ce)) != nil {
			return denyProven
		}
	}
	if ce, cover := c.closestEncloser(sname); cover != nil {
		if c.nsec3Cover(wildcardAt(ce)) != nil {
			if cover.Flags&1 == 1 {
				// The next closer name may be an unsigned delegation.
				return denyOptOut
			}
			return denyProven
		}
	}
	if c.insecureReason != "" {
		return denyTooCostly
	}
	return denyFailed
}

// proveWildcardAnswer checks the proof that owner, answered from the
// wildcard at closest, does not exist itself: that no name exists between
// closest and owner, so that the wildcard at closest is the one that
// applies. That is the proof that the next closer name (the ancestor of
// owner one label below closest) does not exist, for NSEC (RFC 4035
// §5.3.4, RFC 4592 §4.5) as for NSEC3 (RFC 5155 §8.8). A proof for owner
// alone would let a wildcard's signed answer be replayed under a name
// below an existing one (q.sub.example.com from *.example.com when
// sub.example.com exists and has a wildcard of its own).
func (c *msgCheck) proveWildcardAnswer(owner, closest string) bool {
	nc := lastLabels(owner, dns.CountLabel(closest)+1)
	if cover := c.nsecCover(nc); cover != nil && !c.nsecEmptyNonTerminal(nc) {
		return true
	}
	// RFC 5155 §8.8: "the validator MUST verify that there is an NSEC3 RR
	// that covers the "next closer" name to QNAME present in the response."
	return c.nsec3Cover(nc) != nil || c.insecureReason != ""
}

// nsecMatch returns the NSEC owned by name.
func (c *msgCheck) nsecMatch(name string) *dns.NSEC {
	for _, n := range c.nsecs {
		if canonicalName(n.Hdr.Name) == name {
			return n
		}
	}
	return nil
}

// nsecCover returns an NSEC whose span covers name strictly, skipping those
// of an ancestor delegation or DNAME, which prove nothing below them
// (RFC 6840 §4.1).
func (c *msgCheck) nsecCover(name string) *dns.NSEC {
	for _, n := range c.nsecs {
		owner := canonicalName(n.Hdr.Name)
		if !dns.IsSubDomain(c.zone, name) {
			continue
		}
		if owner != name && dns.IsSubDomain(owner, name) &&
			(hasType(n.TypeBitMap, dns.TypeDNAME) || (hasType(n.TypeBitMap, dns.TypeNS) && !hasType(n.TypeBitMap, dns.TypeSOA))) {
			continue
		}
		next := canonicalName(n.NextDomain)
		a, b := canonicalCompare(owner, name), canonicalCompare(name, next)
		if canonicalCompare(owner, next) < 0 {
			if a < 0 && b < 0 {
				return n
			}
		} else if a < 0 || b < 0 { // the last NSEC of the zone
			return n
		}
	}
	return nil
}

// nsecEmptyNonTerminal reports whether an NSEC proves that name exists with
// no records of its own: it covers name and the next name is below name.
func (c *msgCheck) nsecEmptyNonTerminal(name string) bool {
	for _, n := range c.nsecs {
		owner, next := canonicalName(n.Hdr.Name), canonicalName(n.NextDomain)
		if next != name && dns.IsSubDomain(name, next) && canonicalCompare(owner, name) < 0 {
			return true
		}
	}
	return false
}

// nsecClosestEncloser returns the closest encloser of name proven by an NSEC
// that covers it: the longest of its common ancestors with the NSEC's owner
// and next names.
func nsecClosestEncloser(name string, n *dns.NSEC) string {
	a := dns.CompareDomainName(name, n.Hdr.Name)
	b := dns.CompareDomainName(name, n.NextDomain)
	return lastLabels(name, max(a, b))
}

// nsec3Hash returns the NSEC3 hash of name with n's parameters, computed
// once per response.
func (c *msgCheck) nsec3Hash(n *dns.NSEC3, name string) string {
	key := fmt.Sprintf("%s/%d/%s", name, n.Iterations, n.Salt)
	if h, ok := c.hashes[key]; ok {
		return h
	}
	if c.hashes == nil {
		c.hashes = map[string]string{}
	}
	h := dns.HashName(name, n.Hash, n.Iterations, n.Salt)
	c.hashes[key] = h
	return h
}

// nsec3OwnerHash returns the hash label of n's owner, upper case.
func nsec3OwnerHash(n *dns.NSEC3) string {
	owner := n.Hdr.Name
	if i := strings.IndexByte(owner, '.'); i >= 0 {
		owner = owner[:i]
	}
	return strings.ToUpper(owner)
}

// nsec3InZone reports whether n belongs to the zone c validates: its owner
// is one label below the zone.
func (c *msgCheck) nsec3InZone(n *dns.NSEC3) bool {
	return parentName(canonicalName(n.Hdr.Name)) == c.zone
}

func (c *msgCheck) nsec3Match(name string) *dns.NSEC3 {
	if !dns.IsSubDomain(c.zone, name) {
		return nil
	}
	for _, n := range c.nsec3s {
		if c.nsec3InZone(n) && nsec3OwnerHash(n) == c.nsec3Hash(n, name) {
			return n
		}
	}
	return nil
}

func (c *msgCheck) nsec3Cover(name string) *dns.NSEC3 {
	if !dns.IsSubDomain(c.zone, name) {
		return nil
	}
	for _, n := range c.nsec3s {
		if !c.nsec3InZone(n) {
			continue
		}
		h, owner, next := c.nsec3Hash(n, name), nsec3OwnerHash(n), strings.ToUpper(n.NextDomain)
		if h == "" {
			continue
		}
		switch {
		case owner < next:
			if owner < h && h < next {
				return n
			}
		case owner > next: // the last NSEC3 of the chain
			if h > owner || h < next {
				return n
			}
		default: // a chain of one
			if h != owner {
				return n
			}
		}
	}
	return nil
}

// closestEncloser is the closest encloser proof of RFC 5155 §8.3: the
// longest ancestor of name that an NSEC3 matches, whose child towards name
// (the next closer name) an NSEC3 covers. It returns the closest encloser
// and the covering NSEC3, or a nil NSEC3 when there is no proof.
func (c *msgCheck) closestEncloser(name string) (string, *dns.NSEC3) {
	if len(c.nsec3s) == 0 || !dns.IsSubDomain(c.zone, name) {
		return "", nil
	}
	nextCloser := name
	for sn := name; ; sn = parentName(sn) {
		if m := c.nsec3Match(sn); m != nil {
			if sn == name {
				return "", nil // name exists
			}
			// An NSEC3 of a delegation point or DNAME proves nothing
			// below it.
			if hasType(m.TypeBitMap, dns.TypeDNAME) || (hasType(m.TypeBitMap, dns.TypeNS) && !hasType(m.TypeBitMap, dns.TypeSOA)) {
				return "", nil
			}
			return sn, c.nsec3Cover(nextCloser)
		}
		if sn == c.zone {
			return "", nil
		}
		nextCloser = sn
	}
}

// rrset is one RRset of a section with the RRSIGs covering it.
type rrset struct {
	name   string
	rrtype uint16
	rrs    []dns.RR
	sigs   []*dns.RRSIG
}

type rrsets struct{ sets []*rrset }

func (s rrsets) find(name string, rrtype uint16) *rrset {
	for _, set := range s.sets {
		if set.name == name && set.rrtype == rrtype {
			return set
		}
	}
	return nil
}

// groupRRsets splits a section into RRsets, in order of first appearance,
// and attaches the RRSIGs to the RRsets they cover.
func groupRRsets(section []dns.RR) rrsets {
	var s rrsets
	get := func(name string, t uint16) *rrset {
		if set := s.find(name, t); set != nil {
			return set
		}
		set := &rrset{name: name, rrtype: t}
		s.sets = append(s.sets, set)
		return set
	}
	for _, rr := range section {
		h := rr.Header()
		if h.Rrtype == dns.TypeOPT || h.Class != dns.ClassINET {
			continue
		}
		name := canonicalName(h.Name)
		if sig, ok := rr.(*dns.RRSIG); ok {
			set := get(name, sig.TypeCovered)
			set.sigs = append(set.sigs, sig)
			continue
		}
		set := get(name, h.Rrtype)
		set.rrs = append(set.rrs, rr)
	}
	// Signatures of records absent from the section are dropped.
	kept := s.sets[:0]
	for _, set := range s.sets {
		if len(set.rrs) > 0 {
			kept = append(kept, set)
		}
	}
	s.sets = kept
	return s
}

// synthesized reports whether a CNAME RRset is the one a DNAME of dnames
// produces (RFC 6672 §2.2).
func synthesized(set *rrset, dnames map[string]*dns.DNAME) bool {
	target := canonicalName(set.rrs[0].(*dns.CNAME).Target)
	for owner, d := range dnames {
		if set.name != owner && dns.IsSubDomain(owner, set.name) {
			prefix := strings.TrimSuffix(set.name, owner)
			if target == canonicalName(prefix+d.Target) {
				return true
			}
		}
	}
	return false
}

// timeCheck returns the Bogus reason when now lies outside sig's validity
// period (RFC 4035 §5.3.1), or "".
func timeCheck(sig *dns.RRSIG, now time.Time, what string) string {
	if sig.ValidityPeriod(now) {
		return ""
	}
	exp := serialTime(sig.Expiration, now)
	if !exp.After(now) {
		return ReasonSignatureExpired + exp.UTC().Format(time.RFC3339) + " for " + what
	}
	return ReasonSignatureNotYet + " (valid from " + serialTime(sig.Inception, now).UTC().Format(time.RFC3339) + ") for " + what
}

// serialTime maps a 32-bit RRSIG timestamp to the time closest to now
// (RFC 4034 §3.1.5: serial number arithmetic).
func serialTime(ts uint32, now time.Time) time.Time {
	return now.Add(time.Duration(int32(ts-uint32(now.Unix()))) * time.Second)
}

// sigExpiry returns the earliest expiration of sigs.
func sigExpiry(sigs []*dns.RRSIG, now time.Time) time.Time {
	t := now.Add(maxTrustCacheTTL)
	for _, s := range sigs {
		t = earliest(t, serialTime(s.Expiration, now))
	}
	return t
}

func earliest(t time.Time, more ...time.Time) time.Time {
	for _, u := range more {
		if u.Before(t) {
			t = u
		}
	}
	return t
}

func ttlOf(set *rrset) time.Duration {
	ttl := set.rrs[0].Header().Ttl
	for _, rr := range set.rrs {
		ttl = min(ttl, rr.Header().Ttl)
	}
	return time.Duration(ttl) * time.Second
}

// supportedAlgorithm reports whether a DNSSEC algorithm is validated.
func supportedAlgorithm(alg uint8) bool {
	switch alg {
	case dns.RSASHA256, dns.RSASHA512, dns.ECDSAP256SHA256, dns.ECDSAP384SHA384, dns.ED25519:
		return true
	}
	return false
}

func supportedDigest(d uint8) bool {
	return d == dns.SHA1 || d == dns.SHA256 || d == dns.SHA384
}

// usableDS keeps the DS records of supported algorithms and digests; SHA-1
// digests only when no other is present (RFC 4509 §3: "Validator
// implementations SHOULD ignore DS RRs containing SHA-1 digests if DS RRs
// with SHA-256 digests are present in the DS RRset").
func usableDS(ds []*dns.DS) []*dns.DS {
	var strong, sha1 []*dns.DS
	for _, d := range ds {
		if !supportedAlgorithm(d.Algorithm) {
			continue
		}
		switch d.DigestType {
		case dns.SHA256, dns.SHA384:
			strong = append(strong, d)
		case dns.SHA1:
			sha1 = append(sha1, d)
		}
	}
	if len(strong) > 0 {
		return strong
	}
	return sha1
}

func dsAlgorithms(ds []*dns.DS) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("key tag %d algorithm %d digest %d", d.KeyTag, d.Algorithm, d.DigestType))
	}
	return strings.Join(parts, ", ")
}

// dsMatches reports whether d is the digest of k (RFC 4034 §5.1.4).
func dsMatches(d *dns.DS, k *dns.DNSKEY) bool {
	if d.KeyTag != k.KeyTag() || d.Algorithm != k.Algorithm {
		return false
	}
	kd := k.ToDS(d.DigestType)
	return kd != nil && strings.EqualFold(kd.Digest, d.Digest)
}

func hasType(types []uint16, t uint16) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}

func canonicalName(name string) string { return strings.ToLower(dns.Fqdn(name)) }

// parentName returns the name one label up; the root's parent is the root.
func parentName(name string) string {
	if name == "." {
		return "."
	}
	i, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[i:]
}

// lastLabels returns the ancestor of name made of its last n labels.
func lastLabels(name string, n int) string {
	idx := dns.Split(name)
	if n <= 0 || len(idx) == 0 {
		return "."
	}
	if n >= len(idx) {
		return name
	}
	return name[idx[len(idx)-n]:]
}

// canonicalCompare orders names as RFC 4034 §6.1 does: label by label from
// the root, each compared as lowercase octets, a missing label first.
func canonicalCompare(a, b string) int {
	la, lb := wireLabels(a), wireLabels(b)
	for i := 0; i < len(la) && i < len(lb); i++ {
		if c := strings.Compare(la[i], lb[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(la), len(lb))
}

// wireLabels returns name's labels as lowercase octets, root side first.
func wireLabels(name string) []string {
	buf := make([]byte, 256)
	off, err := dns.PackDomainName(dns.Fqdn(name), buf, 0, nil, false)
	if err != nil {
		return nil
	}
	var labels []string
	for i := 0; i < off; {
		l := int(buf[i])
		if l == 0 || i+1+l > off {
			break
		}
		label := []byte(buf[i+1 : i+1+l])
		for j, ch := range label {
			if 'A' <= ch && ch <= 'Z' {
				label[j] = ch + 'a' - 'A'
			}
		}
		labels = append(labels, string(label))
		i += 1 + l
	}
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return labels
}
