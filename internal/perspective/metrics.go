package perspective

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dcvhq/dcv/internal/validation"
)

// Outcomes of an observation request, a label of dcv_agent_requests_total.
const (
	outcomeOK         = "ok"
	outcomeBadRequest = "bad_request"
	outcomeBusy       = "busy"
	outcomeError      = "error"
)

var outcomes = []string{outcomeOK, outcomeBadRequest, outcomeBusy, outcomeError}

// durationBuckets are the upper bounds, in seconds, of the observation
// duration histogram: from a cached DNS answer to the 30 s deadline.
var durationBuckets = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// metrics are an agent's counters, written in the Prometheus text
// exposition format (version 0.0.4) by hand: a few counters and one
// histogram do not justify a client library.
type metrics struct {
	inFlight atomic.Int64
	// queued counts the requests waiting for an observation slot.
	queued   atomic.Int64
	rejected atomic.Uint64 // TLS connections or requests without the primary's certificate
	// certNotAfter is when the agent's certificate expires (set once).
	certNotAfter time.Time

	mu       sync.Mutex
	requests map[string]uint64 // by outcome
	byMethod map[validation.Method]*histogram
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	sum    float64
	n      uint64
}

func (m *metrics) outcome(o string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.requests == nil {
		m.requests = map[string]uint64{}
	}
	m.requests[o]++
}

// countedMethods are the methods an agent observes: the console's and
// ACME's (verification run: ACME validations went uncounted).
var countedMethods = []validation.Method{validation.MethodDNS, validation.MethodFile,
	validation.MethodHTTP01, validation.MethodDNS01, validation.MethodTLSALPN01}

func (m *metrics) observed(method validation.Method, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byMethod == nil {
		m.byMethod = map[validation.Method]*histogram{}
	}
	h := m.byMethod[method]
	if h == nil {
		if !slices.Contains(countedMethods, method) {
			return // unknown methods are refused; keep the label set bounded
		}
		h = &histogram{counts: make([]uint64, len(durationBuckets))}
		m.byMethod[method] = h
	}
	s := d.Seconds()
	for i, b := range durationBuckets {
		if s <= b {
			h.counts[i]++
			break
		}
	}
	h.sum += s
	h.n++
}

func (m *metrics) total() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n uint64
	for _, h := range m.byMethod {
		n += h.n
	}
	return n
}

func (m *metrics) write(w io.Writer, name, rir string, started time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintf(w, "# HELP dcv_agent_info The agent's perspective name and RIR region.\n# TYPE dcv_agent_info gauge\n")
	fmt.Fprintf(w, "dcv_agent_info{perspective=%q,rir=%q} 1\n", name, rir)
	fmt.Fprintf(w, "# HELP dcv_agent_start_time_seconds When the agent started, in Unix seconds.\n# TYPE dcv_agent_start_time_seconds gauge\n")
	fmt.Fprintf(w, "dcv_agent_start_time_seconds %d\n", started.Unix())
	if !m.certNotAfter.IsZero() {
		fmt.Fprintf(w, "# HELP dcv_agent_certificate_expiry_seconds When the agent's certificate expires, in Unix seconds: renew its credentials before (dcv perspective renew on the primary).\n# TYPE dcv_agent_certificate_expiry_seconds gauge\n")
		fmt.Fprintf(w, "dcv_agent_certificate_expiry_seconds %d\n", m.certNotAfter.Unix())
	}
	fmt.Fprintf(w, "# HELP dcv_agent_in_flight Observations in progress.\n# TYPE dcv_agent_in_flight gauge\n")
	fmt.Fprintf(w, "dcv_agent_in_flight %d\n", m.inFlight.Load())
	fmt.Fprintf(w, "# HELP dcv_agent_queued Observation requests waiting for a slot (MaxInFlight are running).\n# TYPE dcv_agent_queued gauge\n")
	fmt.Fprintf(w, "dcv_agent_queued %d\n", m.queued.Load())
	fmt.Fprintf(w, "# HELP dcv_agent_rejected_total Connections or requests refused for lack of the primary's client certificate.\n# TYPE dcv_agent_rejected_total counter\n")
	fmt.Fprintf(w, "dcv_agent_rejected_total %d\n", m.rejected.Load())
	fmt.Fprintf(w, "# HELP dcv_agent_requests_total Observation requests by outcome.\n# TYPE dcv_agent_requests_total counter\n")
	for _, o := range outcomes {
		fmt.Fprintf(w, "dcv_agent_requests_total{outcome=%q} %d\n", o, m.requests[o])
	}
	fmt.Fprintf(w, "# HELP dcv_agent_observation_duration_seconds Time to observe one domain.\n# TYPE dcv_agent_observation_duration_seconds histogram\n")
	for _, method := range []validation.Method{validation.MethodDNS, validation.MethodFile} {
		h := m.byMethod[method]
		if h == nil {
			h = &histogram{counts: make([]uint64, len(durationBuckets))}
		}
		var cum uint64
		for i, b := range durationBuckets {
			cum += h.counts[i]
			fmt.Fprintf(w, "dcv_agent_observation_duration_seconds_bucket{method=%q,le=\"%g\"} %d\n", method, b, cum)
		}
		fmt.Fprintf(w, "dcv_agent_observation_duration_seconds_bucket{method=%q,le=\"+Inf\"} %d\n", method, h.n)
		fmt.Fprintf(w, "dcv_agent_observation_duration_seconds_sum{method=%q} %g\n", method, h.sum)
		fmt.Fprintf(w, "dcv_agent_observation_duration_seconds_count{method=%q} %d\n", method, h.n)
	}
}
