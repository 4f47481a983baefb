package dnsclient

import (
	"container/list"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// maxCacheTTL caps how long anything stays cached, whatever TTL a server
// gives: a day, as common resolvers do (Unbound's cache-max-ttl), so that a
// wrong answer with a huge TTL does not stick for the life of the process.
const maxCacheTTL = 24 * time.Hour

// cacheKey identifies a cached answer (name and qtype) or a cached delegation
// (deleg set, qtype zero). Answers asked of a given zone's servers
// (QueryZone) are kept apart, with zone set, from the answers of lookups.
type cacheKey struct {
	name  string
	qtype uint16
	zone  string
	deleg bool
}

// answer is the final response of the authoritative servers of zone for one
// name and qtype, as asked on the wire or taken from the cache.
type answer struct {
	msg    *dns.Msg
	server string
	zone   string
	// deleg is the zone cut the answer came from.
	deleg *delegation
	// ttl is the answer's remaining time to live in seconds.
	ttl    uint32
	cached bool
	// validated is set when DNSSEC validation ran for the answer.
	validated bool
	status    DNSSECStatus
	reason    string
}

// delegation is a zone cut: the zone and its name servers.
type delegation struct {
	zone string
	// names are the NS names, lowercase, in the order given ("" for root
	// hints, which name no server).
	names []string
	// addrs holds the addresses known for each NS name (glue, or found by a
	// sub-resolution).
	addrs map[string][]netip.Addr
}

type cacheEntry struct {
	key     cacheKey
	stored  time.Time
	expires time.Time
	answer  *answer
	deleg   *delegation
}

// cache is a size-bounded, least-recently-used cache of answers and
// delegations with expiry. It is safe for concurrent use.
type cache struct {
	mu    sync.Mutex
	size  int
	order *list.List // of *cacheEntry, most recently used first
	byKey map[cacheKey]*list.Element
}

func newCache(size int) *cache {
	return &cache{size: size, order: list.New(), byKey: map[cacheKey]*list.Element{}}
}

// get returns the live entry for k, or nil. Expired entries are dropped.
func (c *cache) get(k cacheKey, now time.Time) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.byKey, k)
		return nil
	}
	c.order.MoveToFront(el)
	return e
}

// put stores e for ttl from now, evicting the least recently used entry
// when the cache is full. A ttl of zero or less stores nothing (RFC 1035
// §3.2.1: zero TTL records are used only for the transaction in progress).
func (c *cache) put(e *cacheEntry, now time.Time, ttl time.Duration) {
	if ttl <= 0 || c.size <= 0 {
		return
	}
	e.stored, e.expires = now, now.Add(min(ttl, maxCacheTTL))
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[e.key]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*cacheEntry).key)
	}
	c.byKey[e.key] = c.order.PushFront(e)
}

// drop removes the entry for k, if any, and reports whether there was one.
func (c *cache) drop(k cacheKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if ok {
		c.order.Remove(el)
		delete(c.byKey, k)
	}
	return ok
}

// len returns the number of entries, expired ones included.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
