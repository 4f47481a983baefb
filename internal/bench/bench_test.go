package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
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
	badNonce := &problem{Status: 400, Type: problemPrefix + "badNonce"}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "problem", err: &stepError{step: StepNewOrder, err: badNonce}, want: "problem badNonce"},
		{name: "no problem type", err: &problem{Status: 502}, want: "HTTP 502"},
		{name: "invalid authorization", err: &authzError{Status: statusInvalid, Problems: []*problem{{Type: problemPrefix + "connection"}}}, want: "authorization invalid: problem connection"},
		{name: "invalid authorization without problem", err: &authzError{Status: statusInvalid}, want: "authorization invalid"},
		{name: "invalid order", err: &orderError{Status: "invalid", Problem: &problem{Type: problemPrefix + "badCSR"}}, want: "order invalid: problem badCSR"},
		{name: "timeout", err: fmt.Errorf("x: %w", context.DeadlineExceeded), want: "timeout"},
		{name: "network timeout", err: &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, want: "timeout"},
		{name: "network", err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}, want: "network"},
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

func TestResponderClear(t *testing.T) {
	t.Parallel()
	r := newResponder(netip.MustParseAddr("127.1.2.3"))
	r.setDNS01("a.applicant.com", "v1")
	r.setHTTP01("tok", "ka")
	r.clear("tok", "a.applicant.com")
	if got := r.http01Answer([]byte("GET " + http01Prefix + "tok HTTP/1.1\r\n\r\n")); !bytes.Equal(got, http01NotFound) {
		t.Fatalf("http-01 after clear: %q", got)
	}
	q := new(dns.Msg)
	q.SetQuestion("_acme-challenge.a.applicant.com.", dns.TypeTXT)
	if m := r.answerDNS(q); len(m.Answer) != 0 {
		t.Fatalf("after clear: %v", m.Answer)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"36", 36 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"Fri, 27 Nov 2026 06:01:30 GMT", 90 * time.Second},
		{"Fri, 27 Nov 2026 05:59:00 GMT", 0},
		{"86400", maxRetryAfter},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
