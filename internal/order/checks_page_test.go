package order_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/store"
)

// TestChecksPages: an order's stored checks come a page at a time, newest
// first: limit checks (20 by default, at most 100), fewer when their
// results would pass MaxCheckPageBytes (but at least one), with the cursor
// of the next page while more remain; a cursor that is not a check of the
// order, and a limit out of range, are refused.
func TestChecksPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	admin := b.NewAccount(t, "operator")
	admin.Admin = true // reads the stored results as they are
	newOrder := func(name string) string {
		o, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{name}, Method: "dns"})
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	// record stores n checks of the order, oldest first, each result of
	// size bytes at least, and returns their ids newest first.
	record := func(orderID string, n, size int) []string {
		ids := make([]string, n)
		for i := range n {
			id := fmt.Sprintf("chk_%s_%03d", orderID, i)
			res, _ := json.Marshal(map[string]string{"id": id, "pad": strings.Repeat("x", size)})
			c := store.Check{ID: id, OrderID: orderID, CheckedAt: time.Unix(int64(1e9+i), 0), Result: res}
			if err := b.Store.CheckRecord(ctx, store.CheckRecordParams{Check: c}); err != nil {
				t.Fatal(err)
			}
			ids[n-1-i] = id
		}
		return ids
	}
	small, big, huge := newOrder("small.applicant.com"), newOrder("big.applicant.com"), newOrder("huge.applicant.com")
	smallIDs := record(small, 25, 10)
	bigIDs := record(big, 3, 3<<20)   // two fill a page of 8 MiB
	hugeIDs := record(huge, 2, 9<<20) // one is past a page's bound
	otherIDs := record(newOrder("other.applicant.com"), 1, 10)

	tests := []struct {
		name          string
		order, cursor string
		limit         int
		want          []string
		next          string
		code          string
	}{
		{"default limit", small, "", 0, smallIDs[:20], smallIDs[19], ""},
		{"the last page", small, smallIDs[19], 0, smallIDs[20:], "", ""},
		{"limit", small, "", 2, smallIDs[:2], smallIDs[1], ""},
		{"limit, the page after", small, smallIDs[1], 2, smallIDs[2:4], smallIDs[3], ""},
		{"all in one page", small, "", order.MaxCheckListLimit, smallIDs, "", ""},
		{"bounded by size", big, "", 0, bigIDs[:2], bigIDs[1], ""},
		{"bounded by size, the last page", big, bigIDs[1], 0, bigIDs[2:], "", ""},
		{"one check past the bound", huge, "", 0, hugeIDs[:1], hugeIDs[0], ""},
		{"limit over the maximum", small, "", order.MaxCheckListLimit + 1, nil, "", "INVALID_LIMIT"},
		{"negative limit", small, "", -1, nil, "", "INVALID_LIMIT"},
		{"a cursor of another order", small, otherIDs[0], 0, nil, "", "INVALID_CURSOR"},
		{"an unknown cursor", small, "chk_nope", 0, nil, "", "INVALID_CURSOR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			page, next, err := b.svc.Checks(ctx, admin, tt.order, tt.cursor, tt.limit)
			if tt.code != "" {
				if oe := orderErr(t, err); oe.Code != tt.code || oe.Kind != order.KindInvalid {
					t.Fatalf("error %s (%v), want %s", oe.Code, err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, raw := range page {
				var c struct{ ID string }
				if err := json.Unmarshal(raw, &c); err != nil {
					t.Fatal(err)
				}
				got = append(got, c.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || next != tt.next {
				t.Errorf("page %v, next %q; want %v, next %q", got, next, tt.want, tt.next)
			}
		})
	}
}
