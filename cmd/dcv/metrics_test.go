package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeMetrics: dcv serve --metrics-listen serves Prometheus metrics,
// among them the requests it answered, by route class and status.
func TestServeMetrics(t *testing.T) {
	t.Parallel()
	listen, metricsAddr := freeTCPAddr(t), freeTCPAddr(t)
	cmd, out := startServe(t, listen, []string{"serve", "--data", filepath.Join(t.TempDir(), "data"), "--listen", listen,
		"--resolver", freeUDPTCPAddr(t), "--caa-identity", "ca.example.net", "--metrics-listen", metricsAddr})
	c := &http.Client{Timeout: 5 * time.Second}
	for range 3 {
		resp, err := c.Get("http://" + listen + "/api/v1/health")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := c.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("scraping: %v", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	for _, want := range []string{`dcv_http_requests_total{class="api",code="200"}`, "process_cpu_seconds_total", `dcv_http_request_duration_seconds_count{class="api"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	_ = out
}
