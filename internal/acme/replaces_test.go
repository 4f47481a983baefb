package acme_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestReplacesAfterInvalidOrder: RFC 9773 §5 refuses a "replaces" with
// alreadyReplaced only when the certificate is replaced by an order that is
// not "invalid". An order that became invalid (its authorization
// deactivated, or failed) must not keep the certificate from being
// replaced again.
func TestReplacesAfterInvalidOrder(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	ctx := context.Background()
	tests := []struct {
		name string
		// spoil acts on the first replacing order, whose authorizations
		// are authzs.
		spoil  func(t *testing.T, authzs []string)
		status int
		typ    string
	}{
		{"first replacement still live", func(*testing.T, []string) {}, http.StatusConflict, "urn:ietf:params:acme:error:alreadyReplaced"},
		{"first replacement invalid (authorization deactivated)", func(t *testing.T, authzs []string) {
			if err := c.RevokeAuthorization(ctx, authzs[0]); err != nil {
				t.Fatal(err)
			}
		}, http.StatusCreated, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := []string{"ra.applicant.com", "rb.applicant.com"}[i]
			leaf, _, _ := w.issue(t, c, "http-01", nil, name)
			certID := base64.RawURLEncoding.EncodeToString(leaf.AuthorityKeyId) + "." + base64.RawURLEncoding.EncodeToString(leaf.SerialNumber.Bytes())
			renew := `{"identifiers":[{"type":"dns","value":"` + name + `"}],"replaces":"` + certID + `"}`
			st, m := w.post(t, raw{alg: jose.ES256, key: c.Key, kid: string(c.KID), nonce: w.nonce(t), url: w.srv.URL + "/acme/new-order", payload: renew})
			if st != http.StatusCreated {
				t.Fatalf("first replacing order: %d %v", st, m)
			}
			var authzs []string
			for _, a := range m["authorizations"].([]any) {
				authzs = append(authzs, a.(string))
			}
			tt.spoil(t, authzs)
			st, m = w.post(t, raw{alg: jose.ES256, key: c.Key, kid: string(c.KID), nonce: w.nonce(t), url: w.srv.URL + "/acme/new-order", payload: renew})
			if st != tt.status || (tt.typ != "" && m["type"] != tt.typ) {
				t.Fatalf("second replacing order: %d %v; want %d %s", st, m, tt.status, tt.typ)
			}
		})
	}
}

// TestReplacesRefused: a "replaces" naming a certificate this CA did not
// issue is malformed (400, naming it), not a 404 that says the newOrder
// URL is not found; an empty "replaces" is malformed, not taken as absent.
func TestReplacesRefused(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	leaf, _, _ := w.issue(t, c, "http-01", nil, "rc.applicant.com")
	unknown := base64.RawURLEncoding.EncodeToString(leaf.AuthorityKeyId) + "." + base64.RawURLEncoding.EncodeToString([]byte{0x01, 0x02, 0x03})
	tests := []struct {
		name     string
		replaces string
		detail   string
	}{
		{"unknown certificate", `"` + unknown + `"`, `"replaces" names the certificate ` + unknown + `, which this certificate authority did not issue`},
		{"empty", `""`, `"replaces" is empty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			payload := `{"identifiers":[{"type":"dns","value":"rc.applicant.com"}],"replaces":` + tt.replaces + `}`
			st, m := w.post(t, raw{alg: jose.ES256, key: c.Key, kid: string(c.KID), nonce: w.nonce(t), url: w.srv.URL + "/acme/new-order", payload: payload})
			if st != http.StatusBadRequest || m["type"] != "urn:ietf:params:acme:error:malformed" || !strings.Contains(fmt.Sprint(m["detail"]), tt.detail) {
				t.Fatalf("got %d %v; want 400 malformed saying %q", st, m, tt.detail)
			}
		})
	}
}
