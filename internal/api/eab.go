package api

import (
	"net/http"

	"github.com/dcvhq/dcv/internal/order"
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

// listEABKeys serves GET /api/v1/eab-keys: an admin's page of the EAB keys,
// newest first, with the account each bound; never their HMAC keys.
func (h *Handler) listEABKeys(w http.ResponseWriter, r *http.Request, acct *store.Account) {
	limit, ok := pageLimit(w, r, order.MaxEABListLimit)
	if !ok {
		return
	}
	keys, next, err := h.cfg.Orders.EABKeys(r.Context(), acct, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writePage(w, r, limit, "eab_keys", keys, next)
}

// deleteEABKey serves DELETE /api/v1/eab-keys/{id}: an admin withdraws a
// key no account was bound with; 204.
func (h *Handler) deleteEABKey(w http.ResponseWriter, r *http.Request, acct *store.Account) {
	if err := h.cfg.Orders.DeleteEABKey(r.Context(), acct, r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
