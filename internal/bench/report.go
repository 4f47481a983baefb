package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// Steps of one certificate's flow, in order, as named in reports.
const (
	StepAccount        = "account"           // newAccount, once per worker, before the timed load
	StepNewOrder       = "new-order"         // POST newOrder
	StepAuthz          = "authz"             // POST-as-GET of each authorization
	StepChallenge      = "challenge"         // POST to the challenge URL (the "ready" signal)
	StepValidationWait = "validation-wait"   // polling a pending authorization until valid, if needed
	StepPoll           = "poll"              // one POST-as-GET poll of a pending authorization
	StepFinalize       = "finalize+download" // finalize, order polls if any, certificate download
	StepTotal          = "certificate"       // the whole flow of one certificate
)

var stepOrder = []string{StepAccount, StepNewOrder, StepAuthz, StepChallenge, StepValidationWait, StepPoll, StepFinalize, StepTotal}

// maxSamplesPerStep bounds the latencies kept per step: past it, later
// samples are counted but not kept, so memory stays under ~8 MiB a step
// whatever the run's length.
const maxSamplesPerStep = 1 << 20

// maxExampleLen bounds the example message kept per error type.
const maxExampleLen = 300

// Report is the outcome of Run.
type Report struct {
	// Directory, Challenge, Concurrency and Names echo the configuration.
	Directory   string
	Challenge   string
	Concurrency int
	Names       int
	// Accounts is the number of accounts registered before the load.
	Accounts int
	// Certificates is the number of certificates issued and downloaded,
	// each checked to carry the names asked for.
	Certificates int
	// Failed is the number of flows that ended in an error.
	Failed int
	// Polls is the number of POST-as-GET polls of pending objects.
	Polls int
	// RateLimited is the number of failed flows that the server refused
	// with rateLimited (each worker then waited as Retry-After asked): the
	// server's rate limits, not its speed, bounded the run.
	RateLimited int
	// Elapsed is the time from the first flow's start to the last one's
	// end (account registration excluded).
	Elapsed time.Duration
	// Steps are the latencies of each step, in flow order.
	Steps []StepStats
	// Errors counts failed flows by type, most frequent first.
	Errors []ErrorCount
	// ServerCPU is the server's CPU time (user+system) during Elapsed, or
	// nil without Config.ServerPID.
	ServerCPU *time.Duration
	// BenchCPU is this process's CPU time during Elapsed.
	BenchCPU time.Duration
	// ClockTicks is the /proc clock tick rate used, and ClockTicksSource
	// says where it came from ("getconf CLK_TCK" or "assumed").
	ClockTicks       int64
	ClockTicksSource string
}

// StepStats summarises one step's latencies (nearest-rank percentiles).
type StepStats struct {
	Name          string
	Count         int
	P50, P90, P99 time.Duration
	Max           time.Duration
}

// ErrorCount is the number of flows that failed with one type of error,
// e.g. "challenge: problem connection", and one example message.
type ErrorCount struct {
	Type    string
	Count   int
	Example string
}

// CertsPerSecond is Certificates / Elapsed, or 0.
func (r *Report) CertsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Certificates) / r.Elapsed.Seconds()
}

// ServerCPUPerCert is the server's CPU time per certificate issued, or 0
// when unknown or no certificate was issued.
func (r *Report) ServerCPUPerCert() time.Duration {
	if r.ServerCPU == nil || r.Certificates == 0 {
		return 0
	}
	return *r.ServerCPU / time.Duration(r.Certificates)
}

// WriteText writes the report for a person.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "directory    %s\n", r.Directory)
	fmt.Fprintf(&b, "load         %d accounts in parallel, %d names per certificate, %s\n", r.Concurrency, r.Names, r.Challenge)
	fmt.Fprintf(&b, "certificates %d in %.2fs = %.1f/s (%d failed flows, %d polls)\n", r.Certificates, r.Elapsed.Seconds(), r.CertsPerSecond(), r.Failed, r.Polls)
	if r.ServerCPU != nil {
		per := "n/a"
		if r.Certificates > 0 {
			per = fmt.Sprintf("%.3f ms", float64(r.ServerCPUPerCert())/float64(time.Millisecond))
		}
		fmt.Fprintf(&b, "server CPU   %.2fs total, %s per certificate (clock ticks %d/s, %s)\n", r.ServerCPU.Seconds(), per, r.ClockTicks, r.ClockTicksSource)
	}
	fmt.Fprintf(&b, "bench CPU    %.2fs (the load generator itself, same machine)\n", r.BenchCPU.Seconds())
	fmt.Fprintf(&b, "%-18s %8s %10s %10s %10s %10s\n", "step", "count", "p50", "p90", "p99", "max")
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%-18s %8d %10s %10s %10s %10s\n", s.Name, s.Count, ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max))
	}
	if len(r.Errors) > 0 {
		b.WriteString("errors\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "  %6d  %s  (e.g. %s)\n", e.Count, e.Type, e.Example)
		}
	}
	if r.RateLimited > 0 {
		fmt.Fprintf(&b, "note: the server's rate limits refused %d flows (each worker then waited as Retry-After asked), so they, not the server's speed, bounded this run; for a load test of dcv serve, start it with --acme-rate-limits off\n", r.RateLimited)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

// recorder collects latencies and errors from all workers.
type recorder struct {
	mu      sync.Mutex
	samples map[string][]time.Duration
	counts  map[string]int
	errors  map[string]*ErrorCount
}

func newRecorder() *recorder {
	return &recorder{samples: map[string][]time.Duration{}, counts: map[string]int{}, errors: map[string]*ErrorCount{}}
}

func (rec *recorder) observe(step string, d time.Duration) {
	rec.mu.Lock()
	rec.counts[step]++
	if len(rec.samples[step]) < maxSamplesPerStep {
		rec.samples[step] = append(rec.samples[step], d)
	}
	rec.mu.Unlock()
}

// ErrorsContain reports whether an error example of the run contains one
// of words.
func (r *Report) ErrorsContain(words ...string) bool {
	for _, e := range r.Errors {
		for _, w := range words {
			if strings.Contains(e.Example, w) {
				return true
			}
		}
	}
	return false
}

func (rec *recorder) fail(step string, err error) {
	typ := step + ": " + classify(err)
	msg := err.Error()
	if len(msg) > maxExampleLen {
		msg = msg[:maxExampleLen] + "…"
	}
	rec.mu.Lock()
	e := rec.errors[typ]
	if e == nil {
		e = &ErrorCount{Type: typ, Example: msg}
		rec.errors[typ] = e
	}
	e.Count++
	rec.mu.Unlock()
}

func (rec *recorder) steps() []StepStats {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []StepStats
	for _, name := range stepOrder {
		if rec.counts[name] == 0 {
			continue
		}
		s := summarize(rec.samples[name])
		s.Name, s.Count = name, rec.counts[name]
		out = append(out, s)
	}
	return out
}

func (rec *recorder) errorCounts() []ErrorCount {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []ErrorCount
	for _, e := range rec.errors {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b ErrorCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Type, b.Type))
	})
	return out
}

// summarize returns nearest-rank percentiles of ds (which it sorts).
func summarize(ds []time.Duration) StepStats {
	if len(ds) == 0 {
		return StepStats{}
	}
	slices.Sort(ds)
	return StepStats{P50: percentile(ds, 0.50), P90: percentile(ds, 0.90), P99: percentile(ds, 0.99), Max: ds[len(ds)-1]}
}

// percentile is the nearest-rank q-quantile of sorted: the smallest sample
// with at least q of all samples at or below it.
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// classify names the type of a flow's error for the report: the ACME
// problem type (without its urn:ietf:params:acme:error: prefix) or HTTP
// status, an invalid authorization with its challenge's problem type, an
// invalid order with its problem type, a timeout, a network error, or the
// Go type.
func classify(err error) string {
	var (
		p   *problem
		aze *authzError
		oe  *orderError
		ne  net.Error
		we  *wrongCertError
	)
	switch {
	case errors.As(err, &aze):
		if len(aze.Problems) > 0 {
			return "authorization invalid: " + aze.Problems[0].name()
		}
		return "authorization invalid"
	case errors.As(err, &p):
		return p.name()
	case errors.As(err, &oe):
		if oe.Problem != nil {
			return "order " + oe.Status + ": " + oe.Problem.name()
		}
		return "order " + oe.Status
	case errors.As(err, &we):
		return "wrong certificate"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &ne):
		if ne.Timeout() {
			return "timeout"
		}
		return "network"
	}
	return fmt.Sprintf("other (%T)", err)
}
