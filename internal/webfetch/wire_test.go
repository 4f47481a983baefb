package webfetch

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
)

// TestFetchWithDNSOnTheWire resolves through a real DNS server and the
// forwarder, both on loopback.
func TestFetchWithDNSOnTheWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		host   string
		status int
		kind   ErrorKind // of ResolveError
	}{
		{name: "resolved and fetched", host: "www.example.test", status: 200},
		{name: "cname followed", host: "alias.example.test", status: 200},
		{name: "nxdomain", host: "missing.example.test", kind: ErrDNSNXDomain},
		{name: "no address", host: "txtonly.example.test", kind: ErrNoAddress},
		{name: "servfail", host: "broken.example.test", kind: ErrDNSServfail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := testenv.NewWebServer(t)
			w.SetFile("", "/f", 200, "ok")
			d := testenv.NewDNSServer(t)
			d.AddZone("example.test.")
			d.Add("www.example.test. A "+w.IP.String(),
				"alias.example.test. CNAME www.example.test.",
				`txtonly.example.test. TXT "x"`,
				"broken.example.test. A "+w.IP.String())
			d.SetRcode("broken.example.test.", dns.RcodeServerFailure)
			res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{d.Addr}, Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			f := newFetcher(t, w, res, true)
			tr := f.Fetch(t.Context(), "http://"+tc.host+"/f")
			if tc.kind != "" {
				if tr.ResolveError == nil || tr.ResolveError.Kind != tc.kind {
					t.Fatalf("ResolveError = %v, want %s", tr.ResolveError, tc.kind)
				}
				return
			}
			if tr.ResolveError != nil || tr.Final() == nil || tr.Final().Status != tc.status {
				t.Fatalf("trace = %+v, want status %d", tr, tc.status)
			}
			if len(tr.Addresses) != 1 || tr.Addresses[0] != w.IP.String() {
				t.Errorf("Addresses = %v, want [%s]", tr.Addresses, w.IP)
			}
		})
	}
}

func TestFetchContextBoundsEverything(t *testing.T) {
	t.Parallel()
	w := testenv.NewWebServer(t)
	w.SetMode(w.HTTPPort, testenv.ModeHang)
	f := newFetcher(t, w, addrs(testHost+".", w.IP, testenv.NewLoopbackAddr()), true)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	tr := f.Fetch(ctx, "http://"+testHost+"/f")
	if d := time.Since(start); d > time.Second {
		t.Errorf("fetch took %v with a 300ms context", d)
	}
	// The second address is not tried once ctx is done.
	if len(tr.Attempts) != 1 || tr.Attempts[0].Err == nil || tr.Attempts[0].Err.Kind != ErrTimeoutAfterConn {
		t.Errorf("attempts = %+v, want one timeout_after_connect", tr.Attempts)
	}
}

func TestFetchCapsHeaders(t *testing.T) {
	t.Parallel()
	w := testenv.NewWebServer(t)
	w.Handle("", "/f", func(rw http.ResponseWriter, _ *http.Request) {
		for i := range 50 {
			rw.Header().Set(fmt.Sprintf("X-H%02d", i), "v")
		}
		rw.Header()["X-Many"] = strings.Split("a b c d e f g", " ")
	})
	f := newFetcher(t, w, addrs(testHost+".", w.IP), true)
	a := f.Fetch(t.Context(), "http://"+testHost+"/f").Final()
	if a == nil || a.Status != 200 {
		t.Fatalf("attempt = %+v", a)
	}
	if len(a.Header) != maxHeaderKeys {
		t.Errorf("%d header keys kept, want %d", len(a.Header), maxHeaderKeys)
	}
	if _, ok := a.Header["Content-Length"]; !ok {
		t.Errorf("sorted keys: Content-Length missing from %v", a.Header)
	}
}

func TestFetchHeaderFlood(t *testing.T) {
	t.Parallel()
	w := testenv.NewWebServer(t)
	w.Handle("", "/f", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("X-Flood", strings.Repeat("a", 2*maxHeaderBytes))
	})
	f := newFetcher(t, w, addrs(testHost+".", w.IP), true)
	a := f.Fetch(t.Context(), "http://"+testHost+"/f").Final()
	if a == nil || a.Status != 0 || a.Err == nil || a.Err.Kind != ErrProtocol || !strings.Contains(a.Err.Detail, "headers exceeded") {
		t.Fatalf("attempt = %+v, want protocol_error on oversized headers", a)
	}
}
