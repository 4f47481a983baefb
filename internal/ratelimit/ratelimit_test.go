package ratelimit

import (
	"context"
	"testing"
	"time"
)

func TestMemoryGCRA(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := Limit{Name: "new orders per account", Count: 3, Period: 3 * time.Minute}
	type step struct {
		at        time.Duration
		cost      int
		allowed   bool
		retry     time.Duration
		remaining int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"burst then refill", []step{
			{0, 1, true, 0, 2},
			{0, 1, true, 0, 1},
			{0, 1, true, 0, 0},
			{0, 1, false, time.Minute, 0},
			{30 * time.Second, 1, false, 30 * time.Second, 0},
			{time.Minute, 1, true, 0, 0},
			{4 * time.Minute, 1, true, 0, 2},
		}},
		{"cost larger than burst", []step{
			{0, 4, false, time.Minute, 3},
			{0, 3, true, 0, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := NewMemory()
			for i, s := range tt.steps {
				d, err := m.Spend(context.Background(), l, "acct1", s.cost, t0.Add(s.at))
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed != s.allowed || d.RetryAfter != s.retry || d.Remaining != s.remaining {
					t.Fatalf("step %d: got %+v, want allowed=%v retry=%v remaining=%d", i, d, s.allowed, s.retry, s.remaining)
				}
			}
		})
	}
}

func TestCheckSpendsNothing(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := Limit{Name: "failed validations", Count: 1, Period: time.Hour}
	m := NewMemory()
	ctx := context.Background()
	for range 3 {
		if d, _ := m.Check(ctx, l, "k", 1, t0); !d.Allowed {
			t.Fatal("check denied with a full allowance")
		}
	}
	if d, _ := m.Spend(ctx, l, "k", 1, t0); !d.Allowed {
		t.Fatal("first spend denied")
	}
	if d, _ := m.Check(ctx, l, "k", 1, t0); d.Allowed || d.RetryAfter != time.Hour {
		t.Fatalf("check after spend: %+v", d)
	}
	if d, _ := m.Spend(ctx, l, "other", 1, t0); !d.Allowed {
		t.Fatal("keys are not independent")
	}
	if _, err := m.Spend(ctx, Limit{Name: "bad"}, "k", 1, t0); err == nil {
		t.Fatal("an invalid limit was accepted")
	}
}
