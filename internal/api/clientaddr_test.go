package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/api"
	"github.com/dcvhq/dcv/internal/clientaddr"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/ratelimit"
)

// TestPreflightPerClientBehindProxy: behind a trusted reverse proxy the
// per-client limit of pre-flight checks counts each forwarded client
// (X-Forwarded-For), not the proxy's address; a peer that is not a
// trusted proxy is counted by its own address whatever header it sends.
func TestPreflightPerClientBehindProxy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		trusted string
		// want is the status of each request, from the forwarded
		// addresses in order.
		from []string
		want []int
	}{
		// 2 a minute per client: two users behind the proxy get theirs
		// each, the third request of one is refused.
		{"trusted proxy", "127.0.0.0/8,::1", []string{"198.51.100.1", "198.51.100.1", "198.51.100.2", "198.51.100.2", "198.51.100.1"},
			[]int{400, 400, 400, 400, 429}},
		// A client that is no trusted proxy cannot spoof its address.
		{"untrusted peer", "192.0.2.0/24", []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"},
			[]int{400, 400, 429}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := ordertest.New(t, ordertest.Options{})
			admin, err := w.Service.EnsureAdmin(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			prefixes, err := clientaddr.ParsePrefixes(tt.trusted)
			if err != nil {
				t.Fatal(err)
			}
			h := api.New(api.Config{Orders: w.Service, CA: w.CA,
				PreflightPerClient: ratelimit.Limit{Count: 2, Period: time.Minute}})
			srv := httptest.NewServer(clientaddr.New(prefixes).Handler(h))
			t.Cleanup(srv.Close)
			for i, from := range tt.from {
				// An empty body is refused (400) once the limits let the
				// request through: no check is run.
				req, _ := http.NewRequest("POST", srv.URL+"/api/v1/checks", strings.NewReader(`{}`))
				req.Header.Set("Authorization", "Bearer "+admin.APIKey)
				req.Header.Set("X-Forwarded-For", from)
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.want[i] {
					t.Errorf("request %d from %s: status %d, want %d", i+1, from, resp.StatusCode, tt.want[i])
				}
			}
		})
	}
}
