package api

import (
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

// crlCache signs the intermediate's CRL at most once per crlLifetime, and
// again whenever the number of revoked, unexpired certificates changes. Its
// number is the signing time in seconds (or one more than the last), which
// keeps it increasing across restarts.
type crlCache struct {
	mu     sync.Mutex
	der    []byte
	signed time.Time
	// listed is how many revocations der lists; number is its CRL number.
	listed int
	number int64
}

func (h *Handler) crl(w http.ResponseWriter, r *http.Request) {
	revoked, err := h.cfg.Orders.RevokedList(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.crls.mu.Lock()
	now := time.Now().UTC()
	// A revocation re-signs the CRL at once: it must be listed the moment
	// it is made, not an hour later.
	if h.crls.der == nil || now.Sub(h.crls.signed) > crlLifetime || len(revoked) != h.crls.listed {
		number := max(now.Unix(), h.crls.number+1)
		der, err := h.cfg.CA.CRL(big.NewInt(number), revoked, now, now.Add(crlNextUpdate))
		if err != nil {
			h.crls.mu.Unlock()
			h.fail(w, r, err)
			return
		}
		h.crls.der, h.crls.signed, h.crls.listed, h.crls.number = der, now, len(revoked), number
	}
	der := h.crls.der
	h.crls.mu.Unlock()
	w.Header().Set("Content-Type", "application/pkix-crl")
	_, _ = w.Write(der)
}
