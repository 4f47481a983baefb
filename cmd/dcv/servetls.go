package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tlsReloadCheck is how often the certificate and key files are looked at
// for a change: a renewed certificate is served without a restart.
const tlsReloadCheck = 10 * time.Second

// tlsFlags are serve's HTTPS settings: RFC 8555 §6.1 has ACME spoken over
// HTTPS, and clients other than test ones insist on it.
type tlsFlags struct {
	tlsCert  string
	tlsKey   string
	caListen string
}

func (f *tlsFlags) on() bool { return f.tlsCert != "" }

// check refuses inconsistent HTTPS settings before anything is created:
// the certificate and key come together, load, and match; and the URLs put
// in certificates stay http:// (CA/B Forum BRs §7.1.2.7.7 and §7.1.2.11.2
// allow no https:// for the CA's certificate and CRL; zlint refuses every
// issuance otherwise), so with an https:// public URL (HTTPS on the listen
// address, or a TLS proxy in front) they must come from --ca-listen, or
// --aia-url and --crl-url. A wrong value is a usage error; a certificate or
// key that does not load is a failure.
func (f *tlsFlags) check(publicURL, aiaURL, crlURL string, now time.Time) error {
	for _, u := range []struct{ flag, v string }{{"--aia-url", aiaURL}, {"--crl-url", crlURL}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || p.Scheme != "http" || p.Host == "" {
			return usageError(fmt.Errorf("%s %s: must be an http:// URL (CA/B Forum BRs §7.1.2.7.7, §7.1.2.11.2: certificates name their issuer's certificate and CRL over http, which needs no certificate to fetch)", u.flag, u.v))
		}
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usageError(errors.New("--tls-cert and --tls-key come together: the certificate chain (PEM) and its private key"))
	}
	if f.on() {
		if _, err := loadKeyPair(f.tlsCert, f.tlsKey, now); err != nil {
			return err
		}
	}
	httpsPublic := publicURL == "" && f.on()
	if u, err := url.Parse(publicURL); err == nil && publicURL != "" {
		httpsPublic = u.Scheme == "https" // url.Parse lowers the scheme
	}
	switch {
	case f.caListen != "" && !httpsPublic:
		return usageError(errors.New("--ca-listen is for an https:// public URL (--tls-cert and --tls-key, or --public-url https://… behind a TLS proxy): otherwise the listen address serves the CA's certificate and CRL over http already"))
	case f.caListen == "" && httpsPublic && (aiaURL == "" || crlURL == ""):
		return usageError(errors.New("with an https:// public URL, give --ca-listen ADDR: certificates name their issuer's certificate and CRL with http:// URLs (CA/B Forum BRs §7.1.2.7.7, §7.1.2.11.2), which --ca-listen serves; or give --aia-url and --crl-url"))
	}
	return nil
}

// checkPublicURL refuses a public URL that clients could not use, before
// anything is created: with none given, it is made of the listen address,
// which then must not be a wildcard (0.0.0.0, ::, or no host), for the URL
// goes into ACME's answers and every certificate's AIA and CRL URLs; one
// given must be an absolute http(s) URL, https:// when the server itself
// speaks HTTPS (RFC 8555 §6.1: ACME over HTTPS; an http:// URL would send
// every client to plain http on a TLS port).
func checkPublicURL(listen, publicURL string, https bool) error {
	if publicURL == "" {
		host, _, err := net.SplitHostPort(listen)
		if err != nil {
			return fmt.Errorf("--listen %s: %w", listen, err)
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			return fmt.Errorf("--listen %s binds every address: give --public-url, the URL clients reach this server at (it goes into ACME's answers and into certificates)", listen)
		}
		return nil
	}
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--public-url %s: want the server's base URL, http(s)://host[:port][/path]", publicURL)
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("--public-url %s: %s is no address a client can reach", publicURL, u.Hostname())
	}
	if https && u.Scheme != "https" {
		return fmt.Errorf("--public-url %s: with --tls-cert the server speaks HTTPS, so its public URL is https:// (RFC 8555 §6.1)", publicURL)
	}
	return nil
}

// loadKeyPair loads and checks a certificate chain and its key: they must
// match, and the certificate must be valid at now.
func loadKeyPair(certFile, keyFile string, now time.Time) (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		if b, rerr := readLimited(keyFile, maxTLSFile); rerr == nil && strings.Contains(err.Error(), "private key") && bytes.Contains(b, []byte("ENCRYPTED")) {
			return nil, fmt.Errorf("--tls-key %s is encrypted: dcv reads an unencrypted key, protected by the file's permissions (openssl pkey -in %s -out KEY decrypts it)", keyFile, keyFile)
		}
		return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", certFile, keyFile, err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s: %w", certFile, err)
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("--tls-cert %s is valid from %s to %s, not now", certFile, leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	c.Leaf = leaf
	return &c, nil
}

// certReloader serves a certificate and key from files, loading them again
// when either file's content changes (looked at, at a new connection, at
// most every tlsReloadCheck). A change that does not load, or is not valid
// yet or any more, is logged and the certificate in use kept. A
// certificate in use that expires within tlsExpiryWarning is logged, at
// most hourly.
type certReloader struct {
	certFile, keyFile string
	now               func() time.Time
	logger            *slog.Logger

	mu       sync.Mutex
	cert     *tls.Certificate
	stamp    [sha256.Size]byte // of the files' contents at the last load
	lastLook time.Time
	warned   time.Time // the last expiry warning
}

// tlsExpiryWarning is how long before its expiry the certificate in use is
// warned of.
const tlsExpiryWarning = 7 * 24 * time.Hour

func newCertReloader(certFile, keyFile string, now func() time.Time, logger *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, now: now, logger: logger}
	stamp, err := r.fileStamp()
	if err != nil {
		return nil, err
	}
	c, err := loadKeyPair(certFile, keyFile, now())
	if err != nil {
		return nil, err
	}
	r.cert, r.stamp, r.lastLook = c, stamp, now()
	r.warnExpiry(now())
	return r, nil
}

// fileStamp is the SHA-256 of the two files' contents: any change to
// either, whatever its size and times, changes it.
func (r *certReloader) fileStamp() ([sha256.Size]byte, error) {
	h := sha256.New()
	for _, p := range []string{r.certFile, r.keyFile} {
		b, err := readLimited(p, maxTLSFile)
		if err != nil {
			return [sha256.Size]byte{}, err
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	return [sha256.Size]byte(h.Sum(nil)), nil
}

// maxTLSFile bounds the certificate and key files read.
const maxTLSFile = 1 << 20

// GetCertificate is tls.Config's GetCertificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if now.Sub(r.lastLook) < tlsReloadCheck {
		return r.cert, nil
	}
	r.lastLook = now
	defer r.warnExpiry(now)
	stamp, err := r.fileStamp()
	if err != nil {
		r.logger.Warn("tls certificate files unreadable: the loaded certificate stays in use", "err", err)
		return r.cert, nil
	}
	if stamp == r.stamp {
		return r.cert, nil
	}
	c, err := loadKeyPair(r.certFile, r.keyFile, now)
	if err != nil {
		// A certificate written before its key (or the other way round)
		// is tried again at the next look.
		r.logger.Warn("tls certificate changed but not loaded: the previous one stays in use", "err", err)
		return r.cert, nil
	}
	r.cert, r.stamp, r.warned = c, stamp, time.Time{}
	r.logger.Info("tls certificate reloaded", "subject", c.Leaf.Subject.String(), "not_after", c.Leaf.NotAfter)
	return r.cert, nil
}

// watch looks at the files and the certificate's expiry every interval,
// until ctx ends, even when no client connects: an idle server still loads
// a renewed certificate and warns of an expiring one.
func (r *certReloader) watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.GetCertificate(nil)
		}
	}
}

// warnExpiry logs, at most hourly, that the certificate in use expires
// soon or has expired: clients refuse an expired one.
func (r *certReloader) warnExpiry(now time.Time) {
	end := r.cert.Leaf.NotAfter
	if end.Sub(now) > tlsExpiryWarning || now.Sub(r.warned) < time.Hour {
		return
	}
	r.warned = now
	if now.After(end) {
		r.logger.Error("the tls certificate has expired: clients refuse it; renew --tls-cert, which is loaded when its file changes", "not_after", end, "file", r.certFile)
		return
	}
	r.logger.Warn("the tls certificate expires soon: renew --tls-cert, which is loaded when its file changes", "not_after", end, "file", r.certFile)
}

// tlsConfig is the listen address's TLS configuration.
func (r *certReloader) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}

// caURL is the base of the http:// URLs of --ca-listen put in
// certificates: the public URL's host (the name clients reach the server
// by, not the address it binds, which may be 0.0.0.0), on port, which is
// left out when it is http's 80.
func caURL(public string, port int) string {
	host := "localhost"
	if u, err := url.Parse(public); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	if port == 80 {
		if strings.Contains(host, ":") {
			return "http://[" + host + "]"
		}
		return "http://" + host
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// caURLUnreachable warns when the CA's URL put in certificates names an IP
// address that --ca-listen does not bind (nor every address): relying
// parties would reach nothing there unless something forwards it (a
// proxy), which --aia-url and --crl-url then name better. A URL with a
// host name is not checked (it is not resolved here).
func caURLUnreachable(certURL string, bound net.Addr) string {
	u, err := url.Parse(certURL)
	if err != nil {
		return ""
	}
	named, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return ""
	}
	tcp, ok := bound.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		return ""
	}
	listen, ok := netip.AddrFromSlice(tcp.IP)
	port := u.Port()
	if port == "" {
		port = "80"
	}
	if ok && listen.Unmap() == named.Unmap() && port == strconv.Itoa(tcp.Port) {
		return ""
	}
	return fmt.Sprintf("certificates name %s, but --ca-listen binds %s: clients fetching the CA's certificate or CRL reach nothing there unless a proxy forwards it; bind that address with --ca-listen, or name the right URLs with --aia-url and --crl-url", certURL, bound)
}

// caOnly serves the CA's certificates and CRL (paths under /ca/) from h,
// and nothing else: the plain-http address of --ca-listen, whose URLs go
// into certificates while the API and ACME are reached over HTTPS.
func caOnly(h http.Handler, public string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/ca/") {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, "this address serves the CA's certificates and CRL (/ca/) only; the API and ACME are at %s\n", public)
	})
}

// serverErrorLog is an http.Server's ErrorLog: its lines at warning level,
// but failed TLS handshakes (port scans, health probes, clients that do
// not trust the certificate) at debug level, where they do not fill the log.
func serverErrorLog(logger *slog.Logger) *log.Logger {
	return log.New(logWriter{logger}, "", 0)
}

type logWriter struct{ logger *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	level := slog.LevelWarn
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		level = slog.LevelDebug
	}
	w.logger.Log(context.Background(), level, msg)
	return len(p), nil
}
