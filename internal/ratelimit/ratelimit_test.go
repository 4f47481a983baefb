package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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

// TestSpendGivesBack: a negative cost gives units back, up to a whole
// allowance and no further.
func TestSpendGivesBack(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := Limit{Name: "new orders", Count: 2, Period: time.Hour}
	m := NewMemory()
	ctx := context.Background()
	for range 2 {
		if d, _ := m.Spend(ctx, l, "k", 1, t0); !d.Allowed {
			t.Fatal("spend within the allowance denied")
		}
	}
	if d, _ := m.Check(ctx, l, "k", 1, t0); d.Allowed {
		t.Fatal("allowance not spent")
	}
	if d, _ := m.Spend(ctx, l, "k", -1, t0); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("give back one: %+v; want 1 remaining", d)
	}
	if d, _ := m.Spend(ctx, l, "k", 1, t0); !d.Allowed {
		t.Fatal("the unit given back cannot be spent")
	}
	// Nothing more than a whole allowance comes back.
	for range 5 {
		m.Spend(ctx, l, "k", -1, t0)
	}
	for i := range 3 {
		if d, _ := m.Spend(ctx, l, "k", 1, t0); d.Allowed != (i < 2) {
			t.Fatalf("spend %d after giving back more than was taken: %+v", i, d)
		}
	}
}

// TestMemoryBounded: a backend full of keys in use (a flood of distinct
// clients) stays within its bound, scans for replenished keys at most once
// per pruneEvery, and drops replenished keys before any in use.
func TestMemoryBounded(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	slow := Limit{Name: "slow", Count: 1, Period: time.Hour} // a key stays in use for an hour
	quick := Limit{Name: "quick", Count: 1, Period: time.Second}
	tests := []struct {
		name string
		// fill spends the keys that make the backend full.
		fill      func(m *Memory, i int)
		wantKept  int // keys of the fill still present after the flood
		wantEvict bool
	}{
		{name: "keys in use are evicted, not grown past the bound",
			fill:     func(m *Memory, i int) { spend(t, m, slow, fmt.Sprint("old", i), t0) },
			wantKept: -1, wantEvict: true},
		{name: "replenished keys go first",
			fill:     func(m *Memory, i int) { spend(t, m, quick, fmt.Sprint("old", i), t0) },
			wantKept: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const capacity = 256
			m := &Memory{tats: map[string]time.Time{}, max: capacity}
			for i := range capacity {
				tt.fill(m, i)
			}
			// The flood comes a minute later: the quick keys are replenished.
			for i := range 3 * capacity {
				spend(t, m, slow, fmt.Sprint("new", i), t0.Add(time.Minute))
				if len(m.tats) > capacity {
					t.Fatalf("after %d new keys the backend holds %d keys, over its bound %d", i+1, len(m.tats), capacity)
				}
			}
			if !m.pruned.Equal(t0.Add(time.Minute)) {
				t.Errorf("last scan at %v, want %v", m.pruned, t0.Add(time.Minute))
			}
			kept := 0
			for k := range m.tats {
				if strings.Contains(k, "old") {
					kept++
				}
			}
			if tt.wantKept >= 0 && kept != tt.wantKept {
				t.Errorf("%d keys of the fill kept, want %d", kept, tt.wantKept)
			}
			if tt.wantEvict && kept == capacity {
				t.Errorf("no key of the fill evicted")
			}
		})
	}
}

func spend(t *testing.T, m *Memory, l Limit, key string, now time.Time) {
	t.Helper()
	d, err := m.Spend(context.Background(), l, key, 1, now)
	if err != nil || !d.Allowed {
		t.Fatalf("spend %s %s = %+v, %v; want allowed", l.Name, key, d, err)
	}
}

// BenchmarkMemoryFull is the cost of a new key in a backend full of keys
// in use: amortised, not a walk over every key per request.
func BenchmarkMemoryFull(b *testing.B) {
	m := NewMemory()
	l := Limit{Name: "slow", Count: 1, Period: time.Hour}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxMemoryKeys {
		m.Spend(context.Background(), l, strconv.Itoa(i), 1, now)
	}
	b.ResetTimer()
	for i := range b.N {
		m.Spend(context.Background(), l, "new"+strconv.Itoa(i), 1, now.Add(time.Duration(i)*time.Millisecond))
	}
}
