package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// setupTimeout bounds the phase before the load: directory fetch and
// account registration of all workers.
const setupTimeout = 60 * time.Second

type runner struct {
	cfg   Config
	resp  *responder
	rec   *recorder
	tls   *tls.Config // for an https:// directory
	dir   *directory
	runID string

	mu    sync.Mutex
	wires []*wireClient // every worker's, closed by close

	polls atomic.Int64
	// rateLimited counts flows the server refused with rateLimited.
	rateLimited atomic.Int64
	certs       atomic.Int64
	failed      atomic.Int64
}

func newRunner(cfg Config) (*runner, error) {
	ap, err := netip.ParseAddrPort(cfg.ResponderAddr)
	if err != nil {
		return nil, fmt.Errorf("bench: responder address: %w", err)
	}
	var id [4]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("bench: run id: %w", err)
	}
	r := &runner{
		cfg:   cfg,
		resp:  newResponder(ap.Addr()),
		rec:   newRecorder(),
		runID: hex.EncodeToString(id[:]),
		tls:   &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
	}
	switch cfg.Challenge {
	case ChallengeHTTP01:
		err = r.resp.startHTTP(cfg.ResponderAddr)
	case ChallengeTLSALPN01:
		err = r.resp.startTLSALPN(cfg.ResponderAddr)
	}
	if err == nil && cfg.DNSAddr != "" {
		err = r.resp.startDNS(cfg.DNSAddr)
	}
	if err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func (r *runner) close() {
	r.resp.close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.wires {
		w.close()
	}
}

// newWire returns a new HTTP client for one goroutine, closed by close.
func (r *runner) newWire() *wireClient {
	w := newWireClient(r.tls, r.cfg.RequestTimeout)
	r.mu.Lock()
	r.wires = append(r.wires, w)
	r.mu.Unlock()
	return w
}

func (r *runner) run(ctx context.Context) (*Report, error) {
	cfg := r.cfg
	hz, hzSource := clockTicks()

	// Directory and accounts first, outside the timed load.
	setupCtx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	dir, err := fetchDirectory(setupCtx, r.newWire(), cfg.DirectoryURL)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	r.dir = dir
	workers := make([]*worker, cfg.Concurrency)
	errs := make([]error, cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			workers[i], errs[i] = r.newWorker(setupCtx, i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("bench: registering accounts: %w", err)
	}

	var serverStart int64
	if cfg.ServerPID != 0 {
		var err error
		if serverStart, err = processCPU(strconv.Itoa(cfg.ServerPID)); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	selfStart, selfErr := processCPU("self")

	start := time.Now()
	stopStarting := start.Add(cfg.Duration)
	// The hard stop: flows still running when it passes are cancelled.
	loadCtx, cancelLoad := context.WithDeadline(ctx, stopStarting.Add(cfg.FlowTimeout))
	defer cancelLoad()
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.client.wire.watch(loadCtx)()
			down := 0 // flows in a row that could not reach the server
			for n := 0; loadCtx.Err() == nil && time.Now().Before(stopStarting); n++ {
				err := w.issueOne(loadCtx, n)
				if unreachable(err) {
					// The server is gone (stopped, restarting): back off
					// instead of dialling it thousands of times a second.
					down++
					until := time.Now().Add(unreachableWait(down))
					if until.After(stopStarting) {
						until = stopStarting
					}
					sleepUntil(loadCtx, until)
					continue
				}
				down = 0
				if wait, limited := rateLimitedWait(err); limited {
					// The server's rate limits refused the flow: wait as
					// it asked rather than hammer it with refused
					// requests, which would count in its CPU time per
					// certificate (never past the time to stop starting).
					r.rateLimited.Add(1)
					until := time.Now().Add(wait)
					if until.After(stopStarting) {
						until = stopStarting
					}
					sleepUntil(loadCtx, until)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	rep := &Report{
		Directory:        cfg.DirectoryURL,
		Challenge:        cfg.Challenge,
		Concurrency:      cfg.Concurrency,
		Names:            cfg.Names,
		Accounts:         len(workers),
		Certificates:     int(r.certs.Load()),
		Failed:           int(r.failed.Load()),
		Polls:            int(r.polls.Load()),
		RateLimited:      int(r.rateLimited.Load()),
		Elapsed:          elapsed,
		Steps:            r.rec.steps(),
		Errors:           r.rec.errorCounts(),
		ClockTicks:       hz,
		ClockTicksSource: hzSource,
	}
	if cfg.ServerPID != 0 {
		end, err := processCPU(strconv.Itoa(cfg.ServerPID))
		if err != nil {
			return rep, fmt.Errorf("bench: %w", err)
		}
		d := ticksToDuration(end-serverStart, hz)
		rep.ServerCPU = &d
	}
	if selfEnd, err := processCPU("self"); err == nil && selfErr == nil {
		rep.BenchCPU = ticksToDuration(selfEnd-selfStart, hz)
	}
	return rep, nil
}

// worker is one account running one flow at a time.
type worker struct {
	r      *runner
	id     int
	client *acmeClient
	// certKey is the key of every CSR this worker sends: generating one
	// per certificate only spent the load generator's CPU, which the
	// server under test shares.
	certKey *ecdsa.PrivateKey
	csr     *csrMaker
}

func (r *runner) newWorker(ctx context.Context, id int) (*worker, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("account key: %w", err)
	}
	c, err := newACMEClient(r.newWire(), r.dir, key)
	if err != nil {
		return nil, err
	}
	certKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certificate key: %w", err)
	}
	csr, err := newCSRMaker(certKey)
	if err != nil {
		return nil, err
	}
	w := &worker{r: r, id: id, client: c, certKey: certKey, csr: csr}
	defer c.wire.watch(ctx)()
	if err := w.timed(ctx, StepAccount, c.register); err != nil {
		return nil, fmt.Errorf("account %d: %w", id, err)
	}
	return w, nil
}

// timed runs f, one request (whose deadline the wireClient sets), and
// records its latency under step when it succeeds.
func (w *worker) timed(ctx context.Context, step string, f func(context.Context) error) error {
	t := time.Now()
	if err := f(ctx); err != nil {
		return &stepError{step: step, err: err}
	}
	w.r.rec.observe(step, time.Since(t))
	return nil
}

// stepError remembers in which step a flow failed.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// wrongCertError is a downloaded certificate that is not the one ordered.
type wrongCertError struct{ reason string }

func (e *wrongCertError) Error() string { return "downloaded certificate: " + e.reason }

// issueOne runs one certificate's flow, records its outcome, and returns
// the flow's error.
func (w *worker) issueOne(ctx context.Context, n int) error {
	ctx, cancel := context.WithTimeout(ctx, w.r.cfg.FlowTimeout)
	defer cancel()
	t := time.Now()
	if err := w.flow(ctx, n); err != nil {
		w.r.failed.Add(1)
		step := "flow"
		var se *stepError
		if errors.As(err, &se) {
			step = se.step
		}
		w.r.rec.fail(step, err)
		return err
	}
	w.r.certs.Add(1)
	w.r.rec.observe(StepTotal, time.Since(t))
	return nil
}

// unreachable reports whether err is a failure to connect to the server
// (refused, reset, unreachable network): not an answer of the server.
func unreachable(err error) bool {
	var oe *net.OpError
	return err != nil && errors.As(err, &oe) && oe.Op == "dial"
}

// unreachableWait is the wait after the down-th flow in a row that could
// not reach the server: 50 ms doubling, at most 2 s.
func unreachableWait(down int) time.Duration {
	return min(50*time.Millisecond<<min(down-1, 6), 2*time.Second)
}

// minRateLimitWait is the wait after a rateLimited answer that names none.
const minRateLimitWait = time.Second

// rateLimitedWait reports whether err is the server's rateLimited problem
// (RFC 8555 §6.6), and how long to wait before the next flow: its
// Retry-After, or at least minRateLimitWait.
func rateLimitedWait(err error) (time.Duration, bool) {
	var p *problem
	if !errors.As(err, &p) || !p.is("rateLimited") {
		return 0, false
	}
	return max(p.RetryAfter, minRateLimitWait), true
}

// sleepUntil waits until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// names returns the DNS names of flow n: unique per run, worker and flow,
// so that no authorization of an earlier run or flow is reused.
func (w *worker) names(n int) []string {
	out := make([]string, w.r.cfg.Names)
	for k := range out {
		out[k] = fmt.Sprintf("b%s-w%d-n%d-k%d.%s", w.r.runID, w.id, n, k, w.r.cfg.Domain)
	}
	return out
}

func (w *worker) flow(ctx context.Context, n int) error {
	names := w.names(n)
	var (
		order    *orderObject
		orderURL string
	)
	err := w.timed(ctx, StepNewOrder, func(ctx context.Context) (err error) {
		order, orderURL, err = w.client.newOrder(ctx, names)
		return err
	})
	if err != nil {
		return err
	}
	for _, u := range order.Authorizations {
		if err := w.authorize(ctx, u); err != nil {
			return err
		}
	}
	return w.finalize(ctx, order, orderURL, names)
}

// authorize drives one authorization to valid.
func (w *worker) authorize(ctx context.Context, url string) error {
	var authz *authzObject
	err := w.timed(ctx, StepAuthz, func(ctx context.Context) (err error) {
		authz, err = w.client.getAuthz(ctx, url)
		return err
	})
	if err != nil {
		return err
	}
	if authz.Status == statusValid {
		return nil
	}
	typ := w.r.cfg.Challenge
	i := slices.IndexFunc(authz.Challenges, func(c challengeObject) bool { return c.Type == typ })
	if i < 0 {
		return &stepError{step: StepAuthz, err: fmt.Errorf("authorization for %s offers no %s challenge", authz.Identifier.Value, typ)}
	}
	chal := authz.Challenges[i]
	name := authz.Identifier.Value
	if err := w.provision(chal, name); err != nil {
		return &stepError{step: StepChallenge, err: err}
	}
	defer w.r.resp.clear(chal.Token, name)

	var got *challengeObject
	err = w.timed(ctx, StepChallenge, func(ctx context.Context) (err error) {
		got, err = w.client.accept(ctx, chal.URL)
		return err
	})
	if err != nil {
		return err
	}
	if got.Status == statusValid {
		return nil
	}
	// Poll the authorization (RFC 8555 §7.5.1: "the client should then
	// send a POST-as-GET request to the authorization resource") until the
	// server decides.
	t := time.Now()
	for {
		if err := sleep(ctx, w.r.cfg.PollInterval); err != nil {
			return &stepError{step: StepValidationWait, err: err}
		}
		w.r.polls.Add(1)
		err := w.timed(ctx, StepPoll, func(ctx context.Context) (err error) {
			authz, err = w.client.getAuthz(ctx, url)
			return err
		})
		if err != nil {
			return &stepError{step: StepValidationWait, err: errors.Unwrap(err)}
		}
		switch authz.Status {
		case statusValid:
			w.r.rec.observe(StepValidationWait, time.Since(t))
			return nil
		case statusInvalid, statusDeactivated, statusExpired, statusRevoked:
			aerr := &authzError{URL: url, Identifier: name, Status: authz.Status}
			for _, c := range authz.Challenges {
				if c.Error != nil {
					aerr.Problems = append(aerr.Problems, c.Error)
				}
			}
			return &stepError{step: StepValidationWait, err: aerr}
		}
	}
}

// provision makes the responder answer chal for name.
func (w *worker) provision(chal challengeObject, name string) error {
	ka := w.client.signer.keyAuthorization(chal.Token)
	switch chal.Type {
	case ChallengeHTTP01:
		w.r.resp.setHTTP01(chal.Token, ka)
	case ChallengeDNS01:
		w.r.resp.setDNS01(name, dns01Value(ka))
	case ChallengeTLSALPN01:
		cert, err := tlsALPN01Cert(w.certKey, name, ka)
		if err != nil {
			return err
		}
		w.r.resp.setTLSALPN(name, cert)
	default:
		return fmt.Errorf("cannot answer a %s challenge", chal.Type)
	}
	return nil
}

// finalize sends the CSR and downloads the certificate, then checks that it
// names exactly what was ordered, with the CSR's key.
func (w *worker) finalize(ctx context.Context, order *orderObject, orderURL string, names []string) error {
	csr, err := w.csr.make(names)
	if err != nil {
		return &stepError{step: StepFinalize, err: err}
	}
	t := time.Now()
	der, err := w.finalizeAndDownload(ctx, order, orderURL, csr)
	if err != nil {
		return &stepError{step: StepFinalize, err: err}
	}
	w.r.rec.observe(StepFinalize, time.Since(t))
	if err := checkLeaf(der, &w.certKey.PublicKey, w.csr.spki.FullBytes, names); err != nil {
		return &stepError{step: StepFinalize, err: err}
	}
	if w.r.cfg.Received != nil {
		w.r.cfg.Received(der)
	}
	return nil
}

// finalizeAndDownload finalizes the order and returns the DER of the
// certificate. RFC 8555 §7.4 lets the server issue asynchronously ("the
// status of the order will indicate what action the client should take":
// "processing" until the certificate is issued, Pebble always does): then
// the order is polled every PollInterval until it is valid, and the
// certificate downloaded.
func (w *worker) finalizeAndDownload(ctx context.Context, order *orderObject, orderURL string, csr []byte) ([]byte, error) {
	o, err := w.client.finalize(ctx, order.Finalize, csr)
	if err != nil {
		return nil, err
	}
	for {
		switch o.Status {
		case statusValid:
			if o.Certificate != "" {
				if w.r.cfg.Issued != nil {
					w.r.cfg.Issued(orderURL)
				}
				return w.client.fetchLeaf(ctx, o.Certificate)
			}
		case statusInvalid:
			return nil, &orderError{URL: orderURL, Status: o.Status, Problem: o.Error}
		}
		if err := sleep(ctx, w.r.cfg.PollInterval); err != nil {
			return nil, err
		}
		w.r.polls.Add(1)
		if o, err = w.client.getOrder(ctx, orderURL); err != nil {
			return nil, err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
