package webfetch

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/testenv"
)

// rawServer answers each connection on a loopback address with reply,
// after reading the request head, and records the request heads.
type rawServer struct {
	ip    netip.Addr
	port  int
	heads chan string
}

func newRawServer(t *testing.T, reply func(c net.Conn)) *rawServer {
	t.Helper()
	ln, err := testenv.ListenTCP(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ap := netip.MustParseAddrPort(ln.Addr().String())
	s := &rawServer{ip: ap.Addr(), port: int(ap.Port()), heads: make(chan string, 16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(c)
				var head strings.Builder
				for {
					line, err := br.ReadString('\n')
					head.WriteString(line)
					if err != nil || line == "\r\n" {
						break
					}
				}
				select {
				case s.heads <- head.String():
				default:
				}
				reply(c)
			}()
		}
	}()
	return s
}

func (s *rawServer) fetcher(t *testing.T) *Fetcher {
	t.Helper()
	return fetcherOn(t, addrs(testHost+".", s.ip), s.port, s.port, true)
}

// TestFetchRoundTrip checks the exchange on the wire against servers that
// write raw responses: the request sent, 1xx responses skipped, a body
// neither drained nor kept beyond its limit, and the errors of responses
// that end early or never end.
func TestFetchRoundTrip(t *testing.T) {
	t.Parallel()
	write := func(s string) func(net.Conn) {
		return func(c net.Conn) { _, _ = io.WriteString(c, s) }
	}
	tests := []struct {
		name       string
		reply      func(net.Conn)
		wantStatus int
		wantBody   string
		wantKind   ErrorKind
		wantDetail string
		truncated  bool
	}{
		{name: "content-length body", reply: write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), wantStatus: 200, wantBody: "hello"},
		{name: "chunked body", reply: write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), wantStatus: 200, wantBody: "abcde"},
		{name: "body until close", reply: write("HTTP/1.0 200 OK\r\n\r\nuntil close"), wantStatus: 200, wantBody: "until close"},
		{name: "early hints skipped", reply: write("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), wantStatus: 200, wantBody: "ok"},
		{name: "many 1xx within the head limit", reply: write(strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 20) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
			wantStatus: 200, wantBody: "ok"},
		{name: "1xx beyond the head limit", reply: func(c net.Conn) {
			for {
				if _, err := io.WriteString(c, "HTTP/1.1 102 Processing\r\n\r\n"); err != nil {
					return
				}
			}
		}, wantKind: ErrProtocol, wantDetail: "headers exceeded"},
		{name: "switching protocols is final", reply: write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"), wantStatus: 101},
		{name: "redirect", reply: write("HTTP/1.1 301 Moved Permanently\r\nLocation: https://www.example.test/x\r\nContent-Length: 0\r\n\r\n"), wantStatus: 301},
		{name: "body cut short", reply: write("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort"), wantStatus: 200, wantBody: "short",
			wantKind: ErrProtocol, wantDetail: "before the end of the body"},
		{name: "huge body kept up to the limit, not drained", reply: func(c net.Conn) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
			chunk := strings.Repeat("x", 4096)
			for {
				if _, err := io.WriteString(c, chunk); err != nil {
					return
				}
			}
		}, wantStatus: 200, wantBody: strings.Repeat("x", MaxBodyKept), truncated: true},
		{name: "malformed status line", reply: write("HTTP/1.1 2x0 OK\r\n\r\n"), wantKind: ErrProtocol},
		{name: "closed before any response", reply: func(net.Conn) {}, wantKind: ErrConnectionReset, wantDetail: "before any response"},
		{name: "no response", reply: func(c net.Conn) { time.Sleep(testTimeout + time.Second) }, wantKind: ErrTimeoutAfterConn, wantDetail: "waiting for response headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newRawServer(t, tt.reply)
			a := s.fetcher(t).Fetch(t.Context(), "http://"+testHost+"/.well-known/pki-validation/fileauth.txt").Final()
			if a == nil {
				t.Fatal("no attempt")
			}
			if a.Status != tt.wantStatus || string(a.Body) != tt.wantBody || a.BodyTruncated != tt.truncated {
				t.Errorf("status %d, body %.40q (%d bytes, truncated %v); want %d, %.40q, truncated %v",
					a.Status, a.Body, len(a.Body), a.BodyTruncated, tt.wantStatus, tt.wantBody, tt.truncated)
			}
			switch {
			case tt.wantKind == "" && a.Err != nil:
				t.Errorf("error %+v, want none", a.Err)
			case tt.wantKind != "" && (a.Err == nil || a.Err.Kind != tt.wantKind || !strings.Contains(a.Err.Detail, tt.wantDetail)):
				t.Errorf("error %+v, want kind %s with %q", a.Err, tt.wantKind, tt.wantDetail)
			}
			head := <-s.heads
			for _, want := range []string{"GET /.well-known/pki-validation/fileauth.txt HTTP/1.1\r\n", "Host: " + testHost + "\r\n",
				"Connection: close\r\n", "Accept: */*\r\n", "User-Agent: dcv-validation/1"} {
				if !strings.Contains(head, want) {
					t.Errorf("request head %q lacks %q", head, want)
				}
			}
			if strings.Contains(strings.ToLower(head), "accept-encoding") {
				t.Errorf("request head %q asks for a content coding", head)
			}
		})
	}
}

// TestFetchCanceled checks that a canceled fetch ends at once and says so.
func TestFetchCanceled(t *testing.T) {
	t.Parallel()
	s := newRawServer(t, func(net.Conn) { time.Sleep(testTimeout) })
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	a := s.fetcher(t).Fetch(ctx, "http://"+testHost+"/f").Final()
	if took := time.Since(start); took > testTimeout/2 {
		t.Errorf("the canceled fetch took %s", took)
	}
	if a == nil || a.Err == nil || !strings.Contains(a.Err.Detail, "canceled") {
		t.Errorf("attempt %+v, want a canceled error", a)
	}
}
