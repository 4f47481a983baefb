package acme

import (
	"net/http"
	"slices"
	"time"

	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/order"
)

// authzJSON is an authorization object (RFC 8555 §7.1.4).
type authzJSON struct {
	Identifier Identifier      `json:"identifier"`
	Status     string          `json:"status"`
	Expires    string          `json:"expires,omitempty"`
	Challenges []challengeJSON `json:"challenges"`
	Wildcard   bool            `json:"wildcard,omitempty"`
}

func (h *Handler) authzJSON(v *order.ACMEAuthzView) authzJSON {
	a := authzJSON{
		Identifier: Identifier{Type: ident.IdentifierType(v.Identifier), Value: v.Identifier},
		Status:     v.Status,
		Expires:    v.Expires.UTC().Format(time.RFC3339),
		Challenges: make([]challengeJSON, 0, len(v.Challenges)),
		Wildcard:   v.Wildcard,
	}
	// RFC 8555 §7.1.4, "challenges": "For pending authorizations, the
	// challenges that the client can fulfill ... For valid authorizations,
	// the challenge that was validated. For invalid authorizations, the
	// challenge that was attempted and failed."
	keep := ""
	if v.Status == "valid" || v.Status == "invalid" {
		keep = v.Status
		if !slices.ContainsFunc(v.Challenges, func(c order.ACMEChallengeView) bool { return c.Status == keep }) {
			keep = "" // none recorded so: show them all rather than none
		}
	}
	for _, c := range v.Challenges {
		if keep == "" || c.Status == keep {
			a.Challenges = append(a.Challenges, h.challengeJSON(v.ID, c))
		}
	}
	return a
}

// authzRequest is the payload of an authorization update (RFC 8555 §7.5.2).
type authzRequest struct {
	Status string `json:"status"`
}

// authz serves POST-as-GET of an authorization and its deactivation.
func (h *Handler) authz(w http.ResponseWriter, r *http.Request) {
	s, err := h.verify(r, needKID)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	id := r.PathValue("id")
	var v *order.ACMEAuthzView
	if s.postAsGet() {
		v, err = h.cfg.ACME.Authz(r.Context(), s.acct, id)
	} else {
		var req authzRequest
		if err := decodePayload(s.payload, &req); err != nil {
			h.writeProblem(w, r, err)
			return
		}
		if req.Status != "deactivated" {
			h.writeProblem(w, r, malformed("the only status a client may set on an authorization is \"deactivated\""))
			return
		}
		v, err = h.cfg.ACME.DeactivateAuthz(r.Context(), s.acct, id)
	}
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	for _, c := range v.Challenges {
		if c.Status == "processing" {
			w.Header().Set("Retry-After", "1")
		}
	}
	h.writeJSON(w, http.StatusOK, h.authzJSON(v))
}
