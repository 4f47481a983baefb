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
	// The bench binds its DNS server anew for each run, on a fresh address.
	// The port lies below the ephemeral range (32768-60999 on Linux): a
	// port the kernel handed out could meanwhile be taken, for a moment,
	// by one of the server's own DNS queries (an unbound UDP socket is
	// bound to 0.0.0.0 until its connect), and the next run fail with
	// "address already in use".
	dnsAddr := net.JoinHostPort(testenv.NewLoopbackAddr().String(), "10053")
	w := newWorldResolver(t, dnsAddr)
	for _, tt := range []struct {
		name      string
		challenge string
		port      int
	}{
		{name: "http-01", challenge: bench.ChallengeHTTP01, port: w.httpPort},
		{name: "dns-01", challenge: bench.ChallengeDNS01, port: w.httpPort},
		{name: "tls-alpn-01", challenge: bench.ChallengeTLSALPN01, port: w.tlsPort},
	} {
		// Sequential: the runs share the DNS address dcv resolves with.
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rep, err := bench.Run(ctx, bench.Config{
				DirectoryURL:  w.directory,
				Concurrency:   2,
				Duration:      300 * time.Millisecond,
				Challenge:     tt.challenge,
				ResponderAddr: net.JoinHostPort(w.ip, strconv.Itoa(tt.port)),
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
