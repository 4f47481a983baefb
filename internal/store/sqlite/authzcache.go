package sqlite

import (
	"bytes"
	"hash/maphash"
	"sync"
	"time"

	"github.com/dcvhq/dcv/internal/store"
)

// authzCacheTTL is how long ACMEAuthzGet may answer from memory. It bounds
// how stale an authorization may look after a change made outside this
// Store (another process, or an operator editing the file); changes made
// through this Store are seen at once (see authzCache). An ACME client
// fetches each authorization, then posts its challenge, within a few
// seconds.
const authzCacheTTL = 5 * time.Second

// authzCacheMax bounds the authorizations kept, so memory stays bounded
// whatever the load; at a few kilobytes each (the evidence of a finished
// challenge), some tens of MB at worst.
const authzCacheMax = 8192

// authzStripes is the number of write trackers of authzCache: a write on
// one authorization keeps from being cached only the authorizations that
// share its stripe, so concurrent validations of other authorizations do
// not empty the cache.
const authzStripes = 256

// authzCache keeps the ACME authorizations (with their challenges) that
// ACMEAuthzGet loaded or ACMEOrderCreate inserted, for authzCacheTTL, so
// that the authorization and challenge requests of an ACME client do not
// start a read transaction and read their pages again.
//
// It is coherent with the writes of this Store. Every write that may
// change an acme_authzs or acme_challenges row (ACMEOrderCreate,
// ACMEAuthzDeactivate, ACMEChallengeStart, ACMEChallengeFinish,
// ACMEChallengeComplete; nothing else writes those tables) calls
// invalidate with the authorizations it may change before it starts, and
// the function invalidate returns once it has finished (committed or not).
// The ids hash to stripes, each with a count of the writes in flight and a
// generation incremented when one starts or ends. While a write on a
// stripe is in flight nothing of the stripe is stored, and a load stores
// what it read only if its stripe's generation is unchanged since it
// began: so an entry never predates a write through this Store that has
// finished, and no entry exists while one runs. ACMEOrderCreate stores
// what it inserted only if no other write of those stripes started or
// ended during its own: then its commit is the latest write of those
// authorizations. A hit is thus never older than what a read of the
// database at that moment would return, for every change made through
// this Store.
//
// A stale entry (a change made outside this Store, within the TTL) can
// only make a view stale, never authorize anything: the writes that act
// on an authorization's state check it inside their write transactions,
// from the database, never from this cache. ACMEChallengeStart and
// ACMEChallengeComplete start a validation only if the authorization is
// pending and unexpired (qACMEChallengeStart), ACMEChallengeFinish
// changes only a processing challenge of a pending authorization,
// ACMEAuthzDeactivate only a pending or valid one, and ACMEOrderFinalize
// issues only if every authorization of the order is valid and unexpired
// (qACMEOrderNotReady, in its reservation transaction).
type authzCache struct {
	now  func() time.Time // the clock of the TTL
	seed maphash.Seed

	mu      sync.Mutex
	gen     [authzStripes]uint64 // incremented when a write of the stripe starts or ends
	writing [authzStripes]int    // writes of the stripe in flight
	entries map[string]authzEntry
}

type authzEntry struct {
	z       store.ACMEAuthz
	expires time.Time
}

func newAuthzCache(now func() time.Time) *authzCache {
	return &authzCache{now: now, seed: maphash.MakeSeed(), entries: make(map[string]authzEntry)}
}

func (c *authzCache) stripe(id string) int {
	return int(maphash.String(c.seed, id) % authzStripes)
}

// get returns a copy of the cached authorization id, if any and fresh.
func (c *authzCache) get(id string) (*store.ACMEAuthz, bool) {
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if !ok || !c.now().Before(e.expires) {
		return nil, false
	}
	return cloneAuthz(&e.z), true
}

// begin returns the generation a load of id starts at, for put.
func (c *authzCache) begin(id string) uint64 {
	st := c.stripe(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen[st]
}

// put stores a copy of z, loaded by a load that began at gen, unless a
// write of its stripe started or ended since then, or one is in flight.
func (c *authzCache) put(gen uint64, z *store.ACMEAuthz) {
	st := c.stripe(z.ID)
	e := authzEntry{z: *cloneAuthz(z), expires: c.now().Add(authzCacheTTL)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen[st] != gen || c.writing[st] != 0 {
		return
	}
	c.store(e)
}

// store adds e, making room first if the cache is full. c.mu is held.
func (c *authzCache) store(e authzEntry) {
	if _, ok := c.entries[e.z.ID]; !ok && len(c.entries) >= authzCacheMax {
		c.evict()
	}
	c.entries[e.z.ID] = e
}

// evict makes room: it drops the expired entries, then, if the cache is
// still full, arbitrary ones down to seven eighths of authzCacheMax.
// c.mu is held.
func (c *authzCache) evict() {
	now := c.now()
	for id, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, id)
		}
	}
	for id := range c.entries {
		if len(c.entries) < authzCacheMax*7/8 {
			break
		}
		delete(c.entries, id)
	}
}

// invalidate drops the authorizations ids and keeps the cache from storing
// any authorization of their stripes until the returned function is
// called, which the caller must do once its write has finished, whatever
// its outcome. The write may pass done the authorizations as it committed
// them (those it inserted), each one of ids, or nil: each is stored if no
// other write of its stripe started or ended meanwhile.
func (c *authzCache) invalidate(ids ...string) (done func(committed []store.ACMEAuthz)) {
	// The stripes, each once, with their generation after this write began.
	type mark struct {
		stripe int
		gen    uint64
	}
	marks := make([]mark, 0, len(ids))
	c.mu.Lock()
	for _, id := range ids {
		delete(c.entries, id)
		st := c.stripe(id)
		seen := false
		for _, m := range marks {
			seen = seen || m.stripe == st
		}
		if !seen {
			c.gen[st]++
			c.writing[st]++
			marks = append(marks, mark{st, c.gen[st]})
		}
	}
	c.mu.Unlock()
	return func(committed []store.ACMEAuthz) {
		entries := make([]authzEntry, len(committed))
		expires := c.now().Add(authzCacheTTL)
		for i := range committed {
			entries[i] = authzEntry{z: *cloneAuthz(&committed[i]), expires: expires}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		alone := make(map[int]bool, len(marks))
		for _, m := range marks {
			alone[m.stripe] = c.gen[m.stripe] == m.gen && c.writing[m.stripe] == 1
			c.gen[m.stripe]++
			c.writing[m.stripe]--
		}
		for _, id := range ids {
			delete(c.entries, id)
		}
		for _, e := range entries {
			if alone[c.stripe(e.z.ID)] {
				c.store(e)
			}
		}
	}
}

// cloneAuthz returns a deep copy of z: callers may change what they get.
func cloneAuthz(z *store.ACMEAuthz) *store.ACMEAuthz {
	out := *z
	if z.Challenges != nil {
		out.Challenges = make([]store.ACMEChallenge, len(z.Challenges))
		for i, ch := range z.Challenges {
			ch.Error = bytes.Clone(ch.Error)
			ch.Evidence = bytes.Clone(ch.Evidence)
			out.Challenges[i] = ch
		}
	}
	return &out
}

// authzAsStored returns z as ACMEAuthzGet would read it back once
// inserted: times in UTC without a monotonic reading, no empty challenge
// list, no empty Error or Evidence (stored as NULL).
func authzAsStored(z store.ACMEAuthz) store.ACMEAuthz {
	z.ExpiresAt, z.ValidatedAt, z.CreatedAt = asStoredTime(z.ExpiresAt), asStoredTime(z.ValidatedAt), asStoredTime(z.CreatedAt)
	if len(z.Challenges) == 0 {
		z.Challenges = nil
		return z
	}
	chs := make([]store.ACMEChallenge, len(z.Challenges))
	for i, ch := range z.Challenges {
		ch.StartedAt, ch.ValidatedAt = asStoredTime(ch.StartedAt), asStoredTime(ch.ValidatedAt)
		if len(ch.Error) == 0 {
			ch.Error = nil
		}
		if len(ch.Evidence) == 0 {
			ch.Evidence = nil
		}
		chs[i] = ch
	}
	z.Challenges = chs
	return z
}

// asStoredTime is t as decodeTime returns it after encodeTime.
func asStoredTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
