package acme_test

import (
	"encoding/base64"
	"net/http"
	"slices"
	"testing"
)

// TestIndexLinkOnGETResources: RFC 8555 §7.1, "The "index" link relation is
// present on all resources other than the directory". The resources read
// with GET (newNonce, and renewalInfo of RFC 9773 §4) link it as the
// POST ones do, on success as on error.
func TestIndexLinkOnGETResources(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	leaf, _, _ := w.issue(t, c, "http-01", nil, "ri.applicant.com")
	certID := base64.RawURLEncoding.EncodeToString(leaf.AuthorityKeyId) + "." + base64.RawURLEncoding.EncodeToString(leaf.SerialNumber.Bytes())
	index := "<" + w.srv.URL + `/acme/directory>;rel="index"`
	tests := []struct {
		name, method, path string
		status             int
	}{
		{"newNonce HEAD", http.MethodHead, "/acme/new-nonce", http.StatusOK},
		{"newNonce GET", http.MethodGet, "/acme/new-nonce", http.StatusNoContent},
		{"renewalInfo", http.MethodGet, "/acme/renewal-info/" + certID, http.StatusOK},
		{"renewalInfo of no certificate", http.MethodGet, "/acme/renewal-info/x", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, w.srv.URL+tt.path, nil)
			resp, err := w.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status || !slices.Contains(resp.Header.Values("Link"), index) {
				t.Fatalf("%s %s: %d, Link %q; want %d with %s", tt.method, tt.path, resp.StatusCode, resp.Header.Values("Link"), tt.status, index)
			}
		})
	}
}
