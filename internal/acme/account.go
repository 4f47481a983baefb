package acme

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/dcvhq/dcv/internal/clientaddr"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/ratelimit"
	"github.com/dcvhq/dcv/internal/store"
)

// accountJSON is an account object (RFC 8555 §7.1.2).
type accountJSON struct {
	Status      string   `json:"status"`
	Contact     []string `json:"contact,omitempty"`
	TermsAgreed bool     `json:"termsOfServiceAgreed,omitempty"`
	Orders      string   `json:"orders"`
}

func (h *Handler) accountJSON(a *store.ACMEAccount) accountJSON {
	return accountJSON{Status: a.Status, Contact: a.Contact, TermsAgreed: a.TermsAgreed, Orders: h.url("acct", a.ID, "orders")}
}

// newAccountRequest is the newAccount payload (RFC 8555 §7.3).
type newAccountRequest struct {
	Contact            []string        `json:"contact"`
	TermsAgreed        bool            `json:"termsOfServiceAgreed"`
	OnlyReturnExisting bool            `json:"onlyReturnExisting"`
	EAB                json.RawMessage `json:"externalAccountBinding"`
}

// newAccount implements RFC 8555 §7.3: 201 with the new account, or 200
// with the existing account of the key; Location is the account URL.
func (h *Handler) newAccount(w http.ResponseWriter, r *http.Request) {
	s, err := h.verify(r, needJWK)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	var req newAccountRequest
	if err := decodePayload(s.payload, &req); err != nil {
		h.writeProblem(w, r, err)
		return
	}
	jwk, err := s.jwk.MarshalJSON()
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	reg := order.ACMERegistration{
		KeyJWK: jwk, KeyThumbprint: s.thumbprint, Contact: req.Contact, TermsAgreed: req.TermsAgreed,
		OnlyReturnExisting: req.OnlyReturnExisting, ClientIP: clientIP(r), Key: s.jwk.Key,
	}
	if len(req.EAB) > 0 && string(req.EAB) != "null" && !req.OnlyReturnExisting {
		// A failed binding refuses a new account only (order decides): the
		// existing account of the key is returned whatever its binding.
		reg.EABKeyID, reg.EABError = h.verifyEAB(r, req.EAB, s)
	}
	acct, created, err := h.cfg.ACME.Register(r.Context(), reg)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	w.Header().Set("Location", AccountURL(h.base, acct.ID))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	h.writeJSON(w, status, h.accountJSON(acct))
}

// clientIP is the key the new-accounts limit counts r's client by: its
// address (behind a trusted reverse proxy, the one it forwarded for), an
// IPv6 client by its /64, any address of which it picks at will.
func clientIP(r *http.Request) string {
	return ratelimit.ClientKey(clientaddr.From(r))
}

// accountUpdate is the payload of an account update (RFC 8555 §7.3.2,
// §7.3.6).
type accountUpdate struct {
	Status      string    `json:"status"`
	Contact     *[]string `json:"contact"`
	TermsAgreed *bool     `json:"termsOfServiceAgreed"`
}

// account serves POST to an account URL: POST-as-GET, update, or
// deactivation.
func (h *Handler) account(w http.ResponseWriter, r *http.Request) {
	s, err := h.verify(r, needKID)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	if s.acct.ID != r.PathValue("id") {
		h.writeProblem(w, r, unauthorized("the JWS kid is not the account URL requested"))
		return
	}
	acct := s.acct
	if !s.postAsGet() {
		var u accountUpdate
		if err := decodePayload(s.payload, &u); err != nil {
			h.writeProblem(w, r, err)
			return
		}
		if u.Status != "" && u.Status != store.ACMEAccountDeactivated {
			h.writeProblem(w, r, malformed("the only status a client may set is \"deactivated\""))
			return
		}
		acct, err = h.cfg.ACME.UpdateAccount(r.Context(), acct, order.ACMEAccountUpdate{
			Contact: u.Contact, TermsAgreed: u.TermsAgreed, Deactivate: u.Status == store.ACMEAccountDeactivated,
		})
		if err != nil {
			h.writeProblem(w, r, err)
			return
		}
	}
	w.Header().Set("Location", AccountURL(h.base, acct.ID))
	h.writeJSON(w, http.StatusOK, h.accountJSON(acct))
}

// accountOrders serves the account's orders list (RFC 8555 §7.1.2.1).
func (h *Handler) accountOrders(w http.ResponseWriter, r *http.Request) {
	s, err := h.verify(r, needKID)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	if s.acct.ID != r.PathValue("id") {
		h.writeProblem(w, r, unauthorized("an account can list only its own orders"))
		return
	}
	if !s.postAsGet() {
		h.writeProblem(w, r, malformed("the orders list is fetched with POST-as-GET (an empty payload)"))
		return
	}
	after := r.URL.Query().Get("cursor")
	if after != "" && !validID(after) {
		h.writeProblem(w, r, malformed("the cursor of the orders list is not an order id"))
		return
	}
	ids, next, err := h.cfg.ACME.OrderIDs(r.Context(), s.acct, after)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	urls := make([]string, 0, len(ids))
	for _, id := range ids {
		urls = append(urls, h.url("order", id))
	}
	if next != "" {
		// RFC 8555 §7.1.2.1: a paginated list links its next page.
		w.Header().Add("Link", `<`+h.url("acct", s.acct.ID, "orders")+"?cursor="+url.QueryEscape(next)+`>;rel="next"`)
	}
	h.writeJSON(w, http.StatusOK, map[string][]string{"orders": urls})
}

// validID reports whether s has the form of a dcv object id (an order's
// "ord_…"): at most 64 lowercase letters, digits, "_" and "-".
func validID(s string) bool {
	return s != "" && len(s) <= 64 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == ""
}
