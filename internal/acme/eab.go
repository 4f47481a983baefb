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
		return "", badSignatureAlgorithm(fmt.Sprintf("the externalAccountBinding algorithm %q is not accepted; use HS256, HS384 or HS512", hdr.Alg))
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
