package acme

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/dcvhq/dcv/internal/jsontype"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/urlnorm"
)

// maxJWSSize bounds a request body: the largest payload is a finalize with
// a 64 KiB CSR (ca.MaxCSRSize), base64url-encoded twice over at most.
const maxJWSSize = 256 << 10

// Key size bounds of account keys: RS256 needs at least 2048 bits (RFC 7518
// §3.3); above 8192 bits verification costs too much.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// go-jose refuses RSA keys over 4096 bits while parsing a JWK unless told
// otherwise: up to maxRSABits are this server's (lego's rsa8192, certbot's
// --rsa-key-size 8192 accounts), and checkKeyAlg bounds them.
func init() { jose.MaxRSAModulusBits = maxRSABits }

// algNames are the accepted signature algorithms (RFC 8555 §6.2: the server
// MUST NOT accept "none" nor a MAC algorithm, except in EAB).
var algNames = []string{string(jose.ES256), string(jose.ES384), string(jose.RS256), string(jose.EdDSA)}

// eabAlgs are the MAC algorithms of an External Account Binding (RFC 8555 §7.3.4).
var eabAlgs = []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512}

// flattened is an RFC 7515 §7.2.2 flattened JSON serialization.
type flattened struct {
	Protected  string          `json:"protected"`
	Payload    *string         `json:"payload"`
	Signature  string          `json:"signature"`
	Header     json.RawMessage `json:"header,omitempty"`
	Signatures json.RawMessage `json:"signatures,omitempty"`
}

// protectedHeader is the ACME part of a JWS protected header (RFC 8555 §6.2).
type protectedHeader struct {
	Alg   string          `json:"alg"`
	Nonce string          `json:"nonce"`
	URL   string          `json:"url"`
	KID   string          `json:"kid"`
	JWK   json.RawMessage `json:"jwk"`
	// Crit lists header parameters the signer marks critical (RFC 7515
	// §4.1.11); ACME defines none, so any is refused.
	Crit json.RawMessage `json:"crit"`
}

// keyMode is what key a resource requires in the JWS.
type keyMode int

const (
	needKID   keyMode = iota // existing account: "kid"
	needJWK                  // newAccount: "jwk"
	eitherKey                // revokeCert: "kid" or the certificate key's "jwk"
)

// signed is a verified request.
type signed struct {
	payload []byte
	// acct is the account of a kid request; nil in jwk mode.
	acct *store.ACMEAccount
	// jwk is the key that signed, and key its public key.
	jwk *jose.JSONWebKey
	key crypto.PublicKey
	// thumbprint is the key's RFC 7638 SHA-256 thumbprint, base64url.
	thumbprint string
	url        string
}

// postAsGet reports whether the payload is empty (RFC 8555 §6.3).
func (s *signed) postAsGet() bool { return len(s.payload) == 0 }

// verify authenticates a POST (RFC 8555 §6.2–§6.5): content type, the
// flattened JSON serialization with one signature and no unprotected
// header, an accepted algorithm matching the key, "url" equal to the
// request URL, "kid" or "jwk" as mode requires, the signature, and last the
// nonce, which is then spent.
func (h *Handler) verify(r *http.Request, mode keyMode) (*signed, error) {
	if ct := r.Header.Get("Content-Type"); !isJOSEJSON(ct) {
		p := malformed("send requests as application/jose+json")
		p.Status = http.StatusUnsupportedMediaType
		return nil, p
	}
	if coding := contentCoding(r.Header); coding != "" {
		// RFC 9110 §8.4: dcv decodes no content coding, so a gzip body
		// would be read as a malformed JWS.
		p := malformed(fmt.Sprintf("the request body is content-encoded (Content-Encoding: %s): send the JWS as it is", coding))
		p.Status = http.StatusUnsupportedMediaType
		return nil, p
	}
	// The body is read into a pooled buffer, which is reused below for the
	// signing input: json.Unmarshal copies every member it keeps.
	buf := getBuf()
	defer putBuf(buf)
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, maxJWSSize+1)); err != nil {
		return nil, malformed("the request body could not be read")
	}
	if buf.Len() > maxJWSSize {
		p := malformed(fmt.Sprintf("the request body exceeds %d bytes", maxJWSSize))
		p.Status = http.StatusRequestEntityTooLarge
		return nil, p
	}
	var f flattened
	if err := json.Unmarshal(buf.Bytes(), &f); err != nil {
		return nil, malformed("the request body is not a JWS in flattened JSON serialization")
	}
	if len(f.Signatures) > 0 || len(f.Header) > 0 {
		return nil, malformed("the JWS must have one signature and no unprotected header")
	}
	if f.Payload == nil {
		return nil, malformed("the JWS has no \"payload\" member (a POST-as-GET sends \"payload\": \"\")")
	}
	hdr, err := decodeProtected(f.Protected)
	if err != nil {
		return nil, malformed("the JWS protected header is not valid base64url JSON")
	}
	if !slices.Contains(algNames, hdr.Alg) {
		return nil, badSignatureAlgorithm(fmt.Sprintf("the JWS algorithm %q is not accepted; use one of %s", hdr.Alg, strings.Join(algNames, ", ")))
	}
	want := h.base + r.URL.Path
	if r.URL.RawQuery != "" {
		// RFC 8555 §6.4: the URL the request is directed to, query included
		// (a page of the orders list).
		want += "?" + r.URL.RawQuery
	}
	if hdr.URL != want && urlnorm.Canonical(hdr.URL) != want {
		return nil, unauthorized(fmt.Sprintf("the JWS url %q is not the request URL %q", hdr.URL, want))
	}
	s := &signed{url: hdr.URL}
	switch {
	case hdr.KID != "" && len(hdr.JWK) > 0:
		return nil, malformed("the JWS has both \"kid\" and \"jwk\"; send exactly one")
	case hdr.KID != "":
		if mode == needJWK {
			return nil, malformed("this request must carry the account key in \"jwk\", not \"kid\"")
		}
		id, ok := strings.CutPrefix(hdr.KID, h.base+"/acme/acct/")
		if !ok {
			// Written with its default port (urlnorm): the same URL.
			id, ok = strings.CutPrefix(urlnorm.Canonical(hdr.KID), h.base+"/acme/acct/")
		}
		if !ok || id == "" || strings.Contains(id, "/") {
			return nil, h.foreignKID(r, hdr.KID)
		}
		acct, err := h.cfg.ACME.Account(r.Context(), id)
		if err != nil {
			return nil, err
		}
		k, err := h.keys.get(acct.KeyJWK)
		if err != nil {
			return nil, fmt.Errorf("stored key of account %s: %w", id, err)
		}
		s.acct, s.jwk, s.thumbprint = acct, k.jwk, k.thumbprint
	case len(hdr.JWK) > 0:
		if mode == needKID {
			return nil, malformed("this request must name the account in \"kid\", not carry a \"jwk\"")
		}
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(hdr.JWK); err != nil || !k.Valid() || !k.IsPublic() {
			return nil, badPublicKey("the JWS \"jwk\" is not a valid public key")
		}
		s.jwk = &k
	default:
		return nil, malformed("the JWS has neither \"kid\" nor \"jwk\"")
	}
	s.key = s.jwk.Key
	if err := checkKeyAlg(s.key, hdr.Alg); err != nil {
		if s.acct != nil {
			// An accepted algorithm that is not the account key's: the
			// request is most often signed by another key (the one the
			// account had before a key change), or the client names
			// the wrong algorithm.
			return nil, notAccountKey(hdr.KID, s.key, fmt.Sprintf("its algorithm %q does not fit that key", hdr.Alg), "the client named the wrong algorithm")
		}
		return nil, err
	}
	if len(hdr.Crit) > 0 {
		return nil, malformed("the JWS protected header has \"crit\" parameters, which ACME does not use")
	}
	payload, err := base64.RawURLEncoding.DecodeString(*f.Payload)
	if err != nil {
		return nil, malformed("the JWS could not be parsed")
	}
	sig, err := base64.RawURLEncoding.DecodeString(f.Signature)
	if err != nil {
		return nil, malformed("the JWS could not be parsed")
	}
	// RFC 7515 §5.2: the signature is over
	// ASCII(BASE64URL(protected) || '.' || BASE64URL(payload)), the
	// members exactly as sent.
	buf.Reset()
	buf.WriteString(f.Protected)
	buf.WriteByte('.')
	buf.WriteString(*f.Payload)
	if !verifySignature(s.key, hdr.Alg, buf.Bytes(), sig) {
		if s.acct != nil {
			return nil, notAccountKey(hdr.KID, s.key, "its signature does not verify with that key", "the client computed the signature wrongly")
		}
		return nil, malformed("the JWS signature does not verify")
	}
	s.payload = payload
	if s.thumbprint == "" {
		tp, err := thumbprint(s.jwk)
		if err != nil {
			return nil, badPublicKey("the key's thumbprint cannot be computed")
		}
		s.thumbprint = tp
	}
	if hdr.Nonce == "" || !h.nonces.redeem(hdr.Nonce) {
		return nil, badNonce("the JWS nonce is missing, unknown, expired or already used; retry with the Replay-Nonce of this answer")
	}
	// Whatever the answer, it replaces a nonce spent (writeProblemNonce).
	r.Header[nonceSpentHeader] = nonceSpent
	return s, nil
}

// nonceSpentHeader marks, in the request's own header map, a request whose
// JWS spent a nonce: its answer hands one out for the one spent, and is
// not counted as a new one. ServeHTTP removes any a client sent.
const nonceSpentHeader = "Dcv-Internal-Nonce-Spent"

// nonceSpent is nonceSpentHeader's value, shared: it is only read.
var nonceSpent = []string{"1"}

// notAccountKey is the problem of a "kid" request whose signature does not
// verify with the account's current key, key (why says how, orElse the
// client's other likely mistake): a key the
// account had before a key change, which no longer speaks for it, or a
// client that signs wrongly (black-box run: a corrupt signature was told
// only of key changes). It is malformed, as Boulder answers a JWS that does
// not verify with the account's key.
func notAccountKey(kid string, key crypto.PublicKey, why, orElse string) *Problem {
	return malformed(fmt.Sprintf("the JWS is not signed by the current key of the account %s (%s, which signs with %s): %s. "+
		"Either another key signed it (if the account's key was changed, rolled over with keyChange, RFC 8555 §7.3.5, the old key is no longer the account's: sign with the key it was changed to), "+
		"or %s", kid, keyDescription(key), keyAlg(key), why, orElse))
}

// keyDescription names an account key's type and size, for messages.
func keyDescription(key crypto.PublicKey) string {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", key)
}

// keyAlg is the one JWS algorithm an account key may sign with, which
// checkKeyAlg requires; "" for a key of no accepted kind.
func keyAlg(key crypto.PublicKey) string {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return string(jose.ES256)
		case elliptic.P384():
			return string(jose.ES384)
		}
		return ""
	case *rsa.PublicKey:
		return string(jose.RS256)
	case ed25519.PublicKey:
		return string(jose.EdDSA)
	}
	return ""
}

// isJOSEJSON reports whether a Content-Type is application/jose+json (RFC
// 8555 §6.2). Media types compare case-insensitively and may carry
// parameters (RFC 9110 §8.3.1): "Application/JOSE+JSON; charset=utf-8" is
// the same type.
func isJOSEJSON(ct string) bool {
	if ct == "application/jose+json" {
		return true // the usual case, without parsing
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/jose+json"
}

func decodeProtected(p string) (*protectedHeader, error) {
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, err
	}
	var h protectedHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// checkKeyAlg checks that the key is acceptable and matches the algorithm:
// ES256 with P-256, ES384 with P-384, RS256 with RSA of 2048 to 8192 bits,
// EdDSA with Ed25519.
func checkKeyAlg(key crypto.PublicKey, alg string) error {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return badPublicKey("ECDSA account keys must be on P-256 or P-384")
		}
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minRSABits || n > maxRSABits {
			return badPublicKey(fmt.Sprintf("the RSA key has %d bits; %d to %d are accepted", n, minRSABits, maxRSABits))
		}
	case ed25519.PublicKey:
	default:
		return badPublicKey(fmt.Sprintf("keys of type %T are not accepted", key))
	}
	if alg != keyAlg(key) {
		return badSignatureAlgorithm(fmt.Sprintf("the JWS algorithm %q does not match the key", alg))
	}
	return nil
}

func thumbprint(k *jose.JSONWebKey) (string, error) {
	b, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodePayload decodes a JSON payload strictly.
func decodePayload(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return malformed("the JWS payload " + jsontype.Mismatch(te))
			}
			return malformed(jsontype.Mismatch(te))
		}
		return malformed("the JWS payload is not valid JSON")
	}
	if dec.More() {
		return malformed("the JWS payload must be one JSON object")
	}
	return nil
}

// verifySignature verifies sig over input with key under alg (RFC 7518
// §3.3 RS256, §3.4 ES256/ES384: the 32- or 48-octet R and S concatenated;
// RFC 8037 §3.1 EdDSA). checkKeyAlg has matched alg to the key's type.
func verifySignature(key crypto.PublicKey, alg string, input, sig []byte) bool {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		var h []byte
		switch alg {
		case string(jose.ES256):
			d := sha256.Sum256(input)
			h = d[:]
		case string(jose.ES384):
			d := sha512.Sum384(input)
			h = d[:]
		default:
			return false
		}
		n := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*n {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
		return ecdsa.Verify(k, h, r, s)
	case *rsa.PublicKey:
		if alg != string(jose.RS256) {
			return false
		}
		d := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig) == nil
	case ed25519.PublicKey:
		return alg == string(jose.EdDSA) && ed25519.Verify(k, input, sig)
	}
	return false
}

// maxCachedKeys bounds the parsed account keys kept: one entry per
// account key in use (a few hundred bytes each); when full, the cache is
// emptied and refills from the requests that follow.
const maxCachedKeys = 4096

// accountKey is a stored account key, parsed, with its RFC 7638
// thumbprint.
type accountKey struct {
	jwk        *jose.JSONWebKey
	thumbprint string
}

// keyCache maps the stored JWK text of an account to its parsed key. It is
// keyed by the text itself, read from the store on every request, so a key
// change or a deactivation takes effect on the next request: nothing is
// cached about the account, only the parsing of its key. Safe for
// concurrent use; values are never modified.
type keyCache struct {
	mu   sync.Mutex
	keys map[string]*accountKey
}

// get returns the parsed key of a stored JWK.
func (c *keyCache) get(jwk []byte) (*accountKey, error) {
	c.mu.Lock()
	k, ok := c.keys[string(jwk)]
	c.mu.Unlock()
	if ok {
		return k, nil
	}
	var j jose.JSONWebKey
	if err := j.UnmarshalJSON(jwk); err != nil {
		return nil, err
	}
	tp, err := thumbprint(&j)
	if err != nil {
		return nil, err
	}
	k = &accountKey{jwk: &j, thumbprint: tp}
	c.mu.Lock()
	if c.keys == nil || len(c.keys) >= maxCachedKeys {
		c.keys = make(map[string]*accountKey)
	}
	c.keys[string(jwk)] = k
	c.mu.Unlock()
	return k, nil
}

// contentCoding returns the first content coding other than identity of a
// request with header h, or "".
func contentCoding(h http.Header) string {
	for _, v := range h.Values("Content-Encoding") {
		for coding := range strings.SplitSeq(v, ",") {
			if coding = strings.TrimSpace(coding); coding != "" && !strings.EqualFold(coding, "identity") {
				return coding
			}
		}
	}
	return ""
}

// foreignKID is the refusal of a kid that is no account URL of this
// server. When it is one of this server's account URLs under another base
// URL (the operator changed --public-url, and the client kept the URL it
// was given), the detail says so and how to go on: RFC 8555 §6.2 makes
// the kid the account URL, which changed with the base.
func (h *Handler) foreignKID(r *http.Request, kid string) *Problem {
	p := newProblem("accountDoesNotExist", http.StatusBadRequest, fmt.Sprintf("the kid %q is not an account URL of this server", kid))
	k := strings.LastIndex(kid, "/acme/acct/")
	if k < 0 || len(kid) > maxKIDShown {
		return p
	}
	id := kid[k+len("/acme/acct/"):]
	if id == "" || strings.Contains(id, "/") {
		return p
	}
	if _, err := h.cfg.ACME.Account(r.Context(), id); err != nil {
		return p
	}
	p.Detail = fmt.Sprintf("the kid %q names an account of this server under another URL: the server's URL is now %s (its operator changed it), and that account's URL is now %s; use the directory %s and have the client look its account up again (newAccount with the same key and onlyReturnExisting returns the new URL), or register a new account",
		kid, h.base, h.url("acct", id), h.url("directory"))
	return p
}

// maxKIDShown bounds a kid whose account foreignKID looks up.
const maxKIDShown = 512
