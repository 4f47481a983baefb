package acme

import (
	"encoding/json"
	"net/http"
	"time"
)

// renewalInfoJSON is an RFC 9773 §4.2 renewalInfo object.
type renewalInfoJSON struct {
	SuggestedWindow struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"suggestedWindow"`
}

// renewalInfo serves GET /acme/renewal-info/{certID} (RFC 9773 §4): the
// suggested renewal window, with a Retry-After.
func (h *Handler) renewalInfo(w http.ResponseWriter, r *http.Request) {
	ri, err := h.cfg.ACME.RenewalInfo(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	var j renewalInfoJSON
	j.SuggestedWindow.Start = ri.Start.UTC().Format(time.RFC3339)
	j.SuggestedWindow.End = ri.End.UTC().Format(time.RFC3339)
	retryAfterHeader(w, ri.RetryAfter)
	h.linkIndex(w) // RFC 8555 §7.1: every resource but the directory links it
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(j)
}
