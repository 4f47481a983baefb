package api

import (
	"crypto/x509"
	"math/big"
	"net/http"
	"sync"
	"time"
)

// crlLifetime is how long one signed CRL is served before a new one is
// signed; its nextUpdate is crlNextUpdate later, within the BRs' ten days.
const (
	crlLifetime   = time.Hour
	crlNextUpdate = 7 * 24 * time.Hour
)

// crlCache signs the intermediate's CRL at most once per crlLifetime. dcv
// revokes nothing yet, so the list is empty; its number is the signing
// time in seconds, which keeps it increasing across restarts.
type crlCache struct {
	mu     sync.Mutex
	der    []byte
	signed time.Time
}

func (h *Handler) crl(w http.ResponseWriter, r *http.Request) {
	h.crls.mu.Lock()
	now := time.Now().UTC()
	if h.crls.der == nil || now.Sub(h.crls.signed) > crlLifetime {
		der, err := h.cfg.CA.CRL(big.NewInt(now.Unix()), []x509.RevocationListEntry{}, now, now.Add(crlNextUpdate))
		if err != nil {
			h.crls.mu.Unlock()
			h.fail(w, r, err)
			return
		}
		h.crls.der, h.crls.signed = der, now
	}
	der := h.crls.der
	h.crls.mu.Unlock()
	w.Header().Set("Content-Type", "application/pkix-crl")
	_, _ = w.Write(der)
}
