package acme

import (
	"encoding/base64"
	"net/http"
)

// revokeRequest is the revokeCert payload (RFC 8555 §7.6).
type revokeRequest struct {
	Certificate string `json:"certificate"`
	Reason      *int   `json:"reason"`
}

// revokeCert implements RFC 8555 §7.6, signed either by an account ("kid")
// or by the certificate's key ("jwk").
func (h *Handler) revokeCert(w http.ResponseWriter, r *http.Request) {
	s, err := h.verify(r, eitherKey)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	var req revokeRequest
	if err := decodePayload(s.payload, &req); err != nil {
		h.writeProblem(w, r, err)
		return
	}
	der, err := base64.RawURLEncoding.DecodeString(req.Certificate)
	if err != nil || len(der) == 0 {
		h.writeProblem(w, r, malformed("certificate must be the base64url (unpadded) DER of the certificate"))
		return
	}
	if err := h.cfg.ACME.Revoke(r.Context(), s.acct, s.key, der, req.Reason); err != nil {
		h.writeProblem(w, r, err)
		return
	}
	h.setNonce(w)
	h.linkIndex(w)
	w.WriteHeader(http.StatusOK)
}
