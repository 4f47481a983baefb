package perspective

import (
	"context"
	"sync"
)

// DefaultMaxConcurrent is Config.MaxConcurrent's default: as many
// observations at once as an agent runs (DefaultMaxInFlight), so that the agents
// of a busy primary never have to queue or refuse its requests.
const DefaultMaxConcurrent = DefaultMaxInFlight

// tenantKey is the context key of WithTenant.
type tenantKey struct{}

// WithTenant returns ctx naming the tenant (an account, say) whose
// observations it carries: when more observations wait than may run at
// once (Config.MaxConcurrent), the Runner serves the tenants waiting in
// turn, one observation each, so that one tenant's burst does not delay
// every other's. Observations without a tenant share one.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant)
}

// Tenant returns the tenant WithTenant gave ctx, or "".
func Tenant(ctx context.Context) string {
	t, _ := ctx.Value(tenantKey{}).(string)
	return t
}

// fairSlots hands out at most max slots at once. Waiters queue per tenant;
// a freed slot goes to the next tenant in turn (round robin), to its
// longest waiting observation. The zero max is no limit.
type fairSlots struct {
	max int

	mu      sync.Mutex
	running int
	queues  map[string][]*fairWaiter
	turn    []string // tenants with waiters, in the order they are served
	next    int      // index in turn of the next tenant served
	waiting int
}

type fairWaiter struct {
	ch      chan struct{} // closed when granted
	granted bool
}

// acquire waits for a slot for tenant until ctx ends, and returns its
// release, or ctx's error.
func (f *fairSlots) acquire(ctx context.Context, tenant string) (func(), error) {
	if f.max <= 0 {
		return func() {}, nil
	}
	f.mu.Lock()
	if f.running < f.max && f.waiting == 0 {
		f.running++
		f.mu.Unlock()
		return f.release, nil
	}
	w := &fairWaiter{ch: make(chan struct{})}
	if f.queues == nil {
		f.queues = map[string][]*fairWaiter{}
	}
	if len(f.queues[tenant]) == 0 {
		f.turn = append(f.turn, tenant)
	}
	f.queues[tenant] = append(f.queues[tenant], w)
	f.waiting++
	f.mu.Unlock()
	select {
	case <-w.ch:
		return f.release, nil
	case <-ctx.Done():
		f.mu.Lock()
		if w.granted {
			// Granted as ctx ended: the slot is ours to give back.
			f.mu.Unlock()
			f.release()
			return nil, ctx.Err()
		}
		f.remove(tenant, w)
		f.mu.Unlock()
		return nil, ctx.Err()
	}
}

// release gives a slot back and grants it to the next waiter in turn.
func (f *fairSlots) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running--
	for f.running < f.max && len(f.turn) > 0 {
		if f.next >= len(f.turn) {
			f.next = 0
		}
		tenant := f.turn[f.next]
		q := f.queues[tenant]
		w := q[0]
		f.dequeue(tenant, f.next)
		f.running++
		w.granted = true
		close(w.ch)
	}
}

// dequeue removes the first waiter of tenant, at index i of turn, and
// moves the turn on: to the next tenant, or, when tenant has no waiter
// left, to the one now at i.
func (f *fairSlots) dequeue(tenant string, i int) {
	q := f.queues[tenant]
	q[0] = nil
	f.waiting--
	if len(q) == 1 {
		delete(f.queues, tenant)
		f.turn = append(f.turn[:i], f.turn[i+1:]...)
		return
	}
	f.queues[tenant] = q[1:]
	f.next = i + 1
}

// remove takes w, a waiter of tenant that gave up, out of line.
func (f *fairSlots) remove(tenant string, w *fairWaiter) {
	q := f.queues[tenant]
	for j, x := range q {
		if x != w {
			continue
		}
		f.waiting--
		if len(q) == 1 {
			delete(f.queues, tenant)
			for i, t := range f.turn {
				if t == tenant {
					f.turn = append(f.turn[:i], f.turn[i+1:]...)
					if f.next > i {
						f.next--
					}
					break
				}
			}
			return
		}
		f.queues[tenant] = append(q[:j:j], q[j+1:]...)
		return
	}
}

// queued returns how many observations wait for a slot.
func (f *fairSlots) queued() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waiting
}
