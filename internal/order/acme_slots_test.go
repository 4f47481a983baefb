package order

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/store"
)

// TestAccountSlots: an account runs at most max validations at once, the
// next waits for a free slot (or gives up with its context), another
// account is not held up, and an account with nothing under way holds no
// memory.
func TestAccountSlots(t *testing.T) {
	t.Parallel()
	s := &accountSlots{max: 2}
	ctx := t.Context()
	r1, err1 := s.acquire(ctx, "a")
	r2, err2 := s.acquire(ctx, "a")
	if err1 != nil || err2 != nil {
		t.Fatalf("the first two: %v, %v", err1, err2)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := s.acquire(short, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a third while two run: %v, want to wait until its context ends", err)
	}
	rb, err := s.acquire(ctx, "b")
	if err != nil {
		t.Fatalf("another account: %v", err)
	}
	rb()
	got := make(chan error, 1)
	go func() {
		r, err := s.acquire(ctx, "a")
		if err == nil {
			r()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a third got a slot while two run (%v)", err)
	case <-time.After(20 * time.Millisecond):
	}
	r1()
	if err := <-got; err != nil {
		t.Fatalf("the waiting one, once a slot is free: %v", err)
	}
	r2()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) != 0 {
		t.Errorf("%d accounts still held after every release", len(s.m))
	}
}

// TestValidationThatNeverRanIsNotAFailure: a validation that waited past
// its account's slot wait is invalid with rateLimited, and does not count
// against the failed-validations limit of its domain (review: it did, and
// could lock the account out of the domain for an hour).
func TestValidationThatNeverRanIsNotAFailure(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	a, err := NewACME(&Service{cfg: Config{Clock: atClock(now), Logger: slog.New(slog.DiscardHandler)}},
		ACMEConfig{AccountURL: func(id string) string { return "https://ca.example/acme/acct/" + id }, AccountValidations: 1})
	if err != nil {
		t.Fatal(err)
	}
	a.slots.wait = 10 * time.Millisecond
	acct := &store.ACMEAccount{ID: "acct_1"}
	z := &store.ACMEAuthz{ID: "az_1", Identifier: "a.example.com"}
	release, err := a.slots.acquire(t.Context(), acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	res := a.observeInTurn(acct, z, "http-01")
	var prob ACMEError
	if res.Status != store.ACMEStatusInvalid || json.Unmarshal(res.Error, &prob) != nil || prob.Type != ACMERateLimited {
		t.Fatalf("result %s %s, want invalid with rateLimited", res.Status, res.Error)
	}
	a.recorded(t.Context(), acct, z, &res)
	l := a.cfg.Limits.FailedValidationsPerDomain
	for i := range l.Count {
		d, err := a.cfg.Limiter.Spend(t.Context(), l, acct.ID+"|"+baseName(z.Identifier), 1, now)
		if err != nil || !d.Allowed {
			t.Fatalf("failure %d of %d refused (%v): the validation that never ran was counted", i+1, l.Count, err)
		}
	}
}
