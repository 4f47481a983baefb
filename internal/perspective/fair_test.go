package perspective

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
)

// TestFairSlotsTurns: with every slot taken, freed slots go to the tenants
// waiting in turn, one observation each, each tenant's in the order they
// came; a tenant's burst does not hold back another's single one.
func TestFairSlotsTurns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		max    int
		queued []string // tenants of the waiters, in the order they come
		want   []string // the order in which they are granted
	}{
		{"one tenant, in order", 1, []string{"a", "a", "a"}, []string{"a0", "a1", "a2"}},
		{"a burst and a single one", 1, []string{"a", "a", "a", "b"}, []string{"a0", "b0", "a1", "a2"}},
		{"three tenants", 1, []string{"a", "a", "b", "b", "c"}, []string{"a0", "b0", "c0", "a1", "b1"}},
		{"two slots", 2, []string{"a", "a", "a", "b"}, []string{"a0", "b0", "a1", "a2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fairSlots{max: tt.max}
			ctx := context.Background()
			var held []func()
			for range tt.max {
				rel, err := f.acquire(ctx, "holder")
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, rel)
			}
			var (
				mu      sync.Mutex
				granted []string
				wg      sync.WaitGroup
				next    = map[string]int{}
				rels    = make(chan func(), len(tt.queued))
			)
			for _, tenant := range tt.queued {
				name := tenant + string(rune('0'+next[tenant]))
				next[tenant]++
				wg.Add(1)
				go func() {
					defer wg.Done()
					rel, err := f.acquire(ctx, tenant)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					granted = append(granted, name)
					mu.Unlock()
					rels <- rel
				}()
				// Each waiter in line before the next comes.
				waitQueued(t, f, countQueued(tt.queued, name))
			}
			// Free the slots one at a time, each once the last grant is
			// seen: the held ones, then each granted one in turn.
			n := 0
			freeOne := func(rel func()) {
				rel()
				if n < len(tt.queued) {
					n++
					waitGranted(t, &mu, &granted, n)
				}
			}
			for _, rel := range held {
				freeOne(rel)
			}
			for range tt.queued {
				freeOne(<-rels)
			}
			wg.Wait()
			if !slices.Equal(granted, tt.want) {
				t.Errorf("granted %v, want %v", granted, tt.want)
			}
			if f.running != 0 || f.waiting != 0 || len(f.turn) != 0 {
				t.Errorf("left running %d, waiting %d, turn %v; want nothing", f.running, f.waiting, f.turn)
			}
		})
	}
}

// countQueued is how many of queued have come up to and including the
// waiter named name (tenant and index).
func countQueued(queued []string, name string) int {
	n := map[string]int{}
	for i, tenant := range queued {
		if tenant+string(rune('0'+n[tenant])) == name {
			return i + 1
		}
		n[tenant]++
	}
	return len(queued)
}

func waitGranted(t *testing.T, mu *sync.Mutex, granted *[]string, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		mu.Lock()
		got := len(*granted)
		mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d granted, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func waitQueued(t *testing.T, f *fairSlots, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); f.queued() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d queued, want %d", f.queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFairSlotsGiveUp: a waiter whose context ends leaves the line, and
// the slot goes to the next.
func TestFairSlotsGiveUp(t *testing.T) {
	t.Parallel()
	f := &fairSlots{max: 1}
	rel, err := f.acquire(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := f.acquire(ctx, "b")
		done <- err
	}()
	waitQueued(t, f, 1)
	got := make(chan struct{})
	go func() {
		r, err := f.acquire(context.Background(), "c")
		if err == nil {
			r()
		}
		close(got)
	}()
	waitQueued(t, f, 2)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled waiter: %v", err)
	}
	rel()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the slot did not go to the waiter left")
	}
	if f.running != 0 || f.waiting != 0 || len(f.turn) != 0 {
		t.Errorf("left running %d, waiting %d, turn %v", f.running, f.waiting, f.turn)
	}
}

// TestRunnerSlotLeavesTimeToObserve: an observation waits for a slot only
// while a whole observation (RemoteTimeout) still fits in its time; past
// that it is refused as the CA's overload, not started to time out on the
// domain. Without a deadline it waits its turn.
func TestRunnerSlotLeavesTimeToObserve(t *testing.T) {
	t.Parallel()
	r := &Runner{cfg: Config{RemoteTimeout: 35 * time.Second}, fair: fairSlots{max: 1}}
	hold, err := r.slot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 36*time.Second)
	defer cancel()
	start := time.Now()
	_, err = r.slot(ctx)
	if err == nil || !strings.Contains(err.Error(), "this CA is overloaded") || time.Since(start) > 3*time.Second {
		t.Fatalf("slot with 36 s left, every slot taken: %v after %v; want refused within about a second, as the CA's overload", err, time.Since(start))
	}
	got := make(chan error, 1)
	go func() {
		rel, err := r.slot(context.Background())
		if err == nil {
			rel()
		}
		got <- err
	}()
	waitQueued(t, &r.fair, 1)
	hold()
	if err := <-got; err != nil {
		t.Fatalf("slot without a deadline: %v", err)
	}
}

// TestPrimaryAloneIsNotQueued: a primary without remote perspectives
// observes without taking a slot, whatever MaxConcurrent says (review: a
// cap there let many cheap ACME accounts hold every slot).
func TestPrimaryAloneIsNotQueued(t *testing.T) {
	t.Parallel()
	dns := testenv.NewDNSServer(t)
	dns.AddZone("example.com")
	dns.Add(`_dnsauth.a.example.com. TXT "v"`)
	r, err := NewRunner(Config{Primary: newValidator(t, "primary", dns.Addr, 80, netip.Addr{}), MaxConcurrent: 1})
	if err != nil {
		t.Fatal(err)
	}
	hold, err := r.fair.acquire(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	defer hold()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	obs, err := r.Observe(ctx, validation.Request{Domain: "a.example.com", Method: validation.MethodDNS, Value: "v"})
	if err != nil || len(obs) != 1 {
		t.Fatalf("Observe with every slot taken, no remote perspective: %v, %v; want the primary's observation at once", obs, err)
	}
}
