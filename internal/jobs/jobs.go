// Package jobs runs order's durable steps on River: the issuance of approved
// orders, and a sweep that re-queues any approved order whose issuance job
// was lost (for example by a crash between approval and enqueueing). It
// sits beside the front doors: order never imports it.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/dcvhq/dcv/internal/order"
)

// Defaults.
const (
	// DefaultSweepInterval is how often approved orders are re-queued.
	DefaultSweepInterval = time.Minute
	// DefaultRecheckInterval is how often the pending orders whose own
	// check has come due are checked.
	DefaultRecheckInterval = time.Minute
	// recheckBatch bounds the orders one recheck run takes, and
	// recheckParallel how many it checks at once.
	recheckBatch    = 200
	recheckParallel = 4
	// recheckTimeout bounds one recheck run, and recheckOrderTimeout the
	// check of one order (which observes every pending domain of the
	// order, from every perspective, each within its own deadlines). A
	// run starts checks until less than recheckOrderTimeout is left, and
	// lists the due orders again as it goes: a run of slow checks (dead
	// nameservers) still checks others for 11 minutes, while the next
	// run returns at once while it goes on (Runner.rechecking).
	recheckTimeout      = 15 * time.Minute
	recheckOrderTimeout = 4 * time.Minute
	// fetchPoll is how often idle workers look for new jobs. SQLite has no
	// LISTEN/NOTIFY, but a job this process inserts (an issuance) wakes its
	// workers at once (River triggers a fetch on insert without a
	// listener): the poll only finds retries and rescued jobs, and an idle
	// server's poll costs CPU (100 ms cost 3.7% of a core).
	fetchPoll = time.Second
	// fetchCooldown is the least time between two fetches.
	fetchCooldown = 50 * time.Millisecond
	// issueAttempts bounds retries of a transient issuance failure.
	issueAttempts = 10
	// abortGrace is how long Stop waits for cancelled work to end once
	// its graceful stop ran out of time.
	abortGrace = 5 * time.Second
	// issueTimeout bounds one issuance (sign + lint + commit).
	issueTimeout = time.Minute
	// rescueAfter is when a job still "running" counts as stuck and is
	// made available again: one whose process died (kill -9, power loss)
	// stays running in the table, and the unique insert of the sweep's
	// re-queue would then do nothing. River's default is an hour; an
	// issuance never runs past issueTimeout, so a little more than that
	// is safe (the step is exactly-once either way).
	rescueAfter = issueTimeout + 30*time.Second
)

// IssueArgs is the issuance job of one order.
type IssueArgs struct {
	OrderID string `json:"order_id" river:"unique"`
}

// Kind names the job in River's table. Never change it.
func (IssueArgs) Kind() string { return "dcv_issue" }

// RecheckArgs is the periodic check of the pending orders whose own check
// has come due (order.Service.Recheck).
type RecheckArgs struct{}

// Kind names the job in River's table. Never change it.
func (RecheckArgs) Kind() string { return "dcv_recheck" }

// SweepArgs is the periodic sweep of approved orders.
type SweepArgs struct{}

// Kind names the job in River's table. Never change it.
func (SweepArgs) Kind() string { return "dcv_sweep" }

// Config configures a Runner.
type Config struct {
	// DB is a pool on the SQLite database; River keeps its tables there. It
	// should allow a single connection (see riversqlite). Required.
	DB *sql.DB
	// Orders runs the steps. Required.
	Orders *order.Service
	// SweepInterval; if zero, DefaultSweepInterval.
	SweepInterval time.Duration
	// RecheckInterval; if zero, DefaultRecheckInterval.
	RecheckInterval time.Duration
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
}

// Runner runs dcv's jobs and implements order.Scheduler.
type Runner struct {
	cfg    Config
	client *river.Client[*sql.Tx]
	// atStart is the issuance of the orders left approved by the last
	// process, which Stop waits for.
	atStart sync.WaitGroup
	// rechecking is held by the recheck run under way: one at a time (a
	// data directory has one process, see serve.lock).
	rechecking sync.Mutex
	// stopping is closed by Stop: the issuance begun at start takes no
	// further order.
	stopping chan struct{}
	stopOnce sync.Once
	// abort cancels the context the jobs and the issuance begun at start
	// run in: the abrupt stop, when a graceful one outlasts Stop's ctx.
	// Guarded by abortMu: a signal may stop the runner while it starts.
	abortMu sync.Mutex
	abort   context.CancelFunc
}

var _ order.Scheduler = (*Runner)(nil)

// New migrates River's tables and builds a Runner; Start starts it.
func New(ctx context.Context, cfg Config) (*Runner, error) {
	if cfg.DB == nil || cfg.Orders == nil {
		return nil, errors.New("jobs: db and orders are required")
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.RecheckInterval == 0 {
		cfg.RecheckInterval = DefaultRecheckInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	driver := riversqlite.New(cfg.DB)
	mig, err := rivermigrate.New(driver, nil)
	if err != nil {
		return nil, fmt.Errorf("jobs: migrator: %w", err)
	}
	if _, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("jobs: migrating river tables: %w", err)
	}
	r := &Runner{cfg: cfg, stopping: make(chan struct{})}
	workers := river.NewWorkers()
	river.AddWorker(workers, &issueWorker{r: r})
	river.AddWorker(workers, &sweepWorker{r: r})
	river.AddWorker(workers, &recheckWorker{r: r})
	client, err := river.NewClient(driver, &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		Workers:              workers,
		FetchCooldown:        fetchCooldown,
		FetchPollInterval:    fetchPoll,
		MaxAttempts:          issueAttempts,
		JobTimeout:           issueTimeout,
		RescueStuckJobsAfter: rescueAfter,
		Logger:               slog.New(warnOnly{cfg.Logger.Handler()}).With("component", "river"),
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(cfg.SweepInterval),
				func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(cfg.RecheckInterval),
				func() (river.JobArgs, *river.InsertOpts) {
					// One job per interval (River: at least a second).
					// A run still going when the next starts makes that
					// one return at once (Runner.rechecking); a run left
					// "running" by a killed process blocks nothing past
					// its interval.
					return RecheckArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: max(cfg.RecheckInterval, time.Second)}}
				},
				&river.PeriodicJobOpts{RunOnStart: true}),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: river client: %w", err)
	}
	r.client = client
	return r, nil
}

// Start starts the workers, and issues the approved orders the last
// process left without their certificate (Stop stops the workers and waits
// for that). They are issued here, not queued: the periodic sweep runs on
// River's leader alone, and a process killed while it led keeps the lease
// for a while; an issuance job it left "running" blocks a new one (jobs are
// unique by order) until River rescues it, 90 s on. An ACME finalize cut
// short between its reservation and its certificate, or an API order
// approved just before a crash, is issued within moments of the restart.
// One process serves a data directory (serve.lock), and issuance is
// exactly-once in the store, so a job of the same order racing this does
// no harm.
//
// Cancelling ctx does not stop the runner, nor cut short an issuance under
// way (a signal's context, cancelled at the start of a shutdown, would
// cancel the running jobs before Stop could let them finish): Stop does,
// gracefully, then abruptly when its own ctx ends first. ctx's values
// reach the jobs. Each issuance begun here is bounded by issueTimeout.
func (r *Runner) Start(ctx context.Context) error {
	r.abortMu.Lock()
	defer r.abortMu.Unlock()
	select {
	case <-r.stopping:
		return errors.New("jobs: the runner was stopped before it started")
	default:
	}
	var abort context.CancelFunc
	ctx, abort = context.WithCancel(context.WithoutCancel(ctx))
	if err := r.client.Start(ctx); err != nil {
		abort()
		return err
	}
	r.abort = abort
	r.atStart.Go(func() { r.issueLeftOver(ctx) })
	return nil
}

// issueLeftOver issues the approved orders waiting for their certificate,
// one after the other; one that fails for a reason that may pass is
// queued, for River's retries.
func (r *Runner) issueLeftOver(ctx context.Context) {
	ids, err := r.cfg.Orders.PendingIssuance(ctx)
	if err != nil {
		r.cfg.Logger.Error("issuing the orders left approved: listing them", "err", err)
		return
	}
	for _, id := range ids {
		select {
		case <-r.stopping:
			return // the rest waits for the next start, or the sweep
		default:
		}
		ictx, cancel := context.WithTimeout(ctx, issueTimeout)
		err := r.cfg.Orders.Issue(ictx, id)
		cancel()
		switch {
		case err == nil, errors.Is(err, order.ErrPermanent):
			// Issued, or refused for good (the order says why).
		case ctx.Err() != nil:
			return
		default:
			r.cfg.Logger.Warn("issuing an order left approved: queued for a retry", "order", id, "err", err)
			if err := r.ScheduleIssue(ctx, id); err != nil {
				r.cfg.Logger.Error("queueing issuance", "order", id, "err", err)
			}
		}
	}
}

// Stop stops the workers, waiting for running jobs and the issuance begun
// at start to finish, or for ctx to end; then it cancels what still runs
// and waits up to abortGrace for it to end.
func (r *Runner) Stop(ctx context.Context) error {
	// Under abortMu: a Start under way ends first (and is stopped here),
	// or one to come refuses to start.
	r.abortMu.Lock()
	r.stopOnce.Do(func() { close(r.stopping) })
	r.abortMu.Unlock()
	err := r.client.Stop(ctx)
	done := make(chan struct{})
	go func() { r.atStart.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, ctx.Err())
	}
	r.abortMu.Lock()
	abort := r.abort
	r.abortMu.Unlock()
	if ctx.Err() != nil && abort != nil {
		// The graceful stop outlasted ctx: what still runs is cancelled,
		// and given a moment to end, before the caller closes the
		// databases under it.
		abort()
		actx, cancel := context.WithTimeout(context.Background(), abortGrace)
		defer cancel()
		_ = r.client.StopAndCancel(actx)
		select {
		case <-done:
		case <-actx.Done():
		}
	}
	return err
}

// ScheduleIssue queues the issuance of an order. Queuing an order that is
// already queued or running does nothing (the job is unique by order).
func (r *Runner) ScheduleIssue(ctx context.Context, orderID string) error {
	_, err := r.client.Insert(ctx, IssueArgs{OrderID: orderID}, &river.InsertOpts{
		UniqueOpts: river.UniqueOpts{ByArgs: true},
	})
	if err != nil {
		return fmt.Errorf("queueing issuance of %s: %w", orderID, err)
	}
	return nil
}

type issueWorker struct {
	river.WorkerDefaults[IssueArgs]
	r *Runner
}

// NextRetry waits River's attempt⁴ seconds (1 s, 16 s, 81 s…) but never
// longer than the sweep interval. A retryable job keeps its order from
// being queued again (jobs are unique by order), so the sweep cannot bring
// it forward: without the cap, an outage of seconds (the signer, the
// store) would delay an issuance by River's backoff, 68 minutes after an
// eighth failure.
func (w *issueWorker) NextRetry(job *river.Job[IssueArgs]) time.Time {
	a := time.Duration(max(job.Attempt, 1))
	return time.Now().Add(min(a*a*a*a*time.Second, w.r.cfg.SweepInterval))
}

func (w *issueWorker) Work(ctx context.Context, job *river.Job[IssueArgs]) error {
	err := w.r.cfg.Orders.Issue(ctx, job.Args.OrderID)
	if errors.Is(err, order.ErrPermanent) {
		return river.JobCancel(err)
	}
	if err != nil {
		// River logs a failed attempt below the warnings it is let log.
		w.r.cfg.Logger.Warn("issuance failed: retried", "order", job.Args.OrderID, "attempt", job.Attempt, "of", job.MaxAttempts, "err", err)
	}
	return err
}

type recheckWorker struct {
	river.WorkerDefaults[RecheckArgs]
	r *Runner
}

// Timeout is longer than an issuance's: a run checks many orders.
func (w *recheckWorker) Timeout(*river.Job[RecheckArgs]) time.Duration { return recheckTimeout }

func (w *recheckWorker) Work(ctx context.Context, _ *river.Job[RecheckArgs]) error {
	if !w.r.rechecking.TryLock() {
		return nil // the run under way goes on
	}
	defer w.r.rechecking.Unlock()
	// A failed run is not retried: the periodic job starts again within
	// the interval.
	if err := w.r.recheck(ctx); err != nil {
		w.r.cfg.Logger.Warn("recheck run failed", "err", err)
	}
	return nil
}

// recheck checks the pending orders whose own check has come due, a few
// at a time, each within recheckOrderTimeout, until none is left or the
// run's time is nearly spent (those left are still due at the next run).
// It lists the due orders again whenever it has started every one listed
// and a check ends, so an order that comes due meanwhile is checked by the
// same run. One that fails is logged, and planned again.
func (r *Runner) recheck(ctx context.Context) error {
	deadline, hasDeadline := ctx.Deadline()
	// finished has room for every check under way: none ever blocks.
	finished := make(chan struct{}, recheckParallel)
	inflight := 0
	defer func() {
		for ; inflight > 0; inflight-- {
			<-finished
		}
	}()
	started := map[string]bool{}
	for {
		ids, err := r.cfg.Orders.RecheckDue(ctx, recheckBatch)
		if err != nil {
			return err
		}
		fresh := 0
		for _, id := range ids {
			if started[id] {
				continue // checked in this run (still under way, or failed)
			}
			for ; inflight == recheckParallel; inflight-- {
				<-finished
			}
			if ctx.Err() != nil || (hasDeadline && time.Until(deadline) < recheckOrderTimeout) {
				return nil
			}
			started[id] = true
			fresh++
			inflight++
			go func() {
				defer func() { finished <- struct{}{} }()
				octx, cancel := context.WithTimeout(ctx, recheckOrderTimeout)
				defer cancel()
				if err := r.cfg.Orders.Recheck(octx, id); err != nil {
					r.cfg.Logger.Error("recheck", "order", id, "err", err)
				}
			}()
		}
		if fresh > 0 {
			continue
		}
		if inflight == 0 {
			return nil
		}
		select {
		case <-finished:
			inflight--
		case <-ctx.Done():
			return nil
		}
	}
}

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	r *Runner
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	err := w.r.sweep(ctx)
	if err != nil {
		w.r.cfg.Logger.Warn("sweep failed", "err", err)
	}
	return err
}

// sweep queues every approved order still waiting for its certificate,
// and erases the generated keys whose redelivery window has passed.
func (r *Runner) sweep(ctx context.Context) error {
	if n, err := r.cfg.Orders.EraseDeliveredKeys(ctx); err != nil {
		r.cfg.Logger.Error("sweep: erasing delivered keys", "err", err)
	} else if n > 0 {
		r.cfg.Logger.Info("sweep: erased delivered keys", "count", n)
	}
	ids, err := r.cfg.Orders.PendingIssuance(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := r.ScheduleIssue(ctx, id); err != nil {
			r.cfg.Logger.Error("sweep: queueing issuance", "order", id, "err", err)
		}
	}
	return nil
}

// warnOnly passes on River's warnings and errors alone: its routine lines
// (client started, producer job counts) say nothing an operator acts on.
type warnOnly struct{ slog.Handler }

// Enabled reports whether records at level l are logged.
func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

// WithAttrs keeps the filter on the handler with attrs.
func (h warnOnly) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnOnly{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the filter on the handler with the group.
func (h warnOnly) WithGroup(name string) slog.Handler { return warnOnly{h.Handler.WithGroup(name)} }
