package acme_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	xacme "golang.org/x/crypto/acme"

	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/ratelimit"
)

// The benchmarks below measure one ACME request through the real handler
// and the real stack (order, sqlite store, CA) with the network left out:
// each iteration is one ServeHTTP on a pre-signed request. The requests,
// their nonces and their signatures are made before the timer starts, so
// ns/op and allocs/op are the server's cost of one request: reading and
// verifying the JWS (ECDSA P-256 included), the store, and the answer.

// benchWorld is a world with an account and one issued certificate.
type benchWorld struct {
	*world
	key     *ecdsa.PrivateKey
	kid     string
	order   *xacme.Order
	certURL string
}

func newBenchWorld(b *testing.B) *benchWorld {
	b.Helper()
	// The default limit of new orders per account would stop
	// BenchmarkNewOrder after a few hundred iterations.
	w := setupWith(b, func(c *order.ACMEConfig) {
		c.Limits.NewOrdersPerAccount = ratelimit.Limit{Count: 1 << 30, Period: time.Hour}
	})
	c := w.client(b)
	ctx := context.Background()
	o, err := c.AuthorizeOrder(ctx, xacme.DomainIDs("bench.applicant.com"))
	if err != nil {
		b.Fatal(err)
	}
	w.solve(b, c, o, "dns-01")
	csr, _ := csrFor(b, "bench.applicant.com")
	_, certURL, err := c.CreateOrderCert(ctx, o.FinalizeURL, csr, true)
	if err != nil {
		b.Fatal(err)
	}
	return &benchWorld{world: w, key: c.Key.(*ecdsa.PrivateKey), kid: string(c.KID), order: o, certURL: certURL}
}

// freshNonce asks the handler for a nonce, as a client's HEAD newNonce.
func (w *benchWorld) freshNonce(b *testing.B) string {
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, w.srv.URL+"/acme/new-nonce", nil))
	n := rec.Header().Get("Replay-Nonce")
	if n == "" {
		b.Fatal("no nonce")
	}
	return n
}

// sign returns a flattened JWS of payload for url under the account key:
// ES256, kid, a fresh nonce.
func (w *benchWorld) sign(b *testing.B, url, payload string) string {
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": w.kid, "nonce": w.freshNonce(b), "url": url})
	input := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	d := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, w.key, d[:])
	if err != nil {
		b.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	protected, pl, _ := strings.Cut(input, ".")
	body, _ := json.Marshal(map[string]string{"protected": protected, "payload": pl, "signature": base64.RawURLEncoding.EncodeToString(sig)})
	return string(body)
}

// run signs b.N requests made by mk, then serves them, checking the status
// of each answer.
func (w *benchWorld) run(b *testing.B, status int, mk func(i int) (url, payload string)) {
	b.Helper()
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		url, payload := mk(i)
		r := httptest.NewRequest(http.MethodPost, url, strings.NewReader(w.sign(b, url, payload)))
		r.Header.Set("Content-Type", "application/jose+json")
		reqs[i] = r
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		rec := httptest.NewRecorder()
		w.handler.ServeHTTP(rec, reqs[i])
		if rec.Code != status {
			b.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
}

func BenchmarkPostAsGetAuthz(b *testing.B) {
	w := newBenchWorld(b)
	u := w.order.AuthzURLs[0]
	w.run(b, http.StatusOK, func(int) (string, string) { return u, "" })
}

func BenchmarkPostAsGetOrder(b *testing.B) {
	w := newBenchWorld(b)
	u := w.order.URI
	w.run(b, http.StatusOK, func(int) (string, string) { return u, "" })
}

// BenchmarkChallenge posts {} to an already valid challenge, as a client
// that accepts it does.
func BenchmarkChallenge(b *testing.B) {
	w := newBenchWorld(b)
	u := strings.Replace(w.order.AuthzURLs[0], "/acme/authz/", "/acme/chall/", 1) + "/dns-01"
	w.run(b, http.StatusOK, func(int) (string, string) { return u, "{}" })
}

func BenchmarkNewOrder(b *testing.B) {
	w := newBenchWorld(b)
	u := w.srv.URL + "/acme/new-order"
	w.run(b, http.StatusCreated, func(i int) (string, string) {
		return u, `{"identifiers":[{"type":"dns","value":"n` + strconv.Itoa(i) + `.applicant.com"}]}`
	})
}

func BenchmarkCertificate(b *testing.B) {
	w := newBenchWorld(b)
	u := w.certURL
	w.run(b, http.StatusOK, func(int) (string, string) { return u, "" })
}

// BenchmarkFinalizeProblem finalizes a valid order again: the answer is an
// orderNotReady problem document.
func BenchmarkFinalizeProblem(b *testing.B) {
	w := newBenchWorld(b)
	u := w.order.FinalizeURL
	csr, _ := csrFor(b, "bench.applicant.com")
	payload := `{"csr":"` + base64.RawURLEncoding.EncodeToString(csr) + `"}`
	w.run(b, http.StatusForbidden, func(int) (string, string) { return u, payload })
}

// BenchmarkVerifyES256 is the ECDSA P-256 verification alone, the floor
// under every request above.
func BenchmarkVerifyES256(b *testing.B) {
	w := newBenchWorld(b)
	d := sha256.Sum256([]byte("bench"))
	sig, err := w.key.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !ecdsa.VerifyASN1(&w.key.PublicKey, d[:], sig) {
			b.Fatal("no verify")
		}
	}
}
