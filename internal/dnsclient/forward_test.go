package dnsclient_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
)

func newForwarder(t *testing.T, timeout time.Duration, servers ...string) *dnsclient.Forwarder {
	t.Helper()
	f, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: servers, Timeout: timeout})
	if err != nil {
		t.Fatalf("NewForwarder: %v", err)
	}
	return f
}

// serveFunc runs a real miekg/dns server with handler h on a fresh loopback
// address, for answers the testenv server would never give.
func serveFunc(t *testing.T, h dns.HandlerFunc) string {
	t.Helper()
	pc, ln, err := testenv.ListenUDPTCP()
	if err != nil {
		t.Fatal(err)
	}
	var started sync.WaitGroup
	started.Add(2)
	udp := &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: started.Done}
	tcp := &dns.Server{Listener: ln, Handler: h, NotifyStartedFunc: started.Done}
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	started.Wait()
	t.Cleanup(func() { _ = udp.Shutdown(); _ = tcp.Shutdown() })
	return ln.Addr().String()
}

// summary renders the parts of a Response the table tests compare.
func summary(r *dnsclient.Response) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", r.Name, r.Type, r.Rcode)
	for _, c := range r.CNAMEs {
		fmt.Fprintf(&b, " cname:%s", c)
	}
	for _, a := range r.Answer {
		fmt.Fprintf(&b, " an:%s/%s/%d/%s", a.Name, a.Type, a.TTL, a.Data)
	}
	for _, a := range r.Other {
		fmt.Fprintf(&b, " other:%s/%s/%s", a.Name, a.Type, a.Data)
	}
	if r.NegativeTTL != 0 {
		fmt.Fprintf(&b, " negttl:%d", r.NegativeTTL)
	}
	return b.String()
}

func lookupErr(t *testing.T, err error) *dnsclient.Error {
	t.Helper()
	var de *dnsclient.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T), want a *dnsclient.Error", err, err)
	}
	return de
}

func TestForwarderAnswers(t *testing.T) {
	t.Parallel()
	s := testenv.NewDNSServer(t)
	s.AddZone("example.com")
	s.Add(
		`a.example.com. 300 IN A 192.0.2.1`,
		`a.example.com. 300 IN A 192.0.2.2`,
		`www.example.com. 60 IN CNAME w2.example.com.`,
		`w2.example.com. 60 IN CNAME A.example.com.`,
		`txt.example.com. 120 IN TXT "part one " "part two"`,
		`caa.example.com. 300 IN CAA 128 issue "ca.example.net; accounturi=x"`,
		`loop1.example.com. 300 IN CNAME loop2.example.com.`,
		`loop2.example.com. 300 IN CNAME loop1.example.com.`,
		`mx.example.com. 300 IN MX 10 mail.example.com.`,
	)
	for i := range 9 {
		s.Add(fmt.Sprintf(`c%d.example.com. 300 IN CNAME c%d.example.com.`, i, i+1))
	}
	s.Add(`c9.example.com. 300 IN A 192.0.2.9`)
	s.SetRcode("fail.example.com", dns.RcodeServerFailure)
	f := newForwarder(t, 0, s.Addr)

	tests := []struct {
		name     string
		qname    string
		qtype    uint16
		want     string
		wantKind dnsclient.Kind // set when an error is expected
	}{
		{name: "noerror", qname: "A.Example.COM", qtype: dns.TypeA,
			want: "a.example.com. A NOERROR an:a.example.com./A/300/192.0.2.1 an:a.example.com./A/300/192.0.2.2"},
		{name: "nxdomain", qname: "nope.example.com.", qtype: dns.TypeTXT,
			want: "nope.example.com. TXT NXDOMAIN negttl:300"},
		{name: "nodata", qname: "a.example.com", qtype: dns.TypeTXT,
			want: "a.example.com. TXT NOERROR negttl:300"},
		{name: "servfail", qname: "fail.example.com", qtype: dns.TypeTXT,
			want: "fail.example.com. TXT SERVFAIL"},
		{name: "refused", qname: "example.net", qtype: dns.TypeA,
			want: "example.net. A REFUSED"},
		{name: "txt strings", qname: "txt.example.com", qtype: dns.TypeTXT,
			want: "txt.example.com. TXT NOERROR an:txt.example.com./TXT/120/part one part two"},
		{name: "mx presentation", qname: "mx.example.com", qtype: dns.TypeMX,
			want: "mx.example.com. MX NOERROR an:mx.example.com./MX/300/10 mail.example.com."},
		{name: "cname chain", qname: "www.example.com", qtype: dns.TypeA,
			want: "www.example.com. A NOERROR cname:w2.example.com. cname:a.example.com. an:a.example.com./A/300/192.0.2.1 an:a.example.com./A/300/192.0.2.2"},
		{name: "cname chain to nodata", qname: "www.example.com", qtype: dns.TypeTXT,
			want: "www.example.com. TXT NOERROR cname:w2.example.com. cname:a.example.com. negttl:300"},
		{name: "cname asked", qname: "www.example.com", qtype: dns.TypeCNAME,
			want: "www.example.com. CNAME NOERROR an:www.example.com./CNAME/60/w2.example.com."},
		{name: "cname loop", qname: "loop1.example.com", qtype: dns.TypeA, wantKind: dnsclient.KindLoop},
		{name: "cname chain too long", qname: "c0.example.com", qtype: dns.TypeA, wantKind: dnsclient.KindLoop},
		{name: "cname chain of eight", qname: "c1.example.com", qtype: dns.TypeA,
			want: "c1.example.com. A NOERROR cname:c2.example.com. cname:c3.example.com. cname:c4.example.com. cname:c5.example.com. cname:c6.example.com. cname:c7.example.com. cname:c8.example.com. cname:c9.example.com. an:c9.example.com./A/300/192.0.2.9"},
		{name: "invalid name", qname: "a..example.com", qtype: dns.TypeA, wantKind: dnsclient.KindUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := f.Lookup(t.Context(), tt.qname, tt.qtype)
			if tt.want == "" {
				de := lookupErr(t, err)
				if de.Kind != tt.wantKind {
					t.Fatalf("error kind %v (%v), want %v", de.Kind, de, tt.wantKind)
				}
				return
			}
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if got := summary(r); got != tt.want {
				t.Errorf("response:\n got %s\nwant %s", got, tt.want)
			}
			if r.Server != s.Addr || r.Duration <= 0 {
				t.Errorf("server %q duration %v, want %q and > 0", r.Server, r.Duration, s.Addr)
			}
		})
	}
}

func TestForwarderRecordFields(t *testing.T) {
	t.Parallel()
	s := testenv.NewDNSServer(t)
	s.AddZone("example.com")
	s.Add(
		`example.com. 300 IN CAA 128 issue "ca.example.net; accounturi=x"`,
		`_dnsauth.example.com. 300 IN TXT "ab" "c\"d"`,
	)
	f := newForwarder(t, 0, s.Addr)

	r, err := f.Lookup(t.Context(), "example.com", dns.TypeCAA)
	if err != nil {
		t.Fatal(err)
	}
	want := dnsclient.Record{Name: "example.com.", Type: "CAA", TTL: 300, Flag: 128, Tag: "issue",
		Value: "ca.example.net; accounturi=x", Data: `128 issue "ca.example.net; accounturi=x"`}
	if len(r.Answer) != 1 || !equalRecord(r.Answer[0], want) {
		t.Errorf("CAA answer %+v, want [%+v]", r.Answer, want)
	}

	r, err = f.Lookup(t.Context(), "_dnsauth.example.com", dns.TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	want = dnsclient.Record{Name: "_dnsauth.example.com.", Type: "TXT", TTL: 300, Data: `abc\"d`, Strings: []string{"ab", `c\"d`}}
	if len(r.Answer) != 1 || !equalRecord(r.Answer[0], want) {
		t.Errorf("TXT answer %+v, want [%+v]", r.Answer, want)
	}
}

func equalRecord(a, b dnsclient.Record) bool {
	return a.Name == b.Name && a.Type == b.Type && a.TTL == b.TTL && a.Data == b.Data &&
		slices.Equal(a.Strings, b.Strings) && a.Flag == b.Flag && a.Tag == b.Tag && a.Value == b.Value
}

func TestForwarderTruncatedFallsBackToTCP(t *testing.T) {
	t.Parallel()
	s := testenv.NewDNSServer(t)
	s.AddZone("example.com")
	for i := range 15 {
		s.Add(fmt.Sprintf(`big.example.com. 300 IN TXT "%02d%s"`, i, strings.Repeat("x", 200)))
	}
	f := newForwarder(t, 0, s.Addr)
	r, err := f.Lookup(t.Context(), "big.example.com", dns.TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Answer) != 15 {
		t.Errorf("%d TXT records, want all 15", len(r.Answer))
	}
	if got := s.QueryCount(); got != 2 {
		t.Errorf("server saw %d queries, want 2 (UDP, then TCP)", got)
	}
}

func TestForwarderLimits(t *testing.T) {
	t.Parallel()
	s := testenv.NewDNSServer(t)
	s.AddZone("example.com")
	for i := range 300 {
		s.Add(fmt.Sprintf(`many.example.com. 300 IN A 10.0.%d.%d`, i/256, i%256))
	}
	// 140 strings of 255 backslashes: 36 KB on the wire, 71 KB once escaped.
	for i := range 140 {
		s.Add(fmt.Sprintf(`fat.example.com. 300 IN TXT "%d%s"`, i, strings.Repeat(`\\`, 252)))
	}
	f := newForwarder(t, 0, s.Addr)
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		detail string
	}{
		{"too many records", "many.example.com", dns.TypeA, "300 answer records"},
		{"too much txt", "fat.example.com", dns.TypeTXT, "bytes of txt data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.Lookup(t.Context(), tt.qname, tt.qtype)
			de := lookupErr(t, err)
			if de.Kind != dnsclient.KindTooLarge || !strings.Contains(de.Detail, tt.detail) || de.Server != s.Addr {
				t.Errorf("error %v, want too_large from %s mentioning %q", de, s.Addr, tt.detail)
			}
		})
	}
}

func TestForwarderTimeoutWithinDeadline(t *testing.T) {
	t.Parallel()
	s := testenv.NewDNSServer(t)
	s.AddZone("example.com")
	s.SetDelay("slow.example.com", -1)
	f := newForwarder(t, 0, s.Addr) // 3s per query: the ctx deadline must win
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.Lookup(ctx, "slow.example.com", dns.TypeTXT)
	elapsed := time.Since(start)
	de := lookupErr(t, err)
	if de.Kind != dnsclient.KindTimeout || de.Name != "slow.example.com." || de.Type != "TXT" || de.Server != s.Addr {
		t.Errorf("error %+v, want timeout for slow.example.com. TXT from %s", de, s.Addr)
	}
	if elapsed > time.Second {
		t.Errorf("Lookup took %v, want about the 300ms deadline", elapsed)
	}
}

func TestForwarderServerFailover(t *testing.T) {
	t.Parallel()
	good := testenv.NewDNSServer(t)
	good.AddZone("example.com")
	good.Add(`a.example.com. 300 IN A 192.0.2.1`)

	dropping := testenv.NewDNSServer(t)
	dropping.AddZone("example.com")
	dropping.SetDelay("a.example.com", -1)

	failing := testenv.NewDNSServer(t)
	failing.SetRcode("a.example.com", dns.RcodeServerFailure)

	refusing := testenv.NewDNSServer(t) // no zones: REFUSED

	closed := closedAddr(t)

	tests := []struct {
		name       string
		servers    []string
		wantServer string
		wantRcode  string
		wantKind   dnsclient.Kind // when no response is expected
	}{
		{name: "first times out", servers: []string{dropping.Addr, good.Addr}, wantServer: good.Addr, wantRcode: "NOERROR"},
		{name: "first servfails", servers: []string{failing.Addr, good.Addr}, wantServer: good.Addr, wantRcode: "NOERROR"},
		{name: "first refuses", servers: []string{refusing.Addr, good.Addr}, wantServer: good.Addr, wantRcode: "NOERROR"},
		{name: "first unreachable", servers: []string{closed, good.Addr}, wantServer: good.Addr, wantRcode: "NOERROR"},
		{name: "last real answer kept", servers: []string{failing.Addr, dropping.Addr}, wantServer: failing.Addr, wantRcode: "SERVFAIL"},
		{name: "all time out", servers: []string{dropping.Addr, dropping.Addr}, wantKind: dnsclient.KindTimeout},
		{name: "unreachable", servers: []string{closed}, wantKind: dnsclient.KindNetwork},
		{name: "timeout then unreachable", servers: []string{dropping.Addr, closed}, wantKind: dnsclient.KindNetwork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newForwarder(t, 200*time.Millisecond, tt.servers...)
			r, err := f.Lookup(t.Context(), "a.example.com", dns.TypeA)
			if tt.wantRcode == "" {
				de := lookupErr(t, err)
				if de.Kind != tt.wantKind || de.Server != tt.servers[len(tt.servers)-1] {
					t.Errorf("error %v, want %v from the last server", de, tt.wantKind)
				}
				return
			}
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if r.Server != tt.wantServer || r.Rcode != tt.wantRcode {
				t.Errorf("answer %s from %s, want %s from %s", r.Rcode, r.Server, tt.wantRcode, tt.wantServer)
			}
		})
	}
}

// closedAddr returns a loopback ip:port where nothing listens: UDP queries
// to it fail with "connection refused".
func closedAddr(t *testing.T) string {
	t.Helper()
	pc, ln, err := testenv.ListenUDPTCP()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	pc.Close()
	ln.Close()
	return addr
}

func TestForwarderMalformedAnswers(t *testing.T) {
	t.Parallel()
	addr := serveFunc(t, func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		switch req.Question[0].Name {
		case "wrong-name.test.":
			m.Question[0].Name = "other.test."
		case "wrong-type.test.":
			m.Question[0].Qtype = dns.TypeA
		case "no-question.test.":
			m.Question = nil
		case "not-response.test.":
			m.Response = false
		}
		_ = w.WriteMsg(m)
	})
	f := newForwarder(t, 500*time.Millisecond, addr)
	tests := []struct {
		name   string
		qname  string
		detail string
	}{
		{"wrong name", "wrong-name.test", "answer is for other.test. TXT, asked wrong-name.test. TXT"},
		{"wrong type", "wrong-type.test", "answer is for wrong-type.test. A, asked wrong-type.test. TXT"},
		{"no question", "no-question.test", "answer has 0 questions"},
		{"not a response", "not-response.test", "QR bit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.Lookup(t.Context(), tt.qname, dns.TypeTXT)
			de := lookupErr(t, err)
			if de.Kind != dnsclient.KindMalformed || !strings.Contains(de.Detail, tt.detail) {
				t.Errorf("error %v, want malformed mentioning %q", de, tt.detail)
			}
		})
	}
}

func TestForwarderFollowsPartialChain(t *testing.T) {
	t.Parallel()
	// A resolver that stops at each CNAME, as some do for out-of-zone
	// targets: the forwarder looks the target up itself.
	cname := func(from, to string) dns.RR {
		return &dns.CNAME{Hdr: dns.RR_Header{Name: from, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: to}
	}
	addr := serveFunc(t, func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.AuthenticatedData = true
		switch strings.ToLower(req.Question[0].Name) {
		case "a.test.":
			m.Answer = []dns.RR{cname("a.test.", "B.test.")}
		case "b.test.":
			m.Answer = []dns.RR{cname("b.test.", "c.test.")}
		case "c.test.":
			m.Answer = []dns.RR{
				&dns.TXT{Hdr: dns.RR_Header{Name: "c.test.", Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 30}, Txt: []string{"v"}},
				&dns.A{Hdr: dns.RR_Header{Name: "c.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30}, A: net.IPv4(192, 0, 2, 7)},
				&dns.TXT{Hdr: dns.RR_Header{Name: "elsewhere.test.", Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 30}, Txt: []string{"ignored"}},
			}
		case "x.test.":
			m.Answer = []dns.RR{cname("x.test.", "y.test.")}
		case "y.test.":
			m.Answer = []dns.RR{cname("y.test.", "x.test.")}
		}
		_ = w.WriteMsg(m)
	})
	f := newForwarder(t, 500*time.Millisecond, addr)

	r, err := f.Lookup(t.Context(), "a.test", dns.TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	want := "a.test. TXT NOERROR cname:b.test. cname:c.test. an:c.test./TXT/30/v other:c.test./A/192.0.2.7"
	if got := summary(r); got != want || !r.AD {
		t.Errorf("response %s ad=%t\nwant %s ad=true", got, r.AD, want)
	}

	_, err = f.Lookup(t.Context(), "x.test", dns.TypeTXT)
	if de := lookupErr(t, err); de.Kind != dnsclient.KindLoop || de.Name != "x.test." {
		t.Errorf("error %v, want a loop for x.test.", de)
	}
}

func TestParseServers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{name: "ipv4 with port", in: "127.0.0.1:5353", want: []string{"127.0.0.1:5353"}},
		{name: "ipv4 default port", in: "192.0.2.1", want: []string{"192.0.2.1:53"}},
		{name: "ipv6 with port", in: "[2001:db8::1]:5300", want: []string{"[2001:db8::1]:5300"}},
		{name: "ipv6 default port", in: "[::1]", want: []string{"[::1]:53"}},
		{name: "list with spaces", in: "192.0.2.1, [::1]:54 ,192.0.2.2:55", want: []string{"192.0.2.1:53", "[::1]:54", "192.0.2.2:55"}},
		{name: "empty", in: " ", wantErr: "no resolver given"},
		{name: "empty entry", in: "192.0.2.1,,192.0.2.2", wantErr: `resolver "": empty address`},
		{name: "hostname", in: "dns.example.com:53", wantErr: `resolver "dns.example.com:53": host "dns.example.com" is not an IP address`},
		{name: "bare ipv6", in: "2001:db8::1", wantErr: "must be in brackets"},
		{name: "unclosed bracket", in: "[::1:53", wantErr: "missing ]"},
		{name: "junk after bracket", in: "[::1]53", wantErr: "expected :port after ]"},
		{name: "ipv4 in brackets", in: "[192.0.2.1]:53", wantErr: "only IPv6 addresses go in brackets"},
		{name: "port zero", in: "192.0.2.1:0", wantErr: `port "0" is not a number from 1 to 65535`},
		{name: "port too big", in: "192.0.2.1:65536", wantErr: `port "65536" is not a number`},
		{name: "port not number", in: "192.0.2.1:dns", wantErr: `port "dns" is not a number`},
		{name: "empty port", in: "192.0.2.1:", wantErr: `port "" is not a number`},
		{name: "too many", in: strings.Repeat("192.0.2.1,", 8) + "192.0.2.1", wantErr: "9 resolvers given, at most 8 allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := dnsclient.ParseServers(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseServers(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseServers(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if _, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: got}); err != nil {
				t.Errorf("NewForwarder rejects parsed servers: %v", err)
			}
		})
	}
}

func TestNewForwarderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     dnsclient.ForwarderConfig
		wantErr string
	}{
		{"no server", dnsclient.ForwarderConfig{}, "needs at least one server"},
		{"hostname", dnsclient.ForwarderConfig{Servers: []string{"dns.example:53"}}, `server "dns.example:53" is not an ip:port`},
		{"no port", dnsclient.ForwarderConfig{Servers: []string{"192.0.2.1"}}, "is not an ip:port"},
		{"negative timeout", dnsclient.ForwarderConfig{Servers: []string{"192.0.2.1:53"}, Timeout: -time.Second}, "negative timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := dnsclient.NewForwarder(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewForwarder error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSystemServers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		want    []string
		wantErr string
	}{
		{name: "servers", path: write("ok.conf", "# comment\nsearch example.com\nnameserver 192.0.2.53\nnameserver 2001:db8::53\noptions ndots:2\n"),
			want: []string{"192.0.2.53:53", "[2001:db8::53]:53"}},
		{name: "none", path: write("none.conf", "search example.com\n"), wantErr: "no nameserver in"},
		{name: "missing", path: filepath.Join(dir, "missing.conf"), wantErr: "reading resolver configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := dnsclient.SystemServers(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SystemServers = %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("SystemServers = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestForwarderTimeoutBlame: a question that times out at dcv's resolver
// is the certificate authority's problem (Error.Upstream) when the resolver
// does not answer a question it answers at once when alive (the root's NS
// set) either, and the domain's when it does (its nameservers did not
// answer the resolver in time).
func TestForwarderTimeoutBlame(t *testing.T) {
	t.Parallel()
	silent := func(t *testing.T) string {
		pc, ln, err := testenv.ListenUDPTCP()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close(); ln.Close() })
		return pc.LocalAddr().String() // read by no one: no answer, ever
	}
	slowDomain := func(t *testing.T) string {
		return serveFunc(t, func(w dns.ResponseWriter, r *dns.Msg) {
			if r.Question[0].Name != "." {
				return // the domain's nameservers keep the resolver waiting
			}
			m := new(dns.Msg)
			m.SetReply(r)
			m.Answer = []dns.RR{&dns.NS{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 518400}, Ns: "a.root-servers.net."}}
			_ = w.WriteMsg(m)
		})
	}
	tests := []struct {
		name     string
		servers  func(t *testing.T) []string
		timeout  time.Duration
		upstream bool
	}{
		{"the resolver is silent", func(t *testing.T) []string { return []string{silent(t)} }, 200 * time.Millisecond, true},
		{"the domain's nameservers are slow", func(t *testing.T) []string { return []string{slowDomain(t)} }, 200 * time.Millisecond, false},
		// Asked one after the other, a silent first resolver would use up
		// the question's time, and the live second one go unasked.
		{"a silent resolver and a live one", func(t *testing.T) []string { return []string{silent(t), slowDomain(t)} }, 1500 * time.Millisecond, false},
		{"two silent resolvers", func(t *testing.T) []string { return []string{silent(t), silent(t)} }, 200 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newForwarder(t, tt.timeout, tt.servers(t)...)
			_, err := f.Lookup(t.Context(), "slow.example.com", dns.TypeTXT)
			de := lookupErr(t, err)
			if de.Kind != dnsclient.KindTimeout || !de.Resolver || de.Upstream != tt.upstream {
				t.Errorf("error %+v: want a timeout at the resolver, Upstream %v", de, tt.upstream)
			}
		})
	}

	// Lookups that time out together, by their own deadlines, share the
	// question, and each gets its verdict: not the one from before it
	// was asked (review).
	t.Run("concurrent lookups with spent deadlines", func(t *testing.T) {
		t.Parallel()
		f := newForwarder(t, 0, silent(t))
		const n = 5
		upstream := make([]bool, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
				defer cancel()
				_, err := f.Lookup(ctx, "x.example.com", dns.TypeTXT)
				var de *dnsclient.Error
				if errors.As(err, &de) {
					upstream[i] = de.Upstream
				}
			})
		}
		wg.Wait()
		for i, u := range upstream {
			if !u {
				t.Errorf("lookup %d at a silent resolver: not Upstream (upstream per lookup %v)", i, upstream)
			}
		}
	})

	// The resolver answers over UDP with a truncated answer, then never
	// answers over TCP: its TCP service is dcv's side as well, though it
	// answers the liveness question over UDP.
	t.Run("the resolver's tcp fails after a truncated answer", func(t *testing.T) {
		t.Parallel()
		pc, ln, err := testenv.ListenUDPTCP()
		if err != nil {
			t.Fatal(err)
		}
		var held []net.Conn
		var mu sync.Mutex
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				held = append(held, c) // read by no one, never answered
				mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			mu.Lock()
			defer mu.Unlock()
			for _, c := range held {
				c.Close()
			}
		})
		srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(r)
			m.Truncated = true
			_ = w.WriteMsg(m)
		})}
		go func() { _ = srv.ActivateAndServe() }()
		t.Cleanup(func() { _ = srv.Shutdown(); ln.Close() })
		f := newForwarder(t, 300*time.Millisecond, pc.LocalAddr().String())
		_, err = f.Lookup(t.Context(), "big.example.com", dns.TypeTXT)
		de := lookupErr(t, err)
		if de.TCPFallback == "" || !de.Upstream {
			t.Errorf("error %+v: want a failed TCP retry at the resolver, Upstream", de)
		}
	})
}

// TestForwarderTCPFallbackFails: when the TCP retry of a truncated answer
// fails, the error says how (Error.TCPFallback): the server was reached
// over UDP, and only its TCP failed.
func TestForwarderTCPFallbackFails(t *testing.T) {
	t.Parallel()
	truncated := func(w dns.ResponseWriter, req *dns.Msg) {
		if _, udp := w.RemoteAddr().(*net.UDPAddr); !udp {
			_ = w.Close() // no answer over TCP
			return
		}
		m := new(dns.Msg)
		m.SetReply(req)
		m.Truncated = true
		_ = w.WriteMsg(m)
	}
	tests := []struct {
		name   string
		server func(t *testing.T) string
		want   string
	}{
		{
			name:   "connection closed without an answer",
			server: func(t *testing.T) string { return serveFunc(t, truncated) },
			want:   dnsclient.TCPFallbackClosed,
		},
		{
			name: "connection refused",
			server: func(t *testing.T) string {
				pc, ln, err := testenv.ListenUDPTCP()
				if err != nil {
					t.Fatal(err)
				}
				addr := ln.Addr().String()
				_ = ln.Close() // nothing listens on TCP
				var started sync.WaitGroup
				started.Add(1)
				udp := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(truncated), NotifyStartedFunc: started.Done}
				go func() { _ = udp.ActivateAndServe() }()
				started.Wait()
				t.Cleanup(func() { _ = udp.Shutdown() })
				return addr
			},
			want: dnsclient.TCPFallbackRefused,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newForwarder(t, 0, tc.server(t))
			_, err := f.Lookup(t.Context(), "big.example.com", dns.TypeTXT)
			if de := lookupErr(t, err); de.Kind != dnsclient.KindNetwork || de.TCPFallback != tc.want {
				t.Errorf("error %+v, want a network error with TCPFallback %q", de, tc.want)
			}
		})
	}
}

// TestForwarderRetransmits: a query that gets no answer within a third of
// the timeout is sent again, once, from the same socket: one datagram lost
// on the way to a live resolver is no timeout (verification run: a remote
// perspective's lost query was blamed on the domain). A resolver that
// never answers still times out at the timeout.
func TestForwarderRetransmits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		drop    int // queries dropped before one is answered
		want    string
		queries int
	}{
		{"the first query lost", 1, "NOERROR", 2},
		{"both lost", 2, "timeout", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			seen := 0
			addr := serveFunc(t, func(w dns.ResponseWriter, req *dns.Msg) {
				if req.Question[0].Qtype != dns.TypeTXT {
					return // the liveness question after a timeout
				}
				mu.Lock()
				seen++
				n := seen
				mu.Unlock()
				if n <= tt.drop {
					return // lost
				}
				m := new(dns.Msg)
				m.SetReply(req)
				m.Answer = []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{"v"}}}
				w.WriteMsg(m)
			})
			f := newForwarder(t, 600*time.Millisecond, addr)
			start := time.Now()
			resp, err := f.Lookup(t.Context(), "_dnsauth.example.test.", dns.TypeTXT)
			got := ""
			switch {
			case err != nil && strings.Contains(err.Error(), "timeout"):
				got = "timeout"
			case err == nil:
				got = resp.Rcode
			default:
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("lookup = %q, want %q", got, tt.want)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("lookup took %v", el)
			}
			mu.Lock()
			defer mu.Unlock()
			if seen != tt.queries {
				t.Errorf("the resolver saw %d queries, want %d", seen, tt.queries)
			}
		})
	}
}
