package sqlite

import (
	"bytes"
	"slices"
	"time"

	"github.com/dcvhq/dcv/internal/store"
)

// accountCacheTTL is how long ACMEAccountGet may answer from memory. It
// bounds how stale an account may look after a change made outside this
// Store (another process, or an operator editing the file); changes made
// through this Store are seen at once (see accountCache). ACME clients
// send several requests per certificate within a few seconds, each of
// which loads its account.
const accountCacheTTL = 5 * time.Second

// accountCacheMax bounds the accounts kept, so memory stays bounded
// whatever the number of accounts; at about a kilobyte each, a few MB.
const accountCacheMax = 4096

// accountCache caches what ACMEAccountGet loaded, so that the account
// lookup of every authenticated ACME request does not start a read
// transaction and read its pages again. Every write that may change an
// account (ACMEAccountUpdate, ACMEAccountKeyChange) invalidates it (see
// rowCache for why hits are never older than the database for changes
// made through this Store).
type accountCache = rowCache[store.ACMEAccount]

func newAccountCache(now func() time.Time) *accountCache {
	return newRowCache(now, accountCacheTTL, accountCacheMax,
		func(a *store.ACMEAccount) string { return a.ID }, cloneAccount)
}

// cloneAccount returns a deep copy of a: callers may change what they get.
func cloneAccount(a *store.ACMEAccount) *store.ACMEAccount {
	out := *a
	out.KeyJWK = bytes.Clone(a.KeyJWK)
	out.Contact = slices.Clone(a.Contact)
	return &out
}
