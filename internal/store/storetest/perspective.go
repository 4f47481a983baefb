package storetest

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/store"
)

// testPerspective covers PerspectiveCreate, Get, List, Delete and Renew:
// round trip, ordering by name, duplicate names, missing perspectives and
// renewed credentials.
func testPerspective(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	s, ctx := f.s, f.ctx
	if ps, err := s.PerspectiveList(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("PerspectiveList on an empty store = %v, %v; want none", ps, err)
	}
	mk := func(name, rir string) store.Perspective {
		return store.Perspective{
			Name: name, URL: "https://" + name + ".agents.example:8443", RIR: rir,
			CertSHA256: strings.Repeat("ab", 32), CreatedAt: t0,
		}
	}
	want := []store.Perspective{mk("ap-1", "APNIC"), mk("eu-1", "RIPE"), mk("us-1", "ARIN")}
	for _, i := range []int{2, 0, 1} { // stored out of order
		if err := s.PerspectiveCreate(ctx, want[i]); err != nil {
			t.Fatalf("PerspectiveCreate(%s): %v", want[i].Name, err)
		}
	}
	if err := s.PerspectiveCreate(ctx, mk("eu-1", "ARIN")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("PerspectiveCreate of a duplicate name = %v, want ErrConflict", err)
	}
	got, err := s.PerspectiveList(ctx)
	if err != nil {
		t.Fatalf("PerspectiveList: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("PerspectiveList returned %d perspectives, want %d", len(got), len(want))
	}
	for i := range want {
		checkPerspective(t, "PerspectiveList", &got[i], &want[i])
	}
	p, err := s.PerspectiveGet(ctx, "eu-1")
	if err != nil {
		t.Fatalf("PerspectiveGet(eu-1): %v", err)
	}
	checkPerspective(t, "PerspectiveGet", p, &want[1])
	if _, err := s.PerspectiveGet(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PerspectiveGet(nope) = %v, want ErrNotFound", err)
	}
	if err := s.PerspectiveDelete(ctx, "eu-1"); err != nil {
		t.Fatalf("PerspectiveDelete(eu-1): %v", err)
	}
	if err := s.PerspectiveDelete(ctx, "eu-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second PerspectiveDelete(eu-1) = %v, want ErrNotFound", err)
	}
	if _, err := s.PerspectiveGet(ctx, "eu-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PerspectiveGet after delete = %v, want ErrNotFound", err)
	}
	got, err = s.PerspectiveList(ctx)
	if err != nil || len(got) != 2 || got[0].Name != "ap-1" || got[1].Name != "us-1" {
		t.Errorf("PerspectiveList after delete = %+v, %v; want ap-1, us-1", got, err)
	}

	// Renewal: the new certificate beside the enrolled one; renewed again,
	// the one renewed before becomes the accepted one.
	first, second := strings.Repeat("cd", 32), strings.Repeat("ef", 32)
	if err := s.PerspectiveRenew(ctx, "ap-1", "", first); err != nil {
		t.Fatalf("PerspectiveRenew: %v", err)
	}
	want[0].NextCertSHA256 = first
	p, err = s.PerspectiveGet(ctx, "ap-1")
	if err != nil {
		t.Fatal(err)
	}
	checkPerspective(t, "PerspectiveGet after a renewal", p, &want[0])
	// Decided on before the first renewal: another came since.
	if err := s.PerspectiveRenew(ctx, "ap-1", "", second); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PerspectiveRenew over a renewal made since = %v, want ErrConflict", err)
	}
	if err := s.PerspectiveRenew(ctx, "ap-1", first, second); err != nil {
		t.Fatalf("second PerspectiveRenew: %v", err)
	}
	want[0].CertSHA256, want[0].NextCertSHA256 = first, second
	got, err = s.PerspectiveList(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("PerspectiveList after renewals = %+v, %v", got, err)
	}
	checkPerspective(t, "PerspectiveList after two renewals", &got[0], &want[0])
	if err := s.PerspectiveRenew(ctx, "eu-1", "", first); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PerspectiveRenew of a removed perspective = %v, want ErrNotFound", err)
	}
}

func checkPerspective(t *testing.T, what string, got, want *store.Perspective) {
	t.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("%s(%s).CreatedAt = %v, want %v", what, want.Name, got.CreatedAt, want.CreatedAt)
	}
	g, w := *got, *want
	g.CreatedAt = w.CreatedAt
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %+v, want %+v", what, g, w)
	}
}
