package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/store"
)

func testAuthorizationValuesByAccount(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.account("a1", false)
	f.account("a2", false)
	f.order(newOrder("o-old", "a1", "pending", t0, "x.example", "y.example"))
	f.order(newOrder("o-new", "a1", "pending", t0.Add(time.Hour), "z.example"))
	f.order(newOrder("o-other", "a2", "pending", t0, "x.example"))
	tests := []struct {
		name, account, except string
		limit                 int
		want                  []string
	}{
		{"newest order first, in position order", "a1", "", 10, []string{"value-0-z.example", "value-0-x.example", "value-1-y.example"}},
		{"one order left out", "a1", "o-new", 10, []string{"value-0-x.example", "value-1-y.example"}},
		{"limit", "a1", "", 1, []string{"value-0-z.example"}},
		{"another account", "a2", "", 10, []string{"value-0-x.example"}},
		{"unknown account", "nobody", "", 10, nil},
		{"zero limit", "a1", "", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.s.AuthorizationValuesByAccount(f.ctx, tt.account, "pending", tt.except, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got, err := f.s.AuthorizationValuesByAccount(f.ctx, "a1", "approved", "", 10); err != nil || len(got) != 0 {
		t.Fatalf("approved values: %q, %v; want none", got, err)
	}
}
