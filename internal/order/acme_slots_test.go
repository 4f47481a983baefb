package order

import (
	"context"
	"errors"
	"testing"
	"time"
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
