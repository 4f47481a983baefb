package webfetch

import (
	"net/http"
	"time"

	"github.com/dcvhq/dcv/internal/dnsclient"
)

// Trace is everything observed while fetching one URL: the addresses its
// host resolved to and one Attempt per connection tried. A Trace is evidence:
// it records, it does not judge.
type Trace struct {
	// URL is the URL asked for.
	URL string `json:"url"`
	// Host is the URL's host name.
	Host string `json:"host"`
	// Addresses are the IP addresses the host resolved to, IPv6 first.
	Addresses []string `json:"addresses,omitempty"`
	// ResolveError is set when the host could not be resolved to any address.
	ResolveError *Error `json:"resolve_error,omitempty"`
	// Attempts are the connections tried, in order.
	Attempts []Attempt `json:"attempts,omitempty"`
	// Duration is the wall time of the whole fetch.
	Duration time.Duration `json:"duration_ns"`
}

// Final returns the attempt that produced the fetch's outcome: the last
// attempt of the first chain (see Chains) whose first attempt got an HTTP
// response (without redirects followed, that response itself), or else the
// last attempt. It returns nil when no attempt was made.
func (t *Trace) Final() *Attempt {
	for i := range t.Attempts {
		if t.Attempts[i].Hop != 0 || t.Attempts[i].Status == 0 {
			continue
		}
		j := i
		for j+1 < len(t.Attempts) && t.Attempts[j+1].Hop != 0 {
			j++
		}
		return &t.Attempts[j]
	}
	if len(t.Attempts) == 0 {
		return nil
	}
	return &t.Attempts[len(t.Attempts)-1]
}

// Chains splits the attempts into chains: each chain starts with an attempt
// at the URL asked for (Hop 0), to one address, and goes on with the
// attempts made following its redirects (Hop 1, 2, ...; at one hop, the
// addresses tried until one answered). A chain's last attempt is its
// outcome. The slices share the Trace's storage.
func (t *Trace) Chains() [][]Attempt {
	var out [][]Attempt
	start := 0
	for i := 1; i <= len(t.Attempts); i++ {
		if i == len(t.Attempts) || t.Attempts[i].Hop == 0 {
			if i > start {
				out = append(out, t.Attempts[start:i:i])
			}
			start = i
		}
	}
	return out
}

// RedirectRule names the redirect policy rule a refused redirect breaks
// (see Config.MaxRedirects). Rules go into stored evidence: never rename one.
type RedirectRule string

// Redirect rules.
const (
	// RedirectStatus: the status is not 301, 302, 307 or 308 (see
	// Attempt.Status).
	RedirectStatus RedirectRule = "status"
	// RedirectNoLocation: the response has no Location header.
	RedirectNoLocation RedirectRule = "no location"
	// RedirectManyLocations: the response has more than one Location
	// header, which RFC 9110 §10.2.2 allows one of: which is "the final
	// value of the Location" (BR 3.2.2.4.18) is ambiguous.
	RedirectManyLocations RedirectRule = "several locations"
	// RedirectBadLocation: the Location is not a URL dcv may fetch (it does
	// not parse, carries userinfo, or its host is an IP address or not a
	// valid DNS name).
	RedirectBadLocation RedirectRule = "invalid location"
	// RedirectScheme: the Location's scheme is not http or https.
	RedirectScheme RedirectRule = "scheme"
	// RedirectPort: the Location names a port other than 80 for http or 443
	// for https (or the configured HTTPPort / HTTPSPort standing for them).
	RedirectPort RedirectRule = "port"
	// RedirectOtherDomain: the Location's host is outside the registered
	// domain (public suffix + 1 label) of the URL asked for.
	RedirectOtherDomain RedirectRule = "other registered domain"
	// RedirectLoop: the Location leads to a URL already requested in the
	// chain.
	RedirectLoop RedirectRule = "loop"
	// RedirectTooMany: following it would exceed Config.MaxRedirects.
	RedirectTooMany RedirectRule = "too many redirects"
)

// Attempt is one HTTP request to one pinned address.
type Attempt struct {
	URL     string `json:"url"`
	Address string `json:"address"` // ip:port dialled
	// Status is the HTTP status code; 0 when no response was read.
	Status int         `json:"status,omitempty"`
	Proto  string      `json:"proto,omitempty"`
	Header http.Header `json:"header,omitempty"`
	// Body holds the first bytes of the body (at most MaxBodyKept).
	Body []byte `json:"body,omitempty"`
	// BodyTruncated is true when the body was longer than what was read.
	BodyTruncated bool `json:"body_truncated,omitempty"`
	// Location is the Location header of a redirect response.
	Location string `json:"location,omitempty"`
	// Hop is 0 for a request to the URL asked for, and n for a request made
	// by following n redirects from it (see Trace.Chains).
	Hop int `json:"hop,omitempty"`
	// RedirectRefused is set on a redirect response that was not followed
	// although Config.MaxRedirects allows redirects: the first rule the
	// redirect breaks. It is empty when redirects are not followed at all
	// (MaxRedirects 0) and on every other response.
	RedirectRefused RedirectRule `json:"redirect_refused,omitempty"`
	// Err is set when the attempt failed before a complete response was read.
	Err *Error `json:"error,omitempty"`
	// ConnectDuration is the time to establish the TCP (and TLS) connection.
	ConnectDuration time.Duration `json:"connect_ns,omitempty"`
	Duration        time.Duration `json:"duration_ns"`
}

// ErrorKind classifies a failed fetch once, where it is observed.
type ErrorKind string

// Error kinds. They go into stored evidence: never rename one.
const (
	ErrDNSNXDomain       ErrorKind = "dns_nxdomain"           // the host name does not exist
	ErrDNSServfail       ErrorKind = "dns_servfail"           // resolution failed with SERVFAIL
	ErrDNSTimeout        ErrorKind = "dns_timeout"            // resolution timed out
	ErrDNSError          ErrorKind = "dns_error"              // other resolution failure
	ErrDNSRefused        ErrorKind = "dns_refused"            // the server refused the question (REFUSED)
	ErrNoAddress         ErrorKind = "no_address"             // the name exists but has no A/AAAA record
	ErrReservedAddress   ErrorKind = "reserved_address"       // the address is in a special-purpose range; not dialled
	ErrConnectTimeout    ErrorKind = "connect_timeout"        // no TCP handshake before the deadline
	ErrConnectionRefused ErrorKind = "connection_refused"     // TCP RST on connect
	ErrConnectionReset   ErrorKind = "connection_reset"       // reset after connect
	ErrTimeoutAfterConn  ErrorKind = "timeout_after_connect"  // connected, but no complete response in time
	ErrTLS               ErrorKind = "tls_error"              // TLS handshake failed
	ErrHTTP2OnPlain      ErrorKind = "http2_on_plain_port"    // the server spoke HTTP/2 where HTTP/1.1 was expected
	ErrTLSOnPlain        ErrorKind = "tls_on_plain_port"      // the server spoke TLS on the plain-HTTP port
	ErrPlainOnTLS        ErrorKind = "plain_http_on_tls_port" // the server spoke plain HTTP on the HTTPS port
	ErrProtocol          ErrorKind = "protocol_error"         // malformed HTTP response
	ErrNetwork           ErrorKind = "network_error"          // other network failure (unreachable, ...)
	ErrInvalidURL        ErrorKind = "invalid_url"
	// ErrSourceAddress: dcv's own source address cannot reach the address
	// (no source address of its family, or one not assigned on the host):
	// the certificate authority's side, nothing of the domain.
	ErrSourceAddress ErrorKind = "source_address"
)

// Error is a classified fetch failure.
type Error struct {
	Kind ErrorKind `json:"kind"`
	// Address is the ip:port concerned, when there is one.
	Address string `json:"address,omitempty"`
	// Detail is a short technical description for logs and evidence.
	Detail string `json:"detail,omitempty"`
	// Upstream is set on a resolution failure of one of dcv's own
	// resolvers (forward mode: the configured resolver could not be
	// reached), not of the name's servers (see dnsclient.Error.Upstream).
	Upstream bool `json:"upstream,omitempty"`
	// Resolver is set when Address is one of dcv's own recursive
	// resolvers (forward mode), which asked the name's servers on dcv's
	// behalf (see dnsclient.Error.Resolver).
	Resolver bool `json:"resolver,omitempty"`
	// TCPFallback is, for an address lookup whose server answered over UDP
	// with a truncated answer and then failed the TCP retry, how that
	// retry failed (see dnsclient.Error.TCPFallback).
	TCPFallback string `json:"tcp_fallback,omitempty"`
	// ReservedServers is, for an address lookup that failed because every
	// nameserver of Zone is at a special-purpose address, those servers
	// (see dnsclient.Error.ReservedServers).
	ReservedServers string `json:"reserved_servers,omitempty"`
	// Zone is, for an address lookup none of whose servers answered, the
	// zone whose servers were all tried and failed (see
	// dnsclient.Error.Zone): "com." when every server of com failed.
	Zone string `json:"zone,omitempty"`
	// CNAMEs is, for an address lookup that answered NXDOMAIN or
	// SERVFAIL, the CNAME chain it followed from the host (targets, fully
	// qualified): the name that does not exist is then its last target,
	// not the host.
	CNAMEs []string `json:"cnames,omitempty"`
	// DNAMEs are the DNAME records those CNAMEs were synthesized from
	// (dnsclient.Response.DNAMEs).
	DNAMEs []dnsclient.DNAME `json:"dnames,omitempty"`
	// DNSSEC, DNSSECReason and DNSSECZone are the validation status of
	// that answer, why, and the zone that gave it (see dnsclient.Response):
	// a "bogus" NXDOMAIN proves nothing about the name.
	DNSSEC       string `json:"dnssec,omitempty"`
	DNSSECReason string `json:"dnssec_reason,omitempty"`
	DNSSECZone   string `json:"dnssec_zone,omitempty"`
}

// Error returns the error as one line of text.
func (e *Error) Error() string {
	s := string(e.Kind)
	if e.Address != "" {
		s += " " + e.Address
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}
