package order

import (
	"strings"
	"testing"
	"time"
)

func TestNewIDSortsByTime(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		earlier, later time.Time
	}{
		{"one millisecond apart", base, base.Add(time.Millisecond)},
		{"one second apart", base, base.Add(time.Second)},
		{"across a year", base, base.AddDate(1, 0, 0)},
		{"unix epoch and now", time.Unix(0, 0), base},
		{"far future", base, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := newID("ord_", tt.earlier), newID("ord_", tt.later)
			if !(a < b) {
				t.Errorf("newID(%v) = %q is not before newID(%v) = %q", tt.earlier, a, tt.later, b)
			}
			for _, id := range []string{a, b} {
				if len(id) != len("ord_")+26 || !strings.HasPrefix(id, "ord_") {
					t.Errorf("id %q: want ord_ and 26 characters", id)
				}
				if strings.Trim(id[4:], "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
					t.Errorf("id %q has characters outside lowercase base32", id)
				}
			}
		})
	}
}

func TestNewIDIsUniqueWithinAMillisecond(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	for range 10000 {
		id := newID("az_", now)
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
		if id[:13] != newID("az_", now)[:13] {
			t.Fatalf("time part of %q differs for the same instant", id)
		}
	}
}
