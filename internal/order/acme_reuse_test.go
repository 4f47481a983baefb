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

// TestOrderViewAppliesTheReuseLimit: an authorization validated before the
// reuse limit in force now no longer makes its order ready, even when its
// own expiry, set under a longer limit, has not come: the BRs' limit holds
// at the time of issuance (finalize refuses an order that is not ready).
func TestOrderViewAppliesTheReuseLimit(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	now := time.Date(2029, 3, 16, 0, 0, 0, 0, time.UTC) // the limit is 10 days
	tests := []struct {
		name      string
		validated time.Time
		want      string
	}{
		{"validated 15 days ago, under the 100-day limit", now.Add(-15 * day), ACMEOrderInvalid},
		{"validated 9 days ago", now.Add(-9 * day), ACMEOrderReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := &ACME{s: &Service{cfg: Config{Clock: atClock(now)}}, cfg: ACMEConfig{AuthzReuse: DefaultAuthzReuse}}
			o := &store.ACMEOrder{
				Order: store.Order{ID: "ord_1", Status: StatusPending, ExpiresAt: now.Add(5 * day)},
				Authzs: []store.ACMEAuthz{{ID: "az_1", Identifier: "a.example.com", Status: store.ACMEStatusValid,
					ValidatedAt: tt.validated, ExpiresAt: tt.validated.Add(30 * day)}},
			}
			if got := a.orderView(o, now).Status; got != tt.want {
				t.Errorf("order status %s, want %s", got, tt.want)
			}
		})
	}
}

// TestNewACMEAfterAMilestone: the default reuse period (30 days), longer
// than the 10 days the BRs allow from 15 March 2029, does not stop the
// server from starting then; it is shortened where it is used.
func TestNewACMEAfterAMilestone(t *testing.T) {
	t.Parallel()
	at := time.Date(2029, 3, 16, 0, 0, 0, 0, time.UTC)
	a, err := NewACME(&Service{cfg: Config{Clock: atClock(at)}}, ACMEConfig{AccountURL: func(id string) string { return "https://ca.example/acme/acct/" + id }})
	if err != nil {
		t.Fatalf("NewACME on %s with the default reuse period: %v", at, err)
	}
	if got := a.authzReuse(at); got != 10*24*time.Hour {
		t.Errorf("reuse period in use %s, want 240h", got)
	}
	if _, err := NewACME(&Service{cfg: Config{Clock: atClock(at)}}, ACMEConfig{AccountURL: func(string) string { return "" }, AuthzReuse: MaxAuthzReuse + time.Hour}); err == nil {
		t.Error("NewACME accepted a reuse period over the longest the BRs ever allowed")
	}
}
