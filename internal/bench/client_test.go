package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// scriptedAnswer is one answer of scriptedACME to a POST.
type scriptedAnswer struct {
	status int
	nonce  string // Replay-Nonce, if any
	body   string
}

// scriptedACME answers POSTs from a script and records the nonce of each
// JWS; HEAD /nonce hands out "fresh1", "fresh2", ...
type scriptedACME struct {
	mu      sync.Mutex
	script  []scriptedAnswer
	nonces  []string // nonce of each POST, in order
	fetched int      // newNonce requests
}

func (s *scriptedACME) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path == "/nonce" {
		s.fetched++
		w.Header().Set("Replay-Nonce", fmt.Sprintf("fresh%d", s.fetched))
		return
	}
	body, _ := io.ReadAll(r.Body)
	jws, err := jose.ParseSignedJSON(string(body), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.nonces = append(s.nonces, jws.Signatures[0].Protected.Nonce)
	if len(s.script) == 0 {
		http.Error(w, "script exhausted", http.StatusInternalServerError)
		return
	}
	a := s.script[0]
	s.script = s.script[1:]
	if a.nonce != "" {
		w.Header().Set("Replay-Nonce", a.nonce)
	}
	if a.status >= 400 {
		w.Header().Set("Content-Type", "application/problem+json")
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func badNonceBody() string {
	return `{"type":"urn:ietf:params:acme:error:badNonce","detail":"stale","status":400}`
}

// TestACMEClientNonces checks RFC 8555 §6.5 on the client side: each
// answer's Replay-Nonce is used for the next request, newNonce only when
// there is none, and one retry on badNonce.
func TestACMEClientNonces(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// script answers the POSTs of posts calls, in order.
		script      []scriptedAnswer
		posts       int
		wantNonces  []string // sent, in order
		wantFetched int
		wantErr     string // of the last post
	}{
		{
			name:       "each answer's nonce is used for the next request",
			script:     []scriptedAnswer{{200, "n1", "{}"}, {200, "n2", "{}"}, {200, "n3", "{}"}},
			posts:      3,
			wantNonces: []string{"fresh1", "n1", "n2"}, wantFetched: 1,
		},
		{
			name:       "badNonce is retried once with the nonce it carried",
			script:     []scriptedAnswer{{400, "n1", badNonceBody()}, {200, "n2", "{}"}},
			posts:      1,
			wantNonces: []string{"fresh1", "n1"}, wantFetched: 1,
		},
		{
			name:       "badNonce without a nonce: a fresh one is fetched",
			script:     []scriptedAnswer{{400, "", badNonceBody()}, {200, "n2", "{}"}},
			posts:      1,
			wantNonces: []string{"fresh1", "fresh2"}, wantFetched: 2,
		},
		{
			name:       "badNonce twice fails",
			script:     []scriptedAnswer{{400, "n1", badNonceBody()}, {400, "n2", badNonceBody()}},
			posts:      1,
			wantNonces: []string{"fresh1", "n1"}, wantFetched: 1,
			wantErr: "urn:ietf:params:acme:error:badNonce: stale",
		},
		{
			name:       "an invalid Replay-Nonce is not used",
			script:     []scriptedAnswer{{200, "bad nonce!", "{}"}, {200, "n2", "{}"}},
			posts:      2,
			wantNonces: []string{"fresh1", "fresh2"}, wantFetched: 2,
		},
		{
			name:       "other problems are not retried",
			script:     []scriptedAnswer{{403, "n1", `{"type":"urn:ietf:params:acme:error:unauthorized","detail":"no"}`}},
			posts:      1,
			wantNonces: []string{"fresh1"}, wantFetched: 1,
			wantErr: "acme: HTTP 403 urn:ietf:params:acme:error:unauthorized: no",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := &scriptedACME{script: slices.Clone(tt.script)}
			ts := newWireTestServer(t, srv.ServeHTTP)
			c := newScriptedClient(t, ts.URL)
			var err error
			for range tt.posts {
				_, err = c.post(context.Background(), ts.URL+"/x", []byte("{}"), "", maxObjectSize, true)
				if tt.wantErr == "" && err != nil {
					t.Fatal(err)
				}
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("post: %v, want an error with %q", err, tt.wantErr)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if !slices.Equal(srv.nonces, tt.wantNonces) || srv.fetched != tt.wantFetched {
				t.Fatalf("nonces sent %q, fetched %d; want %q, %d", srv.nonces, srv.fetched, tt.wantNonces, tt.wantFetched)
			}
		})
	}
}

func newScriptedClient(t *testing.T, base string) *acmeClient {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	w := newWireClient(nil, 5*time.Second)
	t.Cleanup(w.close)
	c, err := newACMEClient(w, &directory{NewNonce: base + "/nonce", NewAccount: base + "/acct", NewOrder: base + "/order"}, key)
	if err != nil {
		t.Fatal(err)
	}
	c.signer.setKID(base + "/acct/1")
	return c
}

func TestParseProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		body     string
		want     problem
		wantName string
	}{
		{name: "problem document", status: 400, body: `{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"no","status":400}`,
			want: problem{Status: 400, Type: problemPrefix + "rejectedIdentifier", Detail: "no"}, wantName: "problem rejectedIdentifier"},
		{name: "not ACME's namespace", status: 403, body: `{"type":"about:blank"}`,
			want: problem{Status: 403, Type: "about:blank"}, wantName: "problem about:blank"},
		{name: "proxy error page", status: 502, body: "<html>bad gateway</html>", want: problem{Status: 502}, wantName: "HTTP 502"},
		{name: "empty", status: 500, want: problem{Status: 500}, wantName: "HTTP 500"},
		{name: "wrong types", status: 400, body: `{"type":1}`, want: problem{Status: 400}, wantName: "HTTP 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := parseProblem(tt.status, []byte(tt.body))
			if *p != tt.want || p.name() != tt.wantName {
				t.Fatalf("parseProblem = %+v (%s), want %+v (%s)", *p, p.name(), tt.want, tt.wantName)
			}
			var target *problem
			if !errors.As(fmt.Errorf("wrapped: %w", p), &target) {
				t.Fatal("a problem is not found by errors.As")
			}
		})
	}
}
