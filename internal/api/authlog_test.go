package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/api"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/testenv"
)

// TestAuthFailureLogged: a request whose API key no account has is logged
// at INFO with the first 8 hex digits of the key's SHA-256 and never the
// key; a valid key, and a request with none, log nothing (operator run).
func TestAuthFailureLogged(t *testing.T) {
	t.Parallel()
	w := ordertest.New(t, ordertest.Options{})
	admin, err := w.Service.EnsureAdmin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const wrong = "dcv-not-a-key-0123456789abcdefghijklmnopqrstuvwxyz"
	sum := sha256.Sum256([]byte(wrong))
	tests := []struct {
		name   string
		key    string
		status int
		want   []string // in the INFO line; nil: nothing logged
	}{
		{"unknown key", wrong, http.StatusUnauthorized, []string{"level=INFO", "API key authentication failed", "key_sha256_prefix=" + hex.EncodeToString(sum[:])[:8] + " ", "method=GET", "path=/api/v1/account", "client=127."}},
		{"valid key", admin.APIKey, http.StatusOK, nil},
		{"no key", "", http.StatusUnauthorized, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs testenv.SyncBuffer
			srv := httptest.NewServer(api.New(api.Config{Orders: w.Service, CA: w.CA, Logger: slog.New(slog.NewTextHandler(&logs, nil))}))
			t.Cleanup(srv.Close)
			req, _ := http.NewRequest("GET", srv.URL+"/api/v1/account", nil)
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			got := logs.String()
			if tt.want == nil {
				if got != "" {
					t.Errorf("logged %q, want nothing", got)
				}
				return
			}
			for _, want := range tt.want {
				if !strings.Contains(got, want) {
					t.Errorf("log %q lacks %q", got, want)
				}
			}
			if strings.Contains(got, tt.key) || strings.Contains(got, tt.key[:12]) {
				t.Errorf("log %q holds the key", got)
			}
		})
	}
}
