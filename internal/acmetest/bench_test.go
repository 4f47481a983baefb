package acmetest_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/bench"
	"github.com/dcvhq/dcv/internal/testenv"
)

// TestBench runs `dcv bench`'s load generator against dcv serve for a
// moment with each challenge type: its responder answers the challenges
// and its DNS server is dcv's resolver, and every flow must end in a
// certificate with the names asked for.
func TestBench(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		challenge string
		tls       bool // the responder answers on the world's TLS port
	}{
		{name: "http-01", challenge: bench.ChallengeHTTP01},
		{name: "dns-01", challenge: bench.ChallengeDNS01},
		{name: "tls-alpn-01", challenge: bench.ChallengeTLSALPN01, tls: true},
	} {
		// Each run with a dcv serve of its own, resolving with the bench's
		// DNS server on an address of its own: no run binds an address a
		// run before it has just released.
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The port lies below the ephemeral range (32768-60999 on
			// Linux): a port the kernel hands out could be taken, for a
			// moment, by one of the server's own DNS queries (an unbound
			// UDP socket is bound to 0.0.0.0 until its connect).
			dnsAddr := net.JoinHostPort(testenv.NewLoopbackAddr().String(), "10053")
			w := newWorldResolver(t, dnsAddr)
			port := w.httpPort
			if tt.tls {
				port = w.tlsPort
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rep, err := bench.Run(ctx, bench.Config{
				DirectoryURL:  w.directory,
				Concurrency:   2,
				Duration:      300 * time.Millisecond,
				Challenge:     tt.challenge,
				ResponderAddr: net.JoinHostPort(w.ip, strconv.Itoa(port)),
				DNSAddr:       dnsAddr,
				ServerPID:     w.pid,
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Certificates == 0 || rep.Failed != 0 || len(rep.Errors) != 0 {
				t.Fatalf("%d certificates, %d failed flows: %+v", rep.Certificates, rep.Failed, rep.Errors)
			}
			if rep.ServerCPU == nil {
				t.Fatal("no server CPU figure")
			}
			t.Logf("%s: %d certificates, %.1f/s, server CPU %s per certificate", tt.challenge, rep.Certificates, rep.CertsPerSecond(), rep.ServerCPUPerCert())
		})
	}
}
