package testenv

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mode is the raw behaviour of one listener of a WebServer.
type Mode int

// Listener modes.
const (
	// ModeHTTP serves normally: plain HTTP/1.1 on the http port, HTTP/1.1
	// over TLS on the https port. The default.
	ModeHTTP Mode = iota
	// ModeReset reads the request, then resets the connection (RST).
	ModeReset
	// ModeHang accepts and reads, but never answers.
	ModeHang
	// ModeHTTP2 reads the request and answers as a server that speaks only
	// HTTP/2 would: a SETTINGS frame, a GOAWAY frame, then close.
	ModeHTTP2
	// ModeTLS is a TLS server: a TLS client gets HTTPS; a plain-HTTP client
	// gets a fatal TLS alert record, then close, as many TLS stacks answer.
	ModeTLS
	// ModePlain serves plain HTTP/1.1, whatever the port.
	ModePlain
	// ModeSlowHead reads the request, then sends a status line one byte
	// every slowHeadInterval, until the client gives up.
	ModeSlowHead
	// ModeClose reads the request, then closes the connection without a
	// byte of answer (an orderly close, FIN): nginx's "return 444".
	ModeClose
)

// slowHeadInterval is how ModeSlowHead dribbles its status line.
const slowHeadInterval = 200 * time.Millisecond

// Limits of the raw modes.
const (
	// webIOTimeout bounds each read the raw modes make and the server's
	// header read, so that a stuck client never holds a test up.
	webIOTimeout = 5 * time.Second
	// maxRawRequest bounds the request head the raw modes read.
	maxRawRequest = 8 << 10
)

// WebServer is an HTTP and HTTPS server on a fresh loopback address with
// responses routed by Host and path, and per-port raw modes (reset, hang,
// HTTP/2, TLS, plain) to imitate broken servers. The HTTPS certificate is
// self-signed and served for any SNI. Methods are safe for concurrent use
// and may be called while it serves. It stops when the test ends.
type WebServer struct {
	// IP is the loopback address both ports listen on.
	IP netip.Addr
	// HTTPPort and HTTPSPort are the ports of the plain and TLS listeners.
	HTTPPort, HTTPSPort int

	t     testing.TB
	srv   *http.Server
	queue *connQueue
	tls   *tls.Config
	wg    sync.WaitGroup

	mu     sync.Mutex
	routes map[webRoute]http.HandlerFunc
	modes  map[int]Mode
	conns  map[int]int
	open   map[*trackedConn]bool
	closed bool
}

type webRoute struct{ host, path string }

// NewWebServer starts a WebServer on a fresh loopback IP with two free
// ports. It calls t.Fatal when it cannot listen.
func NewWebServer(t testing.TB) *WebServer {
	t.Helper()
	return NewWebServerPorts(t, 0, 0)
}

// NewWebServerPorts starts a WebServer on a fresh loopback IP with the given
// ports (0 for any), so that several servers on different IPs can share the
// ports a fetcher is configured with. It calls t.Fatal when it cannot listen.
func NewWebServerPorts(t testing.TB, httpPort, httpsPort int) *WebServer {
	t.Helper()
	var lns [2]net.Listener
	var last error
	for range 20 {
		ip := NewLoopbackAddr().String()
		a, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(httpPort)))
		if err != nil {
			last = err
			continue
		}
		b, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(httpsPort)))
		if err != nil {
			a.Close()
			last = err
			continue
		}
		lns = [2]net.Listener{a, b}
		break
	}
	if lns[0] == nil {
		t.Fatalf("testenv: web server: no free loopback address: %v", last)
	}
	w := &WebServer{
		IP:        lns[0].Addr().(*net.TCPAddr).AddrPort().Addr(),
		HTTPPort:  lns[0].Addr().(*net.TCPAddr).Port,
		HTTPSPort: lns[1].Addr().(*net.TCPAddr).Port,
		t:         t,
		queue:     &connQueue{ch: make(chan net.Conn), done: make(chan struct{}), addr: lns[0].Addr()},
		tls:       &tls.Config{Certificates: []tls.Certificate{testCert(t)}, NextProtos: []string{"http/1.1"}},
		routes:    map[webRoute]http.HandlerFunc{},
		modes:     map[int]Mode{},
		conns:     map[int]int{},
		open:      map[*trackedConn]bool{},
	}
	w.srv = &http.Server{
		Handler:           http.HandlerFunc(w.route),
		ReadHeaderTimeout: webIOTimeout,
		IdleTimeout:       webIOTimeout,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	w.wg.Go(func() { w.srv.Serve(w.queue) })
	for i, ln := range lns {
		w.wg.Go(func() { w.accept(ln, i == 1) })
	}
	t.Cleanup(func() {
		w.mu.Lock()
		w.closed = true
		open := w.open
		w.open = map[*trackedConn]bool{}
		w.mu.Unlock()
		for _, ln := range lns {
			ln.Close()
		}
		w.queue.Close()
		w.srv.Close()
		for c := range open {
			c.Conn.Close()
		}
		w.wg.Wait()
	})
	return w
}

// Handle routes requests for host (port stripped, lowercase; "" for any
// host) and exactly path to h. A host-specific route wins over an any-host
// one. Unrouted requests get 404 "not found".
func (w *WebServer) Handle(host, path string, h http.HandlerFunc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.routes[webRoute{normHost(host), path}] = h
}

// SetFile routes host and path to a text/plain response with status and body.
func (w *WebServer) SetFile(host, path string, status int, body string) {
	w.Handle(host, path, func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.WriteHeader(status)
		io.WriteString(rw, body)
	})
}

// SetMode sets the raw behaviour of the listener on port (HTTPPort or
// HTTPSPort) for the connections accepted from now on.
func (w *WebServer) SetMode(port int, m Mode) {
	w.t.Helper()
	if port != w.HTTPPort && port != w.HTTPSPort {
		w.t.Fatalf("testenv: web server %s does not listen on port %d", w.IP, port)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.modes[port] = m
}

// Connections returns the number of TCP connections accepted on port so far.
func (w *WebServer) Connections(port int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conns[port]
}

func normHost(h string) string {
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

func (w *WebServer) route(rw http.ResponseWriter, r *http.Request) {
	host := normHost(r.Host)
	w.mu.Lock()
	h := w.routes[webRoute{host, r.URL.Path}]
	if h == nil {
		h = w.routes[webRoute{"", r.URL.Path}]
	}
	w.mu.Unlock()
	if h == nil {
		http.Error(rw, "not found", http.StatusNotFound)
		return
	}
	h(rw, r)
}

// accept is the accept loop of one listener: it counts each connection and
// handles it by the port's current mode.
func (w *WebServer) accept(ln net.Listener, https bool) {
	port := ln.Addr().(*net.TCPAddr).Port
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		tc := &trackedConn{Conn: c, w: w}
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			c.Close()
			return
		}
		w.conns[port]++
		w.open[tc] = true
		mode := w.modes[port]
		w.mu.Unlock()
		w.wg.Go(func() { w.serveConn(tc, mode, https) })
	}
}

func (w *WebServer) serveConn(c *trackedConn, mode Mode, https bool) {
	switch mode {
	case ModeHTTP:
		if https {
			w.queue.push(tls.Server(c, w.tls))
		} else {
			w.queue.push(c)
		}
	case ModePlain:
		w.queue.push(c)
	case ModeReset:
		readRequestHead(c)
		if tcp, ok := c.Conn.(*net.TCPConn); ok {
			tcp.SetLinger(0) // Close sends RST
		}
		c.Close()
	case ModeHang:
		io.Copy(io.Discard, c) // until the client or the cleanup closes it
		c.Close()
	case ModeClose:
		readRequestHead(c)
		c.Close()
	case ModeHTTP2:
		readRequestHead(c)
		c.Write(http2Reply)
		c.Close()
	case ModeSlowHead:
		readRequestHead(c)
		for _, b := range []byte("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx") {
			c.SetWriteDeadline(time.Now().Add(webIOTimeout))
			if _, err := c.Write([]byte{b}); err != nil {
				break // the client gave up
			}
			time.Sleep(slowHeadInterval)
		}
		c.Close()
	case ModeTLS:
		br := bufio.NewReader(c)
		c.SetReadDeadline(time.Now().Add(webIOTimeout))
		first, err := br.Peek(1)
		c.SetReadDeadline(time.Time{})
		if err != nil {
			c.Close()
			return
		}
		if first[0] == 22 { // a TLS handshake record (RFC 8446 §5.1)
			w.queue.push(tls.Server(&bufferedConn{Conn: c, r: br}, w.tls))
			return
		}
		readRequestHead(bufferedConn{Conn: c, r: br})
		c.Write(tlsAlertReply)
		c.Close()
	}
}

// http2Reply is what an HTTP/2-only server sends to an HTTP/1.1 request:
// its connection preface, a SETTINGS frame (RFC 9113 §3.4, §6.5:
// MAX_CONCURRENT_STREAMS 100, INITIAL_WINDOW_SIZE 65535), then a GOAWAY
// frame (§6.8) with last stream 0 and PROTOCOL_ERROR.
var http2Reply = []byte{
	0, 0, 12, 0x04, 0, 0, 0, 0, 0, // length 12, SETTINGS, no flags, stream 0
	0, 3, 0, 0, 0, 100,
	0, 4, 0, 0, 0xff, 0xff,
	0, 0, 8, 0x07, 0, 0, 0, 0, 0, // length 8, GOAWAY, stream 0
	0, 0, 0, 0, // last stream id
	0, 0, 0, 1, // PROTOCOL_ERROR
}

// tlsAlertReply is a fatal unexpected_message alert record (RFC 8446 §5.1,
// §6: ContentType alert 21, version 0x0301, length 2, level 2, description
// 10), what a TLS server may send to a client that does not speak TLS.
var tlsAlertReply = []byte{21, 3, 1, 0, 2, 2, 10}

// readRequestHead reads up to the end of a request head (or maxRawRequest
// bytes, or webIOTimeout), so that the reply is not lost to a reset caused
// by unread data.
func readRequestHead(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(webIOTimeout))
	defer c.SetReadDeadline(time.Time{})
	var head []byte
	buf := make([]byte, 1024)
	for len(head) < maxRawRequest && !bytes.Contains(head, []byte("\r\n\r\n")) {
		n, err := c.Read(buf)
		head = append(head, buf[:n]...)
		if err != nil {
			return
		}
	}
}

// trackedConn is an accepted connection the cleanup closes if still open.
type trackedConn struct {
	net.Conn
	w *WebServer
}

func (c *trackedConn) Close() error {
	c.w.mu.Lock()
	delete(c.w.open, c)
	c.w.mu.Unlock()
	return c.Conn.Close()
}

// bufferedConn reads through a bufio.Reader that may hold peeked bytes.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// connQueue is the net.Listener the http.Server serves: the accept loops
// push the connections it must serve.
type connQueue struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func (q *connQueue) push(c net.Conn) {
	select {
	case q.ch <- c:
	case <-q.done:
		c.Close()
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }

var (
	certOnce sync.Once
	cert     tls.Certificate
	certErr  error
)

// testCert returns a self-signed ECDSA certificate, made once per process.
func testCert(t testing.TB) tls.Certificate {
	t.Helper()
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			certErr = err
			return
		}
		now := time.Now()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "dcv testenv"},
			DNSNames:     []string{"testenv.invalid"},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			certErr = err
			return
		}
		cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	})
	if certErr != nil {
		t.Fatalf("testenv: web server certificate: %v", certErr)
	}
	return cert
}
