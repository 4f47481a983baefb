package acme

import (
	"encoding/base64"
	"net/http"
)

// finalizeRequest is the finalize payload (RFC 8555 §7.4).
type finalizeRequest struct {
	CSR string `json:"csr"`
}

// finalize implements RFC 8555 §7.4: the certificate is issued within the
// request, so the answer is the valid order.
func (h *Handler) finalize(w http.ResponseWriter, r *http.Request) {
	s, err := h.verify(r, needKID)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	var req finalizeRequest
	if err := decodePayload(s.payload, &req); err != nil {
		h.writeProblem(w, r, err)
		return
	}
	der, err := base64.RawURLEncoding.DecodeString(req.CSR)
	if err != nil || len(der) == 0 {
		h.writeProblem(w, r, newProblem("badCSR", http.StatusBadRequest, "csr must be the base64url (unpadded) DER of a PKCS#10 request"))
		return
	}
	v, err := h.cfg.ACME.Finalize(r.Context(), s.acct, s.key, r.PathValue("id"), der)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	h.writeOrder(w, http.StatusOK, v)
}
