package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/jobs"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/store/sqlite"
)

// waitLimit bounds every wait for the job runner; River polls SQLite every
// 100ms, so a healthy run takes well under a second.
const waitLimit = 10 * time.Second

// quiet drops the logs of the runner and the service: failures the tests
// provoke are asserted, not printed.
var quiet = slog.New(slog.DiscardHandler)

// countingIssuer counts the leaves it is asked to make (calls) and the
// distinct certificates it signed, and passes the requests to next, or,
// when next is nil, refuses them with a lint failure. Two runs of one
// order's issuance may both sign its kept bytes: the same certificate.
type countingIssuer struct {
	next  order.Issuer
	calls atomic.Int64

	mu     sync.Mutex
	serial map[string]bool
}

func (c *countingIssuer) Prepare(req ca.IssueRequest) (*ca.Prepared, error) {
	c.calls.Add(1)
	if c.next == nil {
		return nil, &ca.LintError{Results: []ca.LintResult{{Lint: "e_test_refusal", Status: "error", Details: "refused by the test"}}}
	}
	return c.next.Prepare(req)
}

func (c *countingIssuer) Sign(p *ca.Prepared, req ca.IssueRequest) (*ca.Issued, error) {
	iss, err := c.next.Sign(p, req)
	if err == nil {
		c.mu.Lock()
		if c.serial == nil {
			c.serial = map[string]bool{}
		}
		c.serial[iss.Serial] = true
		c.mu.Unlock()
	}
	return iss, err
}

// certificates returns how many distinct certificates were signed.
func (c *countingIssuer) certificates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.serial)
}

type bundle struct {
	stack   *ordertest.Stack
	orders  *order.Service
	issuer  *countingIssuer
	db      *sql.DB // the job queue's pool, on the same database
	acct    *store.Account
	orderID string
}

// setup builds the real stack on SQLite, without a job runner, and brings
// one order to "approved" through a real check: the state a process leaves
// behind when it dies between approval and enqueueing. With lintFails, the
// issuer refuses every certificate as zlint would.
func setup(t *testing.T, lintFails bool) *bundle {
	t.Helper()
	ctx := context.Background()
	issuer := &countingIssuer{}
	s := ordertest.New(t, ordertest.Options{
		WallClock: true,
		Logger:    quiet,
		Issuer: func(authority *ca.CA) order.Issuer {
			if !lintFails {
				issuer.next = authority
			}
			return issuer
		},
	})
	acct := s.NewAccount(t, "applicant")
	o, err := s.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	s.DNS.Add(`_dnsauth.a.applicant.com. TXT "` + o.Domains[0].Instructions.Value + `"`)
	// No scheduler is set: the approval reaches the store, the issuance job
	// does not.
	cr, err := s.Service.Check(ctx, acct, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cr.Status != order.StatusApproved {
		t.Fatalf("check: status %s, findings %+v", cr.Status, cr.Domains[0].Findings)
	}

	db, err := sql.Open("sqlite", sqlite.DSN(s.DBPath))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return &bundle{stack: s, orders: s.Service, issuer: issuer, db: db, acct: acct, orderID: o.ID}
}

// start builds the Runner as cmd/dcv serve does and starts it; it is
// stopped when the test ends.
func (b *bundle) start(t *testing.T, cfg jobs.Config, before func(r *jobs.Runner)) *jobs.Runner {
	t.Helper()
	ctx := context.Background()
	cfg.DB, cfg.Orders, cfg.Logger = b.db, b.orders, quiet
	r, err := jobs.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.orders.SetScheduler(r)
	if before != nil {
		before(r)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stopping the runner: %v", err)
		}
	})
	return r
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitLimit)
		}
		<-tick.C
	}
}

func (b *bundle) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := b.db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// idleIssueJobs reports whether no issuance job is waiting or running.
func (b *bundle) idleIssueJobs() (bool, error) {
	var n int
	err := b.db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'dcv_issue'
		AND state IN ('available', 'pending', 'retryable', 'running', 'scheduled')`).Scan(&n)
	return n == 0, err
}

func (b *bundle) view(t *testing.T) *order.View {
	t.Helper()
	v, err := b.orders.Get(context.Background(), b.acct, b.orderID)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSweepIssuesOrderApprovedBeforeACrash(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	// The sweep runs on start; its interval is long enough that only that
	// first run can be the one that queues the order.
	b.start(t, jobs.Config{SweepInterval: time.Hour}, nil)

	waitFor(t, "the order to be issued", func() (bool, error) {
		v, err := b.orders.Get(context.Background(), b.acct, b.orderID)
		return err == nil && v.Status == order.StatusIssued, err
	})
	cv, err := b.orders.Certificate(context.Background(), b.acct, b.orderID, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cv.Certificate, "-----BEGIN CERTIFICATE-----") || cv.Serial == "" {
		t.Errorf("certificate %+v", cv)
	}
	if n := b.issuer.certificates(); n != 1 {
		t.Errorf("%d certificates signed, want 1", n)
	}
}

// TestSweepAtStartDespiteADeadLeader: a process killed while it was River's
// leader keeps the lease for a while; its successor does not wait for it
// to issue the orders approved before the crash.
func TestSweepAtStartDespiteADeadLeader(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	b.start(t, jobs.Config{SweepInterval: time.Hour}, func(*jobs.Runner) {
		if _, err := b.db.Exec(`INSERT INTO river_leader (elected_at, expires_at, leader_id)
			VALUES (strftime('%Y-%m-%d %H:%M:%f', 'now'), strftime('%Y-%m-%d %H:%M:%f', 'now', '+1 hour'), 'a-killed-process')`); err != nil {
			t.Fatal(err)
		}
	})
	waitFor(t, "the order to be issued", func() (bool, error) {
		v, err := b.orders.Get(context.Background(), b.acct, b.orderID)
		return err == nil && v.Status == order.StatusIssued, err
	})
	if n := b.count(t, `SELECT count(*) FROM river_leader WHERE leader_id = 'a-killed-process'`); n != 1 {
		t.Errorf("the dead leader's lease is gone (%d rows): the test did not test a dead leader", n)
	}
}

// TestIssueAtStartDespiteAnOrphanedJob: a process killed while an
// issuance job ran leaves the job "running", which River rescues only 90 s
// on, and which blocks a new job of the order (jobs are unique by order):
// its successor issues the order at start all the same.
func TestIssueAtStartDespiteAnOrphanedJob(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	b.start(t, jobs.Config{SweepInterval: time.Hour}, func(r *jobs.Runner) {
		if err := r.ScheduleIssue(context.Background(), b.orderID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.db.Exec(`UPDATE river_job SET state = 'running', attempt = 1,
			attempted_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE kind = 'dcv_issue'`); err != nil {
			t.Fatal(err)
		}
	})
	waitFor(t, "the order to be issued", func() (bool, error) {
		v, err := b.orders.Get(context.Background(), b.acct, b.orderID)
		return err == nil && v.Status == order.StatusIssued, err
	})
	if n := b.issuer.certificates(); n != 1 {
		t.Errorf("%d certificates signed, want 1", n)
	}
}

// TestRecheckJob: the runner checks a pending order on its own when its
// planned check comes due, and the order, now passing, is issued without
// the applicant checking again.
func TestRecheckJob(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	ctx := context.Background()
	o, err := b.orders.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"auto.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	b.stack.DNS.Add(`_dnsauth.auto.applicant.com. TXT "` + o.Domains[0].Instructions.Value + `"`)
	// Its first check is planned minutes away: bring it forward.
	if err := b.stack.Store.OrderSetRecheck(ctx, o.ID, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	b.start(t, jobs.Config{SweepInterval: time.Hour, RecheckInterval: 100 * time.Millisecond}, nil)
	waitFor(t, "the order to be issued", func() (bool, error) {
		v, err := b.orders.Get(ctx, b.acct, o.ID)
		return err == nil && v.Status == order.StatusIssued, err
	})
}

func TestScheduleIssueIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	ctx := context.Background()
	b.start(t, jobs.Config{SweepInterval: time.Hour}, func(r *jobs.Runner) {
		// Queued five times before the workers start; the sweep on start
		// queues it a sixth time.
		for range 5 {
			if err := r.ScheduleIssue(ctx, b.orderID); err != nil {
				t.Fatal(err)
			}
		}
	})
	waitFor(t, "the order to be issued", func() (bool, error) {
		v, err := b.orders.Get(ctx, b.acct, b.orderID)
		return err == nil && v.Status == order.StatusIssued, err
	})
	waitFor(t, "the sweep to finish", func() (bool, error) {
		var n int
		err := b.db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'dcv_sweep' AND state = 'completed'`).Scan(&n)
		return n >= 1, err
	})
	waitFor(t, "every issuance job to finish", b.idleIssueJobs)

	if n := b.count(t, `SELECT count(*) FROM certificates WHERE order_id = ?`, b.orderID); n != 1 {
		t.Errorf("%d certificate rows, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'dcv_issue'`); n != 1 {
		t.Errorf("%d issuance jobs, want 1 (unique by order)", n)
	}
	if n := b.issuer.certificates(); n != 1 {
		t.Errorf("%d certificates signed, want 1", n)
	}
}

func TestLintFailureIsNotRetried(t *testing.T) {
	t.Parallel()
	b := setup(t, true)
	ctx := context.Background()
	// A short sweep interval: the sweeps that follow the failure must not
	// queue the order again.
	r := b.start(t, jobs.Config{SweepInterval: 100 * time.Millisecond}, nil)

	// The order left approved is issued at start: refused by the lint, and
	// not queued for a retry.
	waitFor(t, "the issuance at start to fail", func() (bool, error) {
		return strings.Contains(b.view(t).Error, "e_test_refusal"), nil
	})
	if n := b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'dcv_issue'`); n != 0 {
		t.Errorf("%d issuance jobs after a permanent failure at start, want 0", n)
	}
	// An operator clears the failure and queues the order again: the job
	// fails the same way, and is cancelled, not retried.
	if _, err := b.db.Exec(`UPDATE orders SET error = '' WHERE id = ?`, b.orderID); err != nil {
		t.Fatal(err)
	}
	if err := r.ScheduleIssue(ctx, b.orderID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the issuance job to be cancelled", func() (bool, error) {
		var n int
		err := b.db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'dcv_issue' AND state = 'cancelled'`).Scan(&n)
		return n == 1, err
	})
	// Three sweeps after the one that queued the job.
	waitFor(t, "three more sweeps", func() (bool, error) {
		var n int
		err := b.db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'dcv_sweep' AND state = 'completed'`).Scan(&n)
		return n >= 4, err
	})

	v := b.view(t)
	if v.Status != order.StatusApproved {
		t.Errorf("status %s, want approved", v.Status)
	}
	if !strings.Contains(v.Error, "e_test_refusal") {
		t.Errorf("order error %q does not name the lint", v.Error)
	}
	if n := b.issuer.calls.Load(); n != 2 {
		t.Errorf("issuer called %d times, want 2, once at start and once by the job (a lint failure is permanent)", n)
	}
	if n := b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'dcv_issue'`); n != 1 {
		t.Errorf("%d issuance jobs, want 1", n)
	}
	if n := b.count(t, `SELECT attempt FROM river_job WHERE kind = 'dcv_issue'`); n != 1 {
		t.Errorf("the issuance job ran %d attempts, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM certificates`); n != 0 {
		t.Errorf("%d certificate rows, want 0", n)
	}
	ids, err := b.orders.PendingIssuance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 0 {
		t.Errorf("PendingIssuance = %v, want none: the failure waits for an operator", ids)
	}
	// The applicant is told it is the CA's problem, without the lint detail.
	cr, err := b.orders.Check(ctx, b.acct, b.orderID)
	if err != nil {
		t.Fatal(err)
	}
	f := cr.Domains[0].Findings
	if len(f) != 1 || f[0].Code != "ISSUANCE_FAILED" || strings.Contains(f[0].Message, "e_test_refusal") {
		t.Errorf("check findings %+v, want ISSUANCE_FAILED without the lint's name", f)
	}
}

// blockingIssuer holds every leaf it is asked to make until release is
// closed, saying on entered that one arrived.
type blockingIssuer struct {
	order.Issuer
	entered chan struct{}
	release chan struct{}
}

func (b *blockingIssuer) Prepare(req ca.IssueRequest) (*ca.Prepared, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.Issuer.Prepare(req)
}

// startHeld starts a runner with ctx whose issuance at start is held in
// its issuer until blocking.release is closed, and returns once it is.
// The test stops the runner itself.
func startHeld(t *testing.T, b *bundle, ctx context.Context) (*jobs.Runner, *blockingIssuer) {
	t.Helper()
	blocking := &blockingIssuer{Issuer: b.issuer.next, entered: make(chan struct{}, 1), release: make(chan struct{})}
	b.issuer.next = blocking
	r, err := jobs.New(context.Background(), jobs.Config{DB: b.db, Orders: b.orders, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	b.orders.SetScheduler(r)
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-blocking.entered: // the issuance at start is under way
	case <-time.After(waitLimit):
		t.Fatal("no issuance started")
	}
	return r, blocking
}

// TestShutdownLetsIssuanceFinish: a shutdown cancels the context the
// runner was started with (dcv serve's signal context) before it calls
// Stop; the issuance under way then still finishes, and the order has its
// certificate, instead of being cut short and left for the next start.
func TestShutdownLetsIssuanceFinish(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	r, blocking := startHeld(t, b, ctx)
	cancel() // the signal
	stopped := make(chan error, 1)
	go func() {
		sctx, scancel := context.WithTimeout(context.Background(), waitLimit)
		defer scancel()
		stopped <- r.Stop(sctx)
	}()
	close(blocking.release)
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if v := b.view(t); v.Status != order.StatusIssued {
		t.Errorf("after the shutdown the order is %s (%s), want issued", v.Status, v.Error)
	}
}

// flakyIssuer fails (a transient failure, not a lint) its first fail
// leaves, then makes them with the Issuer it embeds.
type flakyIssuer struct {
	order.Issuer
	fail   int
	mu     sync.Mutex
	calls  int
	failed chan struct{} // closed at the last failure
}

func (f *flakyIssuer) Prepare(req ca.IssueRequest) (*ca.Prepared, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if n <= f.fail {
		if n == f.fail {
			close(f.failed)
		}
		return nil, errors.New("signer briefly unavailable")
	}
	return f.Issuer.Prepare(req)
}

// TestRetryAfterTransientFailures: a failure that passes within moments
// (the signer or the store briefly unavailable) is retried within the
// sweep interval, not after River's growing backoff (16 s after a second
// failure, 68 min after an eighth), which the sweep could not shorten: a
// retryable job keeps its order from being queued again.
func TestRetryAfterTransientFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fail int // transient failures before the signer is back
	}{
		{"one failure (the issuance at start)", 1},
		{"three failures (at start, then two job attempts)", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, false)
			f := &flakyIssuer{Issuer: b.issuer.next, fail: tt.fail, failed: make(chan struct{})}
			b.issuer.next = f
			b.start(t, jobs.Config{SweepInterval: 200 * time.Millisecond}, nil)
			select {
			case <-f.failed:
			case <-time.After(waitLimit):
				t.Fatal("the issuer did not fail as planned")
			}
			waitFor(t, "the order to be issued once the signer is back", func() (bool, error) {
				v, err := b.orders.Get(context.Background(), b.acct, b.orderID)
				return err == nil && v.Status == order.StatusIssued, err
			})
		})
	}
}

// TestStopCancelsWhatOutlastsIt: a graceful stop that outlasts Stop's ctx
// cancels what still runs, so that nothing writes once the caller closed
// the databases: an issuance held past the deadline stores nothing.
func TestStopCancelsWhatOutlastsIt(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	r, blocking := startHeld(t, b, context.Background())
	stopped := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		stopped <- r.Stop(sctx)
	}()
	// Held past Stop's deadline, then let go: its context is cancelled
	// by now, and it writes nothing.
	time.Sleep(400 * time.Millisecond)
	close(blocking.release)
	if err := <-stopped; err == nil {
		t.Error("Stop = nil, want its deadline's error")
	}
	// An issuance let run on would take milliseconds: a second is ample.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if v := b.view(t); v.Status == order.StatusIssued {
			t.Fatal("the order was issued after Stop gave up on it")
		}
	}
}
