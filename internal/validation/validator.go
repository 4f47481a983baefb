package validation

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// Clock tells the time. It is injected so tests control it.
type Clock interface{ Now() time.Time }

// Config configures a Validator. The zero value of each field is its
// documented default.
type Config struct {
	// Perspective names the vantage point in evidence. If empty, "primary".
	Perspective string
	// Resolver answers every DNS lookup. Required.
	Resolver dnsclient.Resolver
	// Fetcher fetches validation files. Required for file validation.
	Fetcher *webfetch.Fetcher
	// HTTP01Fetcher fetches ACME http-01 URLs, whose redirects RFC 8555
	// §8.3 says a server SHOULD follow (the file method's no-redirect rule
	// is the applicant's contract, not ACME's). If nil, Fetcher.
	HTTP01Fetcher *webfetch.Fetcher
	// CAAIdentity is the issuer domain name matched against CAA records. If
	// empty, CAA is not checked: only for tests of the methods alone; the
	// commands refuse an empty --caa-identity (caa.CheckIssuerDomain).
	CAAIdentity string
	// TLSALPN configures tls-alpn-01 observations.
	TLSALPN TLSALPNConfig
	// Timeout bounds one observation. If zero, DefaultTimeout.
	Timeout time.Duration
	// Clock; if nil, the wall clock.
	Clock Clock
}

// DefaultTimeout bounds one observation of one domain, all lookups and
// fetches included.
const DefaultTimeout = 30 * time.Second

// Validator observes domains. It is safe for concurrent use.
type Validator struct {
	cfg Config
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// New returns a Validator for cfg.
func New(cfg Config) (*Validator, error) {
	if cfg.Resolver == nil {
		return nil, fmt.Errorf("validation: a resolver is required")
	}
	if cfg.Perspective == "" {
		cfg.Perspective = "primary"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Clock == nil {
		cfg.Clock = wallClock{}
	}
	return &Validator{cfg: cfg}, nil
}

// CAAIdentity returns the issuer domain name the validator matches CAA
// records against when a request names none.
func (v *Validator) CAAIdentity() string { return v.cfg.CAAIdentity }

// Foreign returns why o, another perspective's observation, was made in a
// way v would not have made it: a web fetch or a TLS-ALPN handshake at
// another port than v's, at an address v does not dial, or an address v
// dials left undialled (an agent run with other --validation-http-port,
// --allow-loopback-targets or --allow-private-targets than this
// validator); "" when none. Such a view is of another validation than
// v's: no corroboration, and no disagreement either (security review,
// verification run).
func (v *Validator) Foreign(o *Observation) string {
	if o.File != nil && v.cfg.Fetcher != nil {
		f := v.cfg.Fetcher
		for _, tr := range o.File.Fetches {
			if tr == nil {
				continue
			}
			for _, a := range tr.Attempts {
				if a.Address == "" || a.Err != nil && a.Err.Kind == webfetch.ErrSourceAddress {
					continue // not dialled, for want of a source address
				}
				ap, err := netip.ParseAddrPort(a.Address)
				if err != nil {
					continue
				}
				scheme, _, _ := strings.Cut(a.URL, "://")
				refused := a.Err != nil && a.Err.Kind == webfetch.ErrReservedAddress
				if why := foreignDial(a.URL, ap, f.Port(scheme), refused, f.Refuses(ap.Addr())); why != "" {
					return why
				}
			}
		}
	}
	if t := o.TLSALPN; t != nil {
		c := v.cfg.TLSALPN
		targets := ident.Targets{Loopback: c.AllowLoopback, Private: c.AllowPrivate}
		addr, refused := t.Address, false
		if t.Error != nil && t.Error.Kind == webfetch.ErrReservedAddress {
			addr, refused = t.Error.Address, true
		}
		if ap, err := netip.ParseAddrPort(addr); err == nil {
			if why := foreignDial("tls-alpn-01", ap, cmp.Or(c.Port, 443), refused, targets.Refused(ap.Addr())); why != "" {
				return why
			}
		}
	}
	return ""
}

// foreignDial says why a dial of what (a URL, or "tls-alpn-01") at ap,
// refused there as a special-purpose address or not, differs from this
// validator's, which dials port and refuses ap's address or not; "" when
// it does not.
func foreignDial(what string, ap netip.AddrPort, port int, refused, wouldRefuse bool) string {
	switch {
	case int(ap.Port()) != port:
		return fmt.Sprintf("for %s it dialled port %d, where this CA's primary perspective dials %d (the agent's --validation-http-port or --validation-https-port differ)", what, ap.Port(), port)
	case !refused && wouldRefuse:
		return fmt.Sprintf("for %s it dialled %s, a special-purpose address this CA's primary perspective does not dial (the agent's target flags differ)", what, ap)
	case refused && !wouldRefuse:
		return fmt.Sprintf("for %s it did not dial %s, which this CA's primary perspective dials (the agent's target flags differ: --allow-loopback-targets or --allow-private-targets)", what, ap)
	}
	return ""
}

// Observe observes one domain by its method and, when a CAA identity is
// configured, its CAA records. It always returns an Observation: failures
// are part of what was observed. It returns an error only for a request it
// cannot serve (unknown method).
func (v *Validator) Observe(ctx context.Context, req Request) (Observation, error) {
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	obs := Observation{
		Perspective: v.cfg.Perspective,
		Domain:      req.Domain,
		Method:      req.Method,
		Expected:    req.Value,
		StartedAt:   v.cfg.Clock.Now(),
	}
	start := time.Now()
	switch req.Method {
	case MethodDNS, MethodDNS01, MethodTLSALPN01:
	case MethodFile, MethodHTTP01:
		if v.cfg.Fetcher == nil {
			return obs, fmt.Errorf("validation: %s validation needs a fetcher", req.Method)
		}
	default:
		return obs, fmt.Errorf("validation: unknown method %q", req.Method)
	}
	if req.CAAIdentity == "" {
		req.CAAIdentity = v.cfg.CAAIdentity
	}
	if ident.IsIP(req.Domain) {
		// CAA (RFC 8659) concerns domain names; an IP address has no CAA
		// records to look up (RFC 8738).
		req.CAAIdentity = ""
	}
	if req.CAAOnly {
		obs.CAAOnly = true
		if req.CAAIdentity != "" {
			obs.CAA = v.observeCAA(ctx, req)
		}
		obs.Duration = time.Since(start)
		return obs, nil
	}
	// CAA is looked up beside the method's observation, not after it: the
	// two are independent, and both are made within this request.
	var caaDone chan *caa.Result
	if req.CAAIdentity != "" {
		caaDone = make(chan *caa.Result, 1)
		go func() { caaDone <- v.observeCAA(ctx, req) }()
	}
	switch req.Method {
	case MethodDNS:
		obs.DNS = v.observeDNSAuth(ctx, req)
	case MethodFile:
		obs.File = v.observeFile(ctx, req)
	case MethodHTTP01:
		obs.File = v.observeHTTP01(ctx, req)
	case MethodDNS01:
		obs.DNS = v.observeDNS01(ctx, req)
	case MethodTLSALPN01:
		obs.TLSALPN = v.observeTLSALPN01(ctx, req)
	}
	if caaDone != nil {
		obs.CAA = <-caaDone
	}
	obs.Duration = time.Since(start)
	return obs, nil
}
