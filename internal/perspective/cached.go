package perspective

import (
	"context"
	"sync"
	"time"
)

// CachedSource is a RemoteSource that reads the list from its source at
// most once per TTL, so enrolment and removal take effect within the TTL
// instead of at once. A failed read is not cached. It is safe for
// concurrent use.
type CachedSource struct {
	next RemoteSource
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	list    []Remote
	fetched time.Time
	valid   bool
}

// NewCachedSource returns a CachedSource of next; now is its clock.
func NewCachedSource(next RemoteSource, ttl time.Duration, now func() time.Time) *CachedSource {
	return &CachedSource{next: next, ttl: ttl, now: now}
}

// Remotes returns the cached list while it is younger than the TTL, else
// reads it again. Callers must not modify the returned slice.
func (c *CachedSource) Remotes(ctx context.Context) ([]Remote, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.valid && now.Sub(c.fetched) < c.ttl && !now.Before(c.fetched) {
		return c.list, nil
	}
	list, err := c.next.Remotes(ctx)
	if err != nil {
		return nil, err
	}
	c.list, c.fetched, c.valid = list, now, true
	return list, nil
}
