package webfetch

import (
	"net/http"
	"time"
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

// Final returns the attempt that produced the fetch's outcome: the first
// attempt that got an HTTP response, or else the last attempt. It returns nil
// when no attempt was made.
func (t *Trace) Final() *Attempt {
	for i := range t.Attempts {
		if t.Attempts[i].Status != 0 {
			return &t.Attempts[i]
		}
	}
	if len(t.Attempts) == 0 {
		return nil
	}
	return &t.Attempts[len(t.Attempts)-1]
}

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
)

// Error is a classified fetch failure.
type Error struct {
	Kind ErrorKind `json:"kind"`
	// Address is the ip:port concerned, when there is one.
	Address string `json:"address,omitempty"`
	// Detail is a short technical description for logs and evidence.
	Detail string `json:"detail,omitempty"`
}

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
