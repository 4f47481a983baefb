package order

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/validation"
)

// TestRedact: an applicant's view of a check keeps the primary's row and
// evidence whole and what each remote perspective saw, and drops the
// agents' URLs, the addresses they went through, their errors and their
// raw observations, also from checks stored before rows had a Detail.
func TestRedact(t *testing.T) {
	t.Parallel()
	primary := diagnose.PerspectiveRow{Perspective: "primary", Via: "192.0.2.53:53", Seen: "the expected value", Verdict: diagnose.VerdictPass}
	tests := []struct {
		name string
		row  diagnose.PerspectiveRow
		want diagnose.PerspectiveRow
	}{
		{
			name: "a remote that corroborated",
			row:  diagnose.PerspectiveRow{Perspective: "eu-1", RIR: "RIPE", Agent: "https://10.9.0.1:8443", Via: "10.9.0.53:53", Seen: "the expected value", Verdict: diagnose.VerdictPass},
			want: diagnose.PerspectiveRow{Perspective: "eu-1", RIR: "RIPE", Seen: "the expected value", Verdict: diagnose.VerdictPass},
		},
		{
			name: "a remote that saw another value",
			row:  diagnose.PerspectiveRow{Perspective: "us-1", RIR: "ARIN", Agent: "https://10.9.0.2:8443", Via: "10.9.0.54:53", Seen: `another value, "x"`, Verdict: diagnose.VerdictFail},
			want: diagnose.PerspectiveRow{Perspective: "us-1", RIR: "ARIN", Seen: `another value, "x"`, Verdict: diagnose.VerdictFail},
		},
		{
			name: "an unreachable remote",
			row:  diagnose.PerspectiveRow{Perspective: "ap-1", RIR: "APNIC", Agent: "https://10.9.0.3:8443", Seen: "unreachable", Detail: "dial tcp 10.9.0.3:8443: connect: connection refused", Verdict: diagnose.VerdictUnavailable},
			want: diagnose.PerspectiveRow{Perspective: "ap-1", RIR: "APNIC", Seen: "unreachable", Verdict: diagnose.VerdictUnavailable},
		},
		{
			name: "an unreachable remote in a check stored before Detail",
			row:  diagnose.PerspectiveRow{Perspective: "ap-1", RIR: "APNIC", Seen: "unreachable: dial tcp 10.9.0.3:8443: connect: connection refused", Verdict: diagnose.VerdictUnavailable},
			want: diagnose.PerspectiveRow{Perspective: "ap-1", RIR: "APNIC", Seen: "unreachable", Verdict: diagnose.VerdictUnavailable},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			evidence := []json.RawMessage{json.RawMessage(`{"perspective":"primary"}`), json.RawMessage(`{"perspective":"remote","agent":"https://10.9.0.1:8443"}`)}
			stored, err := json.Marshal(&CheckResult{Order: "ord_1", Domains: []DomainCheck{{Domain: "a.example.com", Matrix: []diagnose.PerspectiveRow{primary, tt.row}, Evidence: evidence}}})
			if err != nil {
				t.Fatal(err)
			}
			b, err := (&Service{}).redactStored(stored)
			if err != nil {
				t.Fatal(err)
			}
			var got CheckResult
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			d := got.Domains[0]
			if len(d.Matrix) != 2 || d.Matrix[0] != primary || d.Matrix[1] != tt.want {
				t.Errorf("matrix %+v, want [%+v %+v]", d.Matrix, primary, tt.want)
			}
			if len(d.Evidence) != 1 || string(d.Evidence[0]) != `{"perspective":"primary"}` {
				t.Errorf("evidence %s, want the primary's alone", d.Evidence)
			}
			if strings.Contains(string(b), "10.9.0.") {
				t.Errorf("the applicant's view names the CA's addresses: %s", b)
			}
		})
	}
}

// TestRedactPreflight: a pre-flight check's applicant view keeps the
// primary's observation and every perspective's row, without the agents.
func TestRedactPreflight(t *testing.T) {
	t.Parallel()
	obs := []validation.Observation{
		{Perspective: "primary", Domain: "a.example.com", Method: validation.MethodDNS},
		{Perspective: "eu-1", RIR: "RIPE", Agent: "https://10.9.0.1:8443", Unavailable: validation.UnavailableConnect, UnavailableDetail: "dial tcp 10.9.0.1:8443: connect: connection refused"},
	}
	r := &PreflightResult{Evidence: obs, Matrix: diagnose.Matrix(obs)}
	r.Redact()
	if len(r.Evidence) != 1 || r.Evidence[0].Perspective != "primary" {
		t.Errorf("evidence %+v, want the primary's alone", r.Evidence)
	}
	if len(r.Matrix) != 2 || r.Matrix[1].Perspective != "eu-1" || r.Matrix[1].Verdict != diagnose.VerdictUnavailable {
		t.Fatalf("matrix %+v, want both perspectives", r.Matrix)
	}
	if m := r.Matrix[1]; m.Agent != "" || m.Detail != "" || m.Via != "" {
		t.Errorf("remote row %+v names the CA's infrastructure", m)
	}
}

// TestHideOwnResolvers: in an applicant's view, the address of dcv's own
// forward resolver, in findings, matrix and evidence, reads "dcv's
// resolver"; an admin's view and the stored check keep it.
func TestHideOwnResolvers(t *testing.T) {
	t.Parallel()
	s := &Service{hideResolvers: resolverReplacer([]string{"192.0.2.60:53"})}
	// Sentences that name the address as dcv's own resolver do not say
	// it twice.
	for in, want := range map[string]string{
		"dcv could not look up x: 192.0.2.60:53, dcv's own recursive resolver, refused the query.": "dcv could not look up x: dcv's own recursive resolver refused the query.",
		"No answer from 192.0.2.60:53. 192.0.2.60:53 is dcv's own recursive resolver: either":      "No answer from dcv's resolver. That server is dcv's own recursive resolver: either",
	} {
		if got := s.hideText(in); got != want {
			t.Errorf("hideText(%q) = %q, want %q", in, got, want)
		}
	}
	res := func() *CheckResult {
		return &CheckResult{Order: "ord_1", Domains: []DomainCheck{{
			Domain:   "a.example.com",
			Findings: []diagnose.Finding{{Code: diagnose.CodeDNSRecordNotFound, Message: "192.0.2.60:53 answered NXDOMAIN for _dnsauth.a.example.com.", Fix: "Publish it."}},
			Matrix:   []diagnose.PerspectiveRow{{Perspective: "primary", Via: "192.0.2.60:53", Seen: "192.0.2.60:53 answered NXDOMAIN", Verdict: diagnose.VerdictFail}},
			Evidence: []json.RawMessage{json.RawMessage(`{"perspective":"primary","dns":{"record":{"response":{"server":"192.0.2.60:53","resolver":true}}}}`)},
		}}}
	}
	r := res()
	s.hideOwnResolvers(r)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "192.0.2.60") || !strings.Contains(r.Domains[0].Findings[0].Message, "dcv's resolver answered NXDOMAIN") ||
		r.Domains[0].Matrix[0].Via != ownResolverText || !json.Valid(r.Domains[0].Evidence[0]) {
		t.Errorf("applicant's view: %s", b)
	}
	stored, err := json.Marshal(res())
	if err != nil {
		t.Fatal(err)
	}
	if b, err = s.redactStored(stored); err != nil || strings.Contains(string(b), "192.0.2.60") {
		t.Errorf("applicant's view of the stored check: %s, %v", b, err)
	}
	// An ACME client is an applicant: the problem of a failed challenge,
	// or of a CAA recheck at finalize, says "dcv's resolver" too.
	prob := (&ACME{s: s}).findingProblem([]diagnose.Finding{{Code: diagnose.CodeDNSServfail, Severity: diagnose.SeverityError,
		Message: "The TXT lookup failed: 192.0.2.60:53 answered SERVFAIL.", Fix: "Ask 192.0.2.60:53 again."}})
	if strings.Contains(prob.Detail+prob.Fix, "192.0.2.60") || !strings.Contains(prob.Detail, "dcv's resolver answered SERVFAIL") {
		t.Errorf("ACME problem: %+v", prob)
	}
	if got := s.hideText("The CAA lookup failed: 192.0.2.60:53 answered SERVFAIL."); strings.Contains(got, "192.0.2.60") {
		t.Errorf("order error: %q", got)
	}
	// Without resolvers to hide (iterative mode) nothing changes.
	r = res()
	(&Service{}).hideOwnResolvers(r)
	if r.Domains[0].Matrix[0].Via != "192.0.2.60:53" {
		t.Errorf("iterative mode: via %q", r.Domains[0].Matrix[0].Via)
	}
}
