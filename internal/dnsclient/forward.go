package dnsclient

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

const (
	// DefaultForwardTimeout bounds one query to one server when
	// ForwarderConfig.Timeout is zero.
	DefaultForwardTimeout = 3 * time.Second

	// ednsUDPSize is the EDNS0 UDP payload size we advertise: 1232 octets
	// fit the IPv6 minimum MTU without fragmentation (DNS Flag Day 2020).
	ednsUDPSize = 1232

	// maxCNAMEChain bounds the CNAMEs followed for one lookup, in the answer
	// sections and across lookups of the chain's target. Real chains are a
	// few links long; eight is what Unbound and BIND allow for, roughly.
	maxCNAMEChain = 8

	// maxAnswerRecords bounds the records of one answer section. The
	// answers dcv needs (TXT, CAA, A) have a handful of records; more is a
	// misconfiguration or an attempt to bloat the evidence we keep.
	maxAnswerRecords = 256

	// maxTXTBytes bounds the TXT data of one answer section, counted in
	// the presentation form that goes into evidence, so that one response
	// cannot bloat the evidence stored for a check.
	maxTXTBytes = 64 << 10

	// maxServers bounds the resolvers of one Forwarder: they are tried in
	// order, so each adds a timeout to the worst case of every lookup.
	maxServers = 8

	// maxResolvConfSize bounds how much of a resolv.conf is read; real ones
	// are a few hundred bytes.
	maxResolvConfSize = 64 << 10

	// DefaultResolvConf is the file SystemServers reads when given "".
	DefaultResolvConf = "/etc/resolv.conf"
)

// ForwarderConfig configures a Forwarder.
type ForwarderConfig struct {
	// Servers are the host:port addresses of recursive resolvers, tried in
	// order. Required; hosts are IP addresses (see ParseServers).
	Servers []string
	// Timeout bounds one query to one server. If zero,
	// DefaultForwardTimeout.
	Timeout time.Duration
	// Source is the local address queries are sent from (a remote
	// perspective bound to one interface). If invalid (zero), the system
	// chooses.
	Source netip.Addr
	// CacheMaxTTL turns on a cache of the resolvers' answers and caps how
	// long one is kept: each answer is kept for its TTL, at most
	// CacheMaxTTL; a negative answer (NXDOMAIN or NODATA) for its SOA's
	// negative TTL (RFC 2308 §5), at most 5 s too, so that an applicant who
	// has just added a record is not kept waiting. SERVFAIL, REFUSED and
	// errors are never cached. If zero, nothing is cached; at most
	// MaxForwardCacheTTL.
	CacheMaxTTL time.Duration
	// Now tells the time for the cache. If nil, time.Now.
	Now func() time.Time
}

// Forwarder is a Resolver that forwards queries to recursive resolvers
// (forward mode). It sets RD=1 and AD=1 (RFC 6840 §5.7) and advertises EDNS0;
// it trusts the resolvers' AD bit and does not validate DNSSEC itself. It
// is safe for concurrent use.
type Forwarder struct {
	servers []string
	// udpAddrs are servers, parsed once: udpAddrs[i] is servers[i].
	udpAddrs []*net.UDPAddr
	timeout  time.Duration
	source   netip.Addr
	// udpSource is source with port 0 (the kernel picks a fresh random
	// port for each socket), or nil when source is invalid.
	udpSource *net.UDPAddr
	cache     *forwardCache // nil when off
	// alive is the last verdict on whether the resolvers answer at all,
	// asked after a timeout (see resolversSilent).
	alive aliveness
}

var _ Resolver = (*Forwarder)(nil)

// Servers returns the resolvers' addresses as answers and errors name them
// (Response.Server, Error.Server).
func (f *Forwarder) Servers() []string { return slices.Clone(f.servers) }

// NewForwarder returns a Forwarder for cfg. It returns an error when no
// server is given, more than 8 are, or one is not an ip:port.
func NewForwarder(cfg ForwarderConfig) (*Forwarder, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("dnsclient: forwarder needs at least one server")
	}
	if len(cfg.Servers) > maxServers {
		return nil, fmt.Errorf("dnsclient: %d servers given, at most %d allowed", len(cfg.Servers), maxServers)
	}
	udpAddrs := make([]*net.UDPAddr, len(cfg.Servers))
	for i, s := range cfg.Servers {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return nil, fmt.Errorf("dnsclient: server %q is not an ip:port: %w", s, err)
		}
		udpAddrs[i] = net.UDPAddrFromAddrPort(ap)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("dnsclient: negative timeout %v", cfg.Timeout)
	}
	if cfg.CacheMaxTTL < 0 || cfg.CacheMaxTTL > MaxForwardCacheTTL {
		return nil, fmt.Errorf("dnsclient: cache max TTL %v out of range 0..%v", cfg.CacheMaxTTL, MaxForwardCacheTTL)
	}
	f := &Forwarder{
		servers:  append([]string(nil), cfg.Servers...),
		udpAddrs: udpAddrs,
		timeout:  cmp.Or(cfg.Timeout, DefaultForwardTimeout),
		source:   cfg.Source,
	}
	if cfg.Source.IsValid() {
		f.udpSource = net.UDPAddrFromAddrPort(netip.AddrPortFrom(cfg.Source, 0))
	}
	if cfg.CacheMaxTTL > 0 {
		now := cfg.Now
		if now == nil {
			now = time.Now
		}
		f.cache = newForwardCache(cfg.CacheMaxTTL, now)
	}
	return f, nil
}

// Lookup looks name up with type qtype, following the CNAME chain (see
// Response). A response from a server is returned whatever its rcode. A
// server that does not answer in time, cannot be reached, answers SERVFAIL or
// REFUSED, or sends a malformed answer is skipped for the next one; when
// every server failed, Lookup returns the last SERVFAIL or REFUSED Response
// if there was one, else a *Error. Lookup also returns a *Error of
// KindTooLarge when an answer exceeds 256 records or 64 KiB of TXT data, and
// of KindLoop when the CNAME chain loops or has more than 8 links.
func (f *Forwarder) Lookup(ctx context.Context, name string, qtype uint16) (*Response, error) {
	start := time.Now()
	name = strings.ToLower(dns.Fqdn(name))
	if _, ok := dns.IsDomainName(name); !ok {
		return nil, &Error{Kind: KindUnknown, Name: name, Type: typeString(qtype), Detail: "invalid domain name"}
	}
	return f.lookup(ctx, start, name, qtype, nil)
}

// lookup is Lookup of name, lowercase, fully qualified and valid, from
// start. When first is not nil it is the outcome of the exchange for name
// itself, made already (see LookupPair), and is used instead of the cache
// and a new exchange.
func (f *Forwarder) lookup(ctx context.Context, start time.Time, name string, qtype uint16, first *exchangeResult) (*Response, error) {
	typ := typeString(qtype)
	resp := &Response{Name: name, Type: typ}
	seen := map[string]bool{name: true}
	target := name
	for {
		var (
			msg    *dns.Msg
			server string
			hit    bool
			until  time.Time
			err    *Error
		)
		if first != nil {
			msg, server, err = first.msg, first.server, first.err
			first = nil
		} else if msg, server, until, hit = f.cached(target, qtype); !hit {
			r := f.exchange(ctx, target, qtype)
			msg, server, err = r[0].msg, r[0].server, r[0].err
		}
		if !hit && err == nil && f.cache != nil {
			f.cache.put(target, qtype, msg, server)
		}
		resp.Cached = resp.Cached || hit
		if hit && (resp.CacheUntil.IsZero() || until.After(resp.CacheUntil)) {
			resp.CacheUntil = until
		}
		if err != nil {
			err.Name, err.Type = name, typ
			// Unreachable servers are dcv's configured resolvers, not the
			// domain's nameservers: an operator problem. So are resolvers
			// that time out and do not answer a question they answer at
			// once when alive.
			// (Not asked of a caller that went away.)
			// The TCP retry of a truncated answer failing is the
			// resolver's TCP service failing: dcv's side too.
			err.Upstream = err.Kind == KindNetwork || err.TCPFallback != "" ||
				(err.Kind == KindTimeout && !errors.Is(ctx.Err(), context.Canceled) && f.resolversSilent(ctx, start))
			err.Resolver = true
			if target != name {
				err.Detail = "following cname to " + target + ": " + err.Detail
			}
			return nil, err
		}
		resp.Server, resp.Resolver = server, true
		resp.Rcode = rcodeString(msg.Rcode)
		resp.AD = msg.AuthenticatedData
		resp.EDE = extendedErrors(msg)
		resp.DNSSEC, resp.DNSSECReason = forwardDNSSEC(msg, resp.EDE)
		resp.Answer, resp.Other, resp.NegativeTTL = nil, nil, 0
		// msg comes off the wire, so its names are fully qualified, as
		// fillChain makes them.
		end, lerr := fillChain(resp, msg, target, qtype, seen, maxCNAMEChain, "")
		if lerr != nil {
			lerr.Name, lerr.Type, lerr.Server = name, typ, server
			return nil, lerr
		}
		// A resolver may stop at a CNAME whose target it did not resolve
		// (a partial answer). Look the target up ourselves, unless the
		// response is negative for it (NXDOMAIN, or NODATA with a SOA).
		if end == target || len(resp.Answer) > 0 || len(resp.Other) > 0 ||
			msg.Rcode != dns.RcodeSuccess || hasSOA(msg.Ns) {
			break
		}
		target = end
	}
	resp.Duration = time.Since(start)
	return resp, nil
}

// cached returns the cached answer to name/qtype, if the cache is on and
// holds a live one.
func (f *Forwarder) cached(name string, qtype uint16) (*dns.Msg, string, time.Time, bool) {
	if f.cache == nil {
		return nil, "", time.Time{}, false
	}
	return f.cache.get(name, qtype)
}

// maxQuestions bounds the questions of one exchange: Lookup asks one,
// LookupPair two.
const maxQuestions = 2

// exchangeResult is the outcome of one question of an exchange: an answer
// and the server that gave it, or an error.
type exchangeResult struct {
	msg    *dns.Msg
	server string
	err    *Error
}

// question is one query of an exchange.
type question struct {
	q    *dns.Msg
	wire []byte // q packed
}

// exchange asks each server in turn for name with each of qtypes (one or
// two), sending the questions of one round to a server together, each with
// its own random ID (see queryUDP). For each question it returns the first
// answer that is neither SERVFAIL nor REFUSED; failing that the last such
// answer; failing that an *Error describing the last failure.
func (f *Forwarder) exchange(ctx context.Context, name string, qtypes ...uint16) []exchangeResult {
	var (
		qsBuf [maxQuestions]question
		bufs  [maxQuestions]*[]byte // from queryBufs
	)
	qs := qsBuf[:len(qtypes)] // callers ask at most maxQuestions
	res := make([]exchangeResult, len(qtypes))
	defer func() {
		for _, b := range bufs {
			if b != nil {
				queryBufs.Put(b)
			}
		}
	}()
	for i, qt := range qtypes {
		q := new(dns.Msg)
		q.SetQuestion(name, qt)
		// The IDs of one exchange differ, so that answers match one query.
		for j := 0; j < i; j++ {
			if qs[j].q.Id == q.Id {
				q.Id, j = dns.Id(), -1
			}
		}
		q.RecursionDesired = true
		// RFC 6840 §5.7: "setting the AD bit in a query [...] signal[s]
		// that the requester understands and is interested in the value of
		// the AD bit in the response".
		q.AuthenticatedData = true
		q.SetEdns0(ednsUDPSize, false)
		// The query is packed once for every UDP attempt; the TCP
		// fallback packs it again (it is rare).
		bufs[i] = queryBufs.Get().(*[]byte)
		wire, err := q.PackBuffer(*bufs[i])
		if err != nil {
			// Not expected: Lookup checked the name.
			for k := range res {
				res[k].err = classify(ctx, "udp", f.servers[0], err)
			}
			return res
		}
		qs[i] = question{q: q, wire: wire}
	}

	var (
		lastMsg     [maxQuestions]*dns.Msg
		lastMsgSrv  [maxQuestions]string
		lastErr     [maxQuestions]*Error
		allTimeouts = [maxQuestions]bool{true, true}
		done        [maxQuestions]bool
		pendingBuf  [maxQuestions]int // indexes into qs of this round
		roundBuf    [maxQuestions]question
		pending     = pendingBuf[:0]
		round       = roundBuf[:0]
	)
	for si, srv := range f.servers {
		pending, round = pending[:0], round[:0]
		for i := range qs {
			if !done[i] {
				pending, round = append(pending, i), append(round, qs[i])
			}
		}
		if len(pending) == 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			for _, i := range pending {
				lastErr[i] = &Error{Kind: KindTimeout, Server: srv, Detail: "not tried: " + err.Error()}
			}
			break
		}
		for k, a := range f.query(ctx, si, round) {
			i := pending[k]
			switch {
			case a.err != nil:
				lastErr[i] = a.err
				if a.err.Kind != KindTimeout {
					allTimeouts[i] = false
				}
			case a.msg.Rcode == dns.RcodeServerFailure || a.msg.Rcode == dns.RcodeRefused:
				lastMsg[i], lastMsgSrv[i] = a.msg, srv
			default:
				res[i] = exchangeResult{msg: a.msg, server: srv}
				done[i] = true
			}
		}
	}
	for i := range res {
		switch {
		case done[i]:
		case lastMsg[i] != nil:
			res[i] = exchangeResult{msg: lastMsg[i], server: lastMsgSrv[i]}
		default:
			if lastErr[i].Kind == KindTimeout && !allTimeouts[i] {
				lastErr[i].Kind = KindNetwork
			}
			res[i].err = lastErr[i]
		}
	}
	return res
}

// reply is the outcome of one question sent to one server.
type reply struct {
	msg *dns.Msg
	err *Error
}

// query sends qs to server i over UDP and, for each answer that is
// truncated, again over TCP (RFC 7766 §5). Its answers are in the order of
// qs.
func (f *Forwarder) query(ctx context.Context, i int, qs []question) []reply {
	server := f.servers[i]
	out := f.queryUDP(ctx, i, qs)
	for k, a := range out {
		if a.err != nil || !a.msg.Truncated {
			continue
		}
		msg, err := f.queryNet(ctx, "tcp", server, qs[k].q)
		if err == nil && msg.Truncated {
			msg, err = nil, &Error{Kind: KindMalformed, Server: server, Detail: "truncated answer over tcp"}
		}
		out[k] = reply{msg: msg, err: err}
	}
	return out
}

// dnsHeaderSize is the size of the fixed DNS header (RFC 1035 §4.1.1): a
// shorter datagram is not a DNS message.
const dnsHeaderSize = 12

// queryBufs holds buffers for packing queries: a query is a header, one
// question (a name of at most 255 octets) and an OPT record, under 512.
var queryBufs = sync.Pool{New: func() any { b := make([]byte, 512); return &b }}

// answerBufs holds buffers for reading UDP answers, of the EDNS0 size we
// advertise: what does not fit is cut short by the kernel, as before.
var answerBufs = sync.Pool{New: func() any { b := make([]byte, ednsUDPSize); return &b }}

// queryUDP sends the queries qs (their IDs differ) to server i from one new
// UDP socket (a fresh random source port for every exchange, never reused)
// and reads their answers, returned in the order of qs. It behaves as
// miekg/dns's Client did: datagrams whose ID is none of the queries' (or
// that of a query answered already) are ignored (RFC 5452 §9.1) and the
// read goes on; the socket's deadline is the earlier of ctx's and f.timeout
// from now, and is cut short when ctx is canceled. An error of the socket
// or a datagram shorter than a header ends the exchange and is the answer
// of every query not answered yet; an answer that cannot be unpacked or
// does not match its query is the error of that query alone. Queries not
// answered within a third of the time are sent again, once, on the same
// socket (as stub resolvers retransmit, RFC 1035 §4.2.1): one datagram
// lost on the way to a live resolver is no timeout (verification run: a
// remote perspective's lost query was blamed on the domain).
func (f *Forwarder) queryUDP(ctx context.Context, i int, qs []question) []reply {
	server := f.servers[i]
	out := make([]reply, len(qs))
	left := len(qs)
	// fail gives every query not answered yet its own copy of the error
	// of err (Lookup fills the copies in).
	fail := func(err error) []reply {
		for k := range out {
			if out[k].msg == nil && out[k].err == nil {
				out[k].err = classify(ctx, "udp", server, err)
			}
		}
		return out
	}
	deadline := time.Now().Add(f.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn, err := net.DialUDP("udp", f.udpSource, f.udpAddrs[i])
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	// The first wait ends early, for the retransmission.
	resend := time.Now().Add(f.timeout / 3)
	if !resend.Before(deadline) {
		resend = time.Time{} // no time for a second try
	}
	if err := conn.SetDeadline(cmp.Or(resend, deadline)); err != nil {
		return fail(err)
	}
	// Set after the deadline above, so that a ctx canceled already wins.
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
		defer stop()
	}
	for _, q := range qs {
		if _, err := conn.Write(q.wire); err != nil {
			return fail(err)
		}
	}
	bufp := answerBufs.Get().(*[]byte)
	defer answerBufs.Put(bufp)
	buf := *bufp
	for left > 0 {
		n, err := conn.Read(buf)
		var ne net.Error
		if err != nil && !resend.IsZero() && ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() {
			resend = time.Time{}
			if err := conn.SetDeadline(deadline); err != nil {
				return fail(err)
			}
			if ctx.Err() != nil {
				// Canceled meanwhile: its cut of the deadline may have
				// come before the one just set.
				return fail(ctx.Err())
			}
			for k, q := range qs {
				if out[k].msg == nil && out[k].err == nil {
					if _, err := conn.Write(q.wire); err != nil {
						return fail(err)
					}
				}
			}
			continue
		}
		if err != nil {
			return fail(err)
		}
		if n < dnsHeaderSize {
			return fail(dns.ErrShortRead)
		}
		id := binary.BigEndian.Uint16(buf)
		k := slices.IndexFunc(qs, func(q question) bool { return q.q.Id == id })
		if k < 0 || out[k].msg != nil || out[k].err != nil {
			continue
		}
		left--
		msg := new(dns.Msg)
		// Unpack from a copy: miekg/dns keeps slices of its input in
		// some records (SVCB address hints), and buf goes back to the
		// pool while msg may live on in the cache.
		if err := msg.Unpack(bytes.Clone(buf[:n])); err != nil {
			out[k].err = classify(ctx, "udp", server, err)
			continue
		}
		if d := screen(qs[k].q, msg); d != "" {
			out[k].err = &Error{Kind: KindMalformed, Server: server, Detail: "udp: " + d}
			continue
		}
		out[k].msg = msg
	}
	return out
}

// queryNet sends q to server over network with miekg/dns's Client; the
// TCP fallback uses it.
func (f *Forwarder) queryNet(ctx context.Context, network, server string, q *dns.Msg) (*dns.Msg, *Error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	c := &dns.Client{Net: network, Timeout: f.timeout, UDPSize: ednsUDPSize}
	if f.source.IsValid() {
		d := &net.Dialer{Timeout: f.timeout}
		if network == "tcp" {
			d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(f.source, 0))
		} else {
			d.LocalAddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(f.source, 0))
		}
		c.Dialer = d
	}
	conn, err := c.DialContext(ctx, server)
	if err != nil {
		return nil, classify(ctx, network, server, err)
	}
	defer conn.Close()
	// miekg/dns reads until its deadline even when ctx is canceled early:
	// cut the read short on cancellation.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	msg, _, err := c.ExchangeWithConnContext(ctx, q, conn)
	if err != nil {
		return nil, classify(ctx, network, server, err)
	}
	if d := screen(q, msg); d != "" {
		return nil, &Error{Kind: KindMalformed, Server: server, Detail: network + ": " + d}
	}
	return msg, nil
}

// screen returns why msg is not an answer to q, or "" after dropping from
// msg the records of a class other than IN (but the OPT pseudo-record,
// whose class field holds a size). dcv asks IN questions only, and the
// DNSSEC validator verifies IN records only: a record of another class
// added to a signed answer ("_dnsauth.example.com. CH TXT ...") would
// otherwise be taken as answer data that no signature covers (RFC 4035 §5:
// only validated data is authenticated).
func screen(q, msg *dns.Msg) string {
	if d := mismatch(q, msg); d != "" {
		return d
	}
	keep := func(rrs []dns.RR) []dns.RR {
		out := rrs[:0]
		for _, rr := range rrs {
			if h := rr.Header(); h.Class == dns.ClassINET || h.Rrtype == dns.TypeOPT {
				out = append(out, rr)
			}
		}
		return out
	}
	msg.Answer, msg.Ns, msg.Extra = keep(msg.Answer), keep(msg.Ns), keep(msg.Extra)
	return ""
}

// mismatch returns why msg is not an answer to q, or "".
func mismatch(q, msg *dns.Msg) string {
	switch {
	case msg.Id != q.Id:
		return fmt.Sprintf("answer id %d does not match query id %d", msg.Id, q.Id)
	case !msg.Response:
		return "answer does not have the QR bit"
	case len(msg.Question) != 1:
		return fmt.Sprintf("answer has %d questions, want 1", len(msg.Question))
	}
	got, want := msg.Question[0], q.Question[0]
	if !strings.EqualFold(got.Name, want.Name) || got.Qtype != want.Qtype || got.Qclass != want.Qclass {
		return fmt.Sprintf("answer is for %s %s, asked %s %s",
			got.Name, typeString(got.Qtype), want.Name, typeString(want.Qtype))
	}
	return ""
}

// classify turns the error of one exchange into an *Error. Over TCP,
// which both resolvers use only to retry a truncated UDP answer (RFC 7766
// §5), it also says how that retry failed (Error.TCPFallback).
func classify(ctx context.Context, network, server string, err error) *Error {
	e := &Error{Server: server, Detail: network + ": " + err.Error()}
	var netErr net.Error
	var dnsErr *dns.Error
	switch {
	case ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &netErr) && netErr.Timeout()):
		e.Kind = KindTimeout
	case errors.As(err, &dnsErr) || errors.Is(err, io.ErrUnexpectedEOF):
		// miekg/dns reports unpacking failures as *dns.Error.
		e.Kind = KindMalformed
	default:
		e.Kind = KindNetwork
	}
	if network == "tcp" {
		e.TCPFallback = tcpFailure(e.Kind, err)
	}
	return e
}

// tcpFailure says how a TCP exchange that failed with err (of kind k)
// failed: one of the TCPFallback* values.
func tcpFailure(k Kind, err error) string {
	switch {
	case k == KindTimeout:
		return TCPFallbackTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return TCPFallbackRefused
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		// The connection was accepted, then ended with no answer read.
		return TCPFallbackClosed
	}
	return TCPFallbackFailed
}

// Bounds on the RFC 8914 options kept from one answer: a resolver gives
// one or two; the rest would only bloat the evidence.
const (
	maxEDE         = 8
	maxEDETextSize = 256
)

// extendedErrors returns the RFC 8914 Extended DNS Error options of msg,
// at most maxEDE, each text cut to maxEDETextSize bytes.
func extendedErrors(msg *dns.Msg) []EDE {
	opt := msg.IsEdns0()
	if opt == nil {
		return nil
	}
	var out []EDE
	for _, o := range opt.Option {
		e, ok := o.(*dns.EDNS0_EDE)
		if !ok {
			continue
		}
		if len(out) == maxEDE {
			break
		}
		text := e.ExtraText
		if len(text) > maxEDETextSize {
			text = text[:maxEDETextSize]
		}
		out = append(out, EDE{Code: e.InfoCode, Text: text})
	}
	return out
}

// forwardDNSSEC derives the DNSSEC status of a forwarded answer: "secure"
// when the resolver set AD (RFC 4035 §3.2.3: a validating resolver sets it
// only for authentic data; we trust the configured resolvers and the path
// to them), "bogus" with the EDE's words when it answered SERVFAIL with an
// Extended DNS Error of the DNSSEC failure family (RFC 8914 §4.7-4.13), and
// "" (unknown) otherwise: without AD, a forwarded answer does not say
// whether its zone is unsigned or the resolver does not validate.
func forwardDNSSEC(msg *dns.Msg, ede []EDE) (string, string) {
	if msg.Rcode == dns.RcodeSuccess || msg.Rcode == dns.RcodeNameError {
		if msg.AuthenticatedData {
			return Secure.String(), ""
		}
		return "", ""
	}
	if msg.Rcode != dns.RcodeServerFailure {
		return "", ""
	}
	for _, e := range ede {
		if IsDNSSECBogus(e.Code) {
			reason := dns.ExtendedErrorCodeToString[e.Code]
			if reason == "" {
				reason = "EDE " + strconv.Itoa(int(e.Code))
			}
			if e.Text != "" {
				reason += ": " + e.Text
			}
			return Bogus.String(), reason
		}
	}
	return "", ""
}

func hasSOA(rrs []dns.RR) bool {
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeSOA {
			return true
		}
	}
	return false
}

// toRecord converts rr for evidence. TXT strings keep miekg/dns's RFC 1035
// §5.1 escaped form (\" \\ and \DDD for unprintable octets), so that any
// octet survives JSON.
func toRecord(rr dns.RR) Record {
	h := rr.Header()
	rec := Record{Name: strings.ToLower(h.Name), Type: typeString(h.Rrtype), TTL: h.Ttl}
	switch v := rr.(type) {
	case *dns.TXT:
		rec.Data = strings.Join(v.Txt, "")
		rec.Strings = append([]string(nil), v.Txt...)
		return rec
	case *dns.CAA:
		rec.Flag, rec.Tag, rec.Value = v.Flag, v.Tag, v.Value
	}
	rec.Data = strings.TrimPrefix(rr.String(), h.String())
	return rec
}

func typeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

func rcodeString(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return "RCODE" + strconv.Itoa(rc)
}

// ParseServers parses the value of a --resolver flag: a comma-separated
// list of ip[:port], IPv6 addresses in brackets ("[2001:db8::1]:53"); the
// port is 53 when absent. It returns host:port strings fit for
// ForwarderConfig.Servers, or an error naming the bad entry.
func ParseServers(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("no resolver given")
	}
	var out []string
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		srv, err := parseServer(entry)
		if err != nil {
			return nil, fmt.Errorf("resolver %q: %w", entry, err)
		}
		out = append(out, srv)
	}
	if len(out) > maxServers {
		return nil, fmt.Errorf("%d resolvers given, at most %d allowed", len(out), maxServers)
	}
	return out, nil
}

func parseServer(entry string) (string, error) {
	if entry == "" {
		return "", errors.New("empty address")
	}
	host, port := entry, "53"
	switch {
	case strings.HasPrefix(entry, "["):
		end := strings.Index(entry, "]")
		if end < 0 {
			return "", errors.New("missing ] after IPv6 address")
		}
		host = entry[1:end]
		if rest := entry[end+1:]; rest != "" {
			p, ok := strings.CutPrefix(rest, ":")
			if !ok {
				return "", errors.New("expected :port after ]")
			}
			port = p
		}
	case strings.Count(entry, ":") > 1:
		return "", errors.New("IPv6 address must be in brackets, e.g. [2001:db8::1]:53")
	case strings.Contains(entry, ":"):
		host, port, _ = strings.Cut(entry, ":")
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "", fmt.Errorf("host %q is not an IP address", host)
	}
	if strings.HasPrefix(entry, "[") && !ip.Is6() {
		return "", errors.New("only IPv6 addresses go in brackets")
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return "", fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return netip.AddrPortFrom(ip, uint16(n)).String(), nil
}

// SystemServers returns the nameservers of the resolv.conf at path (if empty,
// DefaultResolvConf) as host:port strings. It reads at most 64 KiB and
// returns an error when the file cannot be read or lists no nameserver.
func SystemServers(path string) ([]string, error) {
	path = cmp.Or(path, DefaultResolvConf)
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading resolver configuration: %w", err)
	}
	defer file.Close()
	cfg, err := dns.ClientConfigFromReader(io.LimitReader(file, maxResolvConfSize))
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	var out []string
	for _, s := range cfg.Servers {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			continue // not an address: ignored, as the C library does
		}
		port, _ := strconv.ParseUint(cfg.Port, 10, 16)
		out = append(out, netip.AddrPortFrom(ip, uint16(cmp.Or(port, 53))).String())
		if len(out) == maxServers {
			break
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no nameserver in %s", path)
	}
	return out, nil
}
