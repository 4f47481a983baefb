package sqlite

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/testenv"
)

// TestAccountCache checks that ACMEAccountGet, which may answer from
// memory, shows every change made through the Store at once, shows a
// change made to the file behind the Store's back only after
// accountCacheTTL, and hands out copies.
func TestAccountCache(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		// change changes account "acct" after it was cached.
		change func(t *testing.T, s *Store, path string)
		// wait is how long the clock moves after the change.
		wait       time.Duration
		wantStatus string
		wantThumb  string
		wantEmail  string
	}{
		{
			name:       "no change: cached copy",
			change:     func(*testing.T, *Store, string) {},
			wantStatus: store.ACMEAccountValid, wantThumb: "tp", wantEmail: "",
		},
		{
			name: "update through the store: seen at once",
			change: func(t *testing.T, s *Store, _ string) {
				a := store.ACMEAccount{ID: "acct", Contact: []string{"mailto:new@example.com"}, TermsAgreed: true, Status: store.ACMEAccountValid}
				if err := s.ACMEAccountUpdate(t.Context(), a); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: store.ACMEAccountValid, wantThumb: "tp", wantEmail: "mailto:new@example.com",
		},
		{
			name: "deactivation through the store: seen at once",
			change: func(t *testing.T, s *Store, _ string) {
				if err := s.ACMEAccountUpdate(t.Context(), store.ACMEAccount{ID: "acct", Status: store.ACMEAccountDeactivated}); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: store.ACMEAccountDeactivated, wantThumb: "tp", wantEmail: "",
		},
		{
			name: "key change through the store: seen at once",
			change: func(t *testing.T, s *Store, _ string) {
				if err := s.ACMEAccountKeyChange(t.Context(), "acct", "tp", "tp2", []byte(`{"k":2}`)); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: store.ACMEAccountValid, wantThumb: "tp2", wantEmail: "",
		},
		{
			name: "failed key change: cache still right",
			change: func(t *testing.T, s *Store, _ string) {
				err := s.ACMEAccountKeyChange(t.Context(), "acct", "not-the-key", "tp3", []byte(`{"k":3}`))
				if !errors.Is(err, store.ErrConflict) {
					t.Fatalf("ACMEAccountKeyChange with a wrong old key: %v, want ErrConflict", err)
				}
			},
			wantStatus: store.ACMEAccountValid, wantThumb: "tp", wantEmail: "",
		},
		{
			name:       "revoked behind the store's back: stale within the TTL",
			change:     revokeRaw,
			wait:       accountCacheTTL - time.Millisecond,
			wantStatus: store.ACMEAccountValid, wantThumb: "tp", wantEmail: "",
		},
		{
			name:       "revoked behind the store's back: seen after the TTL",
			change:     revokeRaw,
			wait:       accountCacheTTL,
			wantStatus: store.ACMEAccountRevoked, wantThumb: "tp", wantEmail: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, path := openTemp(t)
			clock := testenv.NewClock(at)
			s.accounts.now = clock.Now
			ctx := t.Context()
			err := s.ACMEAccountCreate(ctx, store.ACMEAccount{ID: "acct", KeyThumbprint: "tp", KeyJWK: []byte(`{"k":1}`), Status: store.ACMEAccountValid, CreatedAt: at})
			if err != nil {
				t.Fatal(err)
			}
			first, err := s.ACMEAccountGet(ctx, "acct") // loads and caches it
			if err != nil {
				t.Fatal(err)
			}
			// A caller may change what it got; the cache must not.
			first.KeyJWK[2] = 'X'
			first.Contact = append(first.Contact, "mailto:caller@example.com")
			tt.change(t, s, path)
			clock.Add(tt.wait)
			a, err := s.ACMEAccountGet(ctx, "acct")
			if err != nil {
				t.Fatal(err)
			}
			email := ""
			if len(a.Contact) > 0 {
				email = a.Contact[0]
			}
			if a.Status != tt.wantStatus || a.KeyThumbprint != tt.wantThumb || email != tt.wantEmail || len(a.Contact) > 1 {
				t.Errorf("ACMEAccountGet = status %s, thumbprint %s, contact %q; want %s, %s, %q",
					a.Status, a.KeyThumbprint, a.Contact, tt.wantStatus, tt.wantThumb, tt.wantEmail)
			}
			if wantJWK := map[string]string{"tp": `{"k":1}`, "tp2": `{"k":2}`}[tt.wantThumb]; string(a.KeyJWK) != wantJWK {
				t.Errorf("KeyJWK = %s, want %s", a.KeyJWK, wantJWK)
			}
		})
	}
}

// revokeRaw revokes account "acct" through another connection, as another
// process would.
func revokeRaw(t *testing.T, _ *Store, path string) {
	t.Helper()
	if _, err := rawDB(t, path).Exec(`UPDATE acme_accounts SET status = 'revoked' WHERE id = 'acct'`); err != nil {
		t.Fatal(err)
	}
}

// TestAccountCacheConcurrent races account loads against updates through
// the Store: once an update has returned, every later ACMEAccountGet (from
// any goroutine) returns it or a newer one, and each reader sees the
// updates in order.
func TestAccountCacheConcurrent(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := context.Background()
	err := s.ACMEAccountCreate(ctx, store.ACMEAccount{ID: "acct", KeyThumbprint: "tp", KeyJWK: []byte(`{}`), Status: store.ACMEAccountValid, Contact: []string{"mailto:0@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	version := func(a *store.ACMEAccount) int {
		var n int
		if _, err := fmt.Sscanf(a.Contact[0], "mailto:%d@example.com", &n); err != nil {
			t.Errorf("contact %q: %v", a.Contact, err)
		}
		return n
	}
	checkReadsMonotonic(t, "ACMEAccountGet", 200, func() (int, error) {
		a, err := s.ACMEAccountGet(ctx, "acct")
		if err != nil {
			return 0, err
		}
		return version(a), nil
	}, func(i int) error {
		return s.ACMEAccountUpdate(ctx, store.ACMEAccount{ID: "acct", Status: store.ACMEAccountValid, Contact: []string{fmt.Sprintf("mailto:%d@example.com", i)}})
	})
}
