// Package perspective runs a validation method from every vantage point the
// CA has: the primary (this process) and remote dcv agents reached over
// mutual TLS, so that diagnose can apply the corroboration quorum of CA/B
// Forum BR 3.2.2.9 (multi-perspective issuance corroboration). It also
// holds the agent's side of the protocol (Agent) and enrolment (Enrol).
package perspective

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/ident"
	dcvmetrics "github.com/dcvhq/dcv/internal/metrics"
	"github.com/dcvhq/dcv/internal/validation"
)

// Defaults of Config.
const (
	// DefaultRemoteTimeout bounds one remote observation: the agent's own
	// observation deadline plus the round trip.
	DefaultRemoteTimeout = validation.DefaultTimeout + 5*time.Second
	// DefaultGrace is how long stragglers may still answer once the quorum
	// is met or has become impossible.
	DefaultGrace = 500 * time.Millisecond
	// DefaultAckTimeout is how long an agent has to acknowledge a request
	// (an interim 102 Processing, sent before it observes) before it counts
	// as stalled, like the health probe's limit.
	DefaultAckTimeout = 5 * time.Second
)

// RemoteSource lists the enrolled remote perspectives. It is asked once per
// observation, so enrolment takes effect without a restart.
type RemoteSource interface {
	Remotes(ctx context.Context) ([]Remote, error)
}

// Config configures a Runner. The zero value of each optional field is its
// documented default.
type Config struct {
	// Primary observes from this process. Required.
	Primary *validation.Validator
	// Remotes lists the remote perspectives; nil means none.
	Remotes RemoteSource
	// Identity authenticates the primary to its agents. Required when
	// Remotes is set.
	Identity *PrimaryIdentity
	// MinRemotes is the least number of remote perspectives; with fewer
	// configured, every observation fails closed (PERSPECTIVE_UNAVAILABLE).
	MinRemotes int
	// PublicCA raises MinRemotes to the BR minimum in force (see
	// BRMinimumRemotes), computed from Now at each observation.
	PublicCA bool
	// RemoteTimeout bounds one remote observation. If zero,
	// DefaultRemoteTimeout.
	RemoteTimeout time.Duration
	// Grace is how long stragglers may answer once the quorum is decided.
	// If zero, DefaultGrace.
	Grace time.Duration
	// AckTimeout is how long an agent has to acknowledge a request before
	// it is given up as stalled (UnavailableTimeout), instead of holding
	// the check for the whole RemoteTimeout. If zero, DefaultAckTimeout.
	AckTimeout time.Duration
	// Now is the clock. If nil, time.Now.
	Now func() time.Time
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
	// Metrics counts each remote observation's outcome, and exports the
	// observations queued; nil counts nothing.
	Metrics *dcvmetrics.Metrics
	// MaxConcurrent bounds the observations with remote perspectives
	// that run at once; more wait in line, served by tenant in turn
	// (WithTenant), as long as the time left to their context still holds
	// a whole observation (RemoteTimeout), a minute at most. A primary
	// without remote perspectives is not bounded here. If zero,
	// DefaultMaxConcurrent; if negative, no limit.
	MaxConcurrent int
}

// Runner observes from the primary and the remote perspectives. It is safe
// for concurrent use.
type Runner struct {
	cfg Config

	mu      sync.Mutex
	clients map[string]*agentClient // by name; rebuilt when a Remote changes

	fair fairSlots // MaxConcurrent
}

// New returns a Runner observing through the primary validator only.
func New(primary *validation.Validator) (*Runner, error) {
	return NewRunner(Config{Primary: primary})
}

// NewRunner returns a Runner for cfg.
func NewRunner(cfg Config) (*Runner, error) {
	if cfg.Primary == nil {
		return nil, errors.New("perspective: a primary validator is required")
	}
	if cfg.Remotes != nil && cfg.Identity == nil {
		return nil, errors.New("perspective: remote perspectives need the primary's identity")
	}
	if cfg.MinRemotes < 0 || cfg.RemoteTimeout < 0 || cfg.Grace < 0 || cfg.AckTimeout < 0 {
		return nil, errors.New("perspective: negative minimum, timeout or grace")
	}
	if cfg.AckTimeout == 0 {
		cfg.AckTimeout = DefaultAckTimeout
	}
	if cfg.RemoteTimeout == 0 {
		cfg.RemoteTimeout = DefaultRemoteTimeout
	}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Runner{cfg: cfg, clients: map[string]*agentClient{}, fair: fairSlots{max: cmp.Or(cfg.MaxConcurrent, DefaultMaxConcurrent)}}
	cfg.Metrics.ObservationsQueued(r.Queued)
	return r, nil
}

// maxSlotWait bounds an observation's wait for a slot (MaxConcurrent).
const maxSlotWait = time.Minute

// Queued returns how many observations wait for a slot (MaxConcurrent).
func (r *Runner) Queued() int { return r.fair.queued() }

// slot waits for an observation slot for ctx's tenant, while the time
// left to ctx still holds a whole observation, and returns its release.
// Past that, the observation is refused on the CA's side: it would
// otherwise start with too little time and blame its timeouts on the
// domain.
func (r *Runner) slot(ctx context.Context) (func(), error) {
	// Without a deadline (an API check), the wait is bounded all the
	// same: a check holds its order's slot meanwhile (review).
	until := time.Now().Add(maxSlotWait)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-r.cfg.RemoteTimeout).Before(until) {
		until = dl.Add(-r.cfg.RemoteTimeout)
	}
	wctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	release, err := r.fair.acquire(wctx, Tenant(ctx))
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("perspective: no observation slot came free in time (%d run at once, %d wait): this CA is overloaded", r.fair.max, r.fair.queued())
	}
	return release, err
}

// BR 3.2.2.9 phase-in of the minimum number of remote perspectives.
var brMinimums = []struct {
	from time.Time
	n    int
}{
	{time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC), 5},
	{time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC), 4},
	{time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), 3},
}

// BRMinimumRemotes returns the least number of remote perspectives CA/B
// Forum BR 3.2.2.9 requires of a publicly-trusted CA at now: 5 from
// 2026-12-15, 4 from 2026-06-15, 3 from 2026-03-15, and 2 before.
func BRMinimumRemotes(now time.Time) int {
	for _, m := range brMinimums {
		if !now.Before(m.from) {
			return m.n
		}
	}
	return 2
}

// MinRemotes returns the minimum number of remote perspectives in force at
// now.
func (r *Runner) MinRemotes(now time.Time) int {
	n := r.cfg.MinRemotes
	if r.cfg.PublicCA {
		n = max(n, BRMinimumRemotes(now))
	}
	return n
}

// Unsatisfiable reports why no check can pass with the remote perspectives
// enrolled now, or "" when one can: fewer than MinRemotes, or a set whose
// every member corroborating would still not meet the quorum (one RIR
// region where two are required), by the rule Observe applies.
func (r *Runner) Unsatisfiable(ctx context.Context, now time.Time) (string, error) {
	need := r.MinRemotes(now)
	var remotes []Remote
	if r.cfg.Remotes != nil {
		var err error
		if remotes, err = r.cfg.Remotes.Remotes(ctx); err != nil {
			return "", err
		}
	}
	if len(remotes) < need {
		return fmt.Sprintf("%d remote perspectives are enrolled and %d are required", len(remotes), need), nil
	}
	if len(remotes) == 0 {
		return "", nil
	}
	rirs := make([]string, len(remotes))
	for i, rm := range remotes {
		rirs[i] = rm.RIR
	}
	if QuorumImpossible(rirs) {
		return "even if every enrolled remote perspective corroborated, the quorum would not be met (they are all in one RIR region)", nil
	}
	return "", nil
}

// QuorumImpossible reports whether remote perspectives in the RIR regions
// rirs (one per perspective) could never make the quorum, even if every
// one corroborated: two or more in a single region. The rule Observe
// applies; `dcv perspective add` and `remove` warn by it.
func QuorumImpossible(rirs []string) bool {
	if len(rirs) == 0 {
		return false
	}
	met, _ := diagnose.QuorumStatus(rirs, nil, 0)
	return !met
}

// Observe returns the observations of every perspective: the primary's
// first, then one per enrolled remote perspective (by the source's order),
// then one UnavailableNotConfigured placeholder per missing remote below
// the minimum. The primary and the remotes are asked at once; when the
// primary fails, the remotes are abandoned and marked UnavailableSkipped
// (the primary's failure decides alone). Otherwise, once the quorum is met
// or has become impossible, remotes that have not answered within the
// grace period are cut (UnavailableCut). An error is returned only when
// the primary cannot serve the request or the remotes cannot be listed.
func (r *Runner) Observe(ctx context.Context, req validation.Request) ([]validation.Observation, error) {
	now := r.cfg.Now()
	var remotes []Remote
	if r.cfg.Remotes != nil {
		var err error
		if remotes, err = r.cfg.Remotes.Remotes(ctx); err != nil {
			return nil, fmt.Errorf("perspective: listing remote perspectives: %w", err)
		}
	}
	if len(remotes) > 0 {
		// The line protects the agents' slots, which every applicant
		// shares; a primary alone bounds its validations per ACME account
		// (review: a cap there let many cheap accounts hold every slot).
		release, err := r.slot(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
		now = r.cfg.Now()
	}
	min := r.MinRemotes(now)
	if len(remotes) == 0 && min == 0 {
		obs, err := r.cfg.Primary.Observe(ctx, req)
		if err != nil {
			return nil, err
		}
		return []validation.Observation{obs}, nil
	}
	clients, err := r.clientsFor(remotes)
	if err != nil {
		return nil, err
	}

	rctx, cancelRemotes := context.WithCancel(ctx)
	defer cancelRemotes()
	var cut atomic.Bool
	answers := make(chan answer, len(clients))
	// Every perspective checks CAA for this CA, whatever the identity an
	// agent was started with (an agent left on the default would make
	// every domain with CAA records disagree).
	remoteReq := req
	remoteReq.CAAIdentity = cmp.Or(req.CAAIdentity, r.cfg.Primary.CAAIdentity())
	if ident.IsIP(req.Domain) {
		// An IP address has no CAA records (RFC 8659 concerns domain
		// names): no perspective looks any up, and none is expected.
		remoteReq.CAAIdentity = ""
	}
	for i, c := range clients {
		go func() {
			obs := c.observe(rctx, remoteReq, r.cfg.RemoteTimeout, r.cfg.AckTimeout, now, cut.Load)
			if why := r.cfg.Primary.Foreign(&obs); obs.Unavailable == "" && why != "" {
				// Made another way than the primary's validation (an
				// agent's test knobs): no corroboration of it.
				obs.Unavailable, obs.UnavailableDetail = validation.UnavailableProtocol, why
			}
			answers <- answer{i, obs}
		}()
	}
	primary, err := r.cfg.Primary.Observe(ctx, req)
	out := make([]validation.Observation, 1+len(clients), 1+max(len(clients), min))
	out[0] = primary
	if err != nil || !diagnose.Corroborates(&primary) {
		cancelRemotes()
		for range clients {
			a := <-answers
			out[1+a.i] = skipped(a.obs, req, now)
		}
		if err != nil {
			return nil, err
		}
	} else {
		r.collect(clients, answers, out[1:], &cut, cancelRemotes)
	}
	for i := len(clients); i < min; i++ {
		out = append(out, validation.Observation{
			Perspective: fmt.Sprintf("remote-%d", i+1), Domain: req.Domain, Method: req.Method, Expected: req.Value,
			StartedAt: now, Unavailable: validation.UnavailableNotConfigured,
		})
	}
	for _, o := range out[1:] {
		switch o.Unavailable {
		case validation.UnavailableSkipped, validation.UnavailableNotConfigured:
		case "":
			r.cfg.Metrics.PerspectiveObserved(o.Perspective, "answered")
		default:
			r.cfg.Metrics.PerspectiveObserved(o.Perspective, o.Unavailable)
			r.cfg.Logger.Warn("remote perspective unavailable", "perspective", o.Perspective, "agent", o.Agent, "kind", o.Unavailable, "detail", o.UnavailableDetail)
		}
	}
	return out, nil
}

// collect gathers the remote answers into out, and once the quorum is
// decided gives the others the grace period before canceling them.
func (r *Runner) collect(clients []*agentClient, answers <-chan answer, out []validation.Observation, cut *atomic.Bool, cancel context.CancelFunc) {
	var (
		corroborating []string
		failed        int
		pending       = map[int]string{}
		grace         <-chan time.Time
	)
	for i, c := range clients {
		pending[i] = c.remote.RIR
	}
	for range clients {
		var a answer
		select {
		case a = <-answers:
		case <-grace:
			cut.Store(true)
			cancel()
			grace = nil
			a = <-answers
		}
		out[a.i] = a.obs
		delete(pending, a.i)
		if diagnose.Corroborates(&a.obs) {
			corroborating = append(corroborating, a.obs.RIR)
		} else {
			failed++
		}
		if grace == nil && !cut.Load() && len(pending) > 0 {
			rest := make([]string, 0, len(pending))
			for _, rir := range pending {
				rest = append(rest, rir)
			}
			if met, impossible := diagnose.QuorumStatus(corroborating, rest, failed); met || impossible {
				t := time.NewTimer(r.cfg.Grace)
				defer t.Stop()
				grace = t.C
			}
		}
	}
}

// answer is the observation of the remote perspective at index i.
type answer struct {
	i   int
	obs validation.Observation
}

// skipped turns a remote answer dropped because the primary failed into an
// UnavailableSkipped observation.
func skipped(o validation.Observation, req validation.Request, now time.Time) validation.Observation {
	return validation.Observation{
		Perspective: o.Perspective, RIR: o.RIR, Agent: o.Agent, RoundTrip: o.RoundTrip,
		Domain: req.Domain, Method: req.Method, Expected: req.Value, StartedAt: now,
		Unavailable: validation.UnavailableSkipped,
	}
}

// clientsFor returns a client per remote, reusing those whose Remote did
// not change (so that their connections are reused) and closing the
// clients of perspectives that are gone.
func (r *Runner) clientsFor(remotes []Remote) ([]*agentClient, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*agentClient, len(remotes))
	keep := make(map[string]bool, len(remotes))
	for i, rm := range remotes {
		c := r.clients[rm.Name]
		if c == nil || c.remote != normalised(rm) {
			if c != nil {
				c.close()
			}
			var err error
			if c, err = newAgentClient(r.cfg.Identity, rm); err != nil {
				return nil, fmt.Errorf("perspective %s: %w", rm.Name, err)
			}
			r.clients[rm.Name] = c
		}
		out[i] = c
		keep[rm.Name] = true
	}
	for name, c := range r.clients {
		if !keep[name] {
			c.close()
			delete(r.clients, name)
			r.cfg.Metrics.PerspectiveRemoved(name)
		}
	}
	return out, nil
}

func normalised(rm Remote) Remote {
	if u, err := ParseURL(rm.URL); err == nil {
		rm.URL = u.String()
	}
	return rm
}

// Close closes the idle connections to agents. The Runner stays usable; it
// reconnects on the next observation.
func (r *Runner) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.clients {
		c.close()
	}
}
