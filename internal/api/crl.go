package api

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
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
// again whenever the list of revoked, unexpired certificates changes: an
// entry added or gone, or a reason changed (an upgrade to keyCompromise).
// Its number is the signing time in microseconds, or one more than the
// last (order.Service.NextCRLNumber, kept in the store): increasing across
// restarts (RFC 5280 §5.2.3), even when the clock steps back.
type crlCache struct {
	mu     sync.Mutex
	der    []byte
	signed time.Time
	// listed is a digest of the entries der lists.
	listed [sha256.Size]byte
}

// crlDigest is a digest of the entries a CRL lists: serial, reason and
// time of each.
func crlDigest(es []x509.RevocationListEntry) [sha256.Size]byte {
	h := sha256.New()
	for _, e := range es {
		fmt.Fprintf(h, "%x %d %d\n", e.SerialNumber, e.ReasonCode, e.RevocationTime.UnixNano())
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}

func (h *Handler) crl(w http.ResponseWriter, r *http.Request) {
	// The list is read under the lock, so that a CRL signed later is never
	// made from an older list than one signed before it.
	h.crls.mu.Lock()
	revoked, err := h.cfg.Orders.RevokedList(r.Context())
	if err != nil {
		h.crls.mu.Unlock()
		h.fail(w, r, err)
		return
	}
	now := time.Now().UTC()
	// A revocation re-signs the CRL at once: it must be listed the moment
	// it is made, not an hour later.
	digest := crlDigest(revoked)
	if h.crls.der == nil || now.Sub(h.crls.signed) > crlLifetime || digest != h.crls.listed {
		number, err := h.cfg.Orders.NextCRLNumber(r.Context(), now)
		if err != nil {
			h.crls.mu.Unlock()
			h.fail(w, r, err)
			return
		}
		der, err := h.cfg.CA.CRL(big.NewInt(number), revoked, now, now.Add(crlNextUpdate))
		if err != nil {
			h.crls.mu.Unlock()
			h.fail(w, r, err)
			return
		}
		h.crls.der, h.crls.signed, h.crls.listed = der, now, digest
	}
	der := h.crls.der
	h.crls.mu.Unlock()
	w.Header().Set("Content-Type", "application/pkix-crl")
	_, _ = w.Write(der)
}
