package bench

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/testenv"
)

func TestHTTP01Answer(t *testing.T) {
	t.Parallel()
	r := newResponder(netip.MustParseAddr("127.0.0.1"))
	r.setHTTP01("tok", "tok.thumb")
	ok := http01Response("tok.thumb")
	okHead := ok[:bytes.Index(ok, http01HeaderSeparator)+4]
	tests := []struct {
		name, head string
		want       []byte
	}{
		{name: "known token", head: "GET /.well-known/acme-challenge/tok HTTP/1.1\r\nHost: a.test\r\n\r\n", want: ok},
		{name: "HEAD: no body", head: "HEAD /.well-known/acme-challenge/tok HTTP/1.1\r\n\r\n", want: okHead},
		{name: "absolute-form", head: "GET http://a.test:80/.well-known/acme-challenge/tok HTTP/1.1\r\n\r\n", want: ok},
		{name: "query ignored", head: "GET /.well-known/acme-challenge/tok?x=1 HTTP/1.0\n\n", want: ok},
		{name: "unknown token", head: "GET /.well-known/acme-challenge/other HTTP/1.1\r\n\r\n", want: http01NotFound},
		{name: "other path", head: "GET /tok HTTP/1.1\r\n\r\n", want: http01NotFound},
		{name: "absolute-form without path", head: "GET http://a.test HTTP/1.1\r\n\r\n", want: http01NotFound},
		{name: "POST", head: "POST /.well-known/acme-challenge/tok HTTP/1.1\r\n\r\n", want: http01NotAllowed},
		{name: "not HTTP/1", head: "GET /.well-known/acme-challenge/tok\r\n\r\n", want: http01BadRequest},
		{name: "garbage", head: "\x16\x03\x01\x02\x00\r\n\r\n", want: http01BadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := r.http01Answer([]byte(tt.head)); !bytes.Equal(got, tt.want) {
				t.Fatalf("answer %q, want %q", got, tt.want)
			}
		})
	}
}

// startHTTP01Responder starts an http-01 responder on a fresh loopback
// address that answers token with keyAuth, and returns its address.
func startHTTP01Responder(t *testing.T, token, keyAuth string) string {
	t.Helper()
	ip := testenv.NewLoopbackAddr()
	addr := net.JoinHostPort(ip.String(), testResponderPort)
	r := newResponder(ip)
	if err := r.startHTTP(addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	r.setHTTP01(token, keyAuth)
	return addr
}

// TestResponderHTTP01Server checks the http-01 responder on the wire, with
// net/http's client as a validator.
func TestResponderHTTP01Server(t *testing.T) {
	t.Parallel()
	addr := startHTTP01Responder(t, "tok", "tok.thumb")
	tests := []struct {
		name, path, wantBody string
		wantCode             int
	}{
		{name: "known token", path: http01Prefix + "tok", wantCode: 200, wantBody: "tok.thumb"},
		{name: "unknown token", path: http01Prefix + "nope", wantCode: 404},
		{name: "header too large", path: http01Prefix + strings.Repeat("x", maxHeaderBytes), wantCode: 431},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			res, err := c.Get("http://" + addr + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.wantCode || string(b) != tt.wantBody || !res.Close {
				t.Fatalf("got %d %q close %v, want %d %q and Connection: close", res.StatusCode, b, res.Close, tt.wantCode, tt.wantBody)
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

// TestResponderDNSServer checks the DNS server on the wire: UDP answers
// (truncated to what the query allows) and TCP.
func TestResponderDNSServer(t *testing.T) {
	t.Parallel()
	ip := testenv.NewLoopbackAddr()
	addr := net.JoinHostPort(ip.String(), testDNSPort)
	r := newResponder(ip)
	if err := r.startDNS(addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	name := "many.applicant.com"
	for i := range 40 {
		r.setDNS01(name, fmt.Sprintf("%043d", i)) // 40 TXT records: over 512 octets
	}
	tests := []struct {
		name      string
		net       string
		qname     string
		qtype     uint16
		edns      uint16
		wantTC    bool
		wantCount int
	}{
		{name: "A over UDP", net: "udp", qname: "x.applicant.com.", qtype: dns.TypeA, wantCount: 1},
		{name: "large TXT over UDP without EDNS is truncated", net: "udp", qname: "_acme-challenge." + name + ".", qtype: dns.TypeTXT, wantTC: true},
		{name: "large TXT over UDP with EDNS 4096", net: "udp", qname: "_acme-challenge." + name + ".", qtype: dns.TypeTXT, edns: 4096, wantCount: 40},
		{name: "large TXT over TCP", net: "tcp", qname: "_acme-challenge." + name + ".", qtype: dns.TypeTXT, wantCount: 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := new(dns.Msg)
			q.SetQuestion(tt.qname, tt.qtype)
			if tt.edns != 0 {
				q.SetEdns0(tt.edns, false)
			}
			c := &dns.Client{Net: tt.net, Timeout: 5 * time.Second, UDPSize: 4096}
			m, _, err := c.Exchange(q, addr)
			if err != nil {
				t.Fatal(err)
			}
			if m.Id != q.Id || m.Truncated != tt.wantTC || (!tt.wantTC && len(m.Answer) != tt.wantCount) {
				t.Fatalf("id %d (query %d), TC %v, %d answers; want TC %v, %d answers", m.Id, q.Id, m.Truncated, len(m.Answer), tt.wantTC, tt.wantCount)
			}
		})
	}
}

// TestResponderHTTP01Segments checks the http-01 responder on the wire with
// requests that do not come in one piece, which it answers on the slower
// path, and with connections closed before a whole request.
func TestResponderHTTP01Segments(t *testing.T) {
	t.Parallel()
	addr := startHTTP01Responder(t, "tok", "tok.thumb")
	tests := []struct {
		name     string
		segments []string
		want     string
	}{
		{name: "one segment", segments: []string{"GET /.well-known/acme-challenge/tok HTTP/1.1\r\n\r\n"}, want: string(http01Response("tok.thumb"))},
		{name: "two segments", segments: []string{"GET /.well-known/acme-chall", "enge/tok HTTP/1.1\r\nHost: a.test\r\n\r\n"}, want: string(http01Response("tok.thumb"))},
		{name: "three segments, unknown token", segments: []string{"GET /x", " HTTP/1.1\r\n", "\r\n"}, want: string(http01NotFound)},
		{name: "closed before the end of the head", segments: []string{"GET /.well-known/acme-challenge/tok HTTP/1.1\r\n"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			for i, s := range tt.segments {
				if i > 0 {
					time.Sleep(20 * time.Millisecond) // the responder reads what came
				}
				if _, err := c.Write([]byte(s)); err != nil {
					t.Fatal(err)
				}
			}
			if tt.want == "" {
				_ = c.(*net.TCPConn).CloseWrite()
			}
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("answer %q, want %q", got, tt.want)
			}
		})
	}
}
