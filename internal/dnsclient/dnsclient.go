// Package dnsclient speaks DNS on the wire for dcv: it looks names up through
// configured recursive resolvers (forward mode) and, in later releases, by
// iterating from the root. Every answer carries the server that gave it, so
// that validation can keep it as evidence.
package dnsclient

import (
	"context"
	"fmt"
	"time"
)

// Resolver looks up one name and type. Implementations MUST honour ctx's
// deadline and MUST be safe for concurrent use.
//
// A lookup that reached a server returns a non-nil *Response whatever its
// rcode (NXDOMAIN and SERVFAIL are answers, not errors). A lookup that got no
// usable answer from any server returns a *Error whose Kind says why.
type Resolver interface {
	Lookup(ctx context.Context, name string, qtype uint16) (*Response, error)
}

// Response is one DNS answer as observed on the wire.
type Response struct {
	// Name is the queried name, lowercase, fully qualified (trailing dot).
	Name string `json:"name"`
	// Type is the query type in presentation form ("TXT", "A", ...).
	Type string `json:"type"`
	// Server is the host:port that gave this answer.
	Server string `json:"server"`
	// Resolver is true when Server is one of dcv's own recursive
	// resolvers (forward mode): its REFUSED is its policy towards dcv,
	// not the domain's answer.
	Resolver bool `json:"resolver,omitempty"`
	// Rcode in presentation form: "NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", ...
	Rcode string `json:"rcode"`
	// Answer holds the answer section's records of the queried type at the
	// end of any CNAME chain.
	Answer []Record `json:"answer,omitempty"`
	// CNAMEs is the CNAME chain followed from Name, in order (targets, fully qualified).
	CNAMEs []string `json:"cnames,omitempty"`
	// DNAMEs are the DNAME records (RFC 6672) that the CNAMEs of the chain
	// were synthesized from, in order: no CNAME record exists at those
	// names, and none can be added below a DNAME's owner.
	DNAMEs []DNAME `json:"dnames,omitempty"`
	// Other holds answer-section records of other types found at the end of
	// the chain (for example an A record where TXT was asked).
	Other []Record `json:"other,omitempty"`
	// AD is the Authenticated Data bit of the answer.
	AD bool `json:"ad,omitempty"`
	// NegativeTTL is the TTL of the SOA in the authority section of a
	// negative answer (RFC 2308), when present.
	NegativeTTL uint32 `json:"negative_ttl,omitempty"`
	// Zone is the owner of that SOA: the zone that gave the negative
	// answer (lowercase, fully qualified), when present.
	Zone string `json:"zone,omitempty"`
	// Duration is the time spent on this lookup, all tries included.
	Duration time.Duration `json:"duration_ns"`
	// Cached reports that the answer was served from the resolver's cache
	// (iterative mode, or forward mode with its cache on) rather than asked on
	// the wire for this lookup.
	Cached bool `json:"cached,omitempty"`
	// CacheUntil is when the cached answers of this lookup leave dcv's
	// cache (forward mode with its cache on), the latest of them; zero when
	// nothing came from that cache.
	CacheUntil time.Time `json:"cache_until,omitzero"`
	// TTL is the remaining time to live of the answer in seconds: the
	// smallest TTL of the records and CNAMEs given, or the negative TTL
	// (iterative mode; for a cached answer, what is left of it).
	TTL uint32 `json:"ttl,omitempty"`
	// Trace lists each query sent for this lookup, in order (iterative
	// mode); empty for an answer served wholly from the cache.
	Trace []TraceStep `json:"trace,omitempty"`
	// DNSSEC is the validation status in iterative mode with a validator:
	// "secure", "insecure", "bogus" or "indeterminate"; empty when no
	// validation was done. AD is set only when it is "secure". In forward
	// mode it is "secure" when the resolver set AD, "bogus" when it answered
	// SERVFAIL with a DNSSEC Extended DNS Error, and empty otherwise.
	DNSSEC string `json:"dnssec,omitempty"`
	// DNSSECReason says, in plain words, why the status is not "secure".
	DNSSECReason string `json:"dnssec_reason,omitempty"`
	// DNSSECZone is the zone whose answer gave that status (iterative
	// mode): the name's own, or that of a CNAME target in another zone,
	// whose DNS host is the one to fix.
	DNSSECZone string `json:"dnssec_zone,omitempty"`
	// EDE are the RFC 8914 Extended DNS Errors of the answer (forward mode:
	// what the recursive resolver said about its failure), at most 8.
	EDE []EDE `json:"ede,omitempty"`
}

// EDE is one RFC 8914 Extended DNS Error: an INFO-CODE from the IANA
// registry and the EXTRA-TEXT the server gave (at most 256 bytes kept).
type EDE struct {
	Code uint16 `json:"code"`
	Text string `json:"text,omitempty"`
}

// RFC 8914 §4 INFO-CODEs of the DNSSEC failure family: an answer carrying
// one of them failed DNSSEC validation at the resolver.
const (
	EDEDNSSECBogus          uint16 = 6
	EDESignatureExpired     uint16 = 7
	EDESignatureNotYetValid uint16 = 8
	EDEDNSKEYMissing        uint16 = 9
	EDERRSIGsMissing        uint16 = 10
	EDENSECMissing          uint16 = 12
)

// IsDNSSECBogus reports whether code is one of the RFC 8914 codes that say
// the answer failed DNSSEC validation (6, 7, 8, 9, 10, 12).
func IsDNSSECBogus(code uint16) bool {
	switch code {
	case EDEDNSSECBogus, EDESignatureExpired, EDESignatureNotYetValid,
		EDEDNSKEYMissing, EDERRSIGsMissing, EDENSECMissing:
		return true
	}
	return false
}

// DNAME is a DNAME record met along a CNAME chain: every name below
// Owner is redirected to the same name below Target.
type DNAME struct {
	Owner  string `json:"owner"`
	Target string `json:"target"`
}

// Record is one resource record in a form fit for evidence and diagnosis.
type Record struct {
	Name string `json:"name"`
	Type string `json:"type"`
	TTL  uint32 `json:"ttl"`
	// Data is the record's data in presentation form (for TXT: the strings
	// concatenated without quotes, see Strings).
	Data string `json:"data"`
	// Strings holds a TXT record's character-strings in RFC 1035 §5.1
	// escaped form (\", \\, \DDD), so any byte survives JSON.
	Strings []string `json:"strings,omitempty"`
	// CAA fields, set for CAA records.
	Flag  uint8  `json:"flag,omitempty"`
	Tag   string `json:"tag,omitempty"`
	Value string `json:"value,omitempty"`
}

// Kind classifies a lookup that produced no answer.
type Kind int

// Kinds of lookup failure. The numbers are stored; they never change.
const (
	KindUnknown Kind = iota
	// KindTimeout: no server answered before the deadline.
	KindTimeout
	// KindNetwork: the servers could not be reached (refused, unreachable).
	KindNetwork
	// KindMalformed: a server answered with something that is not valid DNS,
	// or that does not match the question.
	KindMalformed
	// KindTooLarge: the answer exceeded a size or count limit.
	KindTooLarge
	// KindLoop: a CNAME chain looped or was too long.
	KindLoop
)

// String returns the kind's name, as stored in evidence.
func (k Kind) String() string {
	switch k {
	case KindTimeout:
		return "timeout"
	case KindNetwork:
		return "network"
	case KindMalformed:
		return "malformed"
	case KindTooLarge:
		return "too_large"
	case KindLoop:
		return "loop"
	default:
		return "unknown"
	}
}

// MarshalText renders the kind by name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses a kind name.
func (k *Kind) UnmarshalText(b []byte) error {
	for c := KindUnknown; c <= KindLoop; c++ {
		if c.String() == string(b) {
			*k = c
			return nil
		}
	}
	return fmt.Errorf("unknown dns error kind %q", b)
}

// Error is a lookup that produced no answer.
type Error struct {
	Kind   Kind   `json:"kind"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Server string `json:"server,omitempty"`
	// Detail is a short technical description for logs and evidence.
	Detail string `json:"detail,omitempty"`
	// Upstream is true when the failing server is one dcv itself depends
	// on, whatever the name: one of its configured recursive resolvers
	// (forward mode) that could not be reached, or every root server
	// (iterative mode: dcv's own network), also when a lookup in which no
	// server answered is followed by a question to the roots that none of
	// them answers (see canary.go). A problem on the CA's side, not the
	// domain's.
	Upstream bool `json:"upstream,omitempty"`
	// Zone is the zone none of whose servers answered (iterative mode),
	// when the lookup failed there: the domain's own zone, or one above
	// it (a TLD's, the root's).
	Zone string `json:"zone,omitempty"`
	// Resolver is true when Server is one of dcv's own recursive resolvers
	// (forward mode), not one of the domain's nameservers: a timeout there
	// may be the resolver's own (the CA's side) as well as the domain's.
	Resolver bool `json:"resolver,omitempty"`
	// Trace lists each query sent before the lookup failed (iterative
	// mode), so that the resolution path can be shown.
	Trace []TraceStep `json:"trace,omitempty"`
	// TCPFallback is set, to one of the TCPFallback* values, when the
	// failure is that of the TCP retry of a truncated UDP answer (RFC
	// 7766 §5): the server was reached then, and answered over UDP,
	// whatever Kind says of the TCP exchange.
	TCPFallback string `json:"tcp_fallback,omitempty"`
	// ReservedServers is set when the lookup failed because every
	// nameserver of Zone is at a special-purpose address, which is not
	// queried (see IterativeConfig.AllowReservedServers): the servers,
	// "ns1.example.com 10.0.0.1, ns2.example.com 169.254.169.254".
	ReservedServers string `json:"reserved_servers,omitempty"`
}

// Values of Error.TCPFallback: how the TCP retry of a truncated answer
// failed. They go into stored evidence: never rename one.
const (
	// TCPFallbackRefused: the server refused the TCP connection.
	TCPFallbackRefused = "refused"
	// TCPFallbackClosed: the server closed or reset the TCP connection
	// without answering.
	TCPFallbackClosed = "closed"
	// TCPFallbackTimeout: no answer came over TCP in time.
	TCPFallbackTimeout = "timeout"
	// TCPFallbackFailed: the TCP exchange failed otherwise.
	TCPFallbackFailed = "failed"
)

// Error returns the error as one line of text.
func (e *Error) Error() string {
	s := fmt.Sprintf("dns %s %s: %s", e.Type, e.Name, e.Kind)
	if e.Server != "" {
		s += " from " + e.Server
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// TraceStep is one query sent to one server during an iterative lookup.
type TraceStep struct {
	// Server is the ip:port asked.
	Server string `json:"server"`
	// Zone is the zone the server was asked as an authority for.
	Zone string `json:"zone"`
	// Name and Type are the question (Name lowercase, fully qualified).
	Name string `json:"name"`
	Type string `json:"type"`
	// Rcode is the answer's rcode; empty when Error is set.
	Rcode string `json:"rcode,omitempty"`
	// Error says why no usable answer came (timeout, malformed, lame).
	Error string `json:"error,omitempty"`
	// Referral is the child zone the answer delegated to, if it was a
	// referral.
	Referral string `json:"referral,omitempty"`
	// TCP reports that the query went over TCP (after a truncated answer).
	TCP bool `json:"tcp,omitempty"`
	// Duration is the time this query took.
	Duration time.Duration `json:"duration_ns"`
}
