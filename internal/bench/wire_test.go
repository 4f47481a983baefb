package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/testenv"
)

// wireTestServer is an HTTP server on a fresh loopback address that counts
// the connections it accepts.
type wireTestServer struct {
	*httptest.Server
	conns atomic.Int64
}

func newWireTestServer(t *testing.T, h http.HandlerFunc) *wireTestServer {
	t.Helper()
	ln, err := testenv.ListenTCP(0)
	if err != nil {
		t.Fatal(err)
	}
	s := &wireTestServer{Server: httptest.NewUnstartedServer(h)}
	s.Listener.Close()
	s.Listener = ln
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestWireClient(t *testing.T) {
	t.Parallel()
	echo := func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Replay-Nonce", "n-"+r.Method)
		w.Header().Set("Location", r.URL.Path)
		if r.URL.Query().Get("close") != "" {
			w.Header().Set("Connection", "close")
		}
		if r.URL.Query().Get("big") != "" {
			b = []byte(strings.Repeat("b", 2<<10))
		}
		_, _ = w.Write(append([]byte(r.Header.Get("Content-Type")+"|"+r.Header.Get("Accept")+"|"+r.Header.Get("User-Agent")+"|"), b...))
	}
	tests := []struct {
		name string
		// run makes the requests; the server then counts wantConns.
		run       func(t *testing.T, s *wireTestServer, w *wireClient)
		wantConns int64
	}{
		{
			name: "requests share one keep-alive connection",
			run: func(t *testing.T, s *wireTestServer, w *wireClient) {
				for range 3 {
					res, err := w.do(context.Background(), http.MethodPost, s.URL+"/p", contentTypeJOSE, mediaPEMChain, []byte("body"), 1<<10)
					if err != nil {
						t.Fatal(err)
					}
					want := contentTypeJOSE + "|" + mediaPEMChain + "|" + userAgent + "|body"
					if res.status != 200 || string(res.body) != want || res.nonce != "n-POST" || res.location != "/p" {
						t.Fatalf("got %d %q nonce %q location %q", res.status, res.body, res.nonce, res.location)
					}
				}
				res, err := w.do(context.Background(), http.MethodHead, s.URL+"/h", "", "", nil, 0)
				if err != nil || res.nonce != "n-HEAD" || len(res.body) != 0 {
					t.Fatalf("HEAD: %v %+v", err, res)
				}
			},
			wantConns: 1,
		},
		{
			name: "a connection the server closed while idle is replaced, the request sent again",
			run: func(t *testing.T, s *wireTestServer, w *wireClient) {
				for range 2 {
					if _, err := w.do(context.Background(), http.MethodPost, s.URL+"/p", contentTypeJOSE, "", []byte("x"), 1<<10); err != nil {
						t.Fatal(err)
					}
					s.CloseClientConnections()
				}
			},
			wantConns: 2,
		},
		{
			name: "Connection: close is honoured",
			run: func(t *testing.T, s *wireTestServer, w *wireClient) {
				for range 2 {
					if _, err := w.do(context.Background(), http.MethodPost, s.URL+"/p?close=1", contentTypeJOSE, "", []byte("x"), 1<<10); err != nil {
						t.Fatal(err)
					}
				}
			},
			wantConns: 2,
		},
		{
			name: "a body over the limit fails and drops the connection",
			run: func(t *testing.T, s *wireTestServer, w *wireClient) {
				_, err := w.do(context.Background(), http.MethodPost, s.URL+"/p?big=1", contentTypeJOSE, "", []byte("x"), 1<<10)
				if err == nil || !strings.Contains(err.Error(), "exceeds the limit") {
					t.Fatalf("do: %v, want a size error", err)
				}
				if _, err := w.do(context.Background(), http.MethodPost, s.URL+"/p", contentTypeJOSE, "", []byte("x"), 1<<10); err != nil {
					t.Fatal(err)
				}
			},
			wantConns: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newWireTestServer(t, echo)
			w := newWireClient(&tls.Config{MinVersion: tls.VersionTLS12}, 5*time.Second)
			defer w.close()
			tt.run(t, s, w)
			if got := s.conns.Load(); got != tt.wantConns {
				t.Errorf("%d connections, want %d", got, tt.wantConns)
			}
		})
	}
}

// TestWireClientDeadlines checks that a request ends at its timeout, and at
// once when a watched context is cancelled.
func TestWireClientDeadlines(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	s := newWireTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	tests := []struct {
		name    string
		timeout time.Duration
		cancel  bool
		want    string // classify's name of the error
	}{
		{name: "request timeout", timeout: 50 * time.Millisecond, want: "timeout"},
		{name: "watched context cancelled", timeout: time.Minute, cancel: true, want: "other (*fmt.wrapError)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWireClient(nil, tt.timeout)
			defer w.close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			defer w.watch(ctx)()
			if tt.cancel {
				time.AfterFunc(50*time.Millisecond, cancel)
			}
			start := time.Now()
			_, err := w.do(ctx, http.MethodPost, s.URL+"/slow", contentTypeJOSE, "", []byte("x"), 1<<10)
			if err == nil {
				t.Fatal("do succeeded, want an error")
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("do took %s", d)
			}
			if tt.cancel && !errors.Is(err, context.Canceled) {
				t.Fatalf("do: %v, want context.Canceled", err)
			}
			if got := classify(err); got != tt.want {
				t.Fatalf("classify(%v) = %q, want %q", err, got, tt.want)
			}
		})
	}
}

// TestWireClientNoRetryOnFreshConnection checks that a request is not sent
// twice when a new connection fails: only a kept one may have been closed
// by the server while idle.
func TestWireClientNoRetryOnFreshConnection(t *testing.T) {
	t.Parallel()
	ln, err := testenv.ListenTCP(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_, _ = c.Read(make([]byte, 1024))
			c.Close()
		}
	}()
	w := newWireClient(nil, 5*time.Second)
	defer w.close()
	if _, err := w.do(context.Background(), http.MethodPost, "http://"+ln.Addr().String()+"/", contentTypeJOSE, "", []byte("x"), 1<<10); err == nil {
		t.Fatal("do succeeded against a server that closes at once")
	}
	if n := accepted.Load(); n != 1 {
		t.Fatalf("%d connections, want 1 (no retry on a fresh connection)", n)
	}
}
