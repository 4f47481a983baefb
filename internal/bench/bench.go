// Package bench is an ACME (RFC 8555) load generator: concurrent accounts
// each run the full flow for one certificate after another (newOrder, the
// authorizations, a challenge answered by a built-in responder, finalize,
// download) against any ACME server, and Run reports certificates per
// second, latency percentiles per step, errors by type and, for a server
// process on this machine, the CPU time it spent per certificate.
//
// It talks ACME with a lean client of its own (RFC 8555 JWS with ES256 and
// the account URL as kid, the nonce of each response used for the next
// request, POST-as-GET, one keep-alive connection per worker) and polls at
// its own PollInterval, because the load generator shares the machine with
// the server under test: its CPU per certificate, reported as BenchCPU, is
// CPU the server does not get, and its sleeps would be measured as the
// server's latency. The responder
// (an http-01 web server, a tls-alpn-01 TLS server, or, for dns-01, TXT
// records in the built-in DNS server) listens on a loopback address of this
// machine; names resolve to it only through the built-in DNS server
// (Config.DNSAddr), which the server under test must use as its resolver.
//
// Every run is bounded: no new certificate is started after
// Config.Duration (at most MaxDuration), every flow has a deadline
// (FlowTimeout) and every request one (RequestTimeout).
package bench

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Defaults and limits of Config.
const (
	// DefaultConcurrency is the number of accounts working at once.
	DefaultConcurrency = 8
	// MaxConcurrency bounds Concurrency: each worker holds an account, a
	// connection and a flow's state; 1024 is far beyond what a 2-core
	// machine can drive usefully.
	MaxConcurrency = 1024
	// DefaultDuration is how long new certificates are started.
	DefaultDuration = 10 * time.Second
	// MaxDuration is the hard cap on Duration, so that a mistyped flag
	// cannot leave a load running for hours.
	MaxDuration = 10 * time.Minute
	// DefaultNames is the number of DNS names per certificate.
	DefaultNames = 2
	// MaxNames bounds Names; it is the CA's subjectAltName limit.
	MaxNames = 100
	// DefaultRequestTimeout is the deadline of each ACME request.
	DefaultRequestTimeout = 10 * time.Second
	// DefaultFlowTimeout is the deadline of one certificate's whole flow,
	// polls included.
	DefaultFlowTimeout = 60 * time.Second
	// DefaultPollInterval is the wait between two polls of a pending
	// authorization or a processing order.
	DefaultPollInterval = 20 * time.Millisecond
	// DefaultResponderAddr is where the challenge responder listens if
	// ResponderAddr is empty (Pebble's default httpPort).
	DefaultResponderAddr = "127.0.0.1:5002"
	// DefaultDomain is the parent of every name the bench asks for. It must
	// pass the server's issuance policy (example.com, reserved and
	// single-label names are refused by dcv).
	DefaultDomain = "applicant.com"
)

// Challenge types the bench can answer.
const (
	ChallengeHTTP01    = "http-01"
	ChallengeDNS01     = "dns-01"
	ChallengeTLSALPN01 = "tls-alpn-01"
)

// Config configures Run. The zero value of every field but DirectoryURL is
// a documented default.
type Config struct {
	// DirectoryURL is the ACME directory, e.g.
	// http://127.0.0.1:8080/acme/directory. Required.
	DirectoryURL string
	// RootCAs are trusted for an https:// DirectoryURL. If nil, the system
	// roots.
	RootCAs *x509.CertPool
	// Concurrency is the number of accounts, each running one flow at a
	// time. If zero, DefaultConcurrency; at most MaxConcurrency.
	Concurrency int
	// Duration is how long new certificates are started; flows under way
	// then finish (within FlowTimeout). If zero, DefaultDuration; at most
	// MaxDuration.
	Duration time.Duration
	// Names is the number of DNS names in each certificate. If zero,
	// DefaultNames; at most MaxNames.
	Names int
	// Challenge is the challenge type answered: ChallengeHTTP01 (if empty),
	// ChallengeDNS01 or ChallengeTLSALPN01.
	Challenge string
	// ResponderAddr is the loopback ip:port where the http-01 or
	// tls-alpn-01 responder listens; the server under test must dial that
	// port (dcv serve --validation-http-port or --validation-https-port,
	// Pebble's httpPort or tlsPort). If empty, DefaultResponderAddr. Its IP
	// is the A record the DNS server gives every name, for dns-01 too.
	ResponderAddr string
	// DNSAddr, if set, is the loopback ip:port where a DNS server listens
	// (UDP and TCP) and answers, for every name: A with the responder's IP,
	// TXT at _acme-challenge names with the dns-01 values, and no data for
	// anything else (so no CAA record restricts issuance). Point the server
	// under test at it (dcv serve --resolver, pebble -dnsserver).
	DNSAddr string
	// Domain is the parent domain of every name. If empty, DefaultDomain.
	Domain string
	// ServerPID, if not zero, is the server's process id on this machine;
	// its CPU time (utime+stime from /proc/PID/stat) is reported per
	// certificate.
	ServerPID int
	// RequestTimeout is the deadline of each request. If zero,
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// FlowTimeout is the deadline of one certificate's flow. If zero,
	// DefaultFlowTimeout.
	FlowTimeout time.Duration
	// PollInterval is the wait between polls. If zero, DefaultPollInterval.
	PollInterval time.Duration
	// Issued, if set, is called with the URL of each order the server
	// says is valid, with its certificate URL, before the download; and
	// Received with the DER of each end-entity certificate downloaded and
	// checked. Both are called from the workers' goroutines: a record of
	// what the server promised and handed out, for crash tests and audits.
	Issued   func(orderURL string)
	Received func(leafDER []byte)
}

// fill returns cfg with defaults set, or an error naming the bad field.
func (cfg Config) fill() (Config, error) {
	cfg.Concurrency = cmp.Or(cfg.Concurrency, DefaultConcurrency)
	cfg.Duration = cmp.Or(cfg.Duration, DefaultDuration)
	cfg.Names = cmp.Or(cfg.Names, DefaultNames)
	cfg.Challenge = cmp.Or(cfg.Challenge, ChallengeHTTP01)
	cfg.ResponderAddr = cmp.Or(cfg.ResponderAddr, DefaultResponderAddr)
	cfg.Domain = strings.TrimSuffix(strings.ToLower(cmp.Or(cfg.Domain, DefaultDomain)), ".")
	cfg.RequestTimeout = cmp.Or(cfg.RequestTimeout, DefaultRequestTimeout)
	cfg.FlowTimeout = cmp.Or(cfg.FlowTimeout, DefaultFlowTimeout)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, DefaultPollInterval)
	switch {
	case cfg.DirectoryURL == "":
		return cfg, fmt.Errorf("%w: DirectoryURL is required", ErrConfig)
	case cfg.Concurrency < 0 || cfg.Concurrency > MaxConcurrency:
		return cfg, fmt.Errorf("%w: concurrency %d outside [1, %d]", ErrConfig, cfg.Concurrency, MaxConcurrency)
	case cfg.Duration < 0 || cfg.Duration > MaxDuration:
		return cfg, fmt.Errorf("%w: duration %s outside (0, %s]", ErrConfig, cfg.Duration, MaxDuration)
	case cfg.Names < 0 || cfg.Names > MaxNames:
		return cfg, fmt.Errorf("%w: names %d outside [1, %d]", ErrConfig, cfg.Names, MaxNames)
	case cfg.RequestTimeout < 0 || cfg.FlowTimeout < 0 || cfg.PollInterval < 0:
		return cfg, fmt.Errorf("%w: negative timeout or poll interval", ErrConfig)
	case cfg.ServerPID < 0:
		return cfg, fmt.Errorf("%w: negative server pid %d", ErrConfig, cfg.ServerPID)
	}
	switch cfg.Challenge {
	case ChallengeHTTP01, ChallengeDNS01, ChallengeTLSALPN01:
	default:
		return cfg, fmt.Errorf("%w: unknown challenge type %q (want %s, %s or %s)", ErrConfig, cfg.Challenge, ChallengeHTTP01, ChallengeDNS01, ChallengeTLSALPN01)
	}
	for _, a := range []struct{ name, addr string }{{"responder", cfg.ResponderAddr}, {"dns", cfg.DNSAddr}} {
		if a.addr == "" {
			continue
		}
		if err := checkLoopback(a.addr); err != nil {
			return cfg, fmt.Errorf("%w: %s address: %w", ErrConfig, a.name, err)
		}
	}
	return cfg, nil
}

// checkLoopback accepts only ip:port with a loopback IP: the bench's
// servers are reachable on this machine only.
func checkLoopback(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		host, _, splitErr := net.SplitHostPort(addr)
		if splitErr == nil && host == "localhost" {
			return fmt.Errorf("%q: give a loopback IP, not a host name", addr)
		}
		return fmt.Errorf("%q is not ip:port: %w", addr, err)
	}
	if !ap.Addr().IsLoopback() {
		return fmt.Errorf("%s is not a loopback address", ap.Addr())
	}
	return nil
}

// ErrConfig is the error of a Config that cannot run, which every such
// error wraps: the caller's input, not a failure of the load.
var ErrConfig = errors.New("bench: config")

// Run runs the load described by cfg and returns its report. It fails
// before any load if the responder or DNS server cannot listen, the
// directory cannot be fetched, or no account can be registered; errors
// during the load are counted in the report, not returned. Run stops early,
// with a report of what was done, when ctx is cancelled.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.fill()
	if err != nil {
		return nil, err
	}
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	defer r.close()
	return r.run(ctx)
}
