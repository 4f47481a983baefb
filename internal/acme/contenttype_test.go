package acme_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestContentType: RFC 8555 §6.2 wants application/jose+json, refused
// otherwise with 415. A media type compares case-insensitively and may
// carry parameters (RFC 9110 §8.3.1), so a client adding a charset, or
// writing the type in capitals, sends the same type.
func TestContentType(t *testing.T) {
	t.Parallel()
	w := setup(t)
	tests := []struct {
		ct     string
		status int
	}{
		{"application/jose+json", http.StatusBadRequest},
		{"application/jose+json; charset=utf-8", http.StatusBadRequest},
		{"Application/JOSE+JSON", http.StatusBadRequest},
		{"application/json", http.StatusUnsupportedMediaType},
		{"application/jose", http.StatusUnsupportedMediaType},
		{"", http.StatusUnsupportedMediaType},
		{"application/jose+jsonx", http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.ct, func(t *testing.T) {
			// A body that is no JWS: past the media type it is malformed
			// (400), before it 415.
			req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/acme/new-order", strings.NewReader("{}"))
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			resp, err := w.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("Content-Type %q: %d, want %d", tt.ct, resp.StatusCode, tt.status)
			}
		})
	}
}
