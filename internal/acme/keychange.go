package acme

import (
	"encoding/json"
	"net/http"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/dcvhq/dcv/internal/urlnorm"
)

// keyChangeInner is the inner JWS payload of a key change (RFC 8555 §7.3.5).
type keyChangeInner struct {
	Account string          `json:"account"`
	OldKey  json.RawMessage `json:"oldKey"`
}

// keyChange implements RFC 8555 §7.3.5: the outer JWS is signed by the
// current key ("kid"); its payload is a JWS signed by the new key ("jwk",
// same "url", no "nonce") over {account, oldKey}.
func (h *Handler) keyChange(w http.ResponseWriter, r *http.Request) {
	s, err := h.verify(r, needKID)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	var f flattened
	if err := json.Unmarshal(s.payload, &f); err != nil || f.Payload == nil || len(f.Header) > 0 || len(f.Signatures) > 0 {
		h.writeProblem(w, r, malformed("the keyChange payload is not a JWS in flattened JSON serialization"))
		return
	}
	hdr, err := decodeProtected(f.Protected)
	if err != nil {
		h.writeProblem(w, r, malformed("the inner JWS protected header is not valid base64url JSON"))
		return
	}
	switch {
	case len(hdr.JWK) == 0 || hdr.KID != "":
		h.writeProblem(w, r, malformed("the inner JWS must carry the new key in \"jwk\" and no \"kid\""))
		return
	case hdr.Nonce != "":
		h.writeProblem(w, r, malformed("the inner JWS must not have a \"nonce\""))
		return
	case hdr.URL != s.url:
		h.writeProblem(w, r, unauthorized("the inner JWS url is not the outer JWS url"))
		return
	}
	var newKey jose.JSONWebKey
	if err := newKey.UnmarshalJSON(hdr.JWK); err != nil || !newKey.Valid() || !newKey.IsPublic() {
		h.writeProblem(w, r, badPublicKey("the new key is not a valid public key"))
		return
	}
	if err := checkKeyAlg(newKey.Key, hdr.Alg); err != nil {
		h.writeProblem(w, r, err)
		return
	}
	jws, err := jose.ParseSigned(string(s.payload), []jose.SignatureAlgorithm{jose.SignatureAlgorithm(hdr.Alg)})
	if err != nil {
		h.writeProblem(w, r, malformed("the inner JWS could not be parsed"))
		return
	}
	payload, err := jws.Verify(&newKey)
	if err != nil {
		h.writeProblem(w, r, malformed("the inner JWS signature does not verify with the new key"))
		return
	}
	var in keyChangeInner
	if err := decodePayload(payload, &in); err != nil {
		h.writeProblem(w, r, err)
		return
	}
	if urlnorm.Canonical(in.Account) != AccountURL(h.base, s.acct.ID) {
		h.writeProblem(w, r, unauthorized("the inner JWS account is not the account of the outer JWS"))
		return
	}
	var old jose.JSONWebKey
	if err := old.UnmarshalJSON(in.OldKey); err != nil {
		h.writeProblem(w, r, malformed("oldKey is not a JWK"))
		return
	}
	oldTP, err := thumbprint(&old)
	if err != nil {
		h.writeProblem(w, r, malformed("oldKey is not a usable JWK"))
		return
	}
	newTP, err := thumbprint(&newKey)
	if err != nil {
		h.writeProblem(w, r, badPublicKey("the new key's thumbprint cannot be computed"))
		return
	}
	newJWK, err := newKey.MarshalJSON()
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	if err := h.cfg.ACME.KeyChange(r.Context(), s.acct, oldTP, newTP, newJWK, newKey.Key); err != nil {
		p := h.toProblem(r, err)
		if p.Status == http.StatusConflict {
			if ae, ok := asACME(err); ok && ae.Identifier != "" {
				p.location = AccountURL(h.base, ae.Identifier)
			}
		}
		h.writeProblem(w, r, p)
		return
	}
	acct, err := h.cfg.ACME.Account(r.Context(), s.acct.ID)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	w.Header().Set("Location", AccountURL(h.base, acct.ID))
	h.writeJSON(w, http.StatusOK, h.accountJSON(acct))
}
