package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
