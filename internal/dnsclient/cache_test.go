package dnsclient

import (
	"net/netip"
	"testing"
	"time"
)

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	key := func(n string) cacheKey { return cacheKey{name: n, qtype: 16} }
	tests := []struct {
		name string
		ops  func(c *cache)
		want map[string]bool // name -> present
	}{
		{
			name: "oldest evicted when full",
			ops: func(c *cache) {
				for _, n := range []string{"a.", "b.", "c."} {
					c.put(&cacheEntry{key: key(n), answer: &answer{}}, now, time.Minute)
				}
			},
			want: map[string]bool{"a.": false, "b.": true, "c.": true},
		},
		{
			name: "use refreshes an entry",
			ops: func(c *cache) {
				c.put(&cacheEntry{key: key("a."), answer: &answer{}}, now, time.Minute)
				c.put(&cacheEntry{key: key("b."), answer: &answer{}}, now, time.Minute)
				c.get(key("a."), now)
				c.put(&cacheEntry{key: key("c."), answer: &answer{}}, now, time.Minute)
			},
			want: map[string]bool{"a.": true, "b.": false, "c.": true},
		},
		{
			name: "zero ttl not stored",
			ops: func(c *cache) {
				c.put(&cacheEntry{key: key("a."), answer: &answer{}}, now, 0)
			},
			want: map[string]bool{"a.": false},
		},
		{
			name: "ttl capped at a day",
			ops: func(c *cache) {
				c.put(&cacheEntry{key: key("a."), answer: &answer{}}, now.Add(-maxCacheTTL), 30*24*time.Hour)
			},
			want: map[string]bool{"a.": false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCache(2)
			tt.ops(c)
			for n, present := range tt.want {
				if got := c.get(key(n), now) != nil; got != present {
					t.Errorf("%s present = %t, want %t", n, got, present)
				}
			}
			if c.len() > 2 {
				t.Errorf("cache holds %d entries, more than its size 2", c.len())
			}
		})
	}
}

// SetRefused makes r refuse to query the nameservers at the addresses
// refuse reports, in place of the special-purpose address policy, so
// that the external tests on loopback can tell refused servers from the
// others.
func SetRefused(r *Iterative, refuse func(netip.Addr) bool) { r.refuse = refuse }
