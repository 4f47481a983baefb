package bench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/acme"
)

// setupTimeout bounds the phase before the load: directory fetch and
// account registration of all workers.
const setupTimeout = 60 * time.Second

type runner struct {
	cfg    Config
	resp   *responder
	rec    *recorder
	client *http.Client
	runID  string

	watch *finalizeWatcher

	polls  atomic.Int64
	certs  atomic.Int64
	failed atomic.Int64
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
	watch := &finalizeWatcher{next: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		MaxIdleConns:        2 * cfg.Concurrency,
		MaxIdleConnsPerHost: 2 * cfg.Concurrency,
		IdleConnTimeout:     30 * time.Second,
		TLSHandshakeTimeout: cfg.RequestTimeout,
	}}
	r := &runner{
		cfg:    cfg,
		watch:  watch,
		resp:   newResponder(ap.Addr()),
		rec:    newRecorder(),
		runID:  hex.EncodeToString(id[:]),
		client: &http.Client{Timeout: cfg.RequestTimeout, Transport: watch},
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
	r.watch.next.(*http.Transport).CloseIdleConnections()
}

func (r *runner) run(ctx context.Context) (*Report, error) {
	cfg := r.cfg
	hz, hzSource := clockTicks()

	// Accounts first, concurrently, outside the timed load.
	setupCtx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
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
			for n := 0; loadCtx.Err() == nil && time.Now().Before(stopStarting); n++ {
				w.issueOne(loadCtx, n)
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
	client *acme.Client
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
	c := &acme.Client{
		Key:          key,
		DirectoryURL: r.cfg.DirectoryURL,
		HTTPClient:   r.client,
		UserAgent:    "dcv-bench",
		// No silent retries: every failure is counted in the report.
		RetryBackoff: func(int, *http.Request, *http.Response) time.Duration { return 0 },
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
	err = w.timed(ctx, StepAccount, func(ctx context.Context) error {
		if _, err := c.Discover(ctx); err != nil {
			return fmt.Errorf("directory: %w", err)
		}
		_, err := c.Register(ctx, &acme.Account{}, acme.AcceptTOS)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("account %d: %w", id, err)
	}
	return w, nil
}

// timed runs f with a request deadline and records its latency under step
// when it succeeds.
func (w *worker) timed(ctx context.Context, step string, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, w.r.cfg.RequestTimeout)
	defer cancel()
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

// issueOne runs one certificate's flow and records its outcome.
func (w *worker) issueOne(ctx context.Context, n int) {
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
		return
	}
	w.r.certs.Add(1)
	w.r.rec.observe(StepTotal, time.Since(t))
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
	var order *acme.Order
	err := w.timed(ctx, StepNewOrder, func(ctx context.Context) (err error) {
		order, err = w.client.AuthorizeOrder(ctx, acme.DomainIDs(names...))
		return err
	})
	if err != nil {
		return err
	}
	for _, u := range order.AuthzURLs {
		if err := w.authorize(ctx, u); err != nil {
			return err
		}
	}
	return w.finalize(ctx, order, names)
}

// authorize drives one authorization to valid.
func (w *worker) authorize(ctx context.Context, url string) error {
	var authz *acme.Authorization
	err := w.timed(ctx, StepAuthz, func(ctx context.Context) (err error) {
		authz, err = w.client.GetAuthorization(ctx, url)
		return err
	})
	if err != nil {
		return err
	}
	if authz.Status == acme.StatusValid {
		return nil
	}
	typ := w.r.cfg.Challenge
	i := slices.IndexFunc(authz.Challenges, func(c *acme.Challenge) bool { return c.Type == typ })
	if i < 0 {
		return &stepError{step: StepAuthz, err: fmt.Errorf("authorization for %s offers no %s challenge", authz.Identifier.Value, typ)}
	}
	chal := authz.Challenges[i]
	name := authz.Identifier.Value
	if err := w.provision(chal, name); err != nil {
		return &stepError{step: StepChallenge, err: err}
	}
	defer w.r.resp.clear(chal.Token, name)

	var got *acme.Challenge
	err = w.timed(ctx, StepChallenge, func(ctx context.Context) (err error) {
		got, err = w.client.Accept(ctx, chal)
		return err
	})
	if err != nil {
		return err
	}
	if got.Status == acme.StatusValid {
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
			authz, err = w.client.GetAuthorization(ctx, url)
			return err
		})
		if err != nil {
			return &stepError{step: StepValidationWait, err: errors.Unwrap(err)}
		}
		switch authz.Status {
		case acme.StatusValid:
			w.r.rec.observe(StepValidationWait, time.Since(t))
			return nil
		case acme.StatusInvalid, acme.StatusDeactivated, acme.StatusExpired, acme.StatusRevoked:
			aerr := &acme.AuthorizationError{URI: url, Identifier: name}
			for _, c := range authz.Challenges {
				if c.Error != nil {
					aerr.Errors = append(aerr.Errors, c.Error)
				}
			}
			return &stepError{step: StepValidationWait, err: aerr}
		}
	}
}

// provision makes the responder answer chal for name.
func (w *worker) provision(chal *acme.Challenge, name string) error {
	switch chal.Type {
	case ChallengeHTTP01:
		ka, err := w.client.HTTP01ChallengeResponse(chal.Token)
		if err != nil {
			return err
		}
		w.r.resp.setHTTP01(chal.Token, ka)
	case ChallengeDNS01:
		v, err := w.client.DNS01ChallengeRecord(chal.Token)
		if err != nil {
			return err
		}
		w.r.resp.setDNS01(name, v)
	case ChallengeTLSALPN01:
		cert, err := w.client.TLSALPN01ChallengeCert(chal.Token, name)
		if err != nil {
			return err
		}
		w.r.resp.setTLSALPN(name, &cert)
	default:
		return fmt.Errorf("cannot answer a %s challenge", chal.Type)
	}
	return nil
}

// finalize sends the CSR and downloads the certificate, then checks that it
// names exactly what was ordered.
func (w *worker) finalize(ctx context.Context, order *acme.Order, names []string) error {
	key := w.certKey
	csr, err := w.csr.make(names)
	if err != nil {
		return &stepError{step: StepFinalize, err: err}
	}
	t := time.Now()
	chain, err := w.finalizeAndDownload(ctx, order, csr)
	if err != nil {
		return &stepError{step: StepFinalize, err: err}
	}
	w.r.rec.observe(StepFinalize, time.Since(t))
	if len(chain) == 0 {
		return &stepError{step: StepFinalize, err: &wrongCertError{reason: "empty chain"}}
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return &stepError{step: StepFinalize, err: &wrongCertError{reason: err.Error()}}
	}
	if !slices.Equal(slices.Sorted(slices.Values(leaf.DNSNames)), slices.Sorted(slices.Values(names))) {
		return &stepError{step: StepFinalize, err: &wrongCertError{reason: fmt.Sprintf("names %v, ordered %v", leaf.DNSNames, names)}}
	}
	if !key.PublicKey.Equal(leaf.PublicKey) {
		return &stepError{step: StepFinalize, err: &wrongCertError{reason: "public key is not the CSR's"}}
	}
	return nil
}

// finalizeAndDownload finalizes the order and returns the certificate chain.
//
// x/crypto/acme's CreateOrderCert waits at least one second before polling
// an order still "processing" after finalize (RFC 8555 §7.4 lets a server
// issue asynchronously; Pebble always does). To measure the server and not
// that sleep, the finalize runs in its own goroutine and the transport
// reports the order status of the finalize response (finalizeWatcher). If it
// is "processing", this goroutine polls the order every PollInterval and
// downloads the certificate itself once the order is valid, abandoning
// CreateOrderCert in its sleep; otherwise CreateOrderCert goes on alone
// (and downloads the certificate at once when the order is valid).
func (w *worker) finalizeAndDownload(ctx context.Context, order *acme.Order, csr []byte) ([][]byte, error) {
	type result struct {
		chain [][]byte
		err   error
	}
	seen := w.r.watch.expect(order.FinalizeURL)
	defer w.r.watch.forget(order.FinalizeURL)
	fctx, cancel := context.WithTimeout(ctx, w.r.cfg.RequestTimeout)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		chain, _, err := w.client.CreateOrderCert(fctx, order.FinalizeURL, csr, true)
		done <- result{chain, err}
	}()
	abandon := func() { cancel(); <-done }
	select {
	case res := <-done:
		return res.chain, res.err
	case <-ctx.Done():
		abandon()
		return nil, ctx.Err()
	case status := <-seen:
		if status != acme.StatusProcessing {
			res := <-done // bounded by fctx
			return res.chain, res.err
		}
	}
	for {
		if err := sleep(ctx, w.r.cfg.PollInterval); err != nil {
			abandon()
			return nil, err
		}
		select {
		case res := <-done:
			return res.chain, res.err
		default:
		}
		w.r.polls.Add(1)
		pctx, pcancel := context.WithTimeout(ctx, w.r.cfg.RequestTimeout)
		o, err := w.client.GetOrder(pctx, order.URI)
		pcancel()
		if err != nil {
			abandon()
			return nil, err
		}
		switch o.Status {
		case acme.StatusValid:
			if o.CertURL == "" {
				continue
			}
			abandon()
			dctx, dcancel := context.WithTimeout(ctx, w.r.cfg.RequestTimeout)
			defer dcancel()
			return w.client.FetchCert(dctx, o.CertURL, true)
		case acme.StatusInvalid:
			abandon()
			return nil, &acme.OrderError{OrderURL: order.URI, Status: o.Status, Problem: o.Error}
		}
	}
}

// maxOrderSize bounds the finalize response body that finalizeWatcher
// reads: an order object with MaxNames identifiers is about 10 KiB.
const maxOrderSize = 1 << 20

// finalizeWatcher is an http.RoundTripper that reports the "status" of the
// order in each response to a finalize URL that a flow expects, then hands
// the response on unchanged.
type finalizeWatcher struct {
	next http.RoundTripper
	urls sync.Map // finalize URL -> chan string
}

func (f *finalizeWatcher) expect(url string) <-chan string {
	ch := make(chan string, 1)
	f.urls.Store(url, ch)
	return ch
}

func (f *finalizeWatcher) forget(url string) { f.urls.Delete(url) }

// RoundTrip implements http.RoundTripper.
func (f *finalizeWatcher) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := f.next.RoundTrip(req)
	if err != nil || req.Method != http.MethodPost {
		return res, err
	}
	v, ok := f.urls.Load(req.URL.String())
	if !ok {
		return res, nil
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxOrderSize))
	res.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading finalize response: %w", err)
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	var o struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(body, &o) // an error leaves Status empty: not "processing"
	select {
	case v.(chan string) <- o.Status:
	default: // a retried finalize: the first status was reported
	}
	return res, nil
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
