package api

import (
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/ca"
)

// TestCRLNumberAfterABurst: after a burst of CRLs signed back to back (one
// per revocation), the number a restarted server gives its first CRL is
// still higher than the last one's (RFC 5280 §5.2.3: monotonically
// increasing). In whole seconds, a burst ran ahead of the clock.
func TestCRLNumberAfterABurst(t *testing.T) {
	t.Parallel()
	authority, err := ca.LoadOrCreate(ca.Config{
		Dir:          filepath.Join(t.TempDir(), "ca"),
		AIAIssuerURL: "http://127.0.0.1:8080/ca/intermediate.cer",
		CRLURL:       "http://127.0.0.1:8080/ca/intermediate.crl",
	})
	if err != nil {
		t.Fatal(err)
	}
	var c crlCache
	for range 200 {
		now := time.Now().UTC()
		n := c.next(now)
		if _, err := authority.CRL(big.NewInt(n), nil, now, now.Add(crlNextUpdate)); err != nil {
			t.Fatal(err)
		}
		c.number = n
	}
	var restarted crlCache
	if first := restarted.next(time.Now()); first <= c.number {
		t.Errorf("first number after a restart %d, not above the last one %d", first, c.number)
	}
}
