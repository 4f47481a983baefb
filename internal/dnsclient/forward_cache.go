package dnsclient

import (
	"sync"
	"time"

	"github.com/miekg/dns"
)

const (
	// MaxForwardCacheTTL caps ForwarderConfig.CacheMaxTTL: a validation
	// must see a record an applicant just changed within a minute, and an
	// answer older than that saves little under any real load.
	MaxForwardCacheTTL = 60 * time.Second

	// maxForwardNegativeTTL caps how long a negative answer (NXDOMAIN, or
	// NODATA) is cached, whatever its SOA says (RFC 2308 §5): an applicant
	// who has just added the record asked for must not wait for it.
	maxForwardNegativeTTL = 5 * time.Second

	// maxForwardCacheEntries bounds the cache's memory: every name looked
	// up is an entry, and the names come from applicants.
	maxForwardCacheEntries = 10000
)

// forwardKey identifies a cached forward answer.
type forwardKey struct {
	name  string
	qtype uint16
}

type forwardEntry struct {
	msg     *dns.Msg
	server  string
	stored  time.Time
	expires time.Time
}

// forwardCache keeps the forwarders' answers for their TTL, capped at
// maxTTL (negative answers at maxForwardNegativeTTL too). SERVFAIL,
// REFUSED and truncated answers are never kept. It is safe for concurrent
// use.
type forwardCache struct {
	maxTTL time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[forwardKey]*forwardEntry
}

func newForwardCache(maxTTL time.Duration, now func() time.Time) *forwardCache {
	return &forwardCache{maxTTL: maxTTL, now: now, entries: make(map[forwardKey]*forwardEntry)}
}

// get returns a copy of the cached answer to name/qtype, its TTLs reduced
// by the time it spent in the cache, the server that gave it, and when it
// leaves the cache.
func (c *forwardCache) get(name string, qtype uint16) (*dns.Msg, string, time.Time, bool) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[forwardKey{name, qtype}]
	if ok && !now.Before(e.expires) {
		delete(c.entries, forwardKey{name, qtype})
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return nil, "", time.Time{}, false
	}
	msg := e.msg.Copy()
	age := uint32(now.Sub(e.stored) / time.Second)
	for _, sec := range [][]dns.RR{msg.Answer, msg.Ns, msg.Extra} {
		for _, rr := range sec {
			h := rr.Header()
			if h.Rrtype == dns.TypeOPT {
				continue
			}
			h.Ttl -= min(h.Ttl, age)
		}
	}
	return msg, e.server, e.expires, true
}

// put keeps msg, the answer of server to name/qtype, for its TTL.
func (c *forwardCache) put(name string, qtype uint16, msg *dns.Msg, server string) {
	ttl := cacheTTL(msg, c.maxTTL)
	if ttl <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxForwardCacheEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxForwardCacheEntries {
			// Every entry is live: start over rather than grow.
			clear(c.entries)
		}
	}
	kept := msg.Copy()
	for _, rr := range kept.Ns {
		// RFC 2308 §5: a negative answer's SOA is cached with the negative
		// TTL as its TTL, so that what is served from the cache counts
		// down from there.
		if soa, ok := rr.(*dns.SOA); ok {
			soa.Hdr.Ttl = min(soa.Hdr.Ttl, soa.Minttl)
		}
	}
	c.entries[forwardKey{name, qtype}] = &forwardEntry{msg: kept, server: server, stored: now, expires: now.Add(ttl)}
}

// cacheTTL is how long msg may be cached: the smallest TTL of its answer
// records, or for a negative answer the smaller of its SOA's TTL and
// MINIMUM field (RFC 2308 §5) and maxForwardNegativeTTL; at most maxTTL.
// It is zero for an answer not to cache: SERVFAIL, REFUSED or any other
// error rcode, a truncated answer, a negative answer without a SOA, a TTL
// of zero.
func cacheTTL(msg *dns.Msg, maxTTL time.Duration) time.Duration {
	if msg.Truncated || (msg.Rcode != dns.RcodeSuccess && msg.Rcode != dns.RcodeNameError) {
		return 0
	}
	var ttl uint32
	found := false
	if msg.Rcode == dns.RcodeSuccess && len(msg.Answer) > 0 {
		for _, rr := range msg.Answer {
			if t := rr.Header().Ttl; !found || t < ttl {
				ttl, found = t, true
			}
		}
		return min(time.Duration(ttl)*time.Second, maxTTL)
	}
	// RFC 2308 §5: "the TTL of this record is set from the minimum of the
	// MINIMUM field of the SOA record and the TTL of the SOA itself".
	for _, rr := range msg.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			ttl, found = min(soa.Hdr.Ttl, soa.Minttl), true
			break
		}
	}
	if !found {
		return 0
	}
	return min(time.Duration(ttl)*time.Second, maxTTL, maxForwardNegativeTTL)
}
