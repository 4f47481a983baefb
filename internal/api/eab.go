package api

import (
	"net/http"

	"github.com/dcvhq/dcv/internal/store"
)

// createEABKey serves POST /api/v1/eab-keys: an admin creates an External
// Account Binding key for ACME (RFC 8555 §7.3.4). The HMAC key is shown in
// this answer only.
func (h *Handler) createEABKey(w http.ResponseWriter, r *http.Request, acct *store.Account) {
	if !decodeNone(w, r) {
		return
	}
	k, err := h.cfg.Orders.CreateEABKey(r.Context(), acct)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, k)
}
