// Package acmetest_test runs real ACME clients from Debian packages
// (certbot, lego, uacme) against `dcv serve` on loopback: each obtains a
// certificate for two names, renews it and revokes it, and the certificates
// must verify against dcv's root and pass zlint. A test skips only when its
// client's binary is missing, and says which Debian package installs it.
package acmetest_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/dcvhq/dcv/internal/testenv"
)

// Limits of the helpers.
const (
	// serverStartTimeout bounds the wait for dcv serve's directory.
	serverStartTimeout = 20 * time.Second
	// clientTimeout bounds one run of a client binary.
	clientTimeout = 90 * time.Second
	// maxHookLine bounds one line of the hook protocol.
	maxHookLine = 4 << 10
	// hookIOTimeout bounds a hook connection.
	hookIOTimeout = 10 * time.Second
	// maxFetch bounds a document read from dcv serve (CRL, PEM).
	maxFetch = 1 << 20
	// recordTTL is the TTL of the records tests add: short, so that a value
	// changed for a renewal is not hidden by dcv's resolver cache.
	recordTTL = 1
)

// Names every test certifies. example.com is refused by dcv's issuance
// policy; applicant.com is ordinary.
var testNames = []string{"a.applicant.com", "b.applicant.com"}

// dcvBin is the dcv binary built once by TestMain.
var dcvBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "dcv-acmetest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "acmetest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	dcvBin = filepath.Join(dir, "dcv")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", dcvBin, "github.com/dcvhq/dcv/cmd/dcv").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "acmetest: building dcv: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// needClient skips the test when the client binary is missing, or fails it
// under `make test` (testenv.MissingPeer).
func needClient(t *testing.T, bin, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		testenv.MissingPeer(t, "%s not installed (Debian package %q; `make test` installs it)", bin, pkg)
	}
	return p
}

// world is one test's DNS world, challenge ports and dcv server.
type world struct {
	t   *testing.T
	dns *testenv.DNSServer
	// ip is the loopback address every test name resolves to; the
	// client's challenge servers listen there.
	ip string
	// httpPort and tlsPort are the ports dcv dials for http-01 and
	// tls-alpn-01 (--validation-http-port, --validation-https-port).
	httpPort, tlsPort int

	dir       string // dcv's data directory
	directory string // the ACME directory URL
	base      string // http(s)://host:port of dcv serve
	// caBase is http://host:port of dcv serve's --ca-listen, with HTTPS.
	caBase string
	// serverCert is the file of dcv serve's own certificate, with HTTPS:
	// the clients' trust anchor.
	serverCert string
	client     *http.Client
	pid        int // dcv serve's process id
	logs       *testenv.SyncBuffer
}

// newWorld builds a DNS world where testNames resolve to a fresh loopback
// address, picks the challenge ports and starts dcv serve on its own
// loopback address, resolving with the world's DNS server.
func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldResolver(t, "")
}

// newWorldResolver is newWorld with dcv serve resolving through resolver
// instead of the world's DNS server, when resolver is not empty.
func newWorldResolver(t *testing.T, resolver string) *world {
	t.Helper()
	return newWorldOpts(t, resolver, false)
}

// newWorldTLS is newWorld with dcv serve speaking HTTPS (--tls-cert, with a
// certificate of its own for its address) and serving the CA's
// certificates and CRL over http on --ca-listen.
func newWorldTLS(t *testing.T) *world {
	t.Helper()
	return newWorldOpts(t, "", true)
}

func newWorldOpts(t *testing.T, resolver string, useTLS bool) *world {
	t.Helper()
	w := &world{t: t, dns: testenv.NewDNSServer(t), ip: testenv.NewLoopbackAddr().String(), logs: &testenv.SyncBuffer{}, client: &http.Client{Timeout: 5 * time.Second}}
	// The TLD too: CAA evaluation climbs to it (RFC 8659 §3).
	w.dns.AddZone("com.")
	w.dns.AddZone("applicant.com.")
	for _, n := range testNames {
		w.dns.Add(fmt.Sprintf("%s. %d IN A %s", n, recordTTL, w.ip))
	}
	w.httpPort = freePort(t, w.ip)
	w.tlsPort = freePort(t, w.ip)

	ln, err := testenv.ListenTCP(0)
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	w.base = "http://" + listen
	w.dir = t.TempDir()

	if resolver == "" {
		resolver = w.dns.Addr
	}
	args := []string{"serve",
		"--data", filepath.Join(w.dir, "data"),
		"--listen", listen,
		"--resolver", resolver,
		"--validation-http-port", strconv.Itoa(w.httpPort),
		"--validation-https-port", strconv.Itoa(w.tlsPort),
		"--allow-loopback-targets",
		"--log-level", "warn"}
	if useTLS {
		host, _, _ := net.SplitHostPort(listen)
		var key string
		w.serverCert, key = serverKeyPair(t, host)
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(readFile(t, w.serverCert))
		w.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		w.base = "https://" + listen
		ca := freePort(t, host)
		w.caBase = "http://" + net.JoinHostPort(host, strconv.Itoa(ca))
		args = append(args, "--tls-cert", w.serverCert, "--tls-key", key, "--ca-listen", strings.TrimPrefix(w.caBase, "http://"))
	}
	w.directory = w.base + "/acme/directory"
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, dcvBin, args...)
	cmd.Stdout, cmd.Stderr = w.logs, w.logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting dcv serve: %v", err)
	}
	w.pid = cmd.Process.Pid
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("dcv serve output:\n%s", w.logs.String())
		}
	})
	deadline := time.Now().Add(serverStartTimeout)
	for {
		if _, err := w.fetch("/acme/directory"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dcv serve did not answer within %s:\n%s", serverStartTimeout, w.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return w
}

// freePort returns a TCP port free on ip at the time of the call.
func freePort(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// serverKeyPair writes a self-signed certificate for ip and its key, the
// HTTPS identity of dcv serve, and returns their files.
func serverKeyPair(t *testing.T, ip string) (certFile, keyFile string) {
	t.Helper()
	now := time.Now()
	return testenv.WriteSelfSigned(t, t.TempDir(), "server", &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dcv test server"},
		IPAddresses: []net.IP{net.ParseIP(ip)}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
}

// fetch GETs path from dcv serve.
func (w *world) fetch(path string) ([]byte, error) {
	return w.fetchURL(w.base + path)
}

// fetchURL GETs u, trusting dcv serve's own certificate.
func (w *world) fetchURL(u string) ([]byte, error) {
	res, err := w.client.Get(u)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, res.Status)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, maxFetch))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// run runs a client binary with a deadline, in dir, and returns its
// combined output; a non-zero exit fails the test unless wantFail.
func (w *world) run(dir string, env []string, wantFail bool, name string, args ...string) string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	w.t.Logf("%s %s: %s", filepath.Base(name), args[len(args)-1], time.Since(start).Round(time.Millisecond))
	// ACMETEST_VERBOSE=1 logs every client's output, failing or not.
	if os.Getenv("ACMETEST_VERBOSE") != "" {
		w.t.Logf("%s", out)
	}
	switch {
	case ctx.Err() != nil:
		w.t.Fatalf("%s %s: timed out after %s\n%s", filepath.Base(name), strings.Join(args, " "), clientTimeout, out)
	case err != nil && !wantFail:
		w.t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	case err == nil && wantFail:
		w.t.Fatalf("%s %s: succeeded, want a failure\n%s", filepath.Base(name), strings.Join(args, " "), out)
	}
	return string(out)
}

// root returns dcv's root certificate (data/ca/root.pem).
func (w *world) root() *x509.Certificate {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, "data", "ca", "root.pem"))
	if err != nil {
		w.t.Fatal(err)
	}
	certs := parseCerts(w.t, b)
	if len(certs) != 1 {
		w.t.Fatalf("root.pem holds %d certificates", len(certs))
	}
	return certs[0]
}

// checkChain verifies the PEM chain (leaf first, then intermediates)
// against dcv's root for every name, lints the leaf with zlint, and returns
// the leaf.
func (w *world) checkChain(chainPEM []byte, names ...string) *x509.Certificate {
	w.t.Helper()
	certs := parseCerts(w.t, chainPEM)
	if len(certs) < 2 {
		w.t.Fatalf("chain holds %d certificates, want the leaf and the intermediate", len(certs))
	}
	roots := x509.NewCertPool()
	roots.AddCert(w.root())
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	for _, n := range names {
		if _, err := certs[0].Verify(x509.VerifyOptions{DNSName: n, Roots: roots, Intermediates: inter}); err != nil {
			w.t.Errorf("leaf does not verify for %s: %v", n, err)
		}
	}
	if got := len(certs[0].DNSNames) + len(certs[0].IPAddresses); got != len(names) {
		w.t.Errorf("leaf names %v and addresses %v, want %v", certs[0].DNSNames, certs[0].IPAddresses, names)
	}
	lintLeaf(w.t, certs[0])
	return certs[0]
}

// lintLeaf runs every zlint lint on leaf.
func lintLeaf(t *testing.T, leaf *x509.Certificate) {
	t.Helper()
	zc, err := zx509.ParseCertificate(leaf.Raw)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range zlint.LintCertificate(zc).Results {
		// RFC 5280's lint wants a subject key identifier on every
		// certificate; the BRs (7.1.2.7.6) advise against one on a
		// subscriber certificate, and zlint checks that too. No
		// certificate passes both: dcv follows the BRs.
		if name == "w_ext_subject_key_identifier_missing_sub_cert" {
			continue
		}
		// dcv serve listens on a loopback IP here, so the leaf's AIA and
		// CRL URLs are http://127.x.y.z:port/...; zlint v3.7.3 parses the
		// host with its port and takes the IP literal for an internal
		// name. package ca waives the same finding for the same reason
		// (see its lintWaivers); only IP-literal URLs are waived here.
		if name == "w_sub_cert_aia_contains_internal_names" && aiaHostsAreIPs(leaf) {
			continue
		}
		// Addresses certified here are loopback ones (dcv serve runs
		// with --allow-loopback-targets, whose CA waives this lint).
		if name == "e_ext_san_contains_reserved_ip" && loopbackIPs(leaf) {
			continue
		}
		if r.Status == lint.Error || r.Status == lint.Warn || r.Status == lint.Fatal {
			t.Errorf("zlint %s: %s %s", name, r.Status, r.Details)
		}
	}
}

// loopbackIPs reports whether c's IP addresses are all loopback ones.
func loopbackIPs(c *x509.Certificate) bool {
	for _, ip := range c.IPAddresses {
		if !ip.IsLoopback() {
			return false
		}
	}
	return len(c.IPAddresses) > 0
}

// aiaHostsAreIPs reports whether every AIA URL of c has an IP-literal host.
func aiaHostsAreIPs(c *x509.Certificate) bool {
	urls := append(slices.Clone(c.IssuingCertificateURL), c.OCSPServer...)
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil || net.ParseIP(u.Hostname()) == nil {
			return false
		}
	}
	return len(urls) > 0
}

// checkRevoked requires serial to be listed on dcv's CRL, which must be
// signed by the leaf's issuer.
func (w *world) checkRevoked(leaf *x509.Certificate, inter *x509.Certificate) {
	w.t.Helper()
	der, err := w.fetch("/ca/intermediate.crl")
	if err != nil {
		w.t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(inter); err != nil {
		w.t.Fatalf("crl signature: %v", err)
	}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
			return
		}
	}
	w.t.Errorf("serial %x is not on the CRL (%d entries)", leaf.SerialNumber, len(crl.RevokedCertificateEntries))
}

func parseCerts(t *testing.T, b []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hookServer lets client hook scripts change the test's world over a
// one-line protocol on a loopback TCP port:
//
//	txt NAME VALUE      add a TXT record at NAME (dns-01)
//	untxt NAME          remove the TXT records at NAME
//	http TOKEN KEYAUTH  serve KEYAUTH at /.well-known/acme-challenge/TOKEN
//
// It answers "ok" or "error: ..." on one line. The scripts use bash's
// /dev/tcp, so no other tool is needed.
type hookServer struct {
	addr string
	w    *world

	mu     sync.Mutex
	tokens map[string]string
}

var (
	hookName  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,253}$`)
	hookValue = regexp.MustCompile(`^[A-Za-z0-9_.=-]{1,512}$`)
)

func (w *world) newHookServer() *hookServer {
	w.t.Helper()
	ln, err := testenv.ListenTCP(0)
	if err != nil {
		w.t.Fatal(err)
	}
	h := &hookServer{addr: ln.Addr().String(), w: w, tokens: map[string]string{}}
	w.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go h.serve(c)
		}
	}()
	return h
}

func (h *hookServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(hookIOTimeout))
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, 256), maxHookLine)
	if !sc.Scan() {
		return
	}
	if err := h.do(strings.Fields(sc.Text())); err != nil {
		fmt.Fprintf(c, "error: %v\n", err)
		return
	}
	fmt.Fprintln(c, "ok")
}

func (h *hookServer) do(f []string) error {
	for _, s := range f[1:] {
		if !hookName.MatchString(s) && !hookValue.MatchString(s) {
			return fmt.Errorf("bad argument %q", s)
		}
	}
	switch {
	case len(f) == 3 && f[0] == "txt":
		name := strings.TrimSuffix(f[1], ".") + "."
		if !strings.HasSuffix(name, ".applicant.com.") {
			return fmt.Errorf("%s is outside the test zone", name)
		}
		h.w.dns.Add(fmt.Sprintf("%s %d IN TXT %q", name, recordTTL, f[2]))
	case len(f) == 2 && f[0] == "untxt":
		h.w.dns.Remove(f[1], 16) // dns.TypeTXT
	case len(f) == 3 && f[0] == "http":
		h.mu.Lock()
		h.tokens[f[1]] = f[2]
		h.mu.Unlock()
	default:
		return errors.New("unknown command")
	}
	return nil
}

// ServeHTTP serves the http-01 tokens given through the hook.
func (h *hookServer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.URL.Path, "/.well-known/acme-challenge/")
	h.mu.Lock()
	ka, known := h.tokens[tok]
	h.mu.Unlock()
	if !ok || !known {
		http.NotFound(rw, r)
		return
	}
	_, _ = io.WriteString(rw, ka)
}

// serveHTTP01 serves the hook's http-01 tokens on the world's http-01 port.
func (h *hookServer) serveHTTP01() {
	h.w.t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(h.w.ip, strconv.Itoa(h.w.httpPort)))
	if err != nil {
		h.w.t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: hookIOTimeout}
	go func() { _ = srv.Serve(ln) }()
	h.w.t.Cleanup(func() { srv.Close() })
}

// script writes an executable bash script that sends one hook line, built
// from its body, and fails unless the answer is "ok".
func (h *hookServer) script(dir, name, body string) string {
	h.w.t.Helper()
	host, port, _ := net.SplitHostPort(h.addr)
	src := fmt.Sprintf(`#!/bin/bash
# Test hook: tells the acmetest world what to serve.
set -eu
send() {
	exec 3<>/dev/tcp/%s/%s
	printf '%%s\n' "$*" >&3
	read -r answer <&3
	exec 3<&-
	[ "$answer" = ok ] || { echo "hook: $answer" >&2; exit 1; }
}
%s
`, host, port, body)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o755); err != nil {
		h.w.t.Fatal(err)
	}
	return p
}
