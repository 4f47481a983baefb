package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Limits of the HTTP client.
const (
	// maxResponseHeaderBytes bounds the status line and header of a
	// response: an ACME server's are under 2 KiB (Link, Location,
	// Replay-Nonce, Retry-After).
	maxResponseHeaderBytes = 64 << 10
	// maxConnsPerWorker bounds the connections a worker keeps open, one
	// per origin (scheme, host and port) that its ACME URLs name; a server
	// uses one or two.
	maxConnsPerWorker = 4
	// readBufferSize is the size of a connection's read buffer: an ACME
	// response, header and body, fits in one.
	readBufferSize = 8 << 10
)

// wireClient is a minimal HTTP/1.1 client for one worker: one keep-alive
// connection per origin, each request written in one write and its response
// read by the calling goroutine, which parses only the header fields the
// bench uses (net/http's Transport hands every request and response between
// three goroutines and builds a full header map, which cost the load
// generator about a sixth of its CPU on a 2-core machine). A request on a
// kept connection that the server had closed meanwhile (nothing came back)
// is sent again once on a new one.
//
// Every request has a deadline: its context's, or timeout from its start
// if that is sooner. Cancelling a context that watch was given interrupts
// the request under way.
//
// A wireClient is not safe for concurrent use, but for watch's
// interruption.
type wireClient struct {
	tlsConfig *tls.Config
	timeout   time.Duration
	buf       []byte // the request being written

	mu    sync.Mutex           // guards conns against watch's interruption
	conns map[string]*wireConn // by origin: "https://host:port"
}

type wireConn struct {
	conn   net.Conn
	br     *bufio.Reader
	budget *budgetReader
	// used is set once a request was sent on the connection: a failure
	// before any response byte then may mean that the server closed it
	// while idle.
	used bool
}

// budgetReader reads from r while n, the bytes the current response may
// still take, is positive.
type budgetReader struct {
	r io.Reader
	n int64
}

var errResponseTooLarge = errors.New("response exceeds its size limit")

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, errResponseTooLarge
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	return n, err
}

// newWireClient returns a client whose requests last at most timeout, and
// that trusts tlsConfig's roots for https.
func newWireClient(tlsConfig *tls.Config, timeout time.Duration) *wireClient {
	return &wireClient{tlsConfig: tlsConfig, timeout: timeout, conns: map[string]*wireConn{}}
}

// wireResponse is a response read in full, with the header fields the
// bench uses.
type wireResponse struct {
	status   int
	location string // Location
	nonce    string // Replay-Nonce (RFC 8555 §6.5.1)
	// retryAfter is the Retry-After field (RFC 9110 §10.2.3), as sent.
	retryAfter string
	body       []byte
}

// watch makes the cancellation of ctx interrupt the request under way, if
// any; the request then fails with ctx's error. It replaces a watch per
// request, which cost a context registration each. Call stop when done.
func (w *wireClient) watch(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, c := range w.conns {
			_ = c.conn.SetDeadline(aLongTimeAgo)
		}
	})
}

// do sends one request (body with contentType if body is not nil) and
// reads its response, whose body may be at most limit bytes.
func (w *wireClient) do(ctx context.Context, method, rawURL, contentType, accept string, body []byte, limit int64) (*wireResponse, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("request to %q: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("request to %q: scheme is not http or https", rawURL)
	}
	deadline := time.Now().Add(w.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	w.buf = appendRequest(w.buf[:0], method, u, contentType, accept, body)
	origin := u.Scheme + "://" + canonicalHostPort(u)
	for attempt := 0; ; attempt++ {
		c, err := w.conn(ctx, deadline, origin, u)
		if err != nil {
			return nil, err
		}
		res, retryable, err := c.roundTrip(ctx, deadline, w.buf, method, limit)
		if err != nil || res.close {
			w.drop(origin)
		}
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				err = cerr // the interruption of watch, or the context's deadline
			} else if retryable && attempt == 0 {
				continue
			}
			return nil, fmt.Errorf("%s %s: %w", method, rawURL, err)
		}
		return &res.wireResponse, nil
	}
}

// conn returns the kept connection to origin, or dials one.
func (w *wireClient) conn(ctx context.Context, deadline time.Time, origin string, u *url.URL) (*wireConn, error) {
	w.mu.Lock()
	c := w.conns[origin]
	w.mu.Unlock()
	if c != nil {
		return c, nil
	}
	w.mu.Lock()
	n := len(w.conns)
	w.mu.Unlock()
	if n >= maxConnsPerWorker {
		w.close()
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	addr := canonicalHostPort(u)
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", addr, err)
	}
	if u.Scheme == "https" {
		cfg := w.tlsConfig.Clone()
		cfg.ServerName = u.Hostname()
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		nc = tc
	}
	b := &budgetReader{r: nc}
	c = &wireConn{conn: nc, budget: b, br: bufio.NewReaderSize(b, readBufferSize)}
	w.mu.Lock()
	w.conns[origin] = c
	w.mu.Unlock()
	return c, nil
}

// drop closes and forgets the connection to origin.
func (w *wireClient) drop(origin string) {
	w.mu.Lock()
	c := w.conns[origin]
	delete(w.conns, origin)
	w.mu.Unlock()
	if c != nil {
		c.conn.Close()
	}
}

// close closes every connection.
func (w *wireClient) close() {
	w.mu.Lock()
	conns := w.conns
	w.conns = map[string]*wireConn{}
	w.mu.Unlock()
	for _, c := range conns {
		c.conn.Close()
	}
}

type roundTripResult struct {
	wireResponse
	close bool         // the connection cannot be used again
	head  responseHead // how the body is delimited
}

// aLongTimeAgo is a deadline in the past: setting it makes pending I/O on
// a connection fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// roundTrip writes req and reads the response by deadline. retryable
// reports a failure on a kept connection before any byte of a response
// came back: the server had closed the connection, and the request may be
// sent again on a new one.
func (c *wireConn) roundTrip(ctx context.Context, deadline time.Time, req []byte, method string, limit int64) (res roundTripResult, retryable bool, err error) {
	if err := c.conn.SetDeadline(deadline); err != nil {
		return res, false, err
	}
	// After the deadline is set: a cancellation that watch saw before
	// this point set a deadline in the past that the line above undid.
	if err := ctx.Err(); err != nil {
		return res, false, err
	}
	reused := c.used
	c.used = true
	c.budget.n = maxResponseHeaderBytes + limit
	if _, err := c.conn.Write(req); err != nil {
		return res, reused, err
	}
	if _, err := c.br.Peek(1); err != nil {
		return res, reused && isClosedByPeer(err), err
	}
	if err := readResponse(c.br, method == http.MethodHead, limit, &res); err != nil {
		return res, false, err
	}
	// Bytes beyond the response leave the connection out of step.
	res.close = res.close || c.br.Buffered() > 0
	return res, false, nil
}

// isClosedByPeer reports whether err is the end of a connection the peer
// closed: EOF, or a reset.
func isClosedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}

// appendRequest appends the HTTP/1.1 request (RFC 9112 §3) to dst.
func appendRequest(dst []byte, method string, u *url.URL, contentType, accept string, body []byte) []byte {
	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, u.RequestURI()...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, u.Host...)
	dst = append(dst, "\r\nUser-Agent: "+userAgent+"\r\n"...)
	if accept != "" {
		dst = append(dst, "Accept: "...)
		dst = append(dst, accept...)
		dst = append(dst, "\r\n"...)
	}
	if body != nil {
		dst = append(dst, "Content-Type: "...)
		dst = append(dst, contentType...)
		dst = append(dst, "\r\nContent-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}

// canonicalHostPort is u's host with the scheme's default port if it has
// none.
func canonicalHostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}
