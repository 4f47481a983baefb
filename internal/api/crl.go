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
// Its number is the signing time in microseconds (or one more than the
// last), which keeps it increasing across restarts (RFC 5280 §5.2.3): a
// signature takes far longer than a microsecond, so the number never runs
// ahead of the clock, as whole seconds did under a burst of revocations.
type crlCache struct {
	mu     sync.Mutex
	der    []byte
	signed time.Time
	// listed is a digest of the entries der lists; number is its CRL
	// number.
	listed [sha256.Size]byte
	number int64
}

// next returns the number of a CRL signed at now.
func (c *crlCache) next(now time.Time) int64 { return max(now.UnixMicro(), c.number+1) }

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
		number := h.crls.next(now)
		der, err := h.cfg.CA.CRL(big.NewInt(number), revoked, now, now.Add(crlNextUpdate))
		if err != nil {
			h.crls.mu.Unlock()
			h.fail(w, r, err)
			return
		}
		h.crls.der, h.crls.signed, h.crls.listed, h.crls.number = der, now, digest, number
	}
	der := h.crls.der
	h.crls.mu.Unlock()
	w.Header().Set("Content-Type", "application/pkix-crl")
	_, _ = w.Write(der)
}
