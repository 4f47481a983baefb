package webfetch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
)

// stage is how far an attempt got.
type stage int

const (
	stageConnect stage = iota // TCP handshake
	stageTLS                  // TLS handshake
	stageHTTP                 // request sent, waiting for the response headers
	stageBody                 // reading the body
)

// phase is what classify knows of an attempt beyond the error itself.
type phase struct {
	stage stage
	tls   bool   // the attempt speaks TLS (https)
	head  []byte // first bytes the server sent, when any
}

// phase reports how far the attempt got; upTo is the stage of the caller
// (stageHTTP when the request failed, stageBody when the body read failed).
func (st *attemptState) phase(https bool, upTo stage) phase {
	p := phase{stage: upTo, tls: https}
	switch {
	case !st.tcp.Load():
		p.stage = stageConnect
	case https && !st.tlsDone.Load():
		p.stage = stageTLS
	}
	if rc := st.conn.Load(); rc != nil {
		p.head = rc.firstBytes()
	}
	return p
}

// classify turns the error of one attempt into an Error, once, where it is
// observed. It unwraps *url.Error, *net.OpError, syscall errnos, deadline
// errors and crypto/tls and crypto/x509 errors; on a plain connection it
// also looks at the first bytes the server sent, which tell a TLS or HTTP/2
// server apart from a broken HTTP/1.1 one without parsing error strings.
func classify(err error, addr string, p phase) *Error {
	e := &Error{Address: addr, Detail: detail(err)}
	set := func(k ErrorKind, what string) *Error {
		e.Kind = k
		if what != "" {
			e.Detail = truncate(what + ": " + e.Detail)
		}
		return e
	}

	// A plain-HTTP request answered in another protocol: whatever happened
	// next (EOF, reset, timeout), the first bytes say what the server spoke.
	if !p.tls && p.stage >= stageHTTP {
		if k := foreignProtocol(p.head); k != "" {
			return set(k, "server replied "+quoteHead(p.head))
		}
	}

	if isTimeout(err) {
		switch p.stage {
		case stageConnect:
			return set(ErrConnectTimeout, "timeout during connect")
		case stageTLS:
			return set(ErrTimeoutAfterConn, "timeout during tls handshake")
		case stageHTTP:
			if len(p.head) > 0 && !p.tls {
				// Some of the answer came, too slowly: a trickle. Over
				// TLS the bytes recorded are the handshake's, which
				// tell nothing of the answer (review).
				return set(ErrTimeoutAfterConn, fmt.Sprintf("%s (at least %d bytes)", DetailPartialHead, len(p.head)))
			}
			return set(ErrTimeoutAfterConn, "timeout waiting for response headers")
		default:
			return set(ErrTimeoutAfterConn, "timeout reading body")
		}
	}
	if errors.Is(err, context.Canceled) {
		return set(ErrNetwork, "canceled")
	}

	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ECONNREFUSED:
			return set(ErrConnectionRefused, "")
		case syscall.ECONNRESET, syscall.EPIPE:
			if p.stage == stageConnect {
				return set(ErrConnectionRefused, "")
			}
			return set(ErrConnectionReset, "")
		case syscall.EHOSTUNREACH, syscall.ENETUNREACH:
			return set(ErrNetwork, "")
		case syscall.EADDRNOTAVAIL:
			// bind(2) of the configured source address failed.
			return set(ErrSourceAddress, "the source address cannot be used on this host")
		}
	}

	// The https port answered with something that is not a TLS record.
	// http.Client replaces a tls.RecordHeaderError reading "HTTP/" by
	// http.ErrSchemeMismatch.
	if errors.Is(err, http.ErrSchemeMismatch) {
		return set(ErrPlainOnTLS, "server replied in plain http")
	}
	var rhe tls.RecordHeaderError
	if errors.As(err, &rhe) {
		if bytes.HasPrefix(rhe.RecordHeader[:], []byte("HTTP/")) {
			return set(ErrPlainOnTLS, "server replied in plain http")
		}
		return set(ErrTLS, "server reply is not tls")
	}
	if isTLSError(err) || p.stage == stageTLS {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return set(ErrTLS, "connection closed during tls handshake")
		}
		return set(ErrTLS, "")
	}

	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if p.stage == stageBody {
			return set(ErrProtocol, "connection closed before the end of the body")
		}
		if len(p.head) == 0 {
			return set(ErrConnectionReset, DetailClosedBeforeResponse)
		}
		return set(ErrProtocol, "connection closed in the middle of the response")
	}
	if p.stage == stageConnect {
		return set(ErrNetwork, "")
	}
	return set(ErrProtocol, "")
}

// DetailPartialHead starts the Detail of an ErrTimeoutAfterConn whose server
// had begun its answer but had not sent the whole status line and headers
// by the deadline: a server sending very slowly (a rate limit), not one
// that never answered.
const DetailPartialHead = "timeout with only part of the response headers received"

// DetailClosedBeforeResponse is the Detail of an ErrConnectionReset whose
// server accepted the connection and the request, then closed it without
// a byte of answer (an orderly close, not a reset): a server that drops the
// request on purpose (nginx's return 444, a WAF rule) or crashes on it.
const DetailClosedBeforeResponse = "connection closed before any response"

// isTimeout reports whether err is a deadline: the attempt's or the
// connection's, as a context error, os.ErrDeadlineExceeded or a net.Error.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isTLSError reports whether err comes from crypto/tls or crypto/x509.
func isTLSError(err error) bool {
	var (
		ae  tls.AlertError
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		cie x509.CertificateInvalidError
		he  x509.HostnameError
		oe  *net.OpError
	)
	switch {
	case errors.As(err, &ae), errors.As(err, &cve), errors.As(err, &uae),
		errors.As(err, &cie), errors.As(err, &he):
		return true
	case errors.As(err, &oe) && oe.Op == "remote error":
		// String check, unavoidable: crypto/tls reports an alert received
		// from the peer as a *net.OpError with Op "remote error" around an
		// unexported alert type (conn.go, readRecordOrCCS).
		return true
	}
	return false
}

// foreignProtocol recognises, from the first bytes a server sent in reply to
// an HTTP/1.1 request, a TLS or an HTTP/2 server.
func foreignProtocol(head []byte) ErrorKind {
	// RFC 8446 §5.1: a TLSPlaintext record starts with its ContentType
	// (alert 21, handshake 22) and a legacy_record_version of 0x03xx.
	if len(head) >= 3 && (head[0] == 21 || head[0] == 22) && head[1] == 3 && head[2] <= 4 {
		return ErrTLSOnPlain
	}
	// RFC 9113 §3.4: "The server connection preface consists of a
	// potentially empty SETTINGS frame that MUST be the first frame the
	// server sends". A frame header (§4.1) is a 24-bit length, the type
	// (SETTINGS = 0x04, §6.5), flags (only ACK = 0x01 defined) and a
	// stream identifier that MUST be 0 for SETTINGS; the payload is a
	// multiple of 6 octets.
	if len(head) >= 9 && head[3] == 0x04 && head[4]&^0x01 == 0 &&
		bytes.Equal(head[5:9], []byte{0, 0, 0, 0}) &&
		(int(head[0])<<16|int(head[1])<<8|int(head[2]))%6 == 0 {
		return ErrHTTP2OnPlain
	}
	// RFC 9113 §3.4: the client preface, echoed by some servers.
	if bytes.HasPrefix(head, []byte("PRI * HTTP/2.0")) {
		return ErrHTTP2OnPlain
	}
	return ""
}

// detail is the innermost useful message of err: without the *url.Error
// wrapper, which only repeats the method and URL.
func detail(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return truncate(err.Error())
}

// quoteHead renders the first bytes a server sent, in hex.
func quoteHead(h []byte) string {
	const show = 16
	return fmt.Sprintf("% x", h[:min(len(h), show)])
}
