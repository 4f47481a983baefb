package sqlite

import (
	"time"

	"github.com/dcvhq/dcv/internal/store"
)

// certCacheTTL is how long a certificate this Store has just issued stays
// in memory for CertificateGetBySerial. An ACME client downloads its
// certificate right after finalize (lego, certbot and uacme within the
// second); later downloads read the database.
const certCacheTTL = 30 * time.Second

// certCacheMax bounds the certificates kept (a chain is about 2 KB).
const certCacheMax = 4096

// certCache holds the certificates ACMEOrderFinalize has just stored, with
// the account of their order, as CertificateGetBySerial reads them. Every
// column it keeps is written once, when the certificate is stored, and
// never changed or deleted (a revocation is a row of its own, read apart),
// so an entry can never be stale; only what was committed is stored.
type certCache = rowCache[store.Certificate]

func newCertCache(now func() time.Time) *certCache {
	return newRowCache(now, certCacheTTL, certCacheMax,
		func(c *store.Certificate) string { return c.Serial },
		func(c *store.Certificate) *store.Certificate { out := *c; return &out })
}
