package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestAPIErrorNotJSON: an error answer that is not the API's JSON (a proxy's
// page, the server's words for plain http sent to its HTTPS port) is shown
// by its first line of text, not by its status alone.
func TestAPIErrorNotJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"plain text", 400, "Client sent an HTTP request to an HTTPS server.\n", "server answered 400: Client sent an HTTP request to an HTTPS server."},
		{"first line only", 404, "this address serves /ca/ only\nsecond line\n", "server answered 404: this address serves /ca/ only"},
		{"terminal controls", 400, "bad\u009b31mred\n", "server answered 400"},
		{"bidirectional override", 400, "abc\u202ecba\n", "server answered 400"},
		{"html", 502, "<html><body>Bad Gateway</body></html>", "server answered 502"},
		{"json without an API error", 500, `{"x":1}`, "server answered 500"},
		{"empty", 503, "", "server answered 503"},
		{"API error", 404, `{"error":{"code":"ORDER_NOT_FOUND","message":"no such order"}}`, "ORDER_NOT_FOUND: no such order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, err := New(srv.URL, "key")
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Do(context.Background(), "GET", "/api/v1/orders", nil, "")
			var ae *APIError
			if !errors.As(err, &ae) || ae.Error() != tt.want {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}
