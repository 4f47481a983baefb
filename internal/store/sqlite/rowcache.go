package sqlite

import (
	"hash/maphash"
	"sync"
	"time"
)

// cacheStripes is the number of write trackers of a rowCache: a write on
// one row keeps from being cached only the rows that share its stripe, so
// concurrent writes of other rows do not empty the cache.
const cacheStripes = 256

// rowCache keeps rows that reads loaded (or writes committed), by ID, for
// ttl, so that hot reads need not start a read transaction and read their
// pages again. It holds at most max rows and hands out copies (clone).
//
// It is coherent with the writes of this Store. Every write that may
// change a cached row calls invalidate with the rows it may change before
// it starts, and the function invalidate returns once it has finished
// (committed or not). The IDs hash to stripes, each with a count of the
// writes in flight and a generation incremented when one starts or ends.
// While a write on a stripe is in flight nothing of the stripe is stored,
// and a load stores what it read only if its stripe's generation is
// unchanged since it began: so an entry never predates a write through
// this Store that has finished, and no entry exists while one runs. A
// write may hand done the rows it committed; they are stored only if no
// other write of their stripes started or ended during its own, so that
// its commit is the latest write of those rows. A hit is thus never older
// than what a read of the database at that moment would return, for every
// change made through this Store; a change made another way (another
// process) shows within ttl.
type rowCache[V any] struct {
	now   func() time.Time // the clock of the TTL
	ttl   time.Duration
	max   int
	id    func(*V) string
	clone func(*V) *V // a deep copy: callers may change what they get
	seed  maphash.Seed

	mu      sync.Mutex
	gen     [cacheStripes]uint64 // incremented when a write of the stripe starts or ends
	writing [cacheStripes]int    // writes of the stripe in flight
	entries map[string]rowEntry[V]
}

type rowEntry[V any] struct {
	v       V
	expires time.Time
}

func newRowCache[V any](now func() time.Time, ttl time.Duration, max int, id func(*V) string, clone func(*V) *V) *rowCache[V] {
	return &rowCache[V]{now: now, ttl: ttl, max: max, id: id, clone: clone,
		seed: maphash.MakeSeed(), entries: make(map[string]rowEntry[V])}
}

func (c *rowCache[V]) stripe(id string) int {
	return int(maphash.String(c.seed, id) % cacheStripes)
}

// get returns a copy of the cached row id, if any and fresh.
func (c *rowCache[V]) get(id string) (*V, bool) {
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if !ok || !c.now().Before(e.expires) {
		return nil, false
	}
	return c.clone(&e.v), true
}

// begin returns the generation a load of id starts at, for put.
func (c *rowCache[V]) begin(id string) uint64 {
	st := c.stripe(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen[st]
}

// put stores a copy of v, loaded by a load that began at gen, unless a
// write of its stripe started or ended since then, or one is in flight.
func (c *rowCache[V]) put(gen uint64, v *V) {
	st := c.stripe(c.id(v))
	e := rowEntry[V]{v: *c.clone(v), expires: c.now().Add(c.ttl)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen[st] != gen || c.writing[st] != 0 {
		return
	}
	c.store(e)
}

// store adds e, making room first if the cache is full. c.mu is held.
func (c *rowCache[V]) store(e rowEntry[V]) {
	id := c.id(&e.v)
	if _, ok := c.entries[id]; !ok && len(c.entries) >= c.max {
		c.evict()
	}
	c.entries[id] = e
}

// evict makes room: it drops the expired entries, then, if the cache is
// still full, arbitrary ones down to seven eighths of max. c.mu is held.
func (c *rowCache[V]) evict() {
	now := c.now()
	for id, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, id)
		}
	}
	for id := range c.entries {
		if len(c.entries) < c.max*7/8 {
			break
		}
		delete(c.entries, id)
	}
}

// invalidate drops the rows ids and keeps the cache from storing any row
// of their stripes until the returned function is called, which the caller
// must do once its write has finished, whatever its outcome. The write may
// pass done the rows as it committed them (each one of ids), or nil: each
// is stored if no other write of its stripe started or ended meanwhile.
func (c *rowCache[V]) invalidate(ids ...string) (done func(committed []V)) {
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
	return func(committed []V) {
		entries := make([]rowEntry[V], len(committed))
		expires := c.now().Add(c.ttl)
		for i := range committed {
			entries[i] = rowEntry[V]{v: *c.clone(&committed[i]), expires: expires}
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
			if alone[c.stripe(c.id(&e.v))] {
				c.store(e)
			}
		}
	}
}
