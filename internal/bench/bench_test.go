package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/crypto/acme"
)

func TestParseStatCPU(t *testing.T) {
	t.Parallel()
	// Fields after comm: state ppid pgrp session tty_nr tpgid flags minflt
	// cminflt majflt cmajflt utime stime ...
	const tail = " S 1 2 3 4 5 6 7 8 9 10 %d %d 0 0 20 0 1 0 100 0 0"
	tests := []struct {
		name    string
		stat    string
		want    int64
		wantErr string
	}{
		{name: "plain", stat: "42 (dcv)" + fmt.Sprintf(tail, 150, 25), want: 175},
		{name: "comm with spaces and parens", stat: "42 (a (b) c)" + fmt.Sprintf(tail, 7, 3), want: 10},
		{name: "no comm", stat: "42 dcv S 1", wantErr: "no ')'"},
		{name: "too short", stat: "42 (dcv) S 1 2", wantErr: "fields after comm"},
		{name: "not a number", stat: "42 (dcv) S 1 2 3 4 5 6 7 8 9 10 x 3 0", wantErr: "utime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStatCPU(tt.stat)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseStatCPU = %d, %v; want error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseStatCPU = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestProcessCPUSelf(t *testing.T) {
	t.Parallel()
	if _, err := processCPU("self"); err != nil {
		t.Fatalf("processCPU(self): %v", err)
	}
	if _, err := processCPU("0"); err == nil {
		t.Fatal("processCPU(0) succeeded, want an error")
	}
	hz, src := clockTicks()
	if hz <= 0 || src == "" {
		t.Fatalf("clockTicks = %d, %q", hz, src)
	}
	if got := ticksToDuration(250, 100); got != 2500*time.Millisecond {
		t.Fatalf("ticksToDuration(250, 100) = %s", got)
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	s := summarize(ds)
	want := StepStats{P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if s != want {
		t.Fatalf("summarize = %+v, want %+v", s, want)
	}
	if one := summarize([]time.Duration{time.Second}); one.P50 != time.Second || one.P99 != time.Second {
		t.Fatalf("summarize of one = %+v", one)
	}
	if empty := summarize(nil); empty != (StepStats{}) {
		t.Fatalf("summarize(nil) = %+v", empty)
	}
}

func TestConfigFill(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "defaults", cfg: Config{DirectoryURL: "http://127.0.0.1:8080/acme/directory"}},
		{name: "no directory", cfg: Config{}, wantErr: "DirectoryURL is required"},
		{name: "duration over the cap", cfg: Config{DirectoryURL: "x", Duration: MaxDuration + time.Second}, wantErr: "duration"},
		{name: "too many workers", cfg: Config{DirectoryURL: "x", Concurrency: MaxConcurrency + 1}, wantErr: "concurrency"},
		{name: "too many names", cfg: Config{DirectoryURL: "x", Names: MaxNames + 1}, wantErr: "names"},
		{name: "unknown challenge", cfg: Config{DirectoryURL: "x", Challenge: "tls-sni-01"}, wantErr: `unknown challenge type "tls-sni-01"`},
		{name: "responder not loopback", cfg: Config{DirectoryURL: "x", ResponderAddr: "192.0.2.1:80"}, wantErr: "192.0.2.1 is not a loopback address"},
		{name: "dns not loopback", cfg: Config{DirectoryURL: "x", DNSAddr: "[2001:db8::1]:53"}, wantErr: "dns address"},
		{name: "host name", cfg: Config{DirectoryURL: "x", DNSAddr: "localhost:53"}, wantErr: "not a host name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.cfg.fill()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("fill: %v, want error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Concurrency != DefaultConcurrency || got.Duration != DefaultDuration || got.Names != DefaultNames ||
				got.Challenge != ChallengeHTTP01 || got.ResponderAddr != DefaultResponderAddr || got.Domain != DefaultDomain ||
				got.PollInterval != DefaultPollInterval || got.RequestTimeout != DefaultRequestTimeout || got.FlowTimeout != DefaultFlowTimeout {
				t.Fatalf("fill defaults = %+v", got)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	badNonce := &acme.Error{StatusCode: 400, ProblemType: "urn:ietf:params:acme:error:badNonce"}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "problem", err: &stepError{step: StepNewOrder, err: badNonce}, want: "problem badNonce"},
		{name: "no problem type", err: &acme.Error{StatusCode: 502}, want: "HTTP 502"},
		{name: "invalid authorization", err: &acme.AuthorizationError{Errors: []error{&acme.Error{ProblemType: "urn:ietf:params:acme:error:connection"}}}, want: "authorization invalid: problem connection"},
		{name: "invalid order", err: &acme.OrderError{Status: "invalid", Problem: &acme.Error{ProblemType: "urn:ietf:params:acme:error:badCSR"}}, want: "order invalid: problem badCSR"},
		{name: "timeout", err: fmt.Errorf("x: %w", context.DeadlineExceeded), want: "timeout"},
		{name: "wrong certificate", err: &stepError{step: StepFinalize, err: &wrongCertError{reason: "names"}}, want: "wrong certificate"},
		{name: "other", err: errors.New("boom"), want: "other (*errors.errorString)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := classify(tt.err); got != tt.want {
				t.Fatalf("classify = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResponderHTTP01(t *testing.T) {
	t.Parallel()
	r := newResponder(netip.MustParseAddr("127.0.0.1"))
	r.setHTTP01("tok", "tok.thumb")
	tests := []struct {
		name, method, path string
		wantCode           int
		wantBody           string
	}{
		{name: "known token", method: http.MethodGet, path: http01Prefix + "tok", wantCode: 200, wantBody: "tok.thumb"},
		{name: "unknown token", method: http.MethodGet, path: http01Prefix + "other", wantCode: 404},
		{name: "other path", method: http.MethodGet, path: "/tok", wantCode: 404},
		{name: "post", method: http.MethodPost, path: http01Prefix + "tok", wantCode: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantCode || (tt.wantBody != "" && rec.Body.String() != tt.wantBody) {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestResponderDNS(t *testing.T) {
	t.Parallel()
	r := newResponder(netip.MustParseAddr("127.1.2.3"))
	r.setDNS01("A.applicant.com", "v1")
	tests := []struct {
		name    string
		qname   string
		qtype   uint16
		want    []string // answers in presentation form, without header
		wantSOA bool
	}{
		{name: "A for any name", qname: "x.applicant.com.", qtype: dns.TypeA, want: []string{"127.1.2.3"}},
		{name: "dns-01 TXT, case-insensitive", qname: "_acme-challenge.a.applicant.COM.", qtype: dns.TypeTXT, want: []string{`"v1"`}},
		{name: "no CAA", qname: "applicant.com.", qtype: dns.TypeCAA, wantSOA: true},
		{name: "no AAAA for an IPv4 responder", qname: "x.applicant.com.", qtype: dns.TypeAAAA, wantSOA: true},
		{name: "TXT of another name", qname: "_acme-challenge.b.applicant.com.", qtype: dns.TypeTXT, wantSOA: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := new(dns.Msg)
			q.SetQuestion(tt.qname, tt.qtype)
			m := r.answerDNS(q)
			if m.Rcode != dns.RcodeSuccess || !m.RecursionAvailable {
				t.Fatalf("rcode %s, RA %v", dns.RcodeToString[m.Rcode], m.RecursionAvailable)
			}
			var got []string
			for _, rr := range m.Answer {
				got = append(got, strings.TrimPrefix(rr.String(), rr.Header().String()))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("answers %q, want %q", got, tt.want)
			}
			if hasSOA := len(m.Ns) == 1 && m.Ns[0].Header().Rrtype == dns.TypeSOA; hasSOA != tt.wantSOA {
				t.Errorf("authority %v, want SOA %v", m.Ns, tt.wantSOA)
			}
		})
	}
}

func TestResponderClear(t *testing.T) {
	t.Parallel()
	r := newResponder(netip.MustParseAddr("127.1.2.3"))
	r.setDNS01("a.applicant.com", "v1")
	r.setHTTP01("tok", "ka")
	r.clear("tok", "a.applicant.com")
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, http01Prefix+"tok", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("http-01 after clear: %d", rec.Code)
	}
	q := new(dns.Msg)
	q.SetQuestion("_acme-challenge.a.applicant.com.", dns.TypeTXT)
	if m := r.answerDNS(q); len(m.Answer) != 0 {
		t.Fatalf("after clear: %v", m.Answer)
	}
}
