package perspective

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// Paths of the agent protocol. Every one requires the primary's client
// certificate.
const (
	PathObserve = "/v1/observe"
	PathHealth  = "/v1/health"
	PathMetrics = "/metrics"
)

// Limits of the agent protocol.
const (
	// maxRequestBytes bounds a POST /v1/observe body: a domain (at most 255
	// octets), a method, a value, a token and an account URL of a few dozen
	// characters each, up to validation.MaxOtherValues other values (32 of
	// about 40 bytes in JSON) and the order's other domains with their
	// values (99 of at most 255 + 32 + 30 bytes in JSON: about 31 KiB for
	// an order of ident.MaxNames names). 64 KiB holds the largest request
	// with room; 8 KiB refused every order of 70 names or more, whose
	// checks then failed on every agent (security review).
	maxRequestBytes = 64 << 10
	// maxObservationBytes bounds an observation read from an agent. Its
	// evidence is bounded upstream (64 KiB of TXT data per DNS answer, a
	// few KiB of body per fetch attempt, a handful of lookups and
	// attempts); 4 MiB leaves a wide margin and still bounds memory.
	maxObservationBytes = 4 << 20
	// maxHealthBytes bounds a health answer (a small JSON object).
	maxHealthBytes = 16 << 10
	// maxErrorBytes is how much of an agent's error body is kept as detail.
	maxErrorBytes = 512
	// tlsHandshakeTimeout bounds the mutual-TLS handshake with an agent.
	tlsHandshakeTimeout = 5 * time.Second
	// idleConnTimeout is how long an idle connection to an agent is kept
	// for the next check.
	idleConnTimeout = 90 * time.Second
)

// agentClient talks to one agent over mutual TLS, reusing connections.
type agentClient struct {
	remote Remote
	http   *http.Client
}

func newAgentClient(id *PrimaryIdentity, remote Remote) (*agentClient, error) {
	u, err := ParseURL(remote.URL)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:                  nil,
		TLSClientConfig:        id.tlsConfig(remote, u.Hostname()),
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    tlsHandshakeTimeout,
		IdleConnTimeout:        idleConnTimeout,
		MaxIdleConnsPerHost:    8,
		MaxResponseHeaderBytes: 64 << 10,
		DialContext:            (&net.Dialer{Timeout: tlsHandshakeTimeout}).DialContext,
	}
	return &agentClient{remote: Remote{Name: remote.Name, URL: u.String(), RIR: remote.RIR, CertSHA256: remote.CertSHA256, NextCertSHA256: remote.NextCertSHA256}, http: &http.Client{Transport: tr}}, nil
}

func (c *agentClient) close() { c.http.CloseIdleConnections() }

// observe asks the agent to observe req. It always returns an Observation:
// when the agent cannot give one, Unavailable says why. cut tells a context
// canceled by the quorum's grace period from the caller's own deadline.
func (c *agentClient) observe(ctx context.Context, req validation.Request, timeout, ack time.Duration, now time.Time, cut func() bool) validation.Observation {
	start := time.Now()
	obs, kind, detail := c.do(ctx, req, timeout, ack)
	rt := time.Since(start)
	if kind != "" {
		if ctx.Err() != nil && cut() {
			kind = validation.UnavailableCut
		}
		obs = validation.Observation{Domain: req.Domain, Method: req.Method, Expected: req.Value, StartedAt: now,
			Unavailable: kind, UnavailableDetail: truncate(detail, maxErrorBytes)}
	}
	obs.Perspective = c.remote.Name
	obs.RIR = c.remote.RIR
	obs.Agent = c.remote.URL
	obs.RoundTrip = rt
	return obs
}

// errNoAck cancels a request that the agent did not acknowledge in time.
var errNoAck = errors.New("no acknowledgement")

// do sends req to the agent. The agent acknowledges a request it accepts
// with an interim 102 Processing before it observes, and repeats it every
// few seconds while it observes: when ack passes without one (or the
// answer), the agent is stalled (a hung process, a full queue, a network
// that lets connections open but drops what follows) and the request is
// given up at once, instead of at timeout, which an observation of a slow
// domain may need whole.
func (c *agentClient) do(ctx context.Context, req validation.Request, timeout, ack time.Duration) (validation.Observation, string, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := json.Marshal(req)
	if err != nil {
		return validation.Observation{}, validation.UnavailableProtocol, err.Error()
	}
	actx, stall := context.WithCancelCause(ctx)
	defer stall(nil)
	var (
		mu    sync.Mutex
		done  bool
		timer *time.Timer
	)
	// alive restarts the silence timer: the request was sent, or the agent
	// acknowledged it or said again that it is still observing.
	alive := func() {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case done:
		case timer == nil:
			timer = time.AfterFunc(ack, func() { stall(errNoAck) })
		default:
			timer.Reset(ack)
		}
	}
	finished := func() {
		mu.Lock()
		defer mu.Unlock()
		done = true
		if timer != nil {
			timer.Stop()
		}
	}
	trace := &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { alive() },
		Got1xxResponse: func(int, textproto.MIMEHeader) error {
			alive()
			return nil
		},
		GotFirstResponseByte: alive,
	}
	defer finished() // stops the timer
	hr, err := http.NewRequestWithContext(httptrace.WithClientTrace(actx, trace), http.MethodPost, c.remote.URL+PathObserve, bytes.NewReader(body))
	if err != nil {
		return validation.Observation{}, validation.UnavailableProtocol, err.Error()
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(hr)
	finished() // the answer's head came: its small body follows at once
	if err != nil {
		if errors.Is(context.Cause(actx), errNoAck) && ctx.Err() == nil {
			return validation.Observation{}, validation.UnavailableTimeout, fmt.Sprintf("the agent gave no sign of life for %s (no acknowledgement or progress): it is stalled or overloaded", ack)
		}
		return validation.Observation{}, classify(ctx, err), err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		return validation.Observation{}, validation.UnavailableProtocol, fmt.Sprintf("agent answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxObservationBytes+1))
	if err != nil {
		return validation.Observation{}, classify(ctx, err), "reading the observation: " + err.Error()
	}
	if len(b) > maxObservationBytes {
		return validation.Observation{}, validation.UnavailableProtocol, fmt.Sprintf("observation larger than %d bytes", maxObservationBytes)
	}
	var obs validation.Observation
	if err := json.Unmarshal(b, &obs); err != nil {
		return validation.Observation{}, validation.UnavailableProtocol, "decoding the observation: " + err.Error()
	}
	if obs.Domain != req.Domain || obs.Method != req.Method || obs.Expected != req.Value || obs.CAAOnly != req.CAAOnly {
		return validation.Observation{}, validation.UnavailableProtocol, "the observation is not of the request made"
	}
	if c := obs.CAA; c != nil && (c.Domain != strings.TrimPrefix(req.Domain, "*.") || c.Wildcard != strings.HasPrefix(req.Domain, "*.") ||
		c.AccountURI != req.AccountURI || c.Method != validation.CAAMethodName(req.Method)) {
		// RFC 8657: accounturi and validationmethods decide with the
		// account and the method; a verdict for others is no verdict.
		return validation.Observation{}, validation.UnavailableProtocol, "the agent's CAA check is not of the request made (another name, account or method)"
	}
	if want := req.CAAIdentity; want != "" && (obs.CAA == nil || !strings.EqualFold(obs.CAA.Identity, want)) {
		got := "no CAA check"
		if obs.CAA != nil {
			got = fmt.Sprintf("a CAA check for the issuer %q", obs.CAA.Identity)
		}
		return validation.Observation{}, validation.UnavailableProtocol, fmt.Sprintf("the agent made %s, not one for %q: upgrade it (agents check CAA for the identity the primary sends)", got, want)
	}
	if obs.Unavailable != "" {
		return validation.Observation{}, validation.UnavailableProtocol, "the agent relayed an unavailable observation"
	}
	if detail, ok := outdatedAgent(&obs); ok {
		return validation.Observation{}, validation.UnavailableProtocol, detail
	}
	if detail, ok := agentOwnFailure(&obs); ok {
		return validation.Observation{}, validation.UnavailableAgentNetwork, detail
	}
	return obs, "", ""
}

// outdatedAgent reports an observation of an IP address identifier made by
// an agent from before IP addresses: it refused the address's URL (which
// the primary built from an identifier its policy accepted), or looked the
// address up as a name. That agent is to be upgraded; the applicant is no
// cause.
func outdatedAgent(o *validation.Observation) (string, bool) {
	if !ident.IsIP(o.Domain) {
		return "", false
	}
	if o.TLSALPN != nil && len(o.TLSALPN.Lookups) > 0 {
		return "the agent looked the IP address " + o.Domain + " up as a name: upgrade it", true
	}
	if o.File != nil {
		for _, t := range o.File.Fetches {
			if t != nil && t.ResolveError != nil && t.ResolveError.Kind == webfetch.ErrInvalidURL {
				return "the agent does not fetch the URL of an IP address (" + t.ResolveError.Error() + "): upgrade it", true
			}
		}
	}
	return "", false
}

// agentOwnFailure reports an observation whose main lookup failed on the
// agent's own side rather than on the domain's: its resolver could not be
// reached (an upstream error, see dnsclient.Error.Upstream) or refused the
// query (REFUSED from the agent's own recursive resolver, see
// dnsclient.Response.Resolver: its access policy towards the agent), or its
// source address could not be bound (an address not assigned on the
// agent's host). Such an observation says nothing of the domain; counting it as a
// view that disagrees would blame the applicant for the operator's fault.
func agentOwnFailure(o *validation.Observation) (string, bool) {
	own := func(upstream bool, detail string) bool {
		return upstream || strings.Contains(detail, "cannot assign requested address")
	}
	if o.CAAOnly && o.CAA != nil && o.CAA.Failure != nil && own(o.CAA.Failure.Upstream, o.CAA.Failure.Detail) {
		// A CAA recheck: CAA is all there is to fail.
		return "the agent's CAA lookup failed on its side: " + o.CAA.Failure.Error(), true
	}
	if o.CAA != nil && o.CAA.Reason == caa.ReasonLookupFailed && o.CAA.FailedRcode == "REFUSED" && len(o.CAA.Trace) > 0 {
		if r := o.CAA.Trace[len(o.CAA.Trace)-1].Response; r != nil && r.Resolver {
			return "the agent's resolver " + r.Server + " refused its CAA lookup of " + o.CAA.FailedName, true
		}
	}
	switch {
	case o.DNS != nil:
		if e := o.DNS.Record.Err; e != nil && own(e.Upstream, e.Detail) {
			return "the agent's DNS lookup failed on its side: " + e.Error(), true
		}
		if r := o.DNS.Record.Response; r != nil && r.Rcode == "REFUSED" && r.Resolver {
			return "the agent's resolver " + r.Server + " refused its lookup of " + r.Name + " (REFUSED)", true
		}
	case o.TLSALPN != nil:
		if e := o.TLSALPN.Error; e != nil && e.Kind == webfetch.ErrSourceAddress {
			return sourceDetail(e), true
		}

	case o.File != nil:
		for _, t := range o.File.Fetches {
			if t == nil {
				continue
			}
			if e := t.ResolveError; e != nil && own(e.Upstream, e.Detail) {
				return "the agent's resolution of " + t.Host + " failed on its side: " + e.Error(), true
			}

			if e, ok := sourceOnly(t, own); ok {
				return sourceDetail(e), true
			}
		}
	}
	return "", false
}

// sourceDetail says in one short line (the matrix shows 120 characters)
// why an agent could not connect from its source address.
func sourceDetail(e *webfetch.Error) string {
	return e.Address + " " + e.Detail
}

// sourceOnly reports whether every chain of a fetch ended at a hop none of
// whose addresses the agent could try for want of a usable source address
// (one of the other family, or not assigned: webfetch.ErrSourceAddress, or
// the detail of an agent from before that kind), reserved addresses
// aside, and returns the first such error: the first URL's addresses, or
// those of a host it redirects to. An address the agent did reach at a
// chain's last hop decides instead: its failure, if any, is the domain's.
func sourceOnly(t *webfetch.Trace, own func(bool, string) bool) (*webfetch.Error, bool) {
	var first *webfetch.Error
	for _, c := range t.Chains() {
		last := c[len(c)-1].Hop
		for _, a := range c {
			switch {
			case a.Hop != last:
			case a.Err != nil && (a.Err.Kind == webfetch.ErrSourceAddress || legacyBindFailure(a.Err, own)):
				if first == nil {
					first = a.Err
				}
			case a.Err != nil && a.Err.Kind == webfetch.ErrReservedAddress:
			default:
				return nil, false
			}
		}
	}
	return first, first != nil
}

// legacyBindFailure reports an agent from before webfetch.ErrSourceAddress
// whose source address could not be bound: a connect-stage error (it
// classified EADDRNOTAVAIL as a network error) whose detail names the
// errno. Not an error of a later stage, whose detail may quote the web
// server's own bytes ("malformed HTTP response ..."): a domain could make
// its failure read as the agent's.
func legacyBindFailure(e *webfetch.Error, own func(bool, string) bool) bool {
	return (e.Kind == webfetch.ErrNetwork || e.Kind == webfetch.ErrConnectionRefused) && own(false, e.Detail)
}

// classify sorts a failed request to an agent into an Unavailable kind.
func classify(ctx context.Context, err error) string {
	var (
		cve *tls.CertificateVerificationError
		rhe tls.RecordHeaderError
		pe  *pinError
		uae x509.UnknownAuthorityError
		hne x509.HostnameError
		ope *net.OpError
	)
	switch {
	case errors.As(err, &cve), errors.As(err, &rhe), errors.As(err, &pe), errors.As(err, &uae), errors.As(err, &hne):
		return validation.UnavailableTLS
	case errors.As(err, &ope) && ope.Op == "remote error":
		// A TLS alert from the agent: it refused our certificate.
		return validation.UnavailableTLS
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), ctx.Err() != nil:
		return validation.UnavailableTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return validation.UnavailableTimeout
	}
	// crypto/tls reports some handshake failures only as text (no exported
	// type); they start with "tls:".
	if strings.Contains(err.Error(), "tls: ") {
		return validation.UnavailableTLS
	}
	return validation.UnavailableConnect
}

// Health is what an agent reports on GET /v1/health.
type Health struct {
	// Status is "ok", or "degraded" when the agent's last observation
	// failed on its own side (its resolver, its source address): Detail
	// says how.
	Status    string    `json:"status"`
	Detail    string    `json:"detail,omitempty"`
	Name      string    `json:"name"`
	RIR       string    `json:"rir"`
	StartedAt time.Time `json:"started_at"`
	// Observations counts the observations served since start.
	Observations uint64 `json:"observations"`
	// InFlight is the number of observations in progress.
	InFlight int64 `json:"in_flight"`
	// CertSHA256 and CertNotAfter are those of the certificate the agent
	// presented (set by Probe, not sent by the agent): which credentials
	// it runs with, and until when.
	CertSHA256   string    `json:"-"`
	CertNotAfter time.Time `json:"-"`
}

// Probe asks the agent of remote for its health over mutual TLS, within
// timeout, and returns it with the round-trip time.
func Probe(ctx context.Context, id *PrimaryIdentity, remote Remote, timeout time.Duration) (*Health, time.Duration, error) {
	c, err := newAgentClient(id, remote)
	if err != nil {
		return nil, 0, err
	}
	defer c.close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, c.remote.URL+PathHealth, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, time.Since(start), fmt.Errorf("agent %s %s: %w", remote.Name, classify(ctx, err), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxHealthBytes+1))
	rt := time.Since(start)
	if err != nil {
		return nil, rt, fmt.Errorf("agent %s: reading health: %w", remote.Name, err)
	}
	if resp.StatusCode != http.StatusOK || len(b) > maxHealthBytes {
		return nil, rt, fmt.Errorf("agent %s: health answered %s", remote.Name, resp.Status)
	}
	var h Health
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, rt, fmt.Errorf("agent %s: decoding health: %w", remote.Name, err)
	}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		leaf := resp.TLS.PeerCertificates[0]
		sum := sha256.Sum256(leaf.Raw)
		h.CertSHA256, h.CertNotAfter = hex.EncodeToString(sum[:]), leaf.NotAfter
	}
	return &h, rt, nil
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && (s[len(s)-1]&0xc0) == 0x80 {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xc0 {
		s = s[:len(s)-1]
	}
	return s
}
