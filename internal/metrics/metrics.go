// Package metrics holds the Prometheus metrics of dcv serve: what its
// operator watches (checks and their blocking findings, failures on the
// CA's own side, issuance, revocations, ACME validations, HTTP traffic and
// remote perspectives), served by `dcv serve --metrics-listen`. Labels are
// bounded sets (finding codes, statuses, route classes, enrolled
// perspectives): no domain, account or order id is ever a label.
//
// Every method of a nil *Metrics does nothing, so that the services run
// without metrics (tests, dcv check).
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the collectors of one dcv serve process, in a registry of
// their own (with the Go runtime's and the process's).
type Metrics struct {
	reg             *prometheus.Registry
	checks          *prometheus.CounterVec
	findings        *prometheus.CounterVec
	caSide          *prometheus.CounterVec
	issued          *prometheus.CounterVec
	issuanceFailed  *prometheus.CounterVec
	revoked         *prometheus.CounterVec
	acmeValidations *prometheus.CounterVec
	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	perspectives    *prometheus.CounterVec
	agentExpiry     *prometheus.GaugeVec
}

// New returns the metrics, registered.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dcv_domain_checks_total",
			Help: "Domains checked (an applicant's check, dcv's own recheck), by validation method and resulting status (approved, pending).",
		}, []string{"method", "status"}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dcv_blocking_findings_total",
			Help: "Blocking findings of checked domains, by finding code: why validation fails.",
		}, []string{"code"}),
		caSide: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dcv_ca_side_failures_total",
			Help: "Checks and ACME validations blocked only by the CA's own failure (its resolver, its perspectives), by finding code: the operator's to mend.",
		}, []string{"code"}),
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dcv_certificates_issued_total",
			Help: "Certificates issued and stored, by front door (api, acme).",
		}, []string{"via"}),
		issuanceFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dcv_issuance_failures_total",
			Help: "Issuances that failed for good (a lint, a configuration), by front door: each waits for an operator.",
		}, []string{"via"}),
		revoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dcv_certificates_revoked_total",
			Help: "Certificates revoked, by RFC 5280 reason.",
		}, []string{"reason"}),
		acmeValidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dcv_acme_validations_total",
			Help: "ACME challenge validations recorded, by challenge type and result (valid, invalid, ca_side, rate_limited).",
		}, []string{"type", "result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dcv_http_requests_total",
			Help: "HTTP requests answered, by route class (api, acme, ca, other) and status code.",
		}, []string{"class", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dcv_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route class (a check observes every domain: seconds).",
			Buckets: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"class"}),
		perspectives: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dcv_perspective_observations_total",
			Help: "Observations asked of remote perspectives, by perspective and outcome (answered, or why unavailable).",
		}, []string{"perspective", "outcome"}),
		agentExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dcv_perspective_certificate_expiry_seconds",
			Help: "When the certificate a remote perspective's agent last presented expires, in Unix seconds: renew its credentials before (dcv perspective renew).",
		}, []string{"perspective"}),
	}
	m.reg.MustRegister(m.checks, m.findings, m.caSide, m.issued, m.issuanceFailed, m.revoked, m.acmeValidations,
		m.requests, m.duration, m.perspectives, m.agentExpiry,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Timeout: 10 * time.Second})
}

// ObservationsQueued exports queued, called at each scrape, as
// dcv_observations_queued: the observations waiting for a slot because as
// many as may run at once are running (dcv serve
// --max-concurrent-observations).
func (m *Metrics) ObservationsQueued(queued func() int) {
	if m == nil {
		return
	}
	// One runner per process exports it; a second one (a test's) is not
	// exported.
	_ = m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dcv_observations_queued",
		Help: "Observations of domains waiting for a slot: as many as may run at once are running.",
	}, func() float64 { return float64(queued()) }))
}

// DomainChecked counts one domain checked by method, with its resulting
// status and the codes of its blocking findings.
func (m *Metrics) DomainChecked(method, status string, blocking []string) {
	if m == nil {
		return
	}
	m.checks.WithLabelValues(method, status).Inc()
	for _, c := range blocking {
		m.findings.WithLabelValues(c).Inc()
	}
}

// CASide counts a check or an ACME validation blocked only by the CA's own
// failure, by the code of that failure.
func (m *Metrics) CASide(code string) {
	if m == nil {
		return
	}
	m.caSide.WithLabelValues(code).Inc()
}

// CertificateIssued counts a certificate stored, by front door.
func (m *Metrics) CertificateIssued(via string) {
	if m == nil {
		return
	}
	m.issued.WithLabelValues(via).Inc()
}

// IssuanceFailed counts an issuance that failed for good, by front door.
func (m *Metrics) IssuanceFailed(via string) {
	if m == nil {
		return
	}
	m.issuanceFailed.WithLabelValues(via).Inc()
}

// Revoked counts a revocation, by RFC 5280 reason name.
func (m *Metrics) Revoked(reason string) {
	if m == nil {
		return
	}
	m.revoked.WithLabelValues(reason).Inc()
}

// ACMEValidation counts a recorded ACME validation of challengeType with
// its result: "valid", "invalid", "ca_side" or "rate_limited" (it waited too long for a slot of its account and did not run).
func (m *Metrics) ACMEValidation(challengeType, result string) {
	if m == nil {
		return
	}
	m.acmeValidations.WithLabelValues(challengeType, result).Inc()
}

// PerspectiveObserved counts an observation asked of remote perspective
// name, with its outcome: "answered", or the kind of unavailability.
func (m *Metrics) PerspectiveObserved(name, outcome string) {
	if m == nil {
		return
	}
	m.perspectives.WithLabelValues(name, outcome).Inc()
}

// PerspectiveCertificate records when the certificate the agent of
// perspective name presented expires.
func (m *Metrics) PerspectiveCertificate(name string, notAfter time.Time) {
	if m == nil {
		return
	}
	m.agentExpiry.WithLabelValues(name).Set(float64(notAfter.Unix()))
}

// PerspectiveRemoved drops what is exported of perspective name, no longer
// enrolled: its certificate's expiry would otherwise stay, and alert.
func (m *Metrics) PerspectiveRemoved(name string) {
	if m == nil {
		return
	}
	m.agentExpiry.DeleteLabelValues(name)
}

// Request counts a request answered, with its route class (a small fixed
// set: no path, id or domain is a label), status and duration.
func (m *Metrics) Request(class string, status int, took time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(class, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(class).Observe(took.Seconds())
}
