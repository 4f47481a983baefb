package acme_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestPostAsGetDirectoryAndNonce: RFC 8555 §6.3, "The server MUST allow GET
// requests for the directory and newNonce resources ..., in addition to
// POST-as-GET requests for these resources." A POST-as-GET is
// authenticated like any other, and its answer is the GET's.
func TestPostAsGetDirectoryAndNonce(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	tests := []struct {
		name, path string
		payload    *string // nil: POST-as-GET ("payload": "")
		jwk        bool
		status     int
		typ        string // problem type, or "" for a success
	}{
		{"directory", "/acme/directory", nil, false, http.StatusOK, ""},
		{"newNonce", "/acme/new-nonce", nil, false, http.StatusNoContent, ""},
		{"directory with a payload", "/acme/directory", ptr(`{}`), false, http.StatusBadRequest, "malformed"},
		{"newNonce with a payload", "/acme/new-nonce", ptr(`{}`), false, http.StatusBadRequest, "malformed"},
		{"directory signed with a jwk", "/acme/directory", nil, true, http.StatusBadRequest, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := w.srv.URL + tt.path
			opts := &jose.SignerOptions{EmbedJWK: tt.jwk}
			opts.WithHeader("nonce", w.nonce(t)).WithHeader("url", url)
			if !tt.jwk {
				opts.WithHeader("kid", string(c.KID))
			}
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: c.Key}, opts)
			if err != nil {
				t.Fatal(err)
			}
			payload := ""
			if tt.payload != nil {
				payload = *tt.payload
			}
			jws, err := s.Sign([]byte(payload))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			_ = json.Unmarshal([]byte(jws.FullSerialize()), &m)
			if tt.payload == nil {
				m["payload"] = "" // go-jose omits an empty payload
			}
			b, _ := json.Marshal(m)
			req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(b)))
			req.Header.Set("Content-Type", "application/jose+json")
			resp, err := w.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("Replay-Nonce") == "" {
				t.Fatalf("POST %s: %d (Replay-Nonce %q) %s; want %d with a nonce", tt.path, resp.StatusCode, resp.Header.Get("Replay-Nonce"), body, tt.status)
			}
			var got map[string]any
			_ = json.Unmarshal(body, &got)
			switch {
			case tt.typ != "":
				if got["type"] != "urn:ietf:params:acme:error:"+tt.typ {
					t.Fatalf("POST %s: %s; want a %s problem", tt.path, body, tt.typ)
				}
			case tt.path == "/acme/directory":
				if got["newNonce"] != w.srv.URL+"/acme/new-nonce" {
					t.Fatalf("directory by POST-as-GET: %s", body)
				}
			case resp.Header.Get("Cache-Control") != "no-store":
				t.Fatalf("newNonce by POST-as-GET: Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
		})
	}
}

func ptr(s string) *string { return &s }
