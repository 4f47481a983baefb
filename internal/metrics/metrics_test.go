package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestNilCountsNothing: every method of a nil *Metrics does nothing, so
// that services run without metrics.
func TestNilCountsNothing(t *testing.T) {
	t.Parallel()
	var m *Metrics
	m.DomainChecked("dns", "pending", []string{"DNS_RECORD_NOT_FOUND"})
	m.CASide("RESOLVER_UNAVAILABLE")
	m.CertificateIssued("api")
	m.IssuanceFailed("api")
	m.Revoked("keyCompromise")
	m.ACMEValidation("http-01", "valid")
	m.PerspectiveObserved("eu-1", "answered")
	m.PerspectiveCertificate("eu-1", time.Unix(1, 0))
	m.PerspectiveRemoved("eu-1")
	m.Request("api", 200, time.Millisecond)
	m.ObservationsQueued(func() int { return 1 })
}

func TestCounts(t *testing.T) {
	t.Parallel()
	m := New()
	m.DomainChecked("file", "pending", []string{"FILE_NOT_FOUND", "CAA_FORBIDS"})
	m.CASide("PERSPECTIVE_UNAVAILABLE")
	m.ACMEValidation("dns-01", "ca_side")
	m.PerspectiveObserved("eu-1", "timeout")
	m.PerspectiveCertificate("eu-1", time.Unix(1827339901, 0))
	m.Request("acme", 201, 3*time.Millisecond)
	m.ObservationsQueued(func() int { return 3 })
	m.ObservationsQueued(func() int { return 9 }) // a second runner: not exported
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`dcv_domain_checks_total{method="file",status="pending"} 1`,
		`dcv_blocking_findings_total{code="CAA_FORBIDS"} 1`,
		`dcv_blocking_findings_total{code="FILE_NOT_FOUND"} 1`,
		`dcv_ca_side_failures_total{code="PERSPECTIVE_UNAVAILABLE"} 1`,
		`dcv_acme_validations_total{result="ca_side",type="dns-01"} 1`,
		`dcv_perspective_certificate_expiry_seconds{perspective="eu-1"} 1.827339901e+09`,
		`dcv_perspective_observations_total{outcome="timeout",perspective="eu-1"} 1`,
		`dcv_http_requests_total{class="acme",code="201"} 1`,
		"dcv_observations_queued 3\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// A removed perspective's certificate expiry is no longer exported.
func TestPerspectiveRemoved(t *testing.T) {
	t.Parallel()
	m := New()
	m.PerspectiveCertificate("eu-1", time.Unix(1827339901, 0))
	m.PerspectiveCertificate("us-1", time.Unix(1827339901, 0))
	m.PerspectiveRemoved("eu-1")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	if strings.Contains(string(b), `perspective="eu-1"`) || !strings.Contains(string(b), `dcv_perspective_certificate_expiry_seconds{perspective="us-1"}`) {
		t.Errorf("metrics after removing eu-1:\n%s", b)
	}
}
