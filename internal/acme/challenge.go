package acme

import (
	"net/http"
	"time"

	"github.com/dcvhq/dcv/internal/order"
)

// challengeJSON is a challenge object (RFC 8555 §7.1.5, §8).
type challengeJSON struct {
	Type      string   `json:"type"`
	URL       string   `json:"url"`
	Status    string   `json:"status"`
	Token     string   `json:"token"`
	Validated string   `json:"validated,omitempty"`
	Error     *Problem `json:"error,omitempty"`
}

func (h *Handler) challengeJSON(authzID string, c order.ACMEChallengeView) challengeJSON {
	// The error keeps its HTTP status member, as RFC 7807 problems may:
	// clients print it with the type (lego shows "acme: error: 403 ::").
	j := challengeJSON{Type: c.Type, URL: h.url("chall", authzID, c.Type), Status: c.Status, Token: c.Token, Error: fromACMEError(c.Error)}
	if !c.Validated.IsZero() {
		j.Validated = c.Validated.UTC().Format(time.RFC3339)
	}
	return j
}

// challenge serves POST to a challenge (RFC 8555 §7.5.1): an empty object
// starts its validation, which is answered at once when it completes within
// the validation budget; POST-as-GET returns its state.
func (h *Handler) challenge(w http.ResponseWriter, r *http.Request) {
	s, err := h.verify(r, needKID)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	authzID, typ := r.PathValue("authz"), r.PathValue("type")
	var res *order.ChallengeResult
	if s.postAsGet() {
		v, err := h.cfg.ACME.Authz(r.Context(), s.acct, authzID)
		if err != nil {
			h.writeProblem(w, r, err)
			return
		}
		for _, c := range v.Challenges {
			if c.Type == typ {
				res = &order.ChallengeResult{Challenge: c, AuthzID: v.ID}
				if c.Status == "processing" {
					res.RetryAfter = time.Second
				}
			}
		}
		if res == nil {
			h.writeProblem(w, r, notFound("no challenge "+typ+" in authorization "+authzID))
			return
		}
	} else {
		var m map[string]any
		if err := decodePayload(s.payload, &m); err != nil {
			h.writeProblem(w, r, err)
			return
		}
		if res, err = h.cfg.ACME.StartChallenge(r.Context(), s.acct, authzID, typ); err != nil {
			h.writeProblem(w, r, err)
			return
		}
	}
	w.Header().Add("Link", `<`+h.url("authz", res.AuthzID)+`>;rel="up"`)
	retryAfterHeader(w, res.RetryAfter)
	h.writeJSON(w, http.StatusOK, h.challengeJSON(res.AuthzID, res.Challenge))
}
