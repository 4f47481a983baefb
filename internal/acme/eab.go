package acme

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// verifyEAB verifies an External Account Binding (RFC 8555 §7.3.4): a JWS
// MACed with the EAB key, whose protected header has an HMAC "alg", the EAB
// key id as "kid", the newAccount URL as "url" and no "nonce", and whose
// payload is the account key (the outer "jwk"). It returns the key id.
func (h *Handler) verifyEAB(r *http.Request, raw json.RawMessage, outer *signed) (string, error) {
	var f flattened
	if err := json.Unmarshal(raw, &f); err != nil || f.Payload == nil || len(f.Header) > 0 || len(f.Signatures) > 0 {
		return "", malformed("externalAccountBinding is not a JWS in flattened JSON serialization")
	}
	hdr, err := decodeProtected(f.Protected)
	if err != nil {
		return "", malformed("the externalAccountBinding protected header is not valid base64url JSON")
	}
	alg := jose.SignatureAlgorithm(hdr.Alg)
	if !slices.Contains(eabAlgs, alg) {
		return "", badEABAlgorithm(fmt.Sprintf("the externalAccountBinding algorithm %q is not accepted; use HS256, HS384 or HS512", hdr.Alg), eabAlgs)
	}
	if hdr.Nonce != "" || hdr.KID == "" || len(hdr.JWK) > 0 {
		return "", malformed("the externalAccountBinding header must have \"kid\" and neither \"nonce\" nor \"jwk\"")
	}
	if hdr.URL != outer.url {
		return "", unauthorized("the externalAccountBinding url is not the newAccount URL")
	}
	key, err := h.cfg.ACME.EABKey(r.Context(), hdr.KID)
	if err != nil {
		return "", err
	}
	if usable := eabAlgsFor(key); !slices.Contains(usable, alg) {
		// RFC 7518 §3.2: an HMAC key is at least as long as the hash. A
		// key made before dcv issued 512-bit keys has 256 bits.
		return "", badEABAlgorithm(fmt.Sprintf("the External Account Binding key %q has %d bits, too short for %s (RFC 7518 §3.2: at least the hash size); use %s", hdr.KID, 8*len(key), alg, algList(usable)), usable)
	}
	jws, err := jose.ParseSigned(string(raw), eabAlgs)
	if err != nil {
		return "", malformed("the externalAccountBinding could not be parsed")
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return "", unauthorized("the externalAccountBinding MAC does not verify with the EAB key")
	}
	var inner jose.JSONWebKey
	if err := inner.UnmarshalJSON(payload); err != nil {
		return "", malformed("the externalAccountBinding payload is not a JWK")
	}
	tp, err := thumbprint(&inner)
	if err != nil || tp != outer.thumbprint {
		return "", unauthorized("the externalAccountBinding payload is not the account key")
	}
	return strings.TrimSpace(hdr.KID), nil
}

// eabAlgsFor lists the MAC algorithms an EAB key is long enough for (RFC
// 7518 §3.2): HS256 needs 256 bits, HS384 384, HS512 512.
func eabAlgsFor(key []byte) []jose.SignatureAlgorithm {
	var out []jose.SignatureAlgorithm
	for _, a := range []struct {
		alg  jose.SignatureAlgorithm
		size int
	}{{jose.HS256, 32}, {jose.HS384, 48}, {jose.HS512, 64}} {
		if len(key) >= a.size {
			out = append(out, a.alg)
		}
	}
	return out
}

// algList names algorithms for a message: "HS256, HS384 or HS512".
func algList(algs []jose.SignatureAlgorithm) string {
	names := make([]string, len(algs))
	for i, a := range algs {
		names[i] = string(a)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
