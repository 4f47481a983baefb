package diagnose

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
)

// testNow is the injected time of every test.
var testNow = time.Date(2025, 6, 1, 18, 0, 50, 0, time.UTC)

const (
	testValue  = "k3VhQ2x5b1p0N2RvY3Vz"
	testServer = "192.0.2.53:53"
)

// txt builds a TXT record from its character-strings; Data is their
// concatenation, as dnsclient renders it.
func txt(name string, strs ...string) dnsclient.Record {
	return dnsclient.Record{Name: name, Type: "TXT", TTL: 300, Data: strings.Join(strs, ""), Strings: strs}
}

func resp(name, rcode string, answer ...dnsclient.Record) *dnsclient.Response {
	return &dnsclient.Response{Name: name + ".", Type: "TXT", Server: testServer, Rcode: rcode, Answer: answer}
}

// dnsObs is an observation of the DNS method for a.example.com whose TXT
// lookup got r; mod adjusts it.
func dnsObs(r *dnsclient.Response, mod func(*validation.DNSObservation)) validation.Observation {
	n := &validation.DNSObservation{
		Host:   "_dnsauth.a.example.com",
		Record: validation.Lookup{Name: "_dnsauth.a.example.com.", Type: "TXT", Response: r},
		Domain: &validation.Lookup{Name: "a.example.com.", Type: "SOA", Response: resp("a.example.com", "NOERROR")},
	}
	if mod != nil {
		mod(n)
	}
	return validation.Observation{
		Perspective: "primary",
		Domain:      "a.example.com",
		Method:      validation.MethodDNS,
		Expected:    testValue,
		StartedAt:   testNow,
		DNS:         n,
	}
}

// checkFindings compares findings field by field, with exact strings.
func checkFindings(t *testing.T, got, want []Finding) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d findings, want %d:\n%s", len(got), len(want), dump(got))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Code != w.Code || g.Severity != w.Severity || g.Retryable != w.Retryable {
			t.Errorf("finding %d: got %s/%s/retryable=%v, want %s/%s/retryable=%v", i, g.Code, g.Severity, g.Retryable, w.Code, w.Severity, w.Retryable)
		}
		if g.Message != w.Message {
			t.Errorf("finding %d message:\n got  %q\n want %q", i, g.Message, w.Message)
		}
		if g.Fix != w.Fix {
			t.Errorf("finding %d fix:\n got  %q\n want %q", i, g.Fix, w.Fix)
		}
		switch {
		case (g.ETA == nil) != (w.ETA == nil):
			t.Errorf("finding %d ETA = %v, want %v", i, g.ETA, w.ETA)
		case g.ETA != nil && !g.ETA.Equal(*w.ETA):
			t.Errorf("finding %d ETA = %v, want %v", i, *g.ETA, *w.ETA)
		}
	}
}

func dump(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s %s retry=%v\n    msg: %s\n    fix: %s\n", f.Code, f.Severity, f.Retryable, f.Message, f.Fix)
	}
	return b.String()
}

func errF(code Code, msg, fix string) Finding {
	return Finding{Code: code, Severity: SeverityError, Message: msg, Fix: fix}
}

func warnF(code Code, msg, fix string) Finding {
	return Finding{Code: code, Severity: SeverityWarning, Message: msg, Fix: fix}
}

func retryF(code Code, msg, fix string) Finding {
	return Finding{Code: code, Severity: SeverityError, Message: msg, Fix: fix, Retryable: true}
}
