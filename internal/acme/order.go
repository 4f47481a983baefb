package acme

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/order"
)

// orderJSON is an order object (RFC 8555 §7.1.3; "profile" from the
// profiles draft, "replaces" from RFC 9773 §5).
type orderJSON struct {
	Status         string       `json:"status"`
	Expires        string       `json:"expires,omitempty"`
	Identifiers    []Identifier `json:"identifiers"`
	Authorizations []string     `json:"authorizations"`
	Finalize       string       `json:"finalize"`
	Certificate    string       `json:"certificate,omitempty"`
	Profile        string       `json:"profile,omitempty"`
	Replaces       string       `json:"replaces,omitempty"`
	Error          *Problem     `json:"error,omitempty"`
}

func (h *Handler) orderJSON(v *order.ACMEOrderView) orderJSON {
	o := orderJSON{
		Status:         v.Status,
		Expires:        v.Expires.UTC().Format(time.RFC3339),
		Identifiers:    make([]Identifier, 0, len(v.Identifiers)),
		Authorizations: make([]string, 0, len(v.AuthzIDs)),
		Finalize:       h.url("order", v.ID, "finalize"),
		Profile:        v.Profile,
		Replaces:       v.Replaces,
		Error:          fromACMEError(v.Error),
	}
	for _, n := range v.Identifiers {
		o.Identifiers = append(o.Identifiers, Identifier{Type: ident.IdentifierType(n), Value: n})
	}
	for _, id := range v.AuthzIDs {
		o.Authorizations = append(o.Authorizations, h.url("authz", id))
	}
	if v.CertificateSerial != "" {
		o.Certificate = h.url("cert", v.CertificateSerial)
	}
	return o
}

// writeOrder sends an order with its Location and, while it moves, a
// Retry-After (RFC 8555 §7.4: "processing").
func (h *Handler) writeOrder(w http.ResponseWriter, status int, v *order.ACMEOrderView) {
	w.Header().Set("Location", h.url("order", v.ID))
	if v.Status == order.ACMEOrderProcessing {
		w.Header().Set("Retry-After", "1")
	}
	h.writeJSON(w, status, h.orderJSON(v))
}

// newOrder implements RFC 8555 §7.4.
func (h *Handler) newOrder(w http.ResponseWriter, r *http.Request) {
	s, err := h.verify(r, needKID)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	var req order.ACMENewOrder
	if err := decodePayload(s.payload, &req); err != nil {
		h.writeProblem(w, r, err)
		return
	}
	// RFC 9773 §5: "replaces" names a certificate; an empty one is not
	// the member left out, which req cannot tell apart.
	var present struct {
		Replaces *string `json:"replaces"`
	}
	if json.Unmarshal(s.payload, &present) == nil && present.Replaces != nil && *present.Replaces == "" {
		h.writeProblem(w, r, malformed("\"replaces\" is empty: name the certificate this order renews (its renewalInfo identifier), or leave \"replaces\" out"))
		return
	}
	v, err := h.cfg.ACME.NewOrder(r.Context(), s.acct, req)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	h.writeOrder(w, http.StatusCreated, v)
}

// order serves POST-as-GET of an order.
func (h *Handler) order(w http.ResponseWriter, r *http.Request) {
	s, err := h.verify(r, needKID)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	if !s.postAsGet() {
		h.writeProblem(w, r, malformed("an order is fetched with POST-as-GET (an empty payload)"))
		return
	}
	v, err := h.cfg.ACME.Order(r.Context(), s.acct, r.PathValue("id"))
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	h.writeOrder(w, http.StatusOK, v)
}

func asACME(err error) (*order.ACMEError, bool) {
	var ae *order.ACMEError
	ok := errors.As(err, &ae)
	return ae, ok
}

func retryAfterHeader(w http.ResponseWriter, d time.Duration) {
	if d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(d/time.Second))))
	}
}
