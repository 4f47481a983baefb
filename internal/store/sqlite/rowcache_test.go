package sqlite

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/testenv"
)

// boundCase is one of the store's row caches, for TestRowCacheBound.
type boundCase struct {
	ttl time.Duration
	max int
	// put stores the row id as a load would; write as a committed write
	// would; entries counts the rows held; has reports whether id is held;
	// fresh whether get finds it.
	put, write func(id string)
	entries    func() int
	has, fresh func(id string) bool
}

func newBoundCase[V any](c *rowCache[V], ttl time.Duration, max int, row func(id string) V) boundCase {
	return boundCase{
		ttl: ttl, max: max,
		put: func(id string) {
			v := row(id)
			c.put(c.begin(id), &v)
		},
		write:   func(id string) { c.invalidate(id)([]V{row(id)}) },
		entries: func() int { return len(c.entries) },
		has: func(id string) bool {
			_, ok := c.entries[id]
			return ok
		},
		fresh: func(id string) bool {
			_, ok := c.get(id)
			return ok
		},
	}
}

// TestRowCacheBound checks that each cache of the store never holds more
// than its maximum, whether filled by loads or by writes, and drops expired
// rows first.
func TestRowCacheBound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		make func(now func() time.Time) boundCase
	}{
		{"accounts", func(now func() time.Time) boundCase {
			return newBoundCase(newAccountCache(now), accountCacheTTL, accountCacheMax,
				func(id string) store.ACMEAccount { return store.ACMEAccount{ID: id} })
		}},
		{"authorizations", func(now func() time.Time) boundCase {
			return newBoundCase(newAuthzCache(now), authzCacheTTL, authzCacheMax,
				func(id string) store.ACMEAuthz { return store.ACMEAuthz{ID: id} })
		}},
		{"certificates", func(now func() time.Time) boundCase {
			return newBoundCase(newCertCache(now), certCacheTTL, certCacheMax,
				func(id string) store.Certificate { return store.Certificate{Serial: id} })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := testenv.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			c := tt.make(clock.Now)
			c.put("old")
			clock.Add(c.ttl)
			for i := range c.max - 1 {
				c.put(fmt.Sprint("a", i))
			}
			if n := c.entries(); n != c.max {
				t.Fatalf("cache holds %d rows, want %d", n, c.max)
			}
			c.put("new")
			if c.has("old") {
				t.Errorf("the expired row was kept when the cache was full")
			}
			if !c.fresh("new") {
				t.Errorf("the row put last is not cached")
			}
			for i := range c.max {
				c.put(fmt.Sprint("b", i))
			}
			if n := c.entries(); n > c.max {
				t.Errorf("cache holds %d rows, more than %d", n, c.max)
			}
			for i := range c.max {
				c.write(fmt.Sprint("c", i))
			}
			if n := c.entries(); n > c.max {
				t.Errorf("cache holds %d rows after writes, more than %d", n, c.max)
			}
		})
	}
}

// checkReadsMonotonic runs write(1), ..., write(n) one after another while
// four goroutines read the version of the written row: once write(i) has
// returned, every later read (from any goroutine) must give i or more, and
// each reader must see the versions in order. name names read in errors.
func checkReadsMonotonic(t *testing.T, name string, n int, read func() (int, error), write func(i int) error) {
	t.Helper()
	var (
		done      atomic.Bool
		committed atomic.Int64 // the last write that returned
		wg        sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := 0
			for !done.Load() {
				floor := int(committed.Load())
				v, err := read()
				if err != nil {
					t.Error(err)
					return
				}
				if v < floor {
					t.Errorf("%s returned version %d after write %d had returned", name, v, floor)
					return
				}
				if v < last {
					t.Errorf("%s returned version %d after version %d", name, v, last)
					return
				}
				last = v
			}
		}()
	}
	defer func() {
		done.Store(true)
		wg.Wait()
	}()
	for i := 1; i <= n; i++ {
		if err := write(i); err != nil {
			t.Fatal(err)
		}
		committed.Store(int64(i))
	}
}
