package acme

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/store/sqlite"
)

// fuzzBase is the base URL of the fuzzed handler.
const fuzzBase = "http://acme.test"

// noObserver and noIssuer stand in for the validation and signing seams,
// which request parsing never reaches.
type (
	noObserver struct{ order.Observer }
	noIssuer   struct{ order.Issuer }
)

// fuzzPaths are the resources whose requests the fuzzer sends: one for each
// key mode of verify (jwk, kid, either) and the EAB path of newAccount.
var fuzzPaths = []string{"/acme/new-account", "/acme/new-order", "/acme/revoke-cert", "/acme/acct/acme_fuzzaccount"}

// FuzzJWSParse sends arbitrary bodies as JWS requests (RFC 8555 §6.2) to the
// ACME mux, without the panic recovery of ServeHTTP: parsing the flattened
// serialization, the protected header, the key, the signature and an
// External Account Binding must never panic, and a malformed request is a
// client error (4xx problem document), never serverInternal.
func FuzzJWSParse(f *testing.F) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "dcv.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	svc, err := order.New(order.Config{Store: st, Observer: noObserver{}, Issuer: noIssuer{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	a, err := order.NewACME(svc, order.ACMEConfig{AccountURL: func(id string) string { return AccountURL(fuzzBase, id) }})
	if err != nil {
		f.Fatal(err)
	}
	h, err := New(Config{ACME: a, BaseURL: fuzzBase, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}

	// Seeds: a well-formed newAccount (which creates the account that the
	// kid seeds name), one with an EAB, kid requests, and broken variants.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sign := func(url, payload string, jwk bool, kid string, alg jose.SignatureAlgorithm, k any) string {
		opts := &jose.SignerOptions{EmbedJWK: jwk}
		opts.WithHeader("nonce", h.nonces.issue()).WithHeader("url", fuzzBase+url)
		if kid != "" {
			opts.WithHeader("kid", kid)
		}
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, opts)
		if err != nil {
			f.Fatal(err)
		}
		j, err := s.Sign([]byte(payload))
		if err != nil {
			f.Fatal(err)
		}
		return j.FullSerialize()
	}
	reg := sign("/acme/new-account", `{"termsOfServiceAgreed":true}`, true, "", jose.ES256, key)
	rec := httptest.NewRecorder()
	h.mux.ServeHTTP(rec, fuzzRequest("/acme/new-account", reg))
	kid := rec.Header().Get("Location")
	if rec.Code != http.StatusCreated || kid == "" {
		f.Fatalf("seed account: %d %s", rec.Code, rec.Body)
	}
	jwk, _ := (&jose.JSONWebKey{Key: key.Public()}).MarshalJSON()
	eabSigner, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: make([]byte, 32)},
		(&jose.SignerOptions{}).WithHeader("kid", "eab_x").WithHeader("url", fuzzBase+"/acme/new-account"))
	eab, _ := eabSigner.Sign(jwk)
	seeds := []string{
		reg,
		sign("/acme/new-account", `{"externalAccountBinding":`+eab.FullSerialize()+`}`, true, "", jose.ES256, key),
		sign("/acme/new-account", `{"onlyReturnExisting":true}`, true, "", jose.ES256, key),
		sign("/acme/new-order", `{"identifiers":[{"type":"dns","value":"a.example.com"}]}`, false, kid, jose.ES256, key),
		sign("/acme/new-order", `{"identifiers":[]}`, false, kid, jose.HS256, make([]byte, 32)),
		sign("/acme/revoke-cert", `{"certificate":"AAAA","reason":1}`, true, "", jose.ES256, key),
		sign("/acme/acct/acme_fuzzaccount", ``, false, kid, jose.ES256, key),
		`{"protected":"` + base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"},"url":"`+fuzzBase+`/acme/new-account","nonce":"x"}`)) + `","payload":"","signature":""}`,
		`{"protected":"` + base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","jwk":{"kty":"RSA","n":"AQ","e":"AQAB"},"url":"`+fuzzBase+`/acme/new-account"}`)) + `","payload":"e30","signature":"AA"}`,
		`{"protected":"eyJhbGciOiJub25lIn0","payload":"e30","signature":""}`,
		`{"protected":"","payload":null,"signature":"","signatures":[{}]}`,
		`{"protected":"!!","payload":"e30","signature":"AA","header":{"kid":"x"}}`,
		`[]`, `null`, ``, `{`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, body []byte, pathIndex uint8) {
		path := fuzzPaths[int(pathIndex)%len(fuzzPaths)]
		rec := httptest.NewRecorder()
		h.mux.ServeHTTP(rec, fuzzRequest(path, string(body)))
		if rec.Code >= 500 {
			t.Fatalf("POST %s answered %d: %s", path, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("POST %s: %d without a problem document", path, rec.Code)
		}
	})
}

func fuzzRequest(path, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, fuzzBase+path, io.NopCloser(strings.NewReader(body)))
	r.Header.Set("Content-Type", "application/jose+json")
	return r
}
