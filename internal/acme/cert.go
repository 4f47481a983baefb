package acme

import (
	"encoding/pem"
	"net/http"
	"strings"
)

// cert serves a certificate chain (RFC 8555 §7.4.2) by POST-as-GET:
// application/pem-certificate-chain, leaf first. With an alternate chain
// configured, and valid now, the default answer links it (Link
// rel="alternate") and /acme/cert/{serial}/1 serves the leaf with it,
// linking the default back.
func (h *Handler) cert(w http.ResponseWriter, r *http.Request) {
	s, err := h.verify(r, needKID)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	if !s.postAsGet() {
		h.writeProblem(w, r, malformed("a certificate is fetched with POST-as-GET (an empty payload)"))
		return
	}
	serial := r.PathValue("serial")
	alt := r.PathValue("alt")
	altPEM := h.altChain(h.cfg.Now())
	switch {
	case alt == "1" && h.cfg.AlternateChainPEM != "" && altPEM == "":
		h.writeProblem(w, r, notFound("the alternate chain is not offered now: a certificate of it is expired or not yet valid (fetch the default chain, without /1)"))
		return
	case alt != "" && (alt != "1" || altPEM == ""):
		h.writeProblem(w, r, notFound("no alternate chain "+alt))
		return
	}
	chain, err := h.cfg.ACME.Certificate(r.Context(), s.acct, serial)
	if err != nil {
		h.writeProblem(w, r, err)
		return
	}
	if alt == "1" {
		leaf, _ := pem.Decode([]byte(chain))
		if leaf == nil {
			h.writeProblem(w, r, serverInternal())
			return
		}
		chain = string(pem.EncodeToMemory(leaf)) + strings.TrimLeft(altPEM, "\n")
		// Each chain links the other (RFC 8555 §7.4.2: "one or more link
		// relation header fields with relation 'alternate'").
		w.Header().Add("Link", `<`+h.url("cert", serial)+`>;rel="alternate"`)
	} else if altPEM != "" {
		w.Header().Add("Link", `<`+h.url("cert", serial, "1")+`>;rel="alternate"`)
	}
	h.setNonce(w)
	h.linkIndex(w)
	w.Header().Set("Content-Type", "application/pem-certificate-chain")
	_, _ = w.Write([]byte(chain))
}
