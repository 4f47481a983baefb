package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func newTestSigner(t *testing.T) *jwsSigner {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newJWSSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestJWSSign checks the JWS of RFC 8555 §6.2 with go-jose: flattened
// JSON, ES256, the nonce and url in the protected header, jwk or kid, and
// a signature that verifies with the account key.
func TestJWSSign(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t)
	const kid = "https://ca.test/acme/acct/17"
	s.setKID(kid)
	tests := []struct {
		name    string
		url     string
		payload []byte
		useKID  bool
	}{
		{name: "newAccount, jwk form", url: "https://ca.test/acme/new-acct", payload: []byte(`{"termsOfServiceAgreed":true}`)},
		{name: "newOrder, kid form", url: "https://ca.test/acme/new-order", payload: []byte(`{"identifiers":[{"type":"dns","value":"a.test"}]}`), useKID: true},
		{name: "POST-as-GET: empty payload", url: "https://ca.test/acme/authz/1", useKID: true},
		{name: "url that JSON must escape", url: `https://ca.test/a"b\c`, payload: []byte("{}"), useKID: true},
		{name: "large payload", url: "http://127.0.0.1:8080/finalize/1", payload: []byte(`{"csr":"` + strings.Repeat("A", 5000) + `"}`), useKID: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const nonce = "nonce-Abc_123"
			raw, err := s.sign(tt.url, nonce, tt.payload, tt.useKID)
			if err != nil {
				t.Fatal(err)
			}
			var members map[string]json.RawMessage
			if err := json.Unmarshal(raw, &members); err != nil || len(members) != 3 {
				t.Fatalf("not a flattened JWS of three members: %v %s", err, raw)
			}
			jws, err := jose.ParseSignedJSON(string(raw), []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatalf("go-jose: %v", err)
			}
			h := jws.Signatures[0].Protected
			if h.Algorithm != "ES256" || h.Nonce != nonce || h.ExtraHeaders["url"] != tt.url {
				t.Errorf("header alg %q nonce %q url %v", h.Algorithm, h.Nonce, h.ExtraHeaders["url"])
			}
			if tt.useKID {
				if h.KeyID != kid || h.JSONWebKey != nil {
					t.Errorf("kid %q, jwk %v; want kid only", h.KeyID, h.JSONWebKey)
				}
			} else if h.KeyID != "" || h.JSONWebKey == nil || !h.JSONWebKey.Valid() {
				t.Errorf("kid %q, jwk %v; want jwk only", h.KeyID, h.JSONWebKey)
			}
			got, err := jws.Verify(&s.key.PublicKey)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if string(got) != string(tt.payload) {
				t.Errorf("payload %q, want %q", got, tt.payload)
			}
			other := newTestSigner(t)
			if _, err := jws.Verify(&other.key.PublicKey); err == nil {
				t.Error("the JWS verifies with another key")
			}
		})
	}
}

func TestJWSNoKIDYet(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t)
	if _, err := s.sign("https://ca.test/x", "n", nil, true); err == nil || !strings.Contains(err.Error(), "no account URL") {
		t.Fatalf("sign in kid form before setKID: %v", err)
	}
}

// TestJWSThumbprint checks RFC 7638's thumbprint and RFC 8555 §8.1's key
// authorization against go-jose.
func TestJWSThumbprint(t *testing.T) {
	t.Parallel()
	s := newTestSigner(t)
	jwk := jose.JSONWebKey{Key: &s.key.PublicKey}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	want := "tok." + b64.EncodeToString(tp)
	if got := s.keyAuthorization("tok"); got != want {
		t.Fatalf("keyAuthorization = %q, want %q", got, want)
	}
	sum := sha256.Sum256([]byte(want))
	if got := dns01Value(want); got != b64.EncodeToString(sum[:]) {
		t.Fatalf("dns01Value = %q", got)
	}
}

func TestDERSigToRS(t *testing.T) {
	t.Parallel()
	der := func(r, s *big.Int) []byte {
		b, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	high := new(big.Int).Lsh(big.NewInt(1), 255) // 32 octets, high bit set: DER adds a 0x00
	tests := []struct {
		name    string
		der     []byte
		wantR   *big.Int
		wantS   *big.Int
		wantErr string
	}{
		{name: "small values", der: der(big.NewInt(1), big.NewInt(258)), wantR: big.NewInt(1), wantS: big.NewInt(258)},
		{name: "high bit set", der: der(high, high), wantR: high, wantS: high},
		{name: "not a sequence", der: []byte{0x31, 0}, wantErr: "SEQUENCE"},
		{name: "wrong length", der: append(der(big.NewInt(1), big.NewInt(2)), 0), wantErr: "SEQUENCE"},
		{name: "negative", der: der(big.NewInt(-1), big.NewInt(2)), wantErr: "negative"},
		{name: "too large", der: der(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(2)), wantErr: "out of range"},
		{name: "one integer", der: []byte{0x30, 3, 0x02, 1, 1}, wantErr: "INTEGER"},
		{name: "trailing", der: []byte{0x30, 8, 0x02, 1, 1, 0x02, 1, 2, 0x05, 0}, wantErr: "trailing"},
		{name: "empty integer", der: []byte{0x30, 5, 0x02, 0, 0x02, 1, 2}, wantErr: "INTEGER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rs [64]byte
			err := derSigToRS(tt.der, rs[:])
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("derSigToRS: %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r, s := new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:]); r.Cmp(tt.wantR) != 0 || s.Cmp(tt.wantS) != 0 {
				t.Fatalf("r %v s %v, want %v %v", r, s, tt.wantR, tt.wantS)
			}
		})
	}
}

func TestValidNonce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		nonce string
		want  bool
	}{
		{name: "base64url", nonce: "oFvnlFP1wIhRlYS2jTaXbA-_0z9", want: true},
		{name: "empty", nonce: ""},
		{name: "padding", nonce: "abc="},
		{name: "standard base64", nonce: "ab+/"},
		{name: "quote", nonce: `ab"c`},
		{name: "too long", nonce: strings.Repeat("a", maxNonceLen+1)},
		{name: "longest", nonce: strings.Repeat("a", maxNonceLen), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := validNonce(tt.nonce); got != tt.want {
				t.Fatalf("validNonce(%q) = %v, want %v", tt.nonce, got, tt.want)
			}
		})
	}
}

func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"", "plain.test", `q"uote`, `back\slash`, "tab\there", "ünïcode", "<&>"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			var got string
			if err := json.Unmarshal(appendJSONString(nil, v), &got); err != nil || got != v {
				t.Fatalf("round trip of %q: %q, %v", v, got, err)
			}
		})
	}
}
