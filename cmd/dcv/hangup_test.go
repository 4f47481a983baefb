package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeSurvivesHangup: SIGHUP, which would end dcv serve without its
// graceful shutdown, is logged and ignored; the server keeps serving and
// stops on SIGTERM. A server left on the default CAA identity warns that
// every domain publishing CAA records fails (operator run).
func TestServeSurvivesHangup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	listen := freeTCPAddr(t)
	cmd, out := startServe(t, listen, []string{"serve", "--data", filepath.Join(dir, "data"), "--listen", listen, "--resolver", freeUDPTCPAddr(t)})
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// Unhandled, the signal ends the process at once: a moment later it
	// would no longer answer.
	time.Sleep(300 * time.Millisecond)
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + listen + "/api/v1/health")
	if err != nil {
		t.Fatalf("dcv serve after SIGHUP: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("dcv serve after SIGHUP: %s", resp.Status)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("dcv serve after SIGTERM: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "SIGHUP ignored") {
		t.Errorf("SIGHUP not logged:\n%s", out)
	}
	if !strings.Contains(out.String(), "--caa-identity is the default dcv.invalid: every domain that publishes CAA records fails validation") {
		t.Errorf("no warning on the default CAA identity:\n%s", out)
	}
}
