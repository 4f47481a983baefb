package sqlite

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/testenv"
)

// createAuthzOrder stores account "acct" and an ACME order "o" whose new
// authorization z is pending, with challenges http-01 and dns-01.
func createAuthzOrder(t *testing.T, s *Store, z store.ACMEAuthz) {
	t.Helper()
	ctx := context.Background()
	if err := s.ACMEAccountCreate(ctx, store.ACMEAccount{ID: "acct", KeyThumbprint: "tp", KeyJWK: []byte(`{}`), Status: "valid", CreatedAt: z.CreatedAt}); err != nil {
		t.Fatal(err)
	}
	o := &store.ACMEOrder{Order: store.Order{ID: "o", AccountID: "acct", Method: "acme", Status: "pending", CreatedAt: z.CreatedAt, ExpiresAt: z.ExpiresAt,
		Authorizations: []store.Authorization{{Domain: z.Identifier, Method: "acme", Status: "pending", Value: z.ID, ExpiresAt: z.ExpiresAt}}},
		Profile: "default", Authzs: []store.ACMEAuthz{z}}
	if err := s.ACMEOrderCreate(ctx, o, []store.ACMEAuthz{z}); err != nil {
		t.Fatal(err)
	}
}

func pendingAuthz(at time.Time) store.ACMEAuthz {
	return store.ACMEAuthz{ID: "z", AccountID: "acct", Identifier: "a.example", Status: store.ACMEStatusPending, Token: "tok",
		ExpiresAt: at.Add(time.Hour), CreatedAt: at,
		Challenges: []store.ACMEChallenge{{Type: "http-01", Status: "pending"}, {Type: "dns-01", Status: "pending"}}}
}

// TestAuthzCache checks that ACMEAuthzGet, which may answer from memory,
// shows at once every change made through the Store by each write that
// changes an authorization or its challenges, shows a change made to the
// file behind the Store's back only after authzCacheTTL, and hands out
// copies.
func TestAuthzCache(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	start := func(t *testing.T, s *Store) {
		t.Helper()
		if err := s.ACMEChallengeStart(t.Context(), "z", "http-01", at, at.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// recache loads the authorization again, so that the next write must
	// invalidate a cached entry.
	recache := func(t *testing.T, s *Store) {
		t.Helper()
		if _, err := s.ACMEAuthzGet(t.Context(), "z"); err != nil {
			t.Fatal(err)
		}
	}
	valid := store.ACMEChallengeResult{AuthzID: "z", Type: "http-01", Status: store.ACMEStatusValid, At: at, AuthzExpiresAt: at.Add(24 * time.Hour),
		Evidence: []byte(`{"ok":true}`)}
	invalid := store.ACMEChallengeResult{AuthzID: "z", Type: "http-01", Status: store.ACMEStatusInvalid, At: at,
		Error: []byte(`{"type":"urn:ietf:params:acme:error:unauthorized"}`)}
	tests := []struct {
		name string
		// change changes authorization "z" after it was cached.
		change func(t *testing.T, s *Store, path string)
		// wait is how long the clock moves after the change.
		wait          time.Duration
		wantStatus    string // the authorization's
		wantChallenge string // http-01's status
		wantError     string // http-01's Error
	}{
		{
			name:       "no change: cached copy",
			change:     func(*testing.T, *Store, string) {},
			wantStatus: store.ACMEStatusPending, wantChallenge: "pending",
		},
		{
			name:       "challenge start: seen at once",
			change:     func(t *testing.T, s *Store, _ string) { start(t, s) },
			wantStatus: store.ACMEStatusPending, wantChallenge: "processing",
		},
		{
			name: "challenge finish valid: seen at once",
			change: func(t *testing.T, s *Store, _ string) {
				start(t, s)
				recache(t, s)
				if err := s.ACMEChallengeFinish(t.Context(), valid); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: store.ACMEStatusValid, wantChallenge: "valid",
		},
		{
			name: "challenge finish invalid: seen at once",
			change: func(t *testing.T, s *Store, _ string) {
				start(t, s)
				recache(t, s)
				if err := s.ACMEChallengeFinish(t.Context(), invalid); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: store.ACMEStatusInvalid, wantChallenge: "invalid", wantError: string(invalid.Error),
		},
		{
			name: "challenge complete: seen at once",
			change: func(t *testing.T, s *Store, _ string) {
				if err := s.ACMEChallengeComplete(t.Context(), valid, at, at.Add(-time.Hour)); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: store.ACMEStatusValid, wantChallenge: "valid",
		},
		{
			name: "deactivation: seen at once",
			change: func(t *testing.T, s *Store, _ string) {
				if err := s.ACMEAuthzDeactivate(t.Context(), "z"); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: store.ACMEStatusDeactivated, wantChallenge: "pending",
		},
		{
			name: "refused finish: cache still right",
			change: func(t *testing.T, s *Store, _ string) {
				if err := s.ACMEChallengeFinish(t.Context(), valid); !errors.Is(err, store.ErrConflict) {
					t.Fatalf("ACMEChallengeFinish of a pending challenge: %v, want ErrConflict", err)
				}
			},
			wantStatus: store.ACMEStatusPending, wantChallenge: "pending",
		},
		{
			name:       "changed behind the store's back: stale within the TTL",
			change:     invalidateAuthzRaw,
			wait:       authzCacheTTL - time.Millisecond,
			wantStatus: store.ACMEStatusPending, wantChallenge: "pending",
		},
		{
			name:       "changed behind the store's back: seen after the TTL",
			change:     invalidateAuthzRaw,
			wait:       authzCacheTTL,
			wantStatus: store.ACMEStatusInvalid, wantChallenge: "pending",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, path := openTemp(t)
			clock := testenv.NewClock(at)
			s.authzs.now = clock.Now
			createAuthzOrder(t, s, pendingAuthz(at)) // caches it
			first, err := s.ACMEAuthzGet(t.Context(), "z")
			if err != nil {
				t.Fatal(err)
			}
			// A caller may change what it got; the cache must not.
			first.Status = "mangled"
			first.Challenges[0].Status = "mangled"
			first.Challenges = append(first.Challenges, store.ACMEChallenge{Type: "extra"})
			tt.change(t, s, path)
			clock.Add(tt.wait)
			z, err := s.ACMEAuthzGet(t.Context(), "z")
			if err != nil {
				t.Fatal(err)
			}
			if len(z.Challenges) != 2 || z.Challenges[0].Type != "http-01" {
				t.Fatalf("challenges %+v, want http-01 and dns-01", z.Challenges)
			}
			c := z.Challenges[0]
			if z.Status != tt.wantStatus || c.Status != tt.wantChallenge || string(c.Error) != tt.wantError {
				t.Errorf("ACMEAuthzGet = status %s, http-01 %s, error %q; want %s, %s, %q",
					z.Status, c.Status, c.Error, tt.wantStatus, tt.wantChallenge, tt.wantError)
			}
		})
	}
}

// invalidateAuthzRaw sets authorization "z" invalid through another
// connection, as another process would.
func invalidateAuthzRaw(t *testing.T, _ *Store, path string) {
	t.Helper()
	if _, err := rawDB(t, path).Exec(`UPDATE acme_authzs SET status = 'invalid' WHERE id = 'z'`); err != nil {
		t.Fatal(err)
	}
}

// TestAuthzCacheCreateFill checks that what ACMEOrderCreate caches is what
// the database returns, whatever the zones, monotonic readings and empty
// slices of what it was given.
func TestAuthzCacheCreateFill(t *testing.T) {
	t.Parallel()
	zone := time.FixedZone("X", 5*3600+1800)
	at := time.Now().In(zone) // with a monotonic reading
	z := pendingAuthz(at)
	z.Challenges[0].Error = []byte{}
	z.Challenges[1].Evidence = []byte(`{"e":1}`)
	z.Challenges[1].StartedAt = at.Add(time.Second)
	s, _ := openTemp(t)
	createAuthzOrder(t, s, z)
	cached, ok := s.authzs.get("z")
	if !ok {
		t.Fatal("ACMEOrderCreate did not cache its new authorization")
	}
	read, err := acmeAuthzLoadOne(t.Context(), s.rd, qACMEAuthzFull, "z")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cached, read) {
		t.Errorf("cached after ACMEOrderCreate:\n%#v\nthe database holds:\n%#v", cached, read)
	}
	// A failed create caches nothing and drops nothing it did not change.
	s2, _ := openTemp(t)
	createAuthzOrder(t, s2, z)
	o := &store.ACMEOrder{Order: store.Order{ID: "o", AccountID: "acct", Method: "acme", Status: "pending", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}}
	dup := pendingAuthz(at)
	dup.ID = "z2"
	if err := s2.ACMEOrderCreate(t.Context(), o, []store.ACMEAuthz{dup}); err == nil {
		t.Fatal("ACMEOrderCreate of an existing order succeeded")
	}
	if _, ok := s2.authzs.get("z2"); ok {
		t.Error("a failed ACMEOrderCreate cached its authorization")
	}
	if _, err := s2.ACMEAuthzGet(t.Context(), "z2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ACMEAuthzGet of an authorization never stored: %v, want ErrNotFound", err)
	}
}

// TestAuthzCacheOverlap checks the generations: a load that overlapped a
// write of its stripe is not stored, a write that overlapped another of
// its stripe stores nothing, and a write of another stripe blocks neither.
func TestAuthzCacheOverlap(t *testing.T) {
	t.Parallel()
	clock := testenv.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	c := newAuthzCache(clock.Now)
	// other returns an id of another stripe than id.
	other := func(id string) string {
		for i := 0; ; i++ {
			if o := fmt.Sprint("o", i); c.stripe(o) != c.stripe(id) {
				return o
			}
		}
	}
	z := &store.ACMEAuthz{ID: "a"}
	gen := c.begin("a")
	done := c.invalidate("a")
	c.put(gen, z)
	if _, ok := c.get("a"); ok {
		t.Error("a load during a write was stored")
	}
	done(nil)
	c.put(gen, z)
	if _, ok := c.get("a"); ok {
		t.Error("a load that began before a finished write was stored")
	}
	c.put(c.begin("a"), z)
	if _, ok := c.get("a"); !ok {
		t.Error("a load after the write was not stored")
	}

	done1 := c.invalidate("a")
	done2 := c.invalidate("a")
	done1([]store.ACMEAuthz{{ID: "a", Status: "one"}})
	done2([]store.ACMEAuthz{{ID: "a", Status: "two"}})
	if z, ok := c.get("a"); ok {
		t.Errorf("overlapping writes stored %q", z.Status)
	}

	o := other("a")
	doneO := c.invalidate(o)
	c.put(c.begin("a"), z)
	if _, ok := c.get("a"); !ok {
		t.Error("a write of another stripe kept a load from being stored")
	}
	doneA := c.invalidate("a")
	doneA([]store.ACMEAuthz{{ID: "a", Status: "new"}})
	if z, ok := c.get("a"); !ok || z.Status != "new" {
		t.Errorf("a write alone on its stripe did not store what it committed")
	}
	doneO(nil)
}

// TestAuthzCacheConcurrent races authorization loads against challenge
// starts through the Store: once a start has returned, every later
// ACMEAuthzGet (from any goroutine) returns it or a newer one, and each
// reader sees the starts in order.
func TestAuthzCacheConcurrent(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	z := pendingAuthz(at)
	z.ExpiresAt = at.Add(24 * time.Hour)
	createAuthzOrder(t, s, z)
	// Start i starts http-01 again (a stale processing challenge) at
	// at + i seconds: StartedAt is its version.
	version := func(z *store.ACMEAuthz) int {
		if z.Challenges[0].StartedAt.IsZero() {
			return 0
		}
		return int(z.Challenges[0].StartedAt.Sub(at) / time.Second)
	}
	checkReadsMonotonic(t, "ACMEAuthzGet", 200, func() (int, error) {
		z, err := s.ACMEAuthzGet(ctx, "z")
		if err != nil {
			return 0, err
		}
		return version(z), nil
	}, func(i int) error {
		now := at.Add(time.Duration(i) * time.Second)
		return s.ACMEChallengeStart(ctx, "z", "http-01", now, now.Add(time.Hour))
	})
}
