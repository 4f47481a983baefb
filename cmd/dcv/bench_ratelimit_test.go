package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/bench"
)

// TestBenchHonoursRateLimits runs dcv bench against dcv serve with its
// new-orders limit at 3 an hour: the load generator gets its 3
// certificates, is refused the fourth order with rateLimited and a
// Retry-After of about 20 minutes, and waits as asked until the run ends
// (one refused flow), instead of sending refused orders as fast as the
// server answers them; its report says what bounded the run.
func TestBenchHonoursRateLimits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	listen, resp, dnsAddr := freeTCPAddr(t), freeTCPAddr(t), freeUDPTCPAddr(t)
	_, respPort, _ := net.SplitHostPort(resp)
	srv, _ := startServe(t, listen, []string{"serve", "--data", filepath.Join(dir, "data"), "--listen", listen,
		"--resolver", dnsAddr, "--validation-http-port", respPort, "--allow-loopback-targets",
		"--acme-limit-new-orders", "3/1h", "--log-level", "error"})
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
	}()
	rep, err := bench.Run(t.Context(), bench.Config{
		DirectoryURL: "http://" + listen + "/acme/directory", Concurrency: 1, Duration: 2 * time.Second,
		ResponderAddr: resp, DNSAddr: dnsAddr, RequestTimeout: 5 * time.Second, FlowTimeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatalf("bench: %v", err)
	}
	if rep.Certificates != 3 || rep.Failed != 1 || rep.RateLimited != 1 {
		t.Errorf("certificates %d, failed flows %d, rate-limited %d; want 3, 1 and 1 (one refusal, then a wait)", rep.Certificates, rep.Failed, rep.RateLimited)
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if want := "note: the server's rate limits refused 1 flows"; !strings.Contains(b.String(), want) || !strings.Contains(b.String(), "--acme-rate-limits off") {
		t.Errorf("report lacks %q and the flag that lifts the limits:\n%s", want, b.String())
	}
}
