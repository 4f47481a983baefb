package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/api"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/ratelimit"
)

// preflightFrom sends a pre-flight check (bad input: the limits are spent
// before the body is read) with key from remoteAddr, and returns the
// answer's status and body.
func preflightFrom(t *testing.T, h http.Handler, key, remoteAddr string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/v1/checks", strings.NewReader(`{}`))
	r.RemoteAddr = remoteAddr
	r.Header.Set("Authorization", "Bearer "+key)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

func preflightKeys(t *testing.T, n int) (http.Handler, []string) {
	t.Helper()
	return preflightKeysWith(t, n, api.Config{})
}

// preflightKeysWith is preflightKeys with the limits of cfg.
func preflightKeysWith(t *testing.T, n int, cfg api.Config) (http.Handler, []string) {
	t.Helper()
	ctx := context.Background()
	w := ordertest.New(t, ordertest.Options{})
	cfg.Orders, cfg.CA, cfg.Version = w.Service, w.CA, "test"
	h := api.New(cfg)
	keys := make([]string, n)
	for i := range keys {
		av, err := w.Service.CreateAccount(ctx, nil, fmt.Sprintf("acct%d", i), false)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = av.APIKey
	}
	return h, keys
}

// An IPv6 host picks any address of its /64: the per-client limit counts
// the /64, or one host behind many keys is not limited at all.
func TestPreflightPerClientCountsIPv6Prefix(t *testing.T) {
	t.Parallel()
	h, keys := preflightKeys(t, 3)
	for i := range 60 {
		addr := fmt.Sprintf("[2001:db8:1:2::%x]:1234", i+1)
		if code, body := preflightFrom(t, h, keys[i%3], addr); code != http.StatusBadRequest {
			t.Fatalf("request %d: %d %s, want 400", i+1, code, body)
		}
	}
	code, body := preflightFrom(t, h, keys[0], "[2001:db8:1:2:aaaa::1]:1234")
	if code != http.StatusTooManyRequests || !strings.Contains(body, "per client address") {
		t.Fatalf("61st request from the same /64: %d %s, want 429 per client address", code, body)
	}
	// Another /64 is another client.
	if code, body := preflightFrom(t, h, keys[1], "[2001:db8:1:3::1]:1234"); code != http.StatusBadRequest {
		t.Fatalf("request from another /64: %d %s, want 400", code, body)
	}
}

// A request the per-client limit refuses spends nothing of the key's own
// allowance: keys sharing a busy address (a NAT) keep theirs for another.
func TestPreflightRefusalSpendsNothing(t *testing.T) {
	t.Parallel()
	h, keys := preflightKeys(t, 3)
	const busy, other = "192.0.2.1:1000", "192.0.2.2:1000"
	for i := range 60 {
		if code, body := preflightFrom(t, h, keys[i%2], busy); code != http.StatusBadRequest {
			t.Fatalf("request %d: %d %s, want 400", i+1, code, body)
		}
	}
	for i := range 30 {
		if code, body := preflightFrom(t, h, keys[2], busy); code != http.StatusTooManyRequests || !strings.Contains(body, "per client address") {
			t.Fatalf("refused request %d: %d %s, want 429 per client address", i+1, code, body)
		}
	}
	if code, body := preflightFrom(t, h, keys[2], other); code != http.StatusBadRequest {
		t.Fatalf("the key's first request that is not refused: %d %s, want 400 (its allowance untouched)", code, body)
	}
}

// TestPreflightLimitsConfigured: the operator's limits replace the
// defaults, and a refusal says the limit and when to retry in good words.
func TestPreflightLimitsConfigured(t *testing.T) {
	t.Parallel()
	h, keys := preflightKeysWith(t, 1, api.Config{
		PreflightPerKey:    ratelimit.Limit{Count: 2, Period: time.Hour},
		PreflightPerClient: ratelimit.Limit{Count: 100, Period: time.Minute},
	})
	for i := range 2 {
		if code, body := preflightFrom(t, h, keys[0], "192.0.2.1:1234"); code != http.StatusBadRequest {
			t.Fatalf("request %d: %d %s, want 400", i+1, code, body)
		}
	}
	code, body := preflightFrom(t, h, keys[0], "192.0.2.1:1234")
	if code != http.StatusTooManyRequests || !strings.Contains(body, "too many pre-flight checks per API key: at most 2 per hour; retry in 1800 seconds") {
		t.Fatalf("third request: %d %s, want 429 naming 2 per hour", code, body)
	}
}
