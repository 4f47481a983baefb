package validation_test

import (
	"bytes"
	"compress/gzip"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// Deadlines of the file wire world: one fetch, and one observation.
const (
	fwFetchTimeout   = time.Second
	fwConnectTimeout = 500 * time.Millisecond
	fwObserveTimeout = 4 * time.Second
	fwValue          = "t7Kq2mZx9Lw4Rb8Nc3Vd6Hf1Jg5Ps0Ya"
	fwOtherValue     = "Ua5Ie9Oo2Yy7Tt4Rr1Ww6Qq3Pp8Ll0Kk"
	fwDomain         = "a.applicant.com"
	fwURL            = "http://" + fwDomain + validation.FilePath
)

// fwWorld is a DNS server for applicant.com and a web server, on loopback,
// with a Validator fetching through the hardened fetcher.
type fwWorld struct {
	dns   *testenv.DNSServer
	web   *testenv.WebServer
	other *testenv.WebServer // a second server on web's ports, when a case needs one
}

// fwOptions configure the fetcher of one case.
type fwOptions struct {
	maxRedirects int
	noLoopback   bool // AllowLoopback off
}

func setupFW(t *testing.T) *fwWorld {
	t.Helper()
	d := testenv.NewDNSServer(t)
	d.AddZone("applicant.com.")
	return &fwWorld{dns: d, web: testenv.NewWebServer(t)}
}

func (w *fwWorld) validator(t *testing.T, o fwOptions) *validation.Validator {
	t.Helper()
	res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{w.dns.Addr}, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f, err := webfetch.New(webfetch.Config{
		Resolver: res, HTTPPort: w.web.HTTPPort, HTTPSPort: w.web.HTTPSPort, AllowLoopback: !o.noLoopback,
		ConnectTimeout: fwConnectTimeout, Timeout: fwFetchTimeout, MaxRedirects: o.maxRedirects,
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: res, Fetcher: f, Timeout: fwObserveTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// point adds A records for name, to the web server when ips is empty.
func (w *fwWorld) point(name string, ips ...netip.Addr) {
	if len(ips) == 0 {
		ips = []netip.Addr{w.web.IP}
	}
	for _, ip := range ips {
		w.dns.Add(name + ". A " + ip.String())
	}
}

// file serves body with status at host and path, over http and https.
func (w *fwWorld) file(host, path string, status int, body string) {
	w.web.SetFile(host, path, status, body)
}

// rawServer listens on one fresh loopback address at each port (the
// fetcher's configured ports) and handles each connection with that port's
// serve, in the background, until the test ends.
func rawServer(t *testing.T, serve map[int]func(net.Conn)) netip.Addr {
	t.Helper()
	var lns []net.Listener
	var ip netip.Addr
	var err error
	for range 20 {
		ip, lns, err = testenv.NewLoopbackAddr(), nil, nil
		for port := range serve {
			ln, lerr := net.Listen("tcp", net.JoinHostPort(ip.String(), strconv.Itoa(port)))
			if lerr != nil {
				err = lerr
				break
			}
			lns = append(lns, ln)
		}
		if err == nil {
			break
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, ln := range lns {
		t.Cleanup(func() { ln.Close() })
		h := serve[ln.Addr().(*net.TCPAddr).Port]
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					c.SetDeadline(time.Now().Add(5 * time.Second))
					h(c)
				}()
			}
		}()
	}
	return ip
}

// fullBacklog listens on a fresh loopback address at port with a backlog
// of zero and fills it, so that further SYNs are dropped: a connect
// timeout, as a firewall dropping packets causes.
func fullBacklog(t *testing.T, port int) netip.Addr {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	var ip netip.Addr
	for range 20 {
		ip = testenv.NewLoopbackAddr()
		if err = syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: ip.As4()}); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
	for range 4 { // fill the queue; later dials time out
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	return ip
}

// TestFileFindingsOnTheWire produces each file finding through DNS and web
// servers on loopback, the fetcher, the validator and diagnose, and checks
// the findings' codes, the key words of the worst one, the verdict and that
// the observation ended within its deadline.
func TestFileFindingsOnTheWire(t *testing.T) {
	t.Parallel()
	tlsAlert := func(c net.Conn) {
		buf := make([]byte, 512)
		c.Read(buf)                            // the ClientHello
		c.Write([]byte{21, 3, 3, 0, 2, 2, 40}) // fatal handshake_failure alert, RFC 8446 §6
		time.Sleep(50 * time.Millisecond)      // let the client read it before the close
	}
	tests := []struct {
		name    string
		domain  string // fwDomain when empty
		opts    fwOptions
		setup   func(t *testing.T, w *fwWorld)
		others  []string        // Request.OtherValues
		codes   []diagnose.Code // every finding, worst first
		warning bool            // the findings do not block: approved
		msg     []string        // in the first finding's message ("{web}" is the server's IP)
		fix     []string        // in its fix
		probes  int             // the number of probes made; -1 to skip
		within  time.Duration   // the observation ends within it; fwObserveTimeout when zero
		conns   int             // connections the web server saw on both ports; -1 to skip
	}{
		{
			name: "served: no finding",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.file(fwDomain, validation.FilePath, 200, fwValue+"\n")
			},
			probes: 0, conns: 1,
		},

		// FILE_WRONG_LOCATION: one case per probe.
		{
			name:   "wrong location: web root",
			setup:  func(_ *testing.T, w *fwWorld) { w.point(fwDomain); w.file(fwDomain, "/fileauth.txt", 200, fwValue) },
			codes:  []diagnose.Code{diagnose.CodeFileWrongLocation},
			msg:    []string{"http://" + fwDomain + "/fileauth.txt", "not at " + fwURL},
			fix:    []string{"from the web root into the folder .well-known/pki-validation/"},
			probes: 6, conns: -1,
		},
		{
			name: "wrong location: doubled extension",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.file(fwDomain, validation.FilePath+".txt", 200, fwValue)
			},
			codes:  []diagnose.Code{diagnose.CodeFileWrongLocation},
			msg:    []string{fwURL + ".txt"},
			fix:    []string{"Rename fileauth.txt.txt to fileauth.txt"},
			probes: 6, conns: -1,
		},
		{
			name: "wrong location: .well-known without pki-validation",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.file(fwDomain, "/.well-known/fileauth.txt", 200, fwValue)
			},
			codes:  []diagnose.Code{diagnose.CodeFileWrongLocation},
			msg:    []string{"/.well-known/fileauth.txt"},
			fix:    []string{"into its subfolder pki-validation/"},
			probes: 6, conns: -1,
		},
		{
			name: "wrong location: pki-validation at the root",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.file(fwDomain, "/pki-validation/fileauth.txt", 200, fwValue)
			},
			codes:  []diagnose.Code{diagnose.CodeFileWrongLocation},
			msg:    []string{"http://" + fwDomain + "/pki-validation/fileauth.txt"},
			fix:    []string{"into a folder named .well-known"},
			probes: 6, conns: -1,
		},
		{
			name: "wrong location: .well-known lost its dot",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.file(fwDomain, "/well-known/pki-validation/fileauth.txt", 200, fwValue)
			},
			codes:  []diagnose.Code{diagnose.CodeFileWrongLocation},
			msg:    []string{"/well-known/pki-validation/fileauth.txt"},
			fix:    []string{"Rename the folder well-known to .well-known"},
			probes: 6, conns: -1,
		},
		{
			name: "wrong location: on www only, over https",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.point("www." + fwDomain)
				w.web.SetMode(w.web.HTTPPort, testenv.ModeReset) // http fails: probes go over https
				w.file("www."+fwDomain, validation.FilePath, 200, fwValue)
			},
			codes:  []diagnose.Code{diagnose.CodeFileUnreachable, diagnose.CodeFileWrongLocation},
			msg:    []string{"reset"},
			fix:    []string{"firewall"},
			probes: 6, conns: -1,
		},
		{
			name:   "wrong location: on the apex only",
			domain: "www." + fwDomain,
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.point("www." + fwDomain)
				w.file(fwDomain, validation.FilePath, 200, fwValue)
			},
			codes:  []diagnose.Code{diagnose.CodeFileWrongLocation},
			msg:    []string{"http://" + fwDomain + validation.FilePath, "not at http://www." + fwDomain},
			fix:    []string{"different sites or folders", "answering for www." + fwDomain},
			probes: 6, conns: -1,
		},
		{
			name: "wrong location: the domain has no address, www has the file",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point("www." + fwDomain)
				w.file("", validation.FilePath, 200, fwValue)
			},
			codes:  []diagnose.Code{diagnose.CodeFileUnreachable, diagnose.CodeFileWrongLocation},
			msg:    []string{fwDomain + " has no A or AAAA record"},
			probes: 1, conns: -1,
		},
		{
			name:   "not found anywhere: FILE_NOT_FOUND after six probes",
			setup:  func(_ *testing.T, w *fwWorld) { w.point(fwDomain) },
			codes:  []diagnose.Code{diagnose.CodeFileNotFound},
			msg:    []string{"{web}", "404 Not Found", fwURL},
			probes: 6, conns: -1,
		},

		// FILE_REDIRECTED, with the chain and the rule broken.
		{
			name: "redirect not followed by default",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.web.Handle("", validation.FilePath, func(rw http.ResponseWriter, r *http.Request) {
					http.Redirect(rw, r, "/elsewhere", http.StatusFound)
				})
			},
			codes:  []diagnose.Code{diagnose.CodeFileRedirected},
			msg:    []string{"302 Found", "redirects are not followed"},
			probes: 0, conns: -1,
		},
		{
			name: "redirect chain leaves the registered domain at hop 2",
			opts: fwOptions{maxRedirects: 3},
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.point("www." + fwDomain)
				w.web.Handle(fwDomain, validation.FilePath, func(rw http.ResponseWriter, r *http.Request) {
					http.Redirect(rw, r, "http://www."+fwDomain+validation.FilePath, http.StatusMovedPermanently)
				})
				w.web.Handle("www."+fwDomain, validation.FilePath, func(rw http.ResponseWriter, r *http.Request) {
					http.Redirect(rw, r, "http://cdn.other-host.net/x", http.StatusFound)
				})
			},
			codes: []diagnose.Code{diagnose.CodeFileRedirected},
			msg: []string{"dcv followed the redirects of " + fwURL,
				fwURL + " (301 Moved Permanently) → http://www." + fwDomain + validation.FilePath + " (302 Found) → http://cdn.other-host.net/x",
				"was not followed: it leads to cdn.other-host.net, outside the registered domain applicant.com"},
			fix:    []string{"within applicant.com"},
			probes: 0, conns: -1,
		},
		{
			name: "redirect to port 8443",
			opts: fwOptions{maxRedirects: 2},
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.web.Handle("", validation.FilePath, func(rw http.ResponseWriter, r *http.Request) {
					http.Redirect(rw, r, "https://"+fwDomain+":8443"+validation.FilePath, http.StatusTemporaryRedirect)
				})
			},
			codes:  []diagnose.Code{diagnose.CodeFileRedirected},
			msg:    []string{"it leads to port 8443; only ports 80 (http) and 443 (https)"},
			probes: 0, conns: -1,
		},
		{
			name: "bounds: redirect loop",
			opts: fwOptions{maxRedirects: webfetch.MaxRedirectsLimit},
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.web.Handle("", validation.FilePath, func(rw http.ResponseWriter, r *http.Request) {
					http.Redirect(rw, r, "/loop", http.StatusFound)
				})
				w.web.Handle("", "/loop", func(rw http.ResponseWriter, r *http.Request) {
					http.Redirect(rw, r, validation.FilePath, http.StatusFound)
				})
			},
			codes:  []diagnose.Code{diagnose.CodeFileRedirected},
			msg:    []string{"a redirect loop"},
			probes: 0, within: fwFetchTimeout, conns: -1,
		},
		{
			name: "followed redirect ends in 404",
			opts: fwOptions{maxRedirects: 1},
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.web.Handle("", validation.FilePath, func(rw http.ResponseWriter, r *http.Request) {
					http.Redirect(rw, r, "/moved.txt", http.StatusMovedPermanently)
				})
			},
			codes:  []diagnose.Code{diagnose.CodeFileNotFound},
			msg:    []string{"404 Not Found for http://" + fwDomain + "/moved.txt", "dcv reached it through redirects"},
			probes: 6, conns: -1,
		},

		// DOMAIN_UNRESOLVABLE.
		{
			// The domain exists, as a CNAME to a name that does not: the
			// finding names the target, not the domain, as missing.
			name:   "CNAME to a name that does not exist",
			setup:  func(_ *testing.T, w *fwWorld) { w.dns.Add(fwDomain + ". CNAME nowhere.applicant.com.") },
			codes:  []diagnose.Code{diagnose.CodeDomainUnresolvable},
			msg:    []string{fwDomain + " is a CNAME to nowhere.applicant.com, and nowhere.applicant.com does not exist in DNS", "points nowhere"},
			fix:    []string{"Point the CNAME record of " + fwDomain + " at a name that exists"},
			probes: -1, conns: 0,
		},

		// FILE_UNREACHABLE.
		{
			name: "connect timeout: likely firewall",
			setup: func(t *testing.T, w *fwWorld) {
				ip := fullBacklog(t, w.web.HTTPPort)
				w.dns.Add(fwDomain + ". A " + ip.String())
			},
			codes:  []diagnose.Code{diagnose.CodeFileUnreachable},
			msg:    []string{"Timeout during connect", "likely a firewall"},
			probes: 0, within: 2*fwConnectTimeout + time.Second, conns: -1,
		},
		{
			name: "refused",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain, testenv.NewLoopbackAddr())
			},
			codes:  []diagnose.Code{diagnose.CodeFileUnreachable},
			msg:    []string{"Connection refused", "nothing listens on port " + "{httpport}"},
			probes: 0, conns: 0,
		},
		{
			name: "reset on both ports",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.web.SetMode(w.web.HTTPPort, testenv.ModeReset)
				w.web.SetMode(w.web.HTTPSPort, testenv.ModeReset)
			},
			codes:  []diagnose.Code{diagnose.CodeFileUnreachable},
			msg:    []string{"was reset"},
			probes: 0, conns: 2,
		},
		{
			name: "http 404: the https side (a TLS failure) is not asked",
			setup: func(t *testing.T, w *fwWorld) {
				ip := rawServer(t, map[int]func(net.Conn){
					w.web.HTTPSPort: tlsAlert,
					w.web.HTTPPort: func(c net.Conn) {
						c.Read(make([]byte, 4096))
						c.Write([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
					},
				})
				w.point(fwDomain, ip)
			},
			// The http 404 is the web server's answer: https is not asked
			// (validation.HTTPSFallback).
			codes:  []diagnose.Code{diagnose.CodeFileNotFound},
			msg:    []string{"404 Not Found", fwURL},
			fix:    []string{"Upload fileauth.txt"},
			probes: 6, conns: 0,
		},
		{
			name:   "http/2 on port 80, tls on 443 fine but 404",
			setup:  func(_ *testing.T, w *fwWorld) { w.point(fwDomain); w.web.SetMode(w.web.HTTPPort, testenv.ModeHTTP2) },
			codes:  []diagnose.Code{diagnose.CodeFileUnreachable, diagnose.CodeFileNotFound},
			msg:    []string{"HTTP/2 where HTTP/1.1 was expected"},
			probes: 6, conns: -1,
		},
		{
			name: "tls on port 80, plain http on 443",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.web.SetMode(w.web.HTTPPort, testenv.ModeTLS)
				w.web.SetMode(w.web.HTTPSPort, testenv.ModePlain)
			},
			// Two misconfigurations, both to fix: both told.
			codes:  []diagnose.Code{diagnose.CodeFileUnreachable, diagnose.CodeFileUnreachable},
			msg:    []string{"with TLS on the plain HTTP port"},
			probes: 0, conns: 2,
		},
		{
			name: "bounds: a server that never answers",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.web.SetMode(w.web.HTTPPort, testenv.ModeHang)
				w.web.SetMode(w.web.HTTPSPort, testenv.ModeHang)
			},
			codes:  []diagnose.Code{diagnose.CodeFileUnreachable},
			msg:    []string{"but got no complete answer within"},
			probes: 0, within: 2*fwFetchTimeout + time.Second, conns: 2,
		},
		{
			name: "bounds: one byte per second",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.web.Handle("", validation.FilePath, testenv.SlowBody)
			},
			codes:  []diagnose.Code{diagnose.CodeFileUnreachable},
			msg:    []string{"answered 200 OK, but sent only ", " of the body (of 100 announced) within"}, // 1 or 2 bytes: timing
			probes: 0, within: 2*fwFetchTimeout + time.Second, conns: 1,
		},

		// FILE_BAD_STATUS.
		{
			name: "403 behind Cloudflare",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.web.Handle("", validation.FilePath, func(rw http.ResponseWriter, _ *http.Request) {
					rw.Header().Set("Server", "cloudflare")
					rw.Header().Set("Cf-Ray", "8a1b2c3d4e5f-AMS")
					rw.WriteHeader(http.StatusForbidden)
				})
			},
			codes:  []diagnose.Code{diagnose.CodeFileBadStatus},
			msg:    []string{"403 Forbidden", "Cloudflare"},
			fix:    []string{"allow-list requests to /.well-known/pki-validation/"},
			probes: 0, conns: 1,
		},
		{
			name:   "503",
			setup:  func(_ *testing.T, w *fwWorld) { w.point(fwDomain); w.file("", validation.FilePath, 503, "down") },
			codes:  []diagnose.Code{diagnose.CodeFileBadStatus},
			msg:    []string{"503 Service Unavailable"},
			probes: 0, conns: 1,
		},

		// FILE_CONTENT_MISMATCH.
		{
			name: "soft 404: an HTML page with 200",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.web.Handle("", validation.FilePath, func(rw http.ResponseWriter, _ *http.Request) {
					rw.Header().Set("Content-Type", "text/html")
					rw.Write([]byte("<!doctype html><title>Page not found</title>"))
				})
			},
			codes:  []diagnose.Code{diagnose.CodeFileContentMismatch},
			msg:    []string{"soft 404"},
			probes: 0, conns: 1,
		},
		{
			// The value as sent, labelled gzip: its content (the gzip
			// decoding) is not the value (console run: approved).
			name: "the value labelled as compressed",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.web.Handle("", validation.FilePath, func(rw http.ResponseWriter, r *http.Request) {
					rw.Header().Set("Content-Encoding", "gzip")
					rw.Write([]byte(fwValue))
				})
			},
			codes:  []diagnose.Code{diagnose.CodeFileContentMismatch},
			msg:    []string{"Content-Encoding: gzip", "The body as sent is the expected value, but labelled as compressed"},
			fix:    []string{"uncompressed"},
			probes: 0, conns: 1,
		},
		{
			// dcv sends no Accept-Encoding: a server that gzips the file
			// anyway sends bytes that are not the value.
			name: "compressed although not asked",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.web.Handle("", validation.FilePath, func(rw http.ResponseWriter, r *http.Request) {
					if r.Header.Get("Accept-Encoding") != "" {
						http.Error(rw, "unexpected Accept-Encoding", http.StatusBadRequest)
						return
					}
					var b bytes.Buffer
					zw := gzip.NewWriter(&b)
					zw.Write([]byte(fwValue + "\n"))
					zw.Close()
					rw.Header().Set("Content-Encoding", "gzip")
					rw.Write(b.Bytes())
				})
			},
			codes:  []diagnose.Code{diagnose.CodeFileContentMismatch},
			msg:    []string{"compressed the content (Content-Encoding: gzip) although dcv did not ask for it", "Uncompressed, the content is the expected value"},
			fix:    []string{"send fileauth.txt uncompressed"},
			probes: 0, conns: 1,
		},
		{
			name: "byte order mark",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.file("", validation.FilePath, 200, "\ufeff"+fwValue)
			},
			codes:  []diagnose.Code{diagnose.CodeFileContentMismatch},
			msg:    []string{"byte order mark"},
			probes: 0, conns: 1,
		},
		{
			name: "crlf and a second line",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.file("", validation.FilePath, 200, fwValue+"\r\nx\r\n")
			},
			codes:  []diagnose.Code{diagnose.CodeFileContentMismatch},
			msg:    []string{"carriage returns"},
			probes: 0, conns: 1,
		},
		{
			name: "the value of another order",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.file("", validation.FilePath, 200, fwOtherValue+"\n")
			},
			others: []string{"unrelated", fwOtherValue},
			codes:  []diagnose.Code{diagnose.CodeFileContentMismatch},
			msg:    []string{fwOtherValue, "value of another of your orders"},
			fix:    []string{fwValue},
			probes: 0, conns: 1,
		},
		{
			name: "bounds: a 1 GiB body",
			setup: func(_ *testing.T, w *fwWorld) {
				w.point(fwDomain)
				w.web.Handle("", validation.FilePath, testenv.HugeBody)
			},
			codes:  []diagnose.Code{diagnose.CodeFileContentMismatch},
			msg:    []string{"longer than the 4096 bytes dcv reads"},
			probes: 0, within: 2*fwFetchTimeout + time.Second, conns: 1,
		},

		// ADDRESS_DISCREPANCY: two A records answering differently.
		{
			name: "two addresses: one serves the value, the other 404",
			setup: func(t *testing.T, w *fwWorld) {
				w.other = testenv.NewWebServerPorts(t, w.web.HTTPPort, w.web.HTTPSPort)
				w.point(fwDomain, w.web.IP, w.other.IP)
				w.file("", validation.FilePath, 200, fwValue)
			},
			codes:  []diagnose.Code{diagnose.CodeAddressDiscrepancy},
			msg:    []string{"The addresses of " + fwDomain + " do not answer " + fwURL + " alike: {web} served the value, but {other} answered 404 Not Found."},
			fix:    []string{"(" + "{other}" + ")"},
			probes: -1, conns: 1,
		},
		{
			name: "two addresses: one serves the value, the other is refused",
			setup: func(t *testing.T, w *fwWorld) {
				w.point(fwDomain, w.web.IP, testenv.NewLoopbackAddr())
				w.file("", validation.FilePath, 200, fwValue)
			},
			codes:   []diagnose.Code{diagnose.CodeAddressDiscrepancy},
			warning: true,
			msg:     []string{"{web} served the value, but", "refused the connection", "dcv accepted the value"},
			probes:  0, conns: 1,
		},
		{
			name: "two addresses: one serves the value, the other another order's value",
			setup: func(t *testing.T, w *fwWorld) {
				w.other = testenv.NewWebServerPorts(t, w.web.HTTPPort, w.web.HTTPSPort)
				w.point(fwDomain, w.web.IP, w.other.IP)
				w.file("", validation.FilePath, 200, fwValue)
				w.other.SetFile("", validation.FilePath, 200, fwOtherValue)
			},
			codes:  []diagnose.Code{diagnose.CodeAddressDiscrepancy},
			msg:    []string{"{other} answered 200 OK with other content (\"" + fwOtherValue + "\")"},
			probes: 0, conns: 1,
		},

		// ADDRESS_RESERVED.
		{
			name:   "private address",
			setup:  func(_ *testing.T, w *fwWorld) { w.point(fwDomain, netip.MustParseAddr("10.20.30.40")) },
			codes:  []diagnose.Code{diagnose.CodeAddressReserved},
			msg:    []string{"10.20.30.40 (private network, 10.0.0.0/8)"},
			probes: 0, conns: 0,
		},
		{
			name:   "loopback refused without a connection when loopback targets are off",
			opts:   fwOptions{noLoopback: true},
			setup:  func(_ *testing.T, w *fwWorld) { w.point(fwDomain); w.file("", validation.FilePath, 200, fwValue) },
			codes:  []diagnose.Code{diagnose.CodeAddressReserved},
			msg:    []string{"{web} (loopback, 127.0.0.0/8)"},
			probes: 0, conns: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := setupFW(t)
			tc.setup(t, w)
			v := w.validator(t, tc.opts)
			domain := tc.domain
			if domain == "" {
				domain = fwDomain
			}
			start := time.Now()
			obs, err := v.Observe(t.Context(), validation.Request{Domain: domain, Method: validation.MethodFile, Value: fwValue, OtherValues: tc.others})
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			within := tc.within
			if within == 0 {
				within = fwObserveTimeout
			}
			if elapsed > within+500*time.Millisecond {
				t.Errorf("observation took %v, want within %v", elapsed, within)
			}
			res := diagnose.Domain([]validation.Observation{obs}, time.Now())
			for _, f := range res.Findings {
				t.Logf("%s %s\n  %s\n  fix: %s", f.Code, f.Severity, f.Message, f.Fix)
			}
			checkFileFindings(t, w, res, tc.codes, tc.warning, tc.msg, tc.fix)
			if tc.probes >= 0 && len(obs.File.Probes) != tc.probes {
				t.Errorf("%d probes, want %d", len(obs.File.Probes), tc.probes)
			}
			if tc.conns >= 0 {
				if got := w.web.Connections(w.web.HTTPPort) + w.web.Connections(w.web.HTTPSPort); got != tc.conns {
					t.Errorf("web server saw %d connections, want %d", got, tc.conns)
				}
			}
		})
	}
}

// checkFileFindings checks the codes of res's findings and the key words of
// the first one. Words may name "{web}" (the web server's IP), "{other}"
// (the second server's) and "{httpport}".
func checkFileFindings(t *testing.T, w *fwWorld, res diagnose.Result, codes []diagnose.Code, warning bool, msg, fix []string) {
	t.Helper()
	var got []diagnose.Code
	for _, f := range res.Findings {
		got = append(got, f.Code)
	}
	if strings.Join(codesText(got), " ") != strings.Join(codesText(codes), " ") {
		t.Fatalf("codes = %v, want %v", got, codes)
	}
	wantStatus := diagnose.StatusPending
	if len(codes) == 0 || warning {
		wantStatus = diagnose.StatusApproved
	}
	if res.Status != wantStatus {
		t.Errorf("status = %s, want %s", res.Status, wantStatus)
	}
	if len(res.Findings) == 0 {
		return
	}
	other := "{other}"
	if w.other != nil {
		other = w.other.IP.String()
	}
	r := strings.NewReplacer("{web}", w.web.IP.String(), "{other}", other, "{httpport}", strconv.Itoa(w.web.HTTPPort))
	f := res.Findings[0]
	for _, m := range msg {
		if m = r.Replace(m); !strings.Contains(f.Message, m) {
			t.Errorf("message %q\n lacks %q", f.Message, m)
		}
	}
	for _, m := range fix {
		if m = r.Replace(m); !strings.Contains(f.Fix, m) {
			t.Errorf("fix %q\n lacks %q", f.Fix, m)
		}
	}
	if f.Fix == "" {
		t.Errorf("finding %s has no fix", f.Code)
	}
}

func codesText(cs []diagnose.Code) []string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c))
	}
	return out
}

// TestHTTP01AddressDiscrepancy: an http-01 challenge whose name's AAAA
// record points at a server that answers 404, while the A record's serves
// the key authorization, fails as Let's Encrypt fails it (the IPv6 address,
// asked first, answered), and is diagnosed as the addresses answering
// differently, naming both, rather than as a file missing (black-box run).
func TestHTTP01AddressDiscrepancy(t *testing.T) {
	t.Parallel()
	const (
		domain  = "v6.applicant.com"
		keyAuth = acmeToken + ".thumbprint"
	)
	// ::1 on the web server's http port, answering 404 to everything.
	var (
		w   *fwWorld
		ln6 net.Listener
		err error
	)
	for range 10 {
		w = setupFW(t)
		if ln6, err = net.Listen("tcp", net.JoinHostPort("::1", strconv.Itoa(w.web.HTTPPort))); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("::1 (every test machine has it): %v", err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln6)
	t.Cleanup(func() { srv.Close() })
	w.point(domain)
	w.dns.Add(domain + ". AAAA ::1")
	w.file(domain, validation.HTTP01Path+acmeToken, http.StatusOK, keyAuth)
	v := w.validator(t, fwOptions{})
	obs, err := v.Observe(t.Context(), validation.Request{Domain: domain, Method: validation.MethodHTTP01, Value: keyAuth, Token: acmeToken})
	if err != nil {
		t.Fatal(err)
	}
	r := diagnose.Domain([]validation.Observation{obs}, obs.StartedAt)
	if r.Status == diagnose.StatusApproved {
		t.Fatal("approved: the IPv6 address, asked first, answered 404")
	}
	if len(r.Findings) == 0 || r.Findings[0].Code != diagnose.CodeAddressDiscrepancy {
		t.Fatalf("findings %+v, want ADDRESS_DISCREPANCY first", r.Findings)
	}
	f := r.Findings[0]
	for _, want := range []string{w.web.IP.String() + " served the value", "::1 answered 404 Not Found", "asks the IPv6 addresses (AAAA records) first"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message %q lacks %q", f.Message, want)
		}
	}
	if !strings.Contains(f.Fix, "::1") {
		t.Errorf("fix %q does not name ::1", f.Fix)
	}
}
