package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/api"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/store"
)

// stalledStore is a store whose database never answers a Ping.
type stalledStore struct{ store.Store }

func (stalledStore) Ping(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestHealthPingsDatabase: /api/v1/health answers 200 ok only when the
// database answers a read; a closed database, or one that does not answer
// within 2 s, is 503 unavailable with the reason, as openapi.json
// documents it (operator run).
func TestHealthPingsDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		service func(w *ordertest.Stack) *order.Service // the service the API serves, its store broken or not
		status  int
		body    string // status member
		reason  string
	}{
		{"database answers", func(w *ordertest.Stack) *order.Service { return w.Service }, http.StatusOK, "ok", ""},
		{"database closed", func(w *ordertest.Stack) *order.Service {
			w.Store.Close()
			return w.Service
		}, http.StatusServiceUnavailable, "unavailable", "the database cannot be read"},
		{"database stalled", func(w *ordertest.Stack) *order.Service {
			svc, err := order.New(order.Config{Store: stalledStore{w.Store}, Observer: w.Runner, Issuer: w.Issuer})
			if err != nil {
				panic(err)
			}
			return svc
		}, http.StatusServiceUnavailable, "unavailable", "the database did not answer a read within 2s"},
	}
	var doc map[string]any
	if err := json.Unmarshal(api.OpenAPIForTest, &doc); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := ordertest.New(t, ordertest.Options{})
			srv := httptest.NewServer(api.New(api.Config{Orders: tt.service(w), CA: w.CA, Logger: slog.New(slog.DiscardHandler), Version: "test"}))
			t.Cleanup(srv.Close)
			start := time.Now()
			resp, err := srv.Client().Get(srv.URL + "/api/v1/health")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the health check took %v", took)
			}
			var h map[string]string
			if resp.StatusCode != tt.status || json.Unmarshal(b, &h) != nil || h["status"] != tt.body || h["reason"] != tt.reason {
				t.Fatalf("health: %d %s; want %d status %q reason %q", resp.StatusCode, b, tt.status, tt.body, tt.reason)
			}
			var v any
			_ = json.Unmarshal(b, &v)
			schema := resolve(doc, lookup(doc, "paths", "/api/v1/health", "get", "responses", strings.Fields(resp.Status)[0], "content", "application/json", "schema", "$ref").(string))
			for _, e := range conform(doc, schema, v, "$") {
				t.Errorf("%s (answer %s)", e, b)
			}
		})
	}
}
