package sqlite

import (
	"bytes"
	"slices"
	"sync"
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

// accountCache keeps the ACME accounts that ACMEAccountGet loaded, for
// accountCacheTTL, so that the account lookup of every authenticated ACME
// request does not start a read transaction and read its pages again.
//
// It is coherent with the writes of this Store: a write that may change an
// account calls invalidate before it starts and the function invalidate
// returns once it has finished (committed or not). While any such write is
// in flight nothing is stored, and a load stores what it read only if no
// account write started or finished since it began (gen unchanged): so an
// entry never predates a write through this Store that has finished, and
// no entry exists while one runs. A hit is thus never older than what a
// read of the database at that moment would return, for every change made
// through this Store.
type accountCache struct {
	now func() time.Time // the clock of the TTL

	mu      sync.Mutex
	gen     uint64 // incremented when an account write starts or ends
	writing int    // account writes in flight
	entries map[string]accountEntry
}

type accountEntry struct {
	a       store.ACMEAccount
	expires time.Time
}

func newAccountCache(now func() time.Time) *accountCache {
	return &accountCache{now: now, entries: make(map[string]accountEntry)}
}

// get returns a copy of the cached account id, if any and fresh.
func (c *accountCache) get(id string) (*store.ACMEAccount, bool) {
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if !ok || !c.now().Before(e.expires) {
		return nil, false
	}
	return cloneAccount(&e.a), true
}

// begin returns the generation a load starts at, for put.
func (c *accountCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put stores a copy of a, loaded by a load that began at gen, unless an
// account write started or ended since then, or one is in flight.
func (c *accountCache) put(gen uint64, a *store.ACMEAccount) {
	expires := c.now().Add(accountCacheTTL)
	e := accountEntry{a: *cloneAccount(a), expires: expires}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.writing != 0 {
		return
	}
	if len(c.entries) >= accountCacheMax {
		c.evict()
	}
	c.entries[e.a.ID] = e
}

// evict makes room: it drops the expired entries, then, if the cache is
// still full, arbitrary ones down to seven eighths of accountCacheMax.
// c.mu is held.
func (c *accountCache) evict() {
	now := c.now()
	for id, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, id)
		}
	}
	for id := range c.entries {
		if len(c.entries) < accountCacheMax*7/8 {
			break
		}
		delete(c.entries, id)
	}
}

// invalidate drops account id and keeps the cache from storing any account
// until the returned function is called, which the caller must do once its
// write has finished, whatever its outcome.
func (c *accountCache) invalidate(id string) (done func()) {
	c.mu.Lock()
	c.gen++
	c.writing++
	delete(c.entries, id)
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		c.gen++
		c.writing--
		delete(c.entries, id)
		c.mu.Unlock()
	}
}

// cloneAccount returns a deep copy of a: callers may change what they get.
func cloneAccount(a *store.ACMEAccount) *store.ACMEAccount {
	out := *a
	out.KeyJWK = bytes.Clone(a.KeyJWK)
	out.Contact = slices.Clone(a.Contact)
	return &out
}
