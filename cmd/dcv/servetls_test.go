package main

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/testenv"
)

// writeKeyPair writes a self-signed certificate named cn, valid from
// notBefore to notAfter, and its key to dir/name.crt and dir/name.key.
func writeKeyPair(t *testing.T, dir, name, cn string, notBefore, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	return testenv.WriteSelfSigned(t, dir, name, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn}, NotBefore: notBefore, NotAfter: notAfter})
}

func TestTLSFlagsCheck(t *testing.T) {
	t.Parallel()
	now := time.Now()
	dir := t.TempDir()
	crt, key := writeKeyPair(t, dir, "ok", "ca.internal.test", now.Add(-time.Hour), now.Add(time.Hour))
	oldCrt, oldKey := writeKeyPair(t, dir, "old", "ca.internal.test", now.Add(-2*time.Hour), now.Add(-time.Hour))
	otherCrt, _ := writeKeyPair(t, dir, "other", "ca.internal.test", now.Add(-time.Hour), now.Add(time.Hour))
	tests := []struct {
		name            string
		f               tlsFlags
		public, aia, cr string
		want            string // "" for no error
		fails           bool   // a failure (exit status 1), not a usage error (2): the files do not load
	}{
		{name: "plain http", f: tlsFlags{}},
		{name: "https with --ca-listen", f: tlsFlags{tlsCert: crt, tlsKey: key, caListen: "127.0.0.1:0"}},
		{name: "https with both URLs", f: tlsFlags{tlsCert: crt, tlsKey: key}, aia: "http://ca.test/i.cer", cr: "http://ca.test/i.crl"},
		{name: "https behind an http public URL", f: tlsFlags{tlsCert: crt, tlsKey: key}, public: "http://ca.test"},
		{name: "https alone", f: tlsFlags{tlsCert: crt, tlsKey: key}, want: "give --ca-listen ADDR"},
		{name: "https with one URL", f: tlsFlags{tlsCert: crt, tlsKey: key}, aia: "http://ca.test/i.cer", want: "give --ca-listen ADDR"},
		{name: "certificate without key", f: tlsFlags{tlsCert: crt, caListen: "127.0.0.1:0"}, want: "--tls-cert and --tls-key come together"},
		{name: "key without certificate", f: tlsFlags{tlsKey: key}, want: "--tls-cert and --tls-key come together"},
		{name: "key of another certificate", f: tlsFlags{tlsCert: otherCrt, tlsKey: key, caListen: "127.0.0.1:0"}, want: "private key does not match public key", fails: true},
		{name: "expired certificate", f: tlsFlags{tlsCert: oldCrt, tlsKey: oldKey, caListen: "127.0.0.1:0"}, want: "not now", fails: true},
		{name: "encrypted key", f: tlsFlags{tlsCert: crt, tlsKey: encryptedKey(t, dir), caListen: "127.0.0.1:0"}, want: "is encrypted: dcv reads an unencrypted key", fails: true},
		{name: "missing file", f: tlsFlags{tlsCert: filepath.Join(dir, "none.crt"), tlsKey: key, caListen: "127.0.0.1:0"}, want: "no such file", fails: true},
		{name: "--ca-listen without https", f: tlsFlags{caListen: "127.0.0.1:0"}, want: "--ca-listen is for an https:// public URL"},
		{name: "https public URL behind a proxy, with --ca-listen", f: tlsFlags{caListen: "127.0.0.1:0"}, public: "https://ca.test"},
		{name: "https public URL behind a proxy alone", public: "https://ca.test", want: "give --ca-listen ADDR"},
		{name: "HTTPS public URL in capitals alone", public: "HTTPS://ca.test", want: "give --ca-listen ADDR"},
		{name: "https public URL behind a proxy, with both URLs", public: "https://ca.test", aia: "http://ca.test/i.cer", cr: "http://ca.test/i.crl"},
		{name: "https AIA URL", aia: "https://ca.test/i.cer", want: "--aia-url https://ca.test/i.cer: must be an http:// URL"},
		{name: "relative CRL URL", cr: "/i.crl", want: "--crl-url /i.crl: must be an http:// URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.f.check(tt.public, tt.aia, tt.cr, now)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("check = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("check = %v, want an error with %q", err, tt.want)
			}
			wantCode := exitUsage
			if tt.fails {
				wantCode = exitFailure
			}
			if code, _ := exitStatus(err); err != nil && code != wantCode {
				t.Errorf("check = %v: exit status %d, want %d", err, code, wantCode)
			}
		})
	}
}

// encryptedKey writes a PKCS #8 encrypted key's PEM (its content does not
// matter: it is refused by its type) and returns its file.
func encryptedKey(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "encrypted.key")
	b := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("not really")})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCertReloader: a certificate renewed on disk is served from the next
// look at the files on, without a restart; a change that does not load (a
// certificate written before its key) keeps the one in use.
func TestCertReloader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := time.Now()
	crt, key := writeKeyPair(t, dir, "server", "first.test", start.Add(-time.Hour), start.Add(24*time.Hour))
	now := start
	r, err := newCertReloader(crt, key, func() time.Time { return now }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	served := func() string {
		t.Helper()
		c, err := r.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.Subject.CommonName
	}
	if got := served(); got != "first.test" {
		t.Fatalf("served %s, want first.test", got)
	}
	// A new certificate, its key not written yet: not loaded.
	newCrt, newKey := writeKeyPair(t, t.TempDir(), "server", "second.test", start.Add(-time.Hour), start.Add(48*time.Hour))
	copyFile(t, newCrt, crt)
	now = now.Add(tlsReloadCheck)
	if got := served(); got != "first.test" {
		t.Fatalf("with a mismatched key: served %s, want first.test kept", got)
	}
	// The key follows: loaded at the next look, not before.
	copyFile(t, newKey, key)
	now = now.Add(time.Second)
	if got := served(); got != "first.test" {
		t.Fatalf("before the next look: served %s, want first.test", got)
	}
	now = now.Add(tlsReloadCheck)
	if got := served(); got != "second.test" {
		t.Fatalf("after the next look: served %s, want second.test", got)
	}
	// Replaced by a pair of the same sizes, the files' times put back:
	// the content tells.
	fi, err := os.Stat(crt)
	if err != nil {
		t.Fatal(err)
	}
	third, thirdKey := writeKeyPair(t, t.TempDir(), "server", "third.test", start.Add(-time.Hour), start.Add(48*time.Hour))
	copyFile(t, third, crt)
	copyFile(t, thirdKey, key)
	for _, p := range []string{crt, key} {
		if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(tlsReloadCheck)
	if got := served(); got != "third.test" {
		t.Fatalf("after a same-size change: served %s, want third.test", got)
	}
}

// TestCertReloaderWarnsOfExpiry: a certificate in use that expires within
// a week is logged at start and then at most hourly, until it is renewed.
func TestCertReloaderWarnsOfExpiry(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := time.Now()
	crt, key := writeKeyPair(t, dir, "server", "soon.test", start.Add(-time.Hour), start.Add(2*24*time.Hour))
	now := start
	var logs strings.Builder
	r, err := newCertReloader(crt, key, func() time.Time { return now }, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	warnings := func() int { return strings.Count(logs.String(), "expires soon") }
	if warnings() != 1 {
		t.Fatalf("at start: %d warnings, want 1:\n%s", warnings(), logs.String())
	}
	for range 5 { // looks within the hour
		now = now.Add(tlsReloadCheck)
		r.GetCertificate(nil)
	}
	if warnings() != 1 {
		t.Fatalf("within the hour: %d warnings, want 1", warnings())
	}
	now = now.Add(time.Hour)
	r.GetCertificate(nil)
	if warnings() != 2 {
		t.Fatalf("an hour later: %d warnings, want 2", warnings())
	}
	now = start.Add(3 * 24 * time.Hour)
	r.GetCertificate(nil)
	if !strings.Contains(logs.String(), "has expired") {
		t.Fatalf("after the expiry: no error logged:\n%s", logs.String())
	}
}

// TestCertReloaderWatch: with no client connecting, the watch still looks
// at the certificate, and logs its expiry.
func TestCertReloaderWatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := time.Now()
	crt, key := writeKeyPair(t, dir, "server", "idle.test", start.Add(-time.Hour), start.Add(30*24*time.Hour))
	var mu sync.Mutex
	now := start
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	logs := &testenv.SyncBuffer{}
	r, err := newCertReloader(crt, key, clock, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.watch(ctx, time.Millisecond)
	mu.Lock()
	now = start.Add(31 * 24 * time.Hour)
	mu.Unlock()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), "has expired"); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no expiry logged by the watch:\n%s", logs.String())
		}
	}
}

func TestServerErrorLog(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	l := serverErrorLog(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Printf("http: TLS handshake error from 127.0.0.1:5000: EOF")
	l.Printf("http: Accept error: too many open files")
	if strings.Contains(logs.String(), "handshake") || !strings.Contains(logs.String(), "level=WARN msg=\"http: Accept error: too many open files\"") {
		t.Errorf("logged:\n%s\nwant the accept error at WARN, the handshake error not at INFO", logs.String())
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCAURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		public string
		port   int
		want   string
	}{
		{"https://acme.internal.example", 80, "http://acme.internal.example"},
		{"https://acme.internal.example:8443/", 8080, "http://acme.internal.example:8080"},
		{"https://127.0.0.5:8443", 8080, "http://127.0.0.5:8080"},
		{"https://[2001:db8::1]:8443", 80, "http://[2001:db8::1]"},
		{"https://[2001:db8::1]:8443", 8080, "http://[2001:db8::1]:8080"},
	}
	for _, tt := range tests {
		if got := caURL(tt.public, tt.port); got != tt.want {
			t.Errorf("caURL(%q, %d) = %q, want %q", tt.public, tt.port, got, tt.want)
		}
	}
}

func TestCheckPublicURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		listen, public string
		https          bool
		want           string // "" for no error
	}{
		{listen: "127.0.0.1:8080"},
		{listen: "127.0.0.1:8443", https: true},
		{listen: "0.0.0.0:8080", want: "binds every address: give --public-url"},
		{listen: ":8080", want: "binds every address"},
		{listen: "[::]:8443", https: true, want: "binds every address"},
		{listen: "0.0.0.0:443", public: "https://acme.example.net", https: true},
		{listen: "0.0.0.0:80", public: "http://acme.example.net/"},
		{listen: "127.0.0.1:8080", public: "https://proxy.example.net/dcv"},
		{listen: "127.0.0.1:8443", public: "http://127.0.0.1:8443", https: true, want: "its public URL is https://"},
		{listen: "127.0.0.1:8080", public: "acme.example.net", want: "want the server's base URL"},
		{listen: "127.0.0.1:8080", public: "ftp://acme.example.net", want: "want the server's base URL"},
		{listen: "127.0.0.1:8080", public: "http://0.0.0.0:8080", want: "no address a client can reach"},
	}
	for _, tt := range tests {
		err := checkPublicURL(tt.listen, tt.public, tt.https)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("checkPublicURL(%q, %q, %t) = %v, want nil", tt.listen, tt.public, tt.https, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("checkPublicURL(%q, %q, %t) = %v, want an error with %q", tt.listen, tt.public, tt.https, err, tt.want)
		}
	}
}

// TestCAURLUnreachable: dcv serve warns when the CA URL it puts in
// certificates (the public URL's host, --ca-listen's port) names an IP
// address --ca-listen does not bind (interop run: a TLS proxy on another
// address); a host name, or a bind on every address, is not checked.
func TestCAURLUnreachable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url string
		bound     net.Addr
		warn      bool
	}{
		{"the bound address", "http://127.0.1.1:8081/ca/intermediate.cer", &net.TCPAddr{IP: net.ParseIP("127.0.1.1"), Port: 8081}, false},
		{"another address", "http://127.0.1.2:8081/ca/intermediate.cer", &net.TCPAddr{IP: net.ParseIP("127.0.1.1"), Port: 8081}, true},
		{"another port", "http://127.0.1.1/ca/intermediate.cer", &net.TCPAddr{IP: net.ParseIP("127.0.1.1"), Port: 8081}, true},
		{"port 80 left out", "http://127.0.1.1/ca/intermediate.cer", &net.TCPAddr{IP: net.ParseIP("127.0.1.1"), Port: 80}, false},
		{"every address bound", "http://127.0.1.2:8081/ca/intermediate.cer", &net.TCPAddr{IP: net.IPv4zero, Port: 8081}, false},
		{"a host name", "http://ca.example.net:8081/ca/intermediate.cer", &net.TCPAddr{IP: net.ParseIP("127.0.1.1"), Port: 8081}, false},
		{"IPv6", "http://[::1]:8081/ca/intermediate.cer", &net.TCPAddr{IP: net.ParseIP("::1"), Port: 8081}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := caURLUnreachable(tt.url, tt.bound)
			if (w != "") != tt.warn || (tt.warn && !strings.Contains(w, "--aia-url")) {
				t.Errorf("caURLUnreachable(%s, %s) = %q; want a warning: %v", tt.url, tt.bound, w, tt.warn)
			}
		})
	}
}
