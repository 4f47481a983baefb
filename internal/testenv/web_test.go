package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
)

// webClient returns an HTTP client whose every connection goes to ip:port
// (loopback only).
func webClient(addr string) *http.Client {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	return &http.Client{
		Timeout: 3 * time.Second,
		Transport: &http.Transport{
			DialContext:       dial,
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		},
	}
}

func get(t *testing.T, c *http.Client, url string) (int, string, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b), err
}

func TestWebServerRouting(t *testing.T) {
	t.Parallel()
	w := NewWebServer(t)
	w.SetFile("a.test", "/f", 200, "for a")
	w.SetFile("", "/f", 201, "for anyone")
	w.Handle("b.test", "/echo", func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprint(rw, r.Host)
	})
	httpAddr := fmt.Sprintf("%s:%d", w.IP, w.HTTPPort)
	httpsAddr := fmt.Sprintf("%s:%d", w.IP, w.HTTPSPort)
	tests := []struct {
		name   string
		addr   string
		url    string
		status int
		body   string
	}{
		{"host route", httpAddr, "http://a.test/f", 200, "for a"},
		{"host route, case and port ignored", httpAddr, "http://A.Test:8080/f", 200, "for a"},
		{"any-host route", httpAddr, "http://c.test/f", 201, "for anyone"},
		{"handler", httpAddr, "http://b.test/echo", 200, "b.test"},
		{"exact path only", httpAddr, "http://a.test/f/", 404, "not found\n"},
		{"no route", httpAddr, "http://b.test/f2", 404, "not found\n"},
		{"https, any sni", httpsAddr, "https://a.test/f", 200, "for a"},
		{"https, other sni", httpsAddr, "https://unknown.invalid/f", 201, "for anyone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, body, err := get(t, webClient(tc.addr), tc.url)
			if err != nil || status != tc.status || body != tc.body {
				t.Errorf("GET %s = %d %q %v, want %d %q", tc.url, status, body, err, tc.status, tc.body)
			}
		})
	}
}

// rawExchange sends a plain HTTP request on a new connection and returns
// what came back before EOF, an error or 500ms of silence.
func rawExchange(t *testing.T, addr string) ([]byte, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x.test\r\n\r\n"); err != nil {
		return nil, err
	}
	return io.ReadAll(c)
}

func TestWebServerModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		https bool // set the mode on the https port
		mode  Mode
		check func(t *testing.T, got []byte, err error)
	}{
		{"http default", false, ModeHTTP, func(t *testing.T, got []byte, err error) {
			if !bytes.HasPrefix(got, []byte("HTTP/1.1 404 Not Found")) {
				t.Errorf("got %q, %v; want a 404", got, err)
			}
		}},
		{"reset", false, ModeReset, func(t *testing.T, got []byte, err error) {
			if !errors.Is(err, syscall.ECONNRESET) || len(got) != 0 {
				t.Errorf("got %q, %v; want ECONNRESET", got, err)
			}
		}},
		{"hang", false, ModeHang, func(t *testing.T, got []byte, err error) {
			if !errors.Is(err, os.ErrDeadlineExceeded) || len(got) != 0 {
				t.Errorf("got %q, %v; want silence", got, err)
			}
		}},
		{"http2", false, ModeHTTP2, func(t *testing.T, got []byte, err error) {
			if err != nil || !bytes.Equal(got, http2Reply) || got[3] != 0x04 {
				t.Errorf("got % x, %v; want a SETTINGS then GOAWAY frame", got, err)
			}
		}},
		{"tls answers plain http with an alert", false, ModeTLS, func(t *testing.T, got []byte, err error) {
			if err != nil || !bytes.Equal(got, []byte{21, 3, 1, 0, 2, 2, 10}) {
				t.Errorf("got % x, %v; want a TLS alert record", got, err)
			}
		}},
		{"plain on the https port", true, ModePlain, func(t *testing.T, got []byte, err error) {
			if !bytes.HasPrefix(got, []byte("HTTP/1.1 404")) {
				t.Errorf("got %q, %v; want plain HTTP", got, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := NewWebServer(t)
			port := w.HTTPPort
			if tc.https {
				port = w.HTTPSPort
			}
			w.SetMode(port, tc.mode)
			got, err := rawExchange(t, fmt.Sprintf("%s:%d", w.IP, port))
			tc.check(t, got, err)
			if n := w.Connections(port); n != 1 {
				t.Errorf("Connections(%d) = %d, want 1", port, n)
			}
		})
	}
}

func TestWebServerTLSModeServesHTTPS(t *testing.T) {
	t.Parallel()
	w := NewWebServer(t)
	w.SetFile("", "/f", 200, "over tls")
	w.SetMode(w.HTTPPort, ModeTLS)
	status, body, err := get(t, webClient(fmt.Sprintf("%s:%d", w.IP, w.HTTPPort)), "https://x.test/f")
	if err != nil || status != 200 || body != "over tls" {
		t.Fatalf("GET = %d %q %v, want 200 over tls", status, body, err)
	}
}

func TestWebServerPortsShared(t *testing.T) {
	t.Parallel()
	a := NewWebServer(t)
	b := NewWebServerPorts(t, a.HTTPPort, a.HTTPSPort)
	if a.IP == b.IP || a.HTTPPort != b.HTTPPort || a.HTTPSPort != b.HTTPSPort || !b.IP.IsLoopback() {
		t.Fatalf("a = %s:%d/%d, b = %s:%d/%d", a.IP, a.HTTPPort, a.HTTPSPort, b.IP, b.HTTPPort, b.HTTPSPort)
	}
	a.SetFile("", "/f", 200, "a")
	b.SetFile("", "/f", 200, "b")
	for w, want := range map[*WebServer]string{a: "a", b: "b"} {
		_, body, err := get(t, webClient(fmt.Sprintf("%s:%d", w.IP, w.HTTPPort)), "http://x.test/f")
		if err != nil || body != want {
			t.Errorf("GET on %s = %q %v", w.IP, body, err)
		}
		if w.Connections(w.HTTPPort) != 1 || w.Connections(w.HTTPSPort) != 0 {
			t.Errorf("%s: connections %d/%d, want 1/0", w.IP, w.Connections(w.HTTPPort), w.Connections(w.HTTPSPort))
		}
	}
}

// TestWebServerCleanupClosesHungConnections checks that a hung connection
// ends when the server stops.
func TestWebServerCleanupClosesHungConnections(t *testing.T) {
	t.Parallel()
	var c net.Conn
	t.Run("server", func(t *testing.T) {
		w := NewWebServer(t)
		w.SetMode(w.HTTPPort, ModeHang)
		var err error
		c, err = net.DialTimeout("tcp", fmt.Sprintf("%s:%d", w.IP, w.HTTPPort), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for w.Connections(w.HTTPPort) == 0 {
			time.Sleep(time.Millisecond)
		}
	})
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := bufio.NewReader(c).ReadByte(); err != io.EOF {
		t.Errorf("read after cleanup = %v, want EOF", err)
	}
}
