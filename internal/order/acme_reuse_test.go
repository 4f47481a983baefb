package order

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/store"
)

// reuseStore records the validatedSince of ACMEAuthzFindReusable and finds
// nothing.
type reuseStore struct {
	store.Store
	since time.Time
}

func (s *reuseStore) ACMEAuthzFindReusable(_ context.Context, _, _ string, validatedSince, _ time.Time) (*store.ACMEAuthz, error) {
	s.since = validatedSince
	return nil, store.ErrNotFound
}

// atClock is a Clock stopped at one time.
type atClock time.Time

func (c atClock) Now() time.Time { return time.Time(c) }

// TestAuthzReuseFollowsTheBRs checks MaxAuthzReuseAt's steps (CA/B Forum BRs
// §4.2.1) and that the reuse period in use is the configured one shortened
// to them: a server configured for 30 days reuses a validation for 10 days
// from 15 March 2029 without being restarted.
func TestAuthzReuseFollowsTheBRs(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	tests := []struct {
		name       string
		at         time.Time
		configured time.Duration
		max, used  time.Duration
	}{
		{"before 15 March 2026", time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC), 300 * day, 398 * day, 300 * day},
		{"from 15 March 2026", time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), 300 * day, 200 * day, 200 * day},
		{"now, the default", time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), DefaultAuthzReuse, 200 * day, 30 * day},
		{"from 15 March 2027", time.Date(2027, 3, 15, 0, 0, 0, 0, time.UTC), 200 * day, 100 * day, 100 * day},
		{"from 15 March 2029, the default", time.Date(2029, 3, 15, 0, 0, 0, 0, time.UTC), DefaultAuthzReuse, 10 * day, 10 * day},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := MaxAuthzReuseAt(tt.at); got != tt.max {
				t.Fatalf("MaxAuthzReuseAt(%s) = %s, want %s", tt.at, got, tt.max)
			}
			st := &reuseStore{}
			a := &ACME{s: &Service{cfg: Config{Clock: atClock(tt.at)}}, st: st, cfg: ACMEConfig{AuthzReuse: tt.configured}}
			// Revocation by another account looks for a reusable
			// authorization of each name with the reuse period in use.
			_ = a.mayRevoke(context.Background(), &store.ACMEAccount{ID: "acme_other"}, &store.Certificate{AccountID: "acme_owner"}, &x509.Certificate{DNSNames: []string{"a.example.com"}})
			if got := tt.at.Sub(st.since); got != tt.used {
				t.Errorf("reuse period in use %s, want %s", got, tt.used)
			}
		})
	}
}
