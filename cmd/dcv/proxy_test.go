package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveRequest sends a request to a dcv serve at listen with the admin key
// of its data directory and the headers given, and returns the status.
func serveRequest(t *testing.T, method, url, key string, header map[string]string, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// adminKey reads the admin key dcv serve wrote in data.
func adminKey(t *testing.T, data string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestServeTrustedProxies: behind a proxy in --trusted-proxies, the
// per-client limit of pre-flight checks counts each client its
// X-Forwarded-For names; a peer that is not a trusted proxy is counted by
// its own address, whatever header it sends (operator run).
func TestServeTrustedProxies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		trusted string
		want    []int // the statuses of requests forwarded for two clients
	}{
		{"trusted proxy", "127.0.0.0/8,::1", []int{http.StatusBadRequest, http.StatusBadRequest}},
		{"untrusted peer", "192.0.2.0/24", []int{http.StatusBadRequest, http.StatusTooManyRequests}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			listen := freeTCPAddr(t)
			startServe(t, listen, []string{"serve", "--data", data, "--listen", listen, "--resolver", freeUDPTCPAddr(t),
				"--trusted-proxies", tt.trusted, "--preflight-limit-per-client", "1/1m"})
			key := adminKey(t, data)
			for i, from := range []string{"198.51.100.1", "198.51.100.2"} {
				// An empty object is refused (400) once the limits let
				// the request through: nothing is looked up.
				got := serveRequest(t, "POST", "http://"+listen+"/api/v1/checks", key, map[string]string{"X-Forwarded-For": from}, `{}`)
				if got != tt.want[i] {
					t.Errorf("check forwarded for %s: status %d, want %d", from, got, tt.want[i])
				}
			}
		})
	}
}

// TestServeRequestLogs: at --log-level debug every request is logged with
// its method, its path without the query string, its status, its duration
// and its client (behind a trusted proxy, the one forwarded for), never a
// header, a query or a key; a request with an API key no account has is
// logged at INFO with a short prefix of the key's hash, never the key. At
// the default level, requests are not logged (operator run).
func TestServeRequestLogs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level     string
		accessLog bool
	}{
		{"debug", true},
		{"info", false},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			listen := freeTCPAddr(t)
			cmd, out := startServe(t, listen, []string{"serve", "--data", data, "--listen", listen, "--resolver", freeUDPTCPAddr(t),
				"--log-level", tt.level, "--trusted-proxies", "127.0.0.0/8,::1"})
			key := adminKey(t, data)
			const wrongKey = "wrong-key-0123456789abcdefghijklmnopqrstuvwxyz0123456789"
			xff := map[string]string{"X-Forwarded-For": "198.51.100.9"}
			if got := serveRequest(t, "GET", "http://"+listen+"/api/v1/orders?limit=5&note=query-secret", key, xff, ""); got != http.StatusOK {
				t.Fatalf("list orders: status %d", got)
			}
			if got := serveRequest(t, "GET", "http://"+listen+"/api/v1/account", wrongKey, xff, ""); got != http.StatusUnauthorized {
				t.Fatalf("wrong key: status %d", got)
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("dcv serve: %v\n%s", err, out)
			}
			// The log's lines (the first start also prints the admin key,
			// once, on purpose).
			var logs string
			var access []string
			for line := range strings.Lines(out.String()) {
				if strings.HasPrefix(line, "time=") {
					logs += line
				}
				if strings.Contains(line, `msg="http request"`) {
					access = append(access, line)
				}
			}
			if !tt.accessLog {
				if len(access) != 0 {
					t.Errorf("requests logged at --log-level %s:\n%s", tt.level, strings.Join(access, ""))
				}
			} else {
				want := []string{"level=DEBUG", "method=GET", "path=/api/v1/orders ", "status=200", "duration=", "client=198.51.100.9"}
				found := false
				for _, line := range access {
					if strings.Contains(line, "path=/api/v1/orders ") {
						found = true
						for _, w := range want {
							if !strings.Contains(line, w) {
								t.Errorf("access log line %q lacks %q", line, w)
							}
						}
					}
				}
				if !found || !strings.Contains(logs, "path=/api/v1/account status=401") {
					t.Errorf("requests not logged at debug:\n%s", logs)
				}
			}
			if !strings.Contains(logs, "level=INFO msg=\"API key authentication failed") || !strings.Contains(logs, "key_sha256_prefix=") {
				t.Errorf("failed authentication not logged at INFO:\n%s", logs)
			}
			for _, never := range []string{key, wrongKey, wrongKey[:12], "query-secret", "Bearer"} {
				if strings.Contains(logs, never) {
					t.Errorf("the log holds %q:\n%s", never, logs)
				}
			}
		})
	}
}
