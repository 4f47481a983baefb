package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", read-only here

	"github.com/dcvhq/dcv/internal/bench"
	"github.com/dcvhq/dcv/internal/testenv"
)

// TestCrashRecovery: dcv serve killed (SIGKILL) in the middle of an ACME
// load, at a random moment, then started again on the same data:
//   - every order the server told a client was valid has its certificate,
//     and every certificate a client received is in the database, the same
//     certificate (nothing acknowledged is lost);
//   - the database is intact (integrity and foreign keys), every issued
//     order has its one certificate and every certificate's order is
//     issued;
//   - orders finalized but not yet signed when the process died are
//     issued within moments of the restart (no order is left
//     "processing");
//   - every certificate the server logged as signed is in the database
//     once the server is started again, even one signed just before the
//     kill and not yet stored: it is signed again, the same certificate
//     (no certificate exists that the CA does not know of);
//   - the restarted server takes the next load, and stops cleanly.
//
// Each kill comes at a random moment once certificates flow. SIGKILL leaves
// what the process wrote to the WAL to the kernel, so this tests what the
// server answers before committing, not its fsyncs (a power loss).
// DCV_CRASH_CYCLES sets the number of kills: 2 by default, more with
// `make crash` (a soak outside the default suite).
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	cycles := 2
	if v := os.Getenv("DCV_CRASH_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("DCV_CRASH_CYCLES=%q: want a positive number", v)
		}
		cycles = n
	}
	dir := t.TempDir()
	listen, resp, dnsAddr := freeTCPAddr(t), freeTCPAddr(t), freeUDPTCPAddr(t)
	_, respPort, _ := net.SplitHostPort(resp)
	args := []string{"serve", "--data", filepath.Join(dir, "data"), "--listen", listen,
		"--resolver", dnsAddr, "--validation-http-port", respPort, "--allow-loopback-targets",
		"--acme-rate-limits", "off", "--log-level", "info"}
	dbPath := filepath.Join(dir, "data", "dcv.db")

	var (
		mu       sync.Mutex
		received = map[string][32]byte{} // serial → SHA-256 of the leaf's DER
		issued   = map[string]bool{}     // IDs of orders said to be valid
		signed   = map[string]bool{}     // serials logged as signed
		flowing  = make(chan struct{}, 1)
	)
	promised := func(orderURL string) {
		mu.Lock()
		defer mu.Unlock()
		issued[orderURL[strings.LastIndexByte(orderURL, '/')+1:]] = true
	}
	record := func(der []byte) {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Errorf("a received certificate does not parse: %v", err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		received[fmt.Sprintf("%032x", c.SerialNumber)] = sha256.Sum256(der)
		select {
		case flowing <- struct{}{}:
		default:
		}
	}

	srv, out := startServe(t, listen, args)
	for i := range cycles {
		killAfter := rand.N(1500 * time.Millisecond)
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		// Drained: the next certificate is this cycle's.
		select {
		case <-flowing:
		default:
		}
		done := make(chan error, 1)
		go func() {
			_, err := bench.Run(ctx, bench.Config{
				DirectoryURL: "http://" + listen + "/acme/directory", Concurrency: 8, Duration: 3 * time.Second,
				ResponderAddr: resp, DNSAddr: dnsAddr, RequestTimeout: 5 * time.Second, FlowTimeout: 20 * time.Second,
				Issued: promised, Received: record,
			})
			done <- err
		}()
		select {
		case <-flowing:
		case <-time.After(time.Minute):
			t.Fatalf("cycle %d: no certificate within a minute", i)
		}
		time.Sleep(killAfter)
		if err := srv.Process.Kill(); err != nil {
			t.Fatalf("cycle %d: kill: %v", i, err)
		}
		_ = srv.Wait() // killed: its exit status says so
		loggedSigned(out.String(), signed)
		err := <-done
		cancel()
		if err != nil {
			t.Fatalf("cycle %d: bench: %v", i, err)
		}
		srv, out = startServe(t, listen, args)
		mu.Lock()
		got := len(received)
		mu.Unlock()
		t.Logf("cycle %d: killed %v after the cycle's first certificate; %d certificates received so far", i, killAfter.Round(time.Millisecond), got)
		checkAfterCrash(t, dbPath, received, issued, signed, &mu)
	}
	if err := srv.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("dcv serve, stopped by SIGINT: %v", err)
	}
	loggedSigned(out.String(), signed)
	checkAfterCrash(t, dbPath, received, issued, signed, &mu)
	if len(received) == 0 {
		t.Fatal("no certificate was received: the load did not run")
	}
}

// loggedSigned adds to signed the serial of every "certificate signed" line
// of a server's log (slog's text format).
func loggedSigned(log string, signed map[string]bool) {
	for line := range strings.Lines(log) {
		if !strings.Contains(line, "msg=\"certificate signed\"") {
			continue
		}
		if _, rest, ok := strings.Cut(line, " serial="); ok {
			serial, _, _ := strings.Cut(rest, " ")
			signed[serial] = true
		}
	}
}

// startServe starts dcv serve with args and waits until it answers on
// listen; it is killed when the test ends, if still running. Its output
// (standard output and error) may be read once it has exited.
func startServe(t *testing.T, listen string, args []string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command("dcv", args...)
	out := new(strings.Builder)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := c.Get("http://" + listen + "/api/v1/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd, out
			}
		}
	}
	t.Fatalf("dcv serve did not start on %s:\n%s", listen, out.String())
	return nil, nil
}

// checkAfterCrash checks the database of a server started again after a
// crash: it waits for the orders finalized before the crash to be issued,
// then checks the database's integrity, that every certificate received
// is stored, unchanged, and that every certificate logged as signed is
// stored.
func checkAfterCrash(t *testing.T, dbPath string, received map[string][32]byte, issued, signed map[string]bool, mu *sync.Mutex) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(query string) int {
		t.Helper()
		var n int
		if err := db.QueryRow(query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	const waiting = `SELECT count(*) FROM orders WHERE status = 'approved' AND id NOT IN (SELECT order_id FROM certificates)`
	// They are queued at start: within moments, not after River's leader
	// lease of the killed process runs out (15 s), nor the rescue of a job
	// it left running (90 s).
	deadline := time.Now().Add(10 * time.Second)
	for count(waiting) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d orders finalized before the crash are still not issued 10 s after the restart", count(waiting))
		}
		time.Sleep(100 * time.Millisecond)
	}
	var integrity string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check: %q, %v", integrity, err)
	}
	if n := count(`SELECT count(*) FROM pragma_foreign_key_check`); n != 0 {
		t.Errorf("%d rows break a foreign key", n)
	}
	if n := count(`SELECT count(*) FROM orders WHERE status = 'issued' AND id NOT IN (SELECT order_id FROM certificates)`); n != 0 {
		t.Errorf("%d issued orders have no certificate", n)
	}
	if n := count(`SELECT count(*) FROM certificates c JOIN orders o ON o.id = c.order_id WHERE o.status <> 'issued'`); n != 0 {
		t.Errorf("%d certificates belong to orders that are not issued", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for id := range issued {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM certificates WHERE order_id = ?`, id).Scan(&n); err != nil || n != 1 {
			t.Errorf("order %s, which a client was told is valid, has %d certificates in the database (%v)", id, n, err)
		}
	}
	for serial, sum := range received {
		var chain string
		if err := db.QueryRow(`SELECT chain_pem FROM certificates WHERE serial = ?`, serial).Scan(&chain); err != nil {
			t.Errorf("certificate %s, received by a client, is not in the database: %v", serial, err)
			continue
		}
		b, _ := pem.Decode([]byte(chain))
		if b == nil || sha256.Sum256(b.Bytes) != sum {
			t.Errorf("certificate %s in the database differs from the one the client received", serial)
		}
	}
	for serial := range signed {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM certificates WHERE serial = ?`, serial).Scan(&n); err != nil || n != 1 {
			t.Errorf("certificate %s, logged as signed, is not in the database (%v): the CA signed a certificate it does not know of", serial, err)
		}
	}
	t.Logf("%d certificates stored; %d orders said valid, %d certificates received by the clients and %d logged as signed, all present", count(`SELECT count(*) FROM certificates`), len(issued), len(received), len(signed))
}

// freeTCPAddr returns a free ip:port on a loopback address of its own.
func freeTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := testenv.ListenTCP(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// freeUDPTCPAddr returns an ip:port free for both UDP and TCP.
func freeUDPTCPAddr(t *testing.T) string {
	t.Helper()
	pc, ln, err := testenv.ListenUDPTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	defer ln.Close()
	return ln.Addr().String()
}
