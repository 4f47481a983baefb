package bench

import (
	"bufio"
	"fmt"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", readBufferSize+10)
	tests := []struct {
		name      string
		raw       string
		head      bool
		limit     int64
		wantCode  int
		wantBody  string
		wantLoc   string
		wantNonce string
		wantClose bool
		wantRest  string // what must be left unread
		wantErr   string
	}{
		{
			name:     "content-length",
			raw:      "HTTP/1.1 201 Created\r\nLocation: https://ca.test/order/1\r\nreplay-nonce:  abc_-1 \r\nContent-Length: 5\r\n\r\nhello",
			wantCode: 201, wantBody: "hello", wantLoc: "https://ca.test/order/1", wantNonce: "abc_-1",
		},
		{
			name:     "chunked with a trailer, then the next response",
			raw:      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\nHTTP/1.1 200 OK",
			wantCode: 200, wantBody: "abcde", wantRest: "HTTP/1.1 200 OK",
		},
		{
			name:     "read until close",
			raw:      "HTTP/1.1 200 OK\r\n\r\nall of it",
			wantCode: 200, wantBody: "all of it", wantClose: true,
		},
		{
			name:     "transfer coding other than chunked",
			raw:      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz",
			wantCode: 200, wantBody: "zz", wantClose: true,
		},
		{
			name:     "HEAD: no body despite Content-Length",
			raw:      "HTTP/1.1 200 OK\r\nReplay-Nonce: n1\r\nContent-Length: 10\r\n\r\n",
			head:     true,
			wantCode: 200, wantNonce: "n1",
		},
		{
			name:     "204 has no body",
			raw:      "HTTP/1.1 204 No Content\r\nReplay-Nonce: n2\r\n\r\nHTTP/1.1",
			wantCode: 204, wantNonce: "n2", wantRest: "HTTP/1.1",
		},
		{
			name:     "interim 100 skipped",
			raw:      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			wantCode: 200, wantBody: "ok",
		},
		{
			name:     "Connection: close",
			raw:      "HTTP/1.1 400 Bad Request\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n",
			wantCode: 400, wantClose: true,
		},
		{
			name:     "HTTP/1.0 closes",
			raw:      "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
			wantCode: 200, wantBody: "x", wantClose: true,
		},
		{
			name:     "bare LF line ends, no reason phrase",
			raw:      "HTTP/1.1 200\nContent-Length: 2\n\nok",
			wantCode: 200, wantBody: "ok",
		},
		{name: "body over the limit (announced)", raw: "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", limit: 10, wantErr: "exceeds the limit"},
		{name: "body over the limit (chunked)", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n01234567890\r\n0\r\n\r\n", limit: 10, wantErr: "exceeds the limit"},
		{
			name:     "body longer than the read buffer",
			raw:      "HTTP/1.1 200 OK\r\nContent-Length: " + fmt.Sprint(len(long)) + "\r\n\r\n" + long + "next",
			limit:    int64(len(long)),
			wantCode: 200, wantBody: long, wantRest: "next",
		},
		{name: "empty body", raw: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", wantCode: 200},
		{name: "no body at all", raw: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", wantErr: "unexpected EOF"},
		{name: "short body", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", wantErr: "unexpected EOF"},
		{name: "conflicting lengths", raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", wantErr: "invalid Content-Length"},
		{name: "negative length", raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", wantErr: "invalid Content-Length"},
		{name: "not HTTP/1", raw: "HTTP/2 200\r\n\r\n", wantErr: "malformed status line"},
		{name: "bad status code", raw: "HTTP/1.1 2x0 OK\r\n\r\n", wantErr: "malformed status code"},
		{name: "101", raw: "HTTP/1.1 101 Switching Protocols\r\n\r\n", wantErr: "101"},
		{name: "malformed field", raw: "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", wantErr: "malformed header field"},
		{name: "folded field", raw: "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", wantErr: "malformed header field"},
		{name: "line too long", raw: "HTTP/1.1 200 OK\r\nX: " + long + "\r\n\r\n", wantErr: "line too long"},
		{name: "too many fields", raw: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: 1\r\n", maxHeaderFields+1) + "\r\n", wantErr: "header fields"},
		{name: "cut in the header", raw: "HTTP/1.1 200 OK\r\nLocation: x", wantErr: "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			br := bufio.NewReaderSize(strings.NewReader(tt.raw), readBufferSize)
			limit := tt.limit
			if limit == 0 {
				limit = 1 << 10
			}
			var res roundTripResult
			err := readResponse(br, tt.head, limit, &res)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readResponse: %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("readResponse: %v", err)
			}
			if res.status != tt.wantCode || string(res.body) != tt.wantBody || res.location != tt.wantLoc ||
				res.nonce != tt.wantNonce || res.close != tt.wantClose {
				t.Fatalf("got %d %q location %q nonce %q close %v", res.status, res.body, res.location, res.nonce, res.close)
			}
			rest := make([]byte, 64)
			n, _ := br.Read(rest)
			if string(rest[:n]) != tt.wantRest {
				t.Fatalf("left unread %q, want %q", rest[:n], tt.wantRest)
			}
		})
	}
}
