package acme_test

import (
	"cmp"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestContentType: RFC 8555 §6.2 wants application/jose+json, refused
// otherwise with 415. A media type compares case-insensitively and may
// carry parameters (RFC 9110 §8.3.1), so a client adding a charset, or
// writing the type in capitals, sends the same type. A content-encoded
// body is 415 too, and one too large 413.
func TestContentType(t *testing.T) {
	t.Parallel()
	w := setup(t)
	tests := []struct {
		ct       string
		encoding string // Content-Encoding
		body     string // if empty, "{}"
		status   int
	}{
		{ct: "application/jose+json", status: http.StatusBadRequest},
		{ct: "application/jose+json; charset=utf-8", status: http.StatusBadRequest},
		{ct: "Application/JOSE+JSON", status: http.StatusBadRequest},
		{ct: "application/json", status: http.StatusUnsupportedMediaType},
		{ct: "application/jose", status: http.StatusUnsupportedMediaType},
		{ct: "", status: http.StatusUnsupportedMediaType},
		{ct: "application/jose+jsonx", status: http.StatusUnsupportedMediaType},
		// dcv decodes no content coding (RFC 9110 §8.4): 415, not a
		// gzip body read as a malformed JWS.
		{ct: "application/jose+json", encoding: "gzip", status: http.StatusUnsupportedMediaType},
		{ct: "application/jose+json", encoding: "identity", status: http.StatusBadRequest},
		// Too large: 413 (RFC 9110 §15.5.14).
		{ct: "application/jose+json", body: strings.Repeat(" ", 300<<10), status: http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.ct+" "+tt.encoding+" "+fmt.Sprint(len(tt.body)), func(t *testing.T) {
			// A body that is no JWS: past the media type it is malformed
			// (400), before it 415.
			req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/acme/new-order", strings.NewReader(cmp.Or(tt.body, "{}")))
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
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
