package bench

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
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

	mu      sync.RWMutex
	http01  map[string]string
	tlsalpn map[string]*tls.Certificate
	dns01   map[string][]string

	closers []func() error
}

func newResponder(ip netip.Addr) *responder {
	return &responder{
		ip:      ip,
		http01:  map[string]string{},
		tlsalpn: map[string]*tls.Certificate{},
		dns01:   map[string][]string{},
	}
}

func (r *responder) close() {
	for _, c := range r.closers {
		_ = c()
	}
}

func (r *responder) setHTTP01(token, keyAuth string) {
	r.mu.Lock()
	r.http01[token] = keyAuth
	r.mu.Unlock()
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
	r.mu.Lock()
	delete(r.http01, token)
	delete(r.tlsalpn, strings.ToLower(name))
	delete(r.dns01, dns.Fqdn("_acme-challenge."+strings.ToLower(name)))
	r.mu.Unlock()
}

// ServeHTTP answers http-01 requests: the key authorization as text/plain
// for a known token, 404 otherwise.
func (r *responder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	token, ok := strings.CutPrefix(req.URL.Path, http01Prefix)
	if !ok || req.Method != http.MethodGet {
		http.NotFound(w, req)
		return
	}
	r.mu.RLock()
	ka, ok := r.http01[token]
	r.mu.RUnlock()
	if !ok {
		http.NotFound(w, req)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(ka))
}

// startHTTP serves http-01 on addr.
func (r *responder) startHTTP(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("bench: http-01 responder: %w", err)
	}
	srv := &http.Server{
		Handler:           r,
		ReadHeaderTimeout: responderTimeout,
		ReadTimeout:       responderTimeout,
		WriteTimeout:      responderTimeout,
		IdleTimeout:       responderTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	go func() { _ = srv.Serve(ln) }()
	r.closers = append(r.closers, srv.Close)
	return nil
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
	ln, err := tls.Listen("tcp", addr, cfg)
	if err != nil {
		return fmt.Errorf("bench: tls-alpn-01 responder: %w", err)
	}
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

// startDNS serves DNS on addr over UDP and TCP, answering as a recursive
// resolver (RA=1) would for a world where every name exists.
func (r *responder) startDNS(addr string) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("bench: dns server: %w", err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		return fmt.Errorf("bench: dns server: %w", err)
	}
	h := dns.HandlerFunc(r.serveDNS)
	udp := &dns.Server{PacketConn: pc, Handler: h, ReadTimeout: responderTimeout, WriteTimeout: responderTimeout}
	tcp := &dns.Server{Listener: ln, Handler: h, ReadTimeout: responderTimeout, WriteTimeout: responderTimeout}
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	r.closers = append(r.closers, udp.Shutdown, tcp.Shutdown)
	return nil
}

func (r *responder) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := r.answerDNS(req)
	if m == nil {
		return
	}
	if _, isUDP := w.RemoteAddr().(*net.UDPAddr); isUDP {
		size := dns.MinMsgSize
		if o := req.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
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
