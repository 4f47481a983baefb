package perspective

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/validation"
)

// Limits of the agent's server.
const (
	// DefaultMaxInFlight bounds the observations an agent runs at once.
	// As many more wait in line for a free one, for at most SlotWait;
	// beyond, a request is refused with 503 (the primary records the
	// perspective as unavailable).
	DefaultMaxInFlight = 64
	// DefaultSlotWait is how long a request waits in line for a free
	// observation slot: the primary's margin beyond an observation's own
	// deadline (DefaultRemoteTimeout - validation.DefaultTimeout). The
	// wait comes out of the observation's time, so that a request that
	// waited still answers within validation.DefaultTimeout of arriving.
	// A burst (an order of 100 names checked at once, another applicant's
	// slow web servers) then waits instead of failing every domain past the
	// 64th (security review).
	DefaultSlotWait = DefaultRemoteTimeout - validation.DefaultTimeout
	// DefaultHeartbeat is how often an agent repeats 102 Processing while
	// it observes: well within the primary's DefaultAckTimeout.
	DefaultHeartbeat = 2 * time.Second
	// maxValueLen bounds the expected value of a request: dcv's values are
	// a few dozen characters.
	maxValueLen = 512
	// maxDomainLen bounds a requested domain: 253 octets, plus "*.".
	maxDomainLen = 255
	// agentReadHeaderTimeout, agentIdleTimeout and agentWriteTimeout bound
	// each connection; the write timeout covers one observation.
	agentReadHeaderTimeout = 10 * time.Second
	agentReadTimeout       = 30 * time.Second
	agentWriteTimeout      = validation.DefaultTimeout + DefaultSlotWait + 10*time.Second
	agentIdleTimeout       = 2 * time.Minute
	agentMaxHeaderBytes    = 16 << 10
)

// AgentConfig configures an Agent.
type AgentConfig struct {
	// Credentials are the agent's, from enrolment. Required.
	Credentials *Credentials
	// Validator observes from the agent's network, with its own resolver
	// and cache. Required.
	Validator *validation.Validator
	// MaxInFlight bounds concurrent observations. If zero,
	// DefaultMaxInFlight. As many more requests wait for a slot.
	MaxInFlight int
	// SlotWait bounds a request's wait for a slot. If zero,
	// DefaultSlotWait.
	SlotWait time.Duration
	// Heartbeat is how often the agent repeats its interim 102 Processing
	// while it observes, so that the primary tells a long observation from
	// a hung agent (Config.AckTimeout). If zero, DefaultHeartbeat.
	Heartbeat time.Duration
	// Now is the clock. If nil, time.Now.
	Now func() time.Time
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
}

// Agent is the server side of a remote perspective: it answers the
// primary's requests over HTTPS with mutual TLS only. Every endpoint,
// health and metrics included, requires a client certificate from the
// agent CA that carries the primary's role; there is no unauthenticated
// endpoint.
type Agent struct {
	cfg     AgentConfig
	cert    tls.Certificate
	tlsConf *tls.Config
	started time.Time
	m       metrics
	slots   chan struct{}
	// ownFailure is the detail of the last observation that failed on
	// the agent's own side (see agentOwnFailure), or nil once one has
	// not: the agent's health reports it.
	ownFailure atomic.Pointer[string]
}

// NewAgent returns an Agent for cfg.
func NewAgent(cfg AgentConfig) (*Agent, error) {
	if cfg.Credentials == nil || cfg.Validator == nil {
		return nil, errors.New("perspective: an agent needs credentials and a validator")
	}
	if err := cfg.Credentials.check(); err != nil {
		return nil, fmt.Errorf("perspective: agent credentials: %w", err)
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.SlotWait <= 0 {
		cfg.SlotWait = DefaultSlotWait
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cert, err := cfg.Credentials.TLSCertificate()
	if err != nil {
		return nil, err
	}
	pool, err := cfg.Credentials.CAPool()
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, cert: cert, started: cfg.Now(), slots: make(chan struct{}, cfg.MaxInFlight)}
	if leaf, err := x509.ParseCertificate(cert.Certificate[0]); err == nil {
		a.m.certNotAfter = leaf.NotAfter
	}
	a.tlsConf = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		NextProtos:   []string{"h2", "http/1.1"},
		VerifyConnection: func(cs tls.ConnectionState) error {
			// The chain was verified against the agent CA; only the
			// primary's certificate may call an agent, not another agent's.
			if len(cs.PeerCertificates) == 0 || !slices.ContainsFunc(cs.PeerCertificates[0].URIs, func(u *url.URL) bool {
				return u.String() == ca.RolePrimaryURI
			}) {
				a.m.rejected.Add(1)
				return errors.New("client certificate is not the primary's")
			}
			return nil
		},
	}
	return a, nil
}

// TLSConfig returns the server TLS configuration (TLS 1.3, client
// certificates required and verified). The caller must not modify it.
func (a *Agent) TLSConfig() *tls.Config { return a.tlsConf }

// Serve serves the agent protocol on ln (wrapped in TLS) until ctx ends,
// then shuts down, giving requests in flight up to 10 s.
func (a *Agent) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler(),
		TLSConfig:         a.tlsConf,
		ReadHeaderTimeout: agentReadHeaderTimeout,
		ReadTimeout:       agentReadTimeout,
		WriteTimeout:      agentWriteTimeout,
		IdleTimeout:       agentIdleTimeout,
		MaxHeaderBytes:    agentMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.cfg.Logger.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tls.NewListener(ln, a.tlsConf)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// Handler returns the agent's HTTP handler. It relies on the TLS layer for
// authentication and refuses any request that did not come with a
// verified client certificate, as a second line.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PathObserve, a.observe)
	mux.HandleFunc("GET "+PathHealth, a.health)
	mux.HandleFunc("GET "+PathMetrics, a.metrics)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			a.m.rejected.Add(1)
			http.Error(w, "client certificate required", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (a *Agent) observe(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	if !a.takeSlot(w, r) {
		return
	}
	defer func() { <-a.slots }()
	// A wait in line comes out of the observation's own time: the primary
	// gives an agent DefaultRemoteTimeout in all, an observation's
	// deadline and DefaultSlotWait (review: a request that waited, then
	// observed a slow domain whole, answered after the primary gave up).
	ctx, cancel := context.WithDeadline(r.Context(), arrived.Add(validation.DefaultTimeout))
	defer cancel()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil || len(body) > maxRequestBytes {
		a.m.outcome(outcomeBadRequest)
		http.Error(w, "request body unreadable or too large", http.StatusBadRequest)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req validation.Request
	if err := dec.Decode(&req); err != nil {
		a.m.outcome(outcomeBadRequest)
		http.Error(w, "malformed request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if req.Domain == "" || len(req.Domain) > maxDomainLen || req.Value == "" || len(req.Value) > maxValueLen || strings.ContainsAny(req.Domain, "/ \t\r\n") {
		a.m.outcome(outcomeBadRequest)
		http.Error(w, "invalid domain or value", http.StatusBadRequest)
		return
	}
	if req.CAAIdentity != "" {
		if err := caa.CheckIssuerDomain(req.CAAIdentity); err != nil {
			a.m.outcome(outcomeBadRequest)
			http.Error(w, "invalid CAA identity: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	// Acknowledge the request before observing, which may take up to the
	// validator's deadline, and again every Heartbeat while observing: the
	// primary gives up on an agent silent for its AckTimeout, instead of
	// waiting that long for a hung one.
	w.WriteHeader(http.StatusProcessing)
	stopBeats := a.heartbeat(w)
	defer stopBeats() // also if Observe panics: w must not outlive the handler
	a.m.inFlight.Add(1)
	start := time.Now()
	obs, err := a.cfg.Validator.Observe(ctx, req)
	stopBeats()
	a.m.inFlight.Add(-1)
	a.m.observed(req.Method, time.Since(start))
	if err != nil {
		a.cfg.Logger.Debug("observation refused", "domain", req.Domain, "method", req.Method, "err", err)
		a.m.outcome(outcomeBadRequest)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	obs.Perspective = a.cfg.Credentials.Name
	detail, own := agentOwnFailure(&obs)
	if own {
		a.ownFailure.Store(&detail)
	} else {
		a.ownFailure.Store(nil)
	}
	// One line per observation, for an operator following a perspective
	// (black-box run: an agent logged nothing past its start).
	a.cfg.Logger.Debug("observation", "domain", req.Domain, "method", req.Method, "elapsed", time.Since(start).Round(time.Millisecond), "own_failure", detail)
	b, err := json.Marshal(obs)
	if err != nil {
		a.m.outcome(outcomeError)
		a.cfg.Logger.Error("encoding observation", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	a.m.outcome(outcomeOK)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// takeSlot takes an observation slot for r, waiting in line when all are
// busy: acknowledged with 102 Processing, and again every Heartbeat, so
// that the primary knows the agent alive. It answers 503 and returns false
// when the line is full (MaxInFlight waiting already) or no slot frees
// within SlotWait, and returns false when the primary gave up.
func (a *Agent) takeSlot(w http.ResponseWriter, r *http.Request) bool {
	select {
	case a.slots <- struct{}{}:
		return true
	default:
	}
	if a.m.queued.Add(1) > int64(a.cfg.MaxInFlight) {
		a.m.queued.Add(-1)
		a.m.outcome(outcomeBusy)
		http.Error(w, "too many observations in progress", http.StatusServiceUnavailable)
		return false
	}
	defer a.m.queued.Add(-1)
	w.WriteHeader(http.StatusProcessing)
	stop := a.heartbeat(w)
	t := time.NewTimer(a.cfg.SlotWait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		stop()
		return true
	case <-t.C:
		stop()
		a.m.outcome(outcomeBusy)
		http.Error(w, fmt.Sprintf("too many observations in progress (no slot free within %s)", a.cfg.SlotWait), http.StatusServiceUnavailable)
		return false
	case <-r.Context().Done():
		stop()
		return false
	}
}

// heartbeat repeats 102 Processing on w every Heartbeat until the
// returned stop is called (once or more); after stop returns, w is the
// caller's alone.
func (a *Agent) heartbeat(w http.ResponseWriter) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go func() {
		defer close(stopped)
		t := time.NewTicker(a.cfg.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				w.WriteHeader(http.StatusProcessing)
			}
		}
	}()
	return func() {
		once.Do(func() { close(done) })
		<-stopped
	}
}

func (a *Agent) health(w http.ResponseWriter, _ *http.Request) {
	h := Health{
		Status:       "ok",
		Name:         a.cfg.Credentials.Name,
		RIR:          a.cfg.Credentials.RIR,
		StartedAt:    a.started,
		Observations: a.m.total(),
		InFlight:     a.m.inFlight.Load(),
	}
	if d := a.ownFailure.Load(); d != nil {
		// It answers, but its last observation failed on its side.
		h.Status, h.Detail = "degraded", *d
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(h)
}

func (a *Agent) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	a.m.write(w, a.cfg.Credentials.Name, a.cfg.Credentials.RIR, a.started)
}
