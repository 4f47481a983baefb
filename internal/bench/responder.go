package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// Limits of the responders, which serve only the server under test.
const (
	// responderTimeout bounds every read, write and TLS handshake of the
	// responders: a validator that stalls longer is cut off.
	responderTimeout = 10 * time.Second
	// maxHeaderBytes bounds an http-01 request's header; a validation
	// request is a few hundred bytes.
	maxHeaderBytes = 8 << 10
	// dnsTTL is the TTL of every answer. It is short so that a resolver
	// cache never hides a value set for a later flow.
	dnsTTL = 1
)

// http01Prefix is the path of RFC 8555 §8.3: "/.well-known/acme-challenge/"
// followed by the token.
const http01Prefix = "/.well-known/acme-challenge/"

// responder holds what the challenges must see and serves it. Its maps are
// keyed by token (http-01), lowercase name (tls-alpn-01) and lowercase
// fully qualified _acme-challenge name (dns-01).
type responder struct {
	ip netip.Addr

	// http01 maps a token to the whole HTTP response carrying its key
	// authorization: a sync.Map, because each key is written once and
	// read by the validator's requests, which then take no lock.
	http01 sync.Map // string -> []byte

	mu      sync.RWMutex
	tlsalpn map[string]*tls.Certificate
	dns01   map[string][]string

	closers []func() error
}

func newResponder(ip netip.Addr) *responder {
	return &responder{
		ip:      ip,
		tlsalpn: map[string]*tls.Certificate{},
		dns01:   map[string][]string{},
	}
}

func (r *responder) close() {
	for _, c := range r.closers {
		_ = c()
	}
}

func (r *responder) setTLSALPN(name string, cert *tls.Certificate) {
	r.mu.Lock()
	r.tlsalpn[strings.ToLower(name)] = cert
	r.mu.Unlock()
}

func (r *responder) setDNS01(name, value string) {
	fqdn := dns.Fqdn("_acme-challenge." + strings.ToLower(name))
	r.mu.Lock()
	r.dns01[fqdn] = append(r.dns01[fqdn], value)
	r.mu.Unlock()
}

// clear forgets what was set for one challenge.
func (r *responder) clear(token, name string) {
	r.http01.Delete(token)
	r.mu.Lock()
	delete(r.tlsalpn, strings.ToLower(name))
	delete(r.dns01, dns.Fqdn("_acme-challenge."+strings.ToLower(name)))
	r.mu.Unlock()
}

// setHTTP01 stores the whole http-01 answer for token, so that serving it
// is one lookup and one write.
func (r *responder) setHTTP01(token, keyAuth string) {
	r.http01.Store(token, http01Response(keyAuth))
}

// http01Response is the HTTP/1.1 answer carrying keyAuth: RFC 8555 §8.3,
// the body of the response is the key authorization. The connection closes
// after it, as validators connect once per validation.
func http01Response(keyAuth string) []byte {
	b := make([]byte, 0, 128+len(keyAuth))
	b = append(b, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(keyAuth)), 10)
	b = append(b, "\r\nConnection: close\r\n\r\n"...)
	return append(b, keyAuth...)
}

// Fixed answers of the http-01 responder.
var (
	http01NotFound        = []byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	http01NotAllowed      = []byte("HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	http01BadRequest      = []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	http01HeaderTooLarge  = []byte("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	http01HeaderSeparator = []byte("\r\n\r\n")
)

// http01Answer returns the response to the request whose head (request
// line and header section, RFC 9112 §2.1) is head: the stored answer for
// GET (or, without its body, HEAD) of a known token's
// /.well-known/acme-challenge/ path, 404 for any other path, 405 for other
// methods and 400 for a malformed request line.
func (r *responder) http01Answer(head []byte) []byte {
	line, _, _ := bytes.Cut(head, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	// request-line = method SP request-target SP HTTP-version
	method, rest, ok1 := bytes.Cut(line, []byte(" "))
	target, version, ok2 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 || !bytes.HasPrefix(version, []byte("HTTP/1.")) {
		return http01BadRequest
	}
	isHead := string(method) == http.MethodHead
	if string(method) != http.MethodGet && !isHead {
		return http01NotAllowed
	}
	// absolute-form (RFC 9112 §3.2.2) names the authority first.
	if i := bytes.Index(target, []byte("://")); i >= 0 {
		j := bytes.IndexByte(target[i+3:], '/')
		if j < 0 {
			return http01NotFound
		}
		target = target[i+3+j:]
	}
	target, _, _ = bytes.Cut(target, []byte("?"))
	token, ok := bytes.CutPrefix(target, []byte(http01Prefix))
	if !ok {
		return http01NotFound
	}
	v, ok := r.http01.Load(string(token))
	if !ok {
		return http01NotFound
	}
	resp := v.([]byte)
	if isHead {
		resp = resp[:bytes.Index(resp, http01HeaderSeparator)+len(http01HeaderSeparator)]
	}
	return resp
}

// startHTTP serves http-01 on addr: each connection gets one answer, then
// is closed. It reads the request head itself and writes a stored answer:
// net/http's server (a context, a header map and buffers per request) cost
// the load generator a twentieth of its CPU. Where it can (see
// acceptHTTP01), a connection is answered on the accepting goroutine
// without joining the network poller.
func (r *responder) startHTTP(addr string) error {
	ln, err := listenTCP(addr)
	if err != nil {
		return fmt.Errorf("bench: http-01 responder: %w", err)
	}
	tl := ln.(*net.TCPListener)
	dup := dupListener(tl)
	go r.acceptHTTP01(tl, dup)
	r.closers = append(r.closers, ln.Close)
	if dup != nil {
		r.closers = append(r.closers, dup.Close)
	}
	return nil
}

// acceptHTTP01Conns accepts on ln until it is closed, and answers each
// connection on a goroutine of its own.
func (r *responder) acceptHTTP01Conns(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go r.serveHTTP01Conn(c, nil)
	}
}

// headBufPool holds the buffers that serveHTTP01Conn reads requests into.
var headBufPool = sync.Pool{New: func() any { return new([maxHeaderBytes]byte) }}

// headComplete reports whether b holds a whole request head: it ends with
// an empty line (RFC 9112 §2.1), and a bare LF may end a line (§2.2).
func headComplete(b []byte) bool {
	return bytes.Contains(b, http01HeaderSeparator) || bytes.Contains(b, []byte("\n\n"))
}

// serveHTTP01Conn answers the one request that c carries, of which read
// came already, and closes c.
func (r *responder) serveHTTP01Conn(c net.Conn, read []byte) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(responderTimeout))
	buf := headBufPool.Get().(*[maxHeaderBytes]byte)
	defer headBufPool.Put(buf)
	n := copy(buf[:], read)
	for !headComplete(buf[:n]) {
		if n == len(buf) {
			_, _ = c.Write(http01HeaderTooLarge)
			lingerClose(c)
			return
		}
		m, err := c.Read(buf[n:])
		n += m
		if err != nil && !headComplete(buf[:n]) {
			return
		}
	}
	_, _ = c.Write(r.http01Answer(buf[:n]))
}

// Bounds of lingerClose.
const (
	maxLingerBytes = 64 << 10
	lingerTimeout  = time.Second
)

// lingerClose half-closes c and reads what the client still sends, up to
// maxLingerBytes or lingerTimeout, before the caller closes it: closing a
// socket with unread input resets the connection (RFC 9112 §9.6), and a
// client still writing its oversized head would lose the answer.
func lingerClose(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(lingerTimeout))
	_, _ = io.Copy(io.Discard, io.LimitReader(c, maxLingerBytes))
}

// finishHTTP01Write writes rest, the end of an answer, to c and closes it.
func finishHTTP01Write(c net.Conn, rest []byte) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(responderTimeout))
	_, _ = c.Write(rest)
}

// deferAcceptSeconds is how long the kernel holds a connection that sends
// nothing before handing it over anyway (TCP_DEFER_ACCEPT): validators send
// their request (HTTP, TLS ClientHello, DNS) at once.
const deferAcceptSeconds = 1

// listenTCP listens on addr for client-first protocols, without TCP
// keep-alive probes on the accepted connections: they live for one
// validation, and enabling the probes cost a setsockopt call per setting on
// each. Connections are accepted once their first data has come (see
// setDeferAccept).
func listenTCP(addr string) (net.Listener, error) {
	lc := net.ListenConfig{
		KeepAlive: -1,
		Control: func(_, _ string, c syscall.RawConn) error {
			return setDeferAccept(c)
		},
	}
	return lc.Listen(context.Background(), "tcp", addr)
}

// acmeTLS1 is the ALPN protocol of RFC 8737 §6.2.
const acmeTLS1 = "acme-tls/1"

// startTLSALPN serves tls-alpn-01 on addr: RFC 8737 §3, the validation
// server "MUST use ALPN [...] with the 'acme-tls/1' protocol" and the
// responder presents the certificate made for the SNI name.
func (r *responder) startTLSALPN(addr string) error {
	cfg := &tls.Config{
		NextProtos: []string{acmeTLS1},
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			r.mu.RLock()
			c := r.tlsalpn[strings.ToLower(hello.ServerName)]
			r.mu.RUnlock()
			if c == nil {
				return nil, fmt.Errorf("no challenge certificate for %q", hello.ServerName)
			}
			return c, nil
		},
	}
	tcpLn, err := listenTCP(addr)
	if err != nil {
		return fmt.Errorf("bench: tls-alpn-01 responder: %w", err)
	}
	ln := tls.NewListener(tcpLn, cfg)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(responderTimeout))
				_ = c.(*tls.Conn).Handshake()
			}()
		}
	}()
	r.closers = append(r.closers, ln.Close)
	return nil
}

// maxDNSQuerySize bounds a DNS query read over UDP: a query has one
// question (at most 255 octets of name) and an OPT record; 4096 is also
// the largest EDNS payload commonly offered.
const maxDNSQuerySize = 4096

// startDNS serves DNS on addr over UDP and TCP, answering as a recursive
// resolver (RA=1) would for a world where every name exists. UDP, which
// carries every query of a validation, is served by one goroutine reading
// and answering in turn: the server under test sends a few queries per
// name, and a goroutine per packet (as dns.Server spawns) only spent the
// load generator's CPU. TCP, for truncated answers, uses dns.Server.
func (r *responder) startDNS(addr string) error {
	udpAddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return fmt.Errorf("bench: dns server: %w", err)
	}
	pc, err := net.ListenUDP("udp", udpAddr)
	if err != nil {
		return fmt.Errorf("bench: dns server: %w", err)
	}
	ln, err := listenTCP(pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		return fmt.Errorf("bench: dns server: %w", err)
	}
	h := dns.HandlerFunc(r.serveDNS)
	tcp := &dns.Server{Listener: ln, Handler: h, ReadTimeout: responderTimeout, WriteTimeout: responderTimeout}
	go func() { _ = tcp.ActivateAndServe() }()
	go r.serveUDP(pc)
	r.closers = append(r.closers, pc.Close, tcp.Shutdown)
	return nil
}

// serveUDP answers the queries that come to pc until it is closed. The
// socket is bound to one address (checkLoopback requires an IP), so each
// answer leaves from the address its query came to.
func (r *responder) serveUDP(pc *net.UDPConn) {
	in := make([]byte, maxDNSQuerySize)
	out := make([]byte, 0, maxDNSQuerySize)
	for {
		n, from, err := pc.ReadFromUDPAddrPort(in)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if msg := r.udpAnswer(in[:n], out); msg != nil {
			_ = pc.SetWriteDeadline(time.Now().Add(responderTimeout))
			_, _ = pc.WriteToUDPAddrPort(msg, from)
		}
	}
}

// udpAnswer returns the packed answer to the UDP query in, truncated to the
// size the query allows (RFC 6891 §6.2.3, RFC 1035 §4.2.1: 512 without
// EDNS), in out's storage; nil for a packet that is not a query.
func (r *responder) udpAnswer(in, out []byte) []byte {
	req := new(dns.Msg)
	if err := req.Unpack(in); err != nil || req.Response {
		return nil
	}
	m := r.answerDNS(req)
	size := dns.MinMsgSize
	if o := req.IsEdns0(); o != nil {
		size = max(int(o.UDPSize()), dns.MinMsgSize)
	}
	m.Truncate(size)
	msg, err := m.PackBuffer(out)
	if err != nil {
		return nil
	}
	return msg
}

// serveDNS answers a query that came over TCP.
func (r *responder) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	_ = w.WriteMsg(r.answerDNS(req))
}

// answerDNS answers one query: A with the responder's IPv4 address (AAAA
// for an IPv6 responder), TXT with the dns-01 values set for the name, and
// NOERROR with no data for every other name and type, with a synthetic SOA
// so that resolvers can cache the negative answer (RFC 2308 §5).
func (r *responder) answerDNS(req *dns.Msg) *dns.Msg {
	if len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeNotImplemented)
		return m
	}
	q := req.Question[0]
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = true
	if o := req.IsEdns0(); o != nil {
		m.SetEdns0(o.UDPSize(), false)
	}
	name := strings.ToLower(q.Name)
	hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: dnsTTL}
	switch {
	case q.Qtype == dns.TypeA && r.ip.Is4():
		hdr.Rrtype = dns.TypeA
		m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: r.ip.AsSlice()})
	case q.Qtype == dns.TypeAAAA && r.ip.Is6():
		hdr.Rrtype = dns.TypeAAAA
		m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: r.ip.AsSlice()})
	case q.Qtype == dns.TypeTXT:
		r.mu.RLock()
		vals := r.dns01[name]
		r.mu.RUnlock()
		hdr.Rrtype = dns.TypeTXT
		for _, v := range vals {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: []string{v}})
		}
	}
	if len(m.Answer) == 0 {
		m.Ns = append(m.Ns, &dns.SOA{
			Hdr:    dns.RR_Header{Name: q.Name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: dnsTTL},
			Ns:     "ns.bench.invalid.",
			Mbox:   "hostmaster.bench.invalid.",
			Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: dnsTTL,
		})
	}
	return m
}
