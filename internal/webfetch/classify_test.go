package webfetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/dcvhq/dcv/internal/dnsclient"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	const addr = "192.0.2.7:80"
	dialErr := func(err error) error {
		return &url.Error{Op: "Get", URL: "http://x.test/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: err}}
	}
	readErr := func(err error) error {
		return &url.Error{Op: "Get", URL: "http://x.test/", Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", err)}}
	}
	tlsHead := []byte{21, 3, 1, 0, 2, 2, 10}
	h2Head := []byte{0, 0, 12, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100}
	tests := []struct {
		name   string
		err    error
		p      phase
		kind   ErrorKind
		detail string
	}{
		{"deadline during dial", dialErr(os.ErrDeadlineExceeded), phase{stage: stageConnect}, ErrConnectTimeout, "timeout during connect"},
		{"context deadline during dial", context.DeadlineExceeded, phase{stage: stageConnect}, ErrConnectTimeout, "during connect"},
		{"refused", dialErr(os.NewSyscallError("connect", syscall.ECONNREFUSED)), phase{stage: stageConnect}, ErrConnectionRefused, "connection refused"},
		{"reset during connect is a refusal", dialErr(syscall.ECONNRESET), phase{stage: stageConnect}, ErrConnectionRefused, ""},
		{"host unreachable", dialErr(syscall.EHOSTUNREACH), phase{stage: stageConnect}, ErrNetwork, "no route to host"},
		{"network unreachable", dialErr(syscall.ENETUNREACH), phase{stage: stageConnect}, ErrNetwork, "network is unreachable"},
		{"other dial failure", dialErr(fmt.Errorf("weird")), phase{stage: stageConnect}, ErrNetwork, "weird"},
		{"reset after connect", readErr(syscall.ECONNRESET), phase{stage: stageHTTP}, ErrConnectionReset, "connection reset"},
		{"broken pipe after connect", readErr(syscall.EPIPE), phase{stage: stageHTTP}, ErrConnectionReset, ""},
		{"reset during body", readErr(syscall.ECONNRESET), phase{stage: stageBody}, ErrConnectionReset, ""},
		{"timeout waiting for headers", &url.Error{Op: "Get", URL: "u", Err: context.DeadlineExceeded}, phase{stage: stageHTTP}, ErrTimeoutAfterConn, "response headers"},
		{"timeout in body", os.ErrDeadlineExceeded, phase{stage: stageBody, head: []byte("HTTP/1.1 200 OK")}, ErrTimeoutAfterConn, "reading body"},
		{"timeout in tls handshake", context.DeadlineExceeded, phase{stage: stageTLS, tls: true}, ErrTimeoutAfterConn, "tls handshake"},
		{"canceled", context.Canceled, phase{stage: stageHTTP}, ErrNetwork, "canceled"},
		{"tls alert answering plain http", fmt.Errorf(`malformed HTTP response "\x15\x03\x01\x00\x02\x02\n"`), phase{stage: stageHTTP, head: tlsHead}, ErrTLSOnPlain, "15 03 01 00 02 02 0a"},
		{"tls server then timeout", context.DeadlineExceeded, phase{stage: stageHTTP, head: tlsHead[:3]}, ErrTLSOnPlain, ""},
		{"http/2 settings frame", io.ErrUnexpectedEOF, phase{stage: stageHTTP, head: h2Head}, ErrHTTP2OnPlain, "00 00 0c 04"},
		{"http/2 preface", fmt.Errorf("malformed"), phase{stage: stageHTTP, head: []byte("PRI * HTTP/2.0\r\n\r\nSM")}, ErrHTTP2OnPlain, ""},
		{"tls head on a tls attempt is not foreign", io.EOF, phase{stage: stageHTTP, tls: true, head: tlsHead}, ErrProtocol, "middle of the response"},
		{"scheme mismatch", &url.Error{Op: "Get", URL: "u", Err: http.ErrSchemeMismatch}, phase{stage: stageTLS, tls: true}, ErrPlainOnTLS, "plain http"},
		{"record header HTTP/", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake", RecordHeader: [5]byte{'H', 'T', 'T', 'P', '/'}}, phase{stage: stageTLS, tls: true}, ErrPlainOnTLS, "plain http"},
		{"record header other", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake", RecordHeader: [5]byte{'S', 'S', 'H', '-', '2'}}, phase{stage: stageTLS, tls: true}, ErrTLS, "not tls"},
		{"remote alert", &net.OpError{Op: "remote error", Err: fmt.Errorf("tls: handshake failure")}, phase{stage: stageHTTP, tls: true}, ErrTLS, "handshake failure"},
		{"alert error", tls.AlertError(40), phase{stage: stageTLS, tls: true}, ErrTLS, ""},
		{"x509 error", x509.UnknownAuthorityError{}, phase{stage: stageHTTP, tls: true}, ErrTLS, ""},
		{"eof during tls handshake", io.EOF, phase{stage: stageTLS, tls: true}, ErrTLS, "closed during tls handshake"},
		{"eof before any response", io.EOF, phase{stage: stageHTTP}, ErrConnectionReset, "closed before any response"},
		{"eof mid body", io.ErrUnexpectedEOF, phase{stage: stageBody, head: []byte("HTTP/1.1 200 OK")}, ErrProtocol, "end of the body"},
		{"malformed response", fmt.Errorf(`malformed HTTP response "garbage"`), phase{stage: stageHTTP, head: []byte("garbage\n")}, ErrProtocol, "garbage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := classify(tc.err, addr, tc.p)
			if got.Kind != tc.kind || got.Address != addr || !strings.Contains(got.Detail, tc.detail) {
				t.Errorf("classify() = %+v, want kind %s with %q", got, tc.kind, tc.detail)
			}
			if strings.Contains(got.Detail, "http://x.test") {
				t.Errorf("Detail %q repeats the url", got.Detail)
			}
		})
	}
}

func TestForeignProtocol(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		head string
		want ErrorKind
	}{
		{"http/1.1 status line", "HTTP/1.1 200 OK\r\n", ""},
		{"tls handshake record", "\x16\x03\x03\x00\x7a\x02", ErrTLSOnPlain},
		{"tls alert record", "\x15\x03\x01\x00\x02\x02\x28", ErrTLSOnPlain},
		{"not a tls version", "\x16\x05\x03", ""},
		{"empty settings", "\x00\x00\x00\x04\x00\x00\x00\x00\x00", ErrHTTP2OnPlain},
		{"settings ack", "\x00\x00\x00\x04\x01\x00\x00\x00\x00", ErrHTTP2OnPlain},
		{"settings on a stream", "\x00\x00\x00\x04\x00\x00\x00\x00\x01", ""},
		{"settings bad length", "\x00\x00\x05\x04\x00\x00\x00\x00\x00", ""},
		{"short", "\x00\x00", ""},
		{"preface", "PRI * HTTP/2.0\r\n", ErrHTTP2OnPlain},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := foreignProtocol([]byte(tc.head)); got != tc.want {
				t.Errorf("foreignProtocol(%q) = %q, want %q", tc.head, got, tc.want)
			}
		})
	}
}

// TestLookupErrorUpstream: a resolution that failed at dcv's own resolver
// says so (Upstream), one that failed at the name's servers does not.
func TestLookupErrorUpstream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"own resolver unreachable", &dnsclient.Error{Kind: dnsclient.KindNetwork, Upstream: true}, true},
		{"the name's server unreachable", &dnsclient.Error{Kind: dnsclient.KindNetwork}, false},
		{"not a DNS error", context.DeadlineExceeded, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if e := lookupError(lookupResult{qtype: "A", err: tt.err}); e == nil || e.Upstream != tt.want {
				t.Errorf("lookupError = %+v, want Upstream %v", e, tt.want)
			}
		})
	}
}
